"""Message size limits and server-owned fields on send (services/msg/limits.py, send.py), and pulls paged by bytes
(services/msg/budget.py, sync.py); on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from tests.services.msgkit import ADMIN, MsgKit, caller, msg_kit, text_msg

from openim.protocol.constants import ContentType, MsgStatus, SessionType
from openim.protocol.errors import ArgsError, NoPermissionError
from openim.protocol.pb import msg_pb2, sdkws_pb2
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.msg import MsgLimits
from openim.services.msg.budget import MSG_OVERHEAD, choose, conversation_overhead
from openim.services.msg.limits import CONTENT_GROUPS, content_group
from openim.settings import Settings
from openim.storage import Storage
from openim.storage.commit import NewMsg


@pytest.fixture
async def kit(storage: Storage) -> AsyncIterator[MsgKit]:
    async with msg_kit(storage) as k:
        await k.users("a", "b", "c")
        yield k


def sized(sender: str, recv: str, content_type: int, size: int) -> MsgData:
    """A single-chat message whose content is exactly `size` bytes."""
    return text_msg(sender, recv, contentType=content_type, content=b"x" * size)


async def max_seq(kit: MsgKit, conversation_id: str = "si_a_b") -> int:
    state = (await kit.storage.msg.seq_states([conversation_id])).get(conversation_id)
    return state.max_seq if state is not None else 0


# ---- sizes -----------------------------------------------------------------------------------------------


def test_defaults_are_the_configs() -> None:
    """MsgLimits() holds config.yaml's defaults, and every content type falls in one group."""
    settings = Settings()
    limits = MsgLimits()
    assert limits.max_msg_len == settings.msg.maxMsgLen == 196608
    assert limits.pull_max_bytes == settings.msg.pullMaxBytes == 716800
    for group, value in settings.msg.maxContentLen.model_dump().items():
        assert getattr(limits, group) == value
    assert (content_group(101), content_group(114), content_group(102), content_group(110)) == (
        "text",
        "quote",
        "media",
        "custom",
    )
    assert (content_group(1400), content_group(2001), content_group(113), content_group(999)) == (
        "notification",
        "notification",
        "other",
        "other",
    )
    assert not set().union(*CONTENT_GROUPS.values()) & {113, 111}


@pytest.mark.parametrize(
    ("content_type", "key"),
    [
        (ContentType.TEXT, "text"),
        (ContentType.QUOTE, "quote"),
        (ContentType.PICTURE, "media"),
        (ContentType.CUSTOM, "custom"),
        (ContentType.TYPING, "other"),
    ],
)
async def test_content_is_limited_by_content_type(kit: MsgKit, content_type: int, key: str) -> None:
    """Content of exactly the group's limit is sent; one byte more is 1001 naming the key, and nothing is stored."""
    limit = getattr(MsgLimits(), key)
    await kit.service.send(caller("a"), sized("a", "b", content_type, limit), operation_id="ok")
    with pytest.raises(ArgsError, match=f"more than the {limit} allowed \\(msg.maxContentLen.{key}\\)"):
        await kit.service.send(caller("a"), sized("a", "b", content_type, limit + 1), operation_id="big")
    stored = 0 if content_type == ContentType.TYPING else 1  # typing is never stored
    assert await max_seq(kit) == stored


async def test_the_whole_message_is_limited(kit: MsgKit) -> None:
    """ex, offlinePushInfo and the rest count too: past msg.maxMsgLen the send is 1001, for admins as well."""
    kit.service.limits = MsgLimits(max_msg_len=4096)
    msg = text_msg("a", "b", ex="e" * 4096)
    with pytest.raises(ArgsError, match=r"the message is \d+ bytes, more than the 4096 allowed \(msg.maxMsgLen\)"):
        await kit.service.send(caller("a"), msg, operation_id="x")
    with pytest.raises(ArgsError, match=r"msg\.maxMsgLen"):
        await kit.service.send(caller(ADMIN), text_msg("a", "b", ex="e" * 4096), operation_id="y")
    assert await max_seq(kit) == 0


async def test_batch_send_checks_the_template_once(kit: MsgKit) -> None:
    """batch_send_msg with a message too big is refused whole: no recipient gets it."""
    kit.service.limits = MsgLimits(text=100)
    with pytest.raises(ArgsError, match=r"msg\.maxContentLen\.text"):
        await kit.service.batch_send(
            caller(ADMIN), sized(ADMIN, "", ContentType.TEXT, 101), ["a", "b"], send_all=False, operation_id="b"
        )
    assert await kit.storage.msg.seq_states([f"si_{ADMIN}_a", f"si_{ADMIN}_b"]) == {}


async def test_the_servers_notifications_are_not_limited(kit: MsgKit) -> None:
    """The limits bound what clients and app servers send; the server's own notifications pass whatever size."""
    kit.service.limits = MsgLimits(notification=10, max_msg_len=1024)
    tips = sdkws_pb2.FriendApplicationApprovedTips(handleMsg="h" * 2000)
    await kit.service.notify(
        "a",
        "b",
        ContentType.FRIEND_APPLICATION_APPROVED_NOTIFICATION,
        tips,
        session_type=1,
        reliable=True,
        operation_id="n",
    )
    assert await max_seq(kit, "n_a_b") == 1


# ---- what only the server sets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        ContentType.FRIEND_APPLICATION_APPROVED_NOTIFICATION,
        ContentType.GROUP_DISMISSED_NOTIFICATION,
        ContentType.BUSINESS_NOTIFICATION,
        ContentType.MSG_REVOKE_NOTIFICATION,
        ContentType.HAS_READ_RECEIPT,
        ContentType.NOTIFICATION_BEGIN,
        ContentType.NOTIFICATION_END,
    ],
)
async def test_users_may_not_send_notification_content_types(kit: MsgKit, content_type: int) -> None:
    """A notification content type from a user is 1002 (OpenIM let it through, and skipped the sender's checks)."""
    with pytest.raises(NoPermissionError, match="only the server sends it"):
        await kit.send("a", "b", contentType=content_type)
    await kit.service.send(caller(ADMIN), text_msg("a", "b", contentType=content_type), operation_id="admin")


async def test_users_may_not_send_system_messages(kit: MsgKit) -> None:
    """msgFrom 200 (system) is the server's; 100 and 0 are a user's."""
    with pytest.raises(NoPermissionError, match="msgFrom 200"):
        await kit.send("a", "b", msgFrom=200)
    await kit.send("a", "b", msgFrom=0)
    await kit.send("a", "b", msgFrom=100)


async def test_oa_notifications_stay_open_to_notification_accounts(kit: MsgKit) -> None:
    """1400 in sessionType 4 is the one notification type a (notification-account) user may send."""
    await kit.users("oa", level=3)
    msg = text_msg("oa", "b", contentType=ContentType.OA_NOTIFICATION, sessionType=SessionType.NOTIFICATION_CHAT)
    await kit.service.send(caller("oa"), msg, operation_id="oa")
    with pytest.raises(NoPermissionError):
        plain = text_msg("a", "b", contentType=ContentType.OA_NOTIFICATION, sessionType=SessionType.NOTIFICATION_CHAT)
        await kit.service.send(caller("a"), plain, operation_id="a")


async def test_server_owned_fields_of_a_users_message(kit: MsgKit) -> None:
    """A user's sendTime, status, isRead, seq and serverMsgID are the server's; an admin may set sendTime."""
    kit.clock.advance(5000)
    resp = await kit.send("a", "b", sendTime=1, status=MsgStatus.HAS_DELETED, isRead=True, seq=77, serverMsgID="s")
    assert resp.sendTime == kit.clock.now_ms()
    [stored] = await kit.storage.msg.get_msgs("b", "si_a_b", [1])
    assert (stored.sendTime, stored.status, stored.isRead, stored.seq) == (resp.sendTime, 2, False, 1)
    assert stored.serverMsgID == resp.serverMsgID != "s"
    admin = await kit.service.send(caller(ADMIN), text_msg("a", "b", sendTime=1_600_000_000_000), operation_id="im")
    assert admin.sendTime == 1_600_000_000_000


# ---- pulls paged by bytes --------------------------------------------------------------------------------


BUDGET = 64 << 10
TEN_KB = 10 << 10


async def fill(kit: MsgKit, sender: str, recv: str, count: int, size: int = TEN_KB) -> None:
    for i in range(count):
        await kit.send(sender, recv, f"{i:04d}" + "x" * (size - 16))


def texts(msgs: list[MsgData]) -> list[str]:
    return [json.loads(m.content)["content"][:4] if m.content else f"<{m.status}>" for m in msgs]


async def test_a_pull_holds_the_newest_messages_that_fit(kit: MsgKit) -> None:
    """30 messages of 10 KB asked at once: the answer is the newest that fit the budget, contiguous, and the
    older ones come with the next, narrower pull, as the SDKs ask when the user scrolls."""
    kit.service.limits = MsgLimits(pull_max_bytes=BUDGET)
    await fill(kit, "a", "b", 30)
    resp = await kit.service.pull_by_ranges(caller("b"), _ranges("b", ("si_a_b", 1, 30, 30)))
    got = list(resp.msgs["si_a_b"].Msgs)
    assert resp.ByteSize() <= BUDGET
    assert [m.seq for m in got] == list(range(31 - len(got), 31))
    assert len(got) == BUDGET // (TEN_KB + 200)  # 6 of 10 KB and their fields
    older = await kit.service.pull_by_ranges(caller("b"), _ranges("b", ("si_a_b", 1, got[0].seq - 1, 30)))
    assert [m.seq for m in older.msgs["si_a_b"].Msgs] == list(range(got[0].seq - len(got), got[0].seq))


async def test_each_conversation_gets_its_newest_first(kit: MsgKit) -> None:
    """Several conversations share the budget one message at a time: each gets its newest before any its second."""
    kit.service.limits = MsgLimits(pull_max_bytes=BUDGET)
    await fill(kit, "a", "b", 8)
    await fill(kit, "c", "b", 8)
    resp = await kit.service.pull_by_ranges(caller("b"), _ranges("b", ("si_a_b", 1, 8, 8), ("si_b_c", 1, 8, 8)))
    counts = [len(resp.msgs[c].Msgs) for c in ("si_a_b", "si_b_c")]
    assert resp.ByteSize() <= BUDGET and abs(counts[0] - counts[1]) <= 1 and sum(counts) == 6
    assert [m.seq for m in resp.msgs["si_b_c"].Msgs][-1] == 8


async def test_a_message_bigger_than_a_pull_is_a_placeholder(kit: MsgKit) -> None:
    """A message stored before the limits (3 MB, bypassing send) is read as the placeholder of a missing message:
    the conversation around it still syncs, in frames the SDK can read."""
    kit.service.limits = MsgLimits(pull_max_bytes=BUDGET)
    await fill(kit, "a", "b", 2, size=100)
    huge = text_msg("a", "b", content=b"x" * (3 << 20), sendTime=1, serverMsgID="legacy", status=2)
    await kit.writer.append(NewMsg("si_a_b", huge, ("a", "b")))
    await fill(kit, "a", "b", 1, size=100)
    resp = await kit.service.pull_by_ranges(caller("b"), _ranges("b", ("si_a_b", 1, 4, 10)))
    got = list(resp.msgs["si_a_b"].Msgs)
    assert [m.seq for m in got] == [1, 2, 3, 4]
    assert (got[2].status, got[2].content, got[2].serverMsgID) == (MsgStatus.HAS_DELETED, b"", "")
    assert resp.ByteSize() < 2048
    by_seq = await kit.service.pull_by_seqs(
        caller("b"),
        msg_pb2.GetSeqMessageReq(
            userID="b", conversations=[msg_pb2.ConversationSeqs(conversationID="si_a_b", seqs=[3])]
        ),
    )
    assert by_seq.msgs["si_a_b"].Msgs[0].status == MsgStatus.HAS_DELETED


async def test_history_pages_keep_the_seqs_nearest_the_client(kit: MsgKit) -> None:
    """1005 cut by the budget: Desc keeps the highest seqs, Asc the lowest, and neither claims the end."""
    kit.service.limits = MsgLimits(pull_max_bytes=BUDGET)
    await fill(kit, "a", "b", 12)
    for order, expect_first in ((sdkws_pb2.PullOrderDesc, 12), (sdkws_pb2.PullOrderAsc, 1)):
        req = msg_pb2.GetSeqMessageReq(
            userID="b",
            conversations=[msg_pb2.ConversationSeqs(conversationID="si_a_b", seqs=[0, *range(1, 13)])],
            order=order,
        )
        pulled = (await kit.service.pull_by_seqs(caller("b"), req)).msgs["si_a_b"]
        seqs = sorted(m.seq for m in pulled.Msgs)
        assert 0 < len(seqs) < 12 and expect_first in seqs
        assert seqs == list(range(seqs[0], seqs[-1] + 1))
        assert (pulled.isEnd, pulled.endSeq) == (False, 0)


async def test_last_messages_fit_the_budget(kit: MsgKit) -> None:
    """1007 over many conversations: the conversations asked first, as many as fit."""
    kit.service.limits = MsgLimits(pull_max_bytes=BUDGET)
    users = [f"u{i}" for i in range(10)]
    await kit.users(*users)
    for u in users:
        await fill(kit, u, "b", 1)
    ids = [f"si_b_{u}" for u in users]
    resp = await kit.service.get_last_message(caller("b"), msg_pb2.GetLastMessageReq(userID="b", conversationIDs=ids))
    assert resp.ByteSize() <= BUDGET
    assert set(resp.msgs) == set(ids[: len(resp.msgs)]) and 0 < len(resp.msgs) < 10


def test_choose_costs() -> None:
    """choose() charges stored size plus overheads, takes conversations in turn and never leaves a hole."""
    wanted = {"c1": [3, 2, 1], "c2": [9]}
    sizes = {"c1": {3: 100, 2: 300, 1: 100}, "c2": {9: 100}}
    budget = 3 * (100 + MSG_OVERHEAD) + conversation_overhead("c1") + conversation_overhead("c2")
    assert choose(wanted, sizes, budget) == {"c1": {3}, "c2": {9}}  # seq 2 does not fit: c1 stops, 1 not taken
    assert choose(wanted, sizes, 10**6) == {"c1": {1, 2, 3}, "c2": {9}}
    assert choose({"c": [5]}, {"c": {5: 10**9}}, 1000) == {"c": {5}}  # alone too big: kept, as a placeholder


def _ranges(user_id: str, *spec: tuple[str, int, int, int]) -> sdkws_pb2.PullMessageBySeqsReq:
    return sdkws_pb2.PullMessageBySeqsReq(
        userID=user_id, seqRanges=[sdkws_pb2.SeqRange(conversationID=c, begin=b, end=e, num=n) for c, b, e, n in spec]
    )
