"""Tests for openim.services.msg: send pipeline, pushes, sync calls (docs/protocol/messages.md §5), revoke, read,
delete, clear."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from tests.services.msgkit import ADMIN, MsgKit, caller, msg_kit, text_msg

from openim.infra.redis.send_status import RedisSendStatus
from openim.protocol.constants import ContentType, MsgStatus, SendMsgStatus, SessionType
from openim.protocol.errors import (
    ArgsError,
    MsgAlreadyRevoke,
    NoPermissionError,
    RecordNotFoundError,
)
from openim.protocol.pb import msg_pb2, sdkws_pb2
from openim.storage import Storage


@pytest.fixture
async def kit(storage: Storage) -> AsyncIterator[MsgKit]:
    """A msg service over `storage` with users a, b and c registered."""
    async with msg_kit(storage) as k:
        await k.users("a", "b", "c")
        yield k


def ranges(user_id: str, *spec: tuple[str, int, int, int], order: int = 0) -> sdkws_pb2.PullMessageBySeqsReq:
    """A 1002 request: (conversationID, begin, end, num) per range."""
    return sdkws_pb2.PullMessageBySeqsReq(
        userID=user_id,
        seqRanges=[sdkws_pb2.SeqRange(conversationID=c, begin=b, end=e, num=n) for c, b, e, n in spec],
        order=order,
    )


def bodies(msgs: list[sdkws_pb2.MsgData] | object) -> list[object]:
    """The text of each message, or its status when it has no content."""
    assert isinstance(msgs, list) or hasattr(msgs, "__iter__")
    return [json.loads(m.content)["content"] if m.content and m.contentType == 101 else m.status for m in msgs]  # type: ignore[attr-defined]


# ---- send --------------------------------------------------------------------------------------------------


async def test_send_stores_pushes_and_answers(kit: MsgKit) -> None:
    """A single-chat send is stored with seq 1, pushed to receiver and sender, answered with server IDs."""
    msg = text_msg("a", "b", "hello")
    resp = await kit.service.send(caller("a"), msg, operation_id="op1")
    assert resp.clientMsgID == msg.clientMsgID and len(resp.serverMsgID) == 32 and resp.sendTime == kit.clock.now_ms()
    pushes = await kit.drained()
    assert len(pushes) == 1
    push = pushes[0]
    assert (push.conversation_id, push.msg.seq, push.operation_id) == ("si_a_b", 1, "op1")
    assert set(push.user_ids) == {"a", "b"}
    assert push.msg.status == MsgStatus.SEND_SUCCESS and push.msg.serverMsgID == resp.serverMsgID
    views = await kit.storage.msg.seq_views("a", ["si_a_b"])
    assert views["si_a_b"].has_read_seq == 1  # the sender read its own message
    assert await kit.service.check_msg_is_send_success(caller("a"), "op1") == SendMsgStatus.SUCCESS
    assert await kit.service.check_msg_is_send_success(caller("c"), "op1") == SendMsgStatus.NOT_EXIST


async def test_pushes_leave_in_seq_order_under_concurrency(kit: MsgKit) -> None:
    """Concurrent sends into one conversation are pushed in seq order 1..n."""
    await asyncio.gather(*(kit.send("a" if i % 2 else "b", "b" if i % 2 else "a", f"m{i}") for i in range(50)))
    pushes = await kit.drained()
    assert [p.msg.seq for p in pushes] == list(range(1, 51))


async def test_a_cancelled_sender_still_stores_and_pushes(kit: MsgKit, monkeypatch: pytest.MonkeyPatch) -> None:
    """A send cancelled while its message waits for the commit is still stored and pushed to the receiver."""
    gate, entered = asyncio.Event(), asyncio.Event()
    original = kit.storage.msg.append_batch

    async def gated(news: object) -> object:
        entered.set()
        await gate.wait()
        return await original(news)  # type: ignore[arg-type]

    monkeypatch.setattr(kit.storage.msg, "append_batch", gated)
    sending = asyncio.create_task(kit.send("a", "b", "bye"))
    await asyncio.wait_for(entered.wait(), 5)  # the message is in the writer's transaction
    sending.cancel()
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await sending
    await kit.writer.close()
    pushes = await kit.drained()
    assert [(p.conversation_id, p.msg.seq) for p in pushes] == [("si_a_b", 1)]


async def test_sender_must_be_the_caller_unless_admin(kit: MsgKit) -> None:
    """Sending as someone else is 1002; an admin may send for anyone."""
    with pytest.raises(NoPermissionError):
        await kit.service.send(caller("c"), text_msg("a", "b"), operation_id="op2")
    assert await kit.service.check_msg_is_send_success(caller("c"), "op2") == SendMsgStatus.FAILED
    await kit.users(ADMIN)
    resp = await kit.service.send(caller(ADMIN), text_msg("a", "b"), operation_id="op3")
    assert resp.serverMsgID
    assert await kit.service.check_msg_is_send_success(caller("a"), "never") == SendMsgStatus.NOT_EXIST


async def test_request_checks_come_first(kit: MsgKit) -> None:
    """Empty content, unknown sessionTypes and a notification chat without 1400 are ArgsError (1001)."""
    with pytest.raises(ArgsError, match="content is empty"):
        await kit.service.send(caller("a"), text_msg("a", "b", content=b""), operation_id="")
    with pytest.raises(ArgsError, match="unknown sessionType"):
        await kit.service.send(caller("a"), text_msg("a", "b", sessionType=2), operation_id="")
    with pytest.raises(ArgsError, match="notification msg"):
        await kit.service.send(caller("a"), text_msg("a", "b", sessionType=4), operation_id="")


async def test_receiver_must_exist(kit: MsgKit) -> None:
    """A single chat to an unregistered user is RecordNotFound (1004)."""
    with pytest.raises(RecordNotFoundError):
        await kit.send("a", "ghost")


async def test_receiver_receive_options(kit: MsgKit) -> None:
    """recvMsgOpt 1 refuses ("message is not sent", 1001) except read receipts; 2 turns off offline push."""
    await kit.users("mute", recv_opt=1)
    with pytest.raises(ArgsError, match="message is not sent"):
        await kit.send("a", "mute")
    await kit.send("b", "a")
    await kit.storage.conversation.set_fields(["a"], _key("si_a_b", "b"), {"recv_msg_opt": 1}, now=1)
    with pytest.raises(ArgsError, match="message is not sent"):
        await kit.send("b", "a")
    await kit.storage.conversation.set_fields(["a"], _key("si_a_b", "b"), {"recv_msg_opt": 2}, now=1)
    await kit.send("b", "a")
    pushes = await kit.drained()
    assert pushes[-1].msg.options["offlinePush"] is False


def _key(conversation_id: str, peer: str) -> object:
    from openim.storage.conversation import ConversationKey

    return ConversationKey(conversation_id, 1, user_id=peer)


async def test_typing_is_pushed_but_never_stored(kit: MsgKit) -> None:
    """A typing message (113) is pushed with seq 0 to the receiver only and nothing is stored."""
    resp = await kit.send("a", "b", contentType=ContentType.TYPING, content=b'{"msgTips":"..."}')
    assert resp.serverMsgID
    pushes = await kit.drained()
    assert len(pushes) == 1 and pushes[0].msg.seq == 0 and pushes[0].user_ids == ("b",)
    assert await kit.storage.msg.seq_states(["si_a_b"]) == {}


async def test_resend_of_a_client_msg_id_stores_once(kit: MsgKit) -> None:
    """A resend answers with the stored message's IDs, stores nothing, and re-pushes to the sender only."""
    first = text_msg("a", "b", "once")
    r1 = await kit.service.send(caller("a"), first, operation_id="x")
    again = text_msg("a", "b", "twice", clientMsgID=first.clientMsgID)
    r2 = await kit.service.send(caller("a"), again, operation_id="y")
    assert (r2.serverMsgID, r2.sendTime) == (r1.serverMsgID, r1.sendTime)
    assert (await kit.storage.msg.seq_states(["si_a_b"]))["si_a_b"].max_seq == 1
    pushes = await kit.drained()
    assert [p.user_ids for p in pushes][1] == ("a",)
    assert pushes[1].msg.seq == 1


# ---- sync ----------------------------------------------------------------------------------------------------


async def test_pull_by_ranges_num_placeholders_revoked_deleted(kit: MsgKit) -> None:
    """1002 returns the last `num` of the range, placeholders for gaps, deletes and revokes applied."""
    for i in range(1, 7):
        await kit.send("a", "b", f"m{i}")
    await kit.storage.msg.delete_physical("si_a_b", [2])
    await kit.storage.msg.delete_for_user("b", "si_a_b", [3])
    await kit.service.revoke(
        caller("a"), msg_pb2.RevokeMsgReq(conversationID="si_a_b", seq=4, userID="a"), operation_id=""
    )
    resp = await kit.service.pull_by_ranges(caller("b"), ranges("b", ("si_a_b", 0, 100, 100)))
    got = list(resp.msgs["si_a_b"].Msgs)
    assert [m.seq for m in got] == [1, 2, 3, 4, 5, 6]
    assert bodies(got) == ["m1", 4, 4, 2, "m5", "m6"]
    assert got[1] == sdkws_pb2.MsgData(seq=2, status=4)
    assert got[3].contentType == ContentType.MSG_REVOKE_NOTIFICATION
    assert resp.msgs["si_a_b"].isEnd
    last2 = await kit.service.pull_by_ranges(caller("b"), ranges("b", ("si_a_b", 1, 6, 2)))
    assert [m.seq for m in last2.msgs["si_a_b"].Msgs] == [5, 6]
    partial = await kit.service.pull_by_ranges(caller("b"), ranges("b", ("si_a_b", 1, 3, 10)))
    assert not partial.msgs["si_a_b"].isEnd


async def test_pull_respects_user_caps_and_clear(kit: MsgKit) -> None:
    """A user's min/max caps bound what it can pull; a clear hides history for that user only."""
    for i in range(1, 6):
        await kit.send("a", "b", f"m{i}")
    await kit.storage.conversation.set_user_seq_caps(["b"], "si_a_b", min_seq=2, max_seq=4, now=1)
    resp = await kit.service.pull_by_ranges(caller("b"), ranges("b", ("si_a_b", 1, 5, 10)))
    assert [m.seq for m in resp.msgs["si_a_b"].Msgs] == [2, 3, 4]
    assert resp.msgs["si_a_b"].isEnd  # maxSeq (capped) ≤ end
    newest = await kit.service.get_max_seq(caller("b"), sdkws_pb2.GetMaxSeqReq(userID="b"))
    assert newest.maxSeqs["si_a_b"] == 4
    await kit.service.clear_conversation_msg(
        caller("a"), msg_pb2.ClearConversationsMsgReq(conversationIDs=["si_a_b"], userID="a"), operation_id=""
    )
    assert "si_a_b" not in (await kit.service.pull_by_ranges(caller("a"), ranges("a", ("si_a_b", 1, 5, 10)))).msgs
    seqs = await kit.service.get_has_read_and_max_seq(
        caller("a"), msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID="a")
    )
    assert seqs.seqs["si_a_b"].hasReadSeq == 5


async def test_b_cannot_read_a_c_conversation(kit: MsgKit) -> None:
    """Conversations the user owns no row of are left out of pulls, seqs and last messages; userID must be self."""
    await kit.send("a", "c", "private")
    assert (await kit.service.pull_by_ranges(caller("b"), ranges("b", ("si_a_c", 1, 1, 1)))).msgs == {}
    by_seq = await kit.service.pull_by_seqs(
        caller("b"),
        msg_pb2.GetSeqMessageReq(
            userID="b", conversations=[msg_pb2.ConversationSeqs(conversationID="si_a_c", seqs=[1])]
        ),
    )
    assert by_seq.msgs == {}
    seqs = await kit.service.get_has_read_and_max_seq(
        caller("b"), msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID="b", conversationIDs=["si_a_c"])
    )
    assert seqs.seqs == {}
    last = await kit.service.get_last_message(
        caller("b"), msg_pb2.GetLastMessageReq(userID="b", conversationIDs=["si_a_c"])
    )
    assert last.msgs == {}
    with pytest.raises(NoPermissionError):
        await kit.service.pull_by_ranges(caller("b"), ranges("a", ("si_a_c", 1, 1, 1)))
    with pytest.raises(NoPermissionError):
        await kit.service.get_max_seq(caller("b"), sdkws_pb2.GetMaxSeqReq(userID="a"))
    with pytest.raises(NoPermissionError):
        await kit.service.revoke(
            caller("b"), msg_pb2.RevokeMsgReq(conversationID="si_a_c", seq=1, userID="b"), operation_id=""
        )
    with pytest.raises(RecordNotFoundError):
        await kit.service.mark_conversation_as_read(
            caller("b"),
            msg_pb2.MarkConversationAsReadReq(conversationID="si_a_c", userID="b", hasReadSeq=1),
            operation_id="",
        )
    admin = await kit.service.pull_by_ranges(caller(ADMIN), ranges("a", ("si_a_c", 1, 1, 1)))
    assert [m.seq for m in admin.msgs["si_a_c"].Msgs] == [1]


async def test_get_max_seq_lists_own_conversations_and_twins(kit: MsgKit) -> None:
    """1001: the user's conversations and their n_ twins with messages; zeros dropped."""
    await kit.send("a", "b")
    await kit.send("a", "b")
    await kit.service.revoke(
        caller("a"), msg_pb2.RevokeMsgReq(conversationID="si_a_b", seq=1, userID="a"), operation_id=""
    )
    resp = await kit.service.get_max_seq(caller("b"), sdkws_pb2.GetMaxSeqReq(userID="b"))
    assert dict(resp.maxSeqs) == {"si_a_b": 2, "n_a_b": 1}


async def test_unread_is_max_minus_has_read(kit: MsgKit) -> None:
    """1006 reports maxSeq, hasReadSeq and maxSeqTime, so unread = maxSeq − hasReadSeq."""
    for _ in range(3):
        await kit.send("a", "b")
    await kit.send("b", "a")
    resp = await kit.service.get_has_read_and_max_seq(
        caller("a"), msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID="a", returnPinned=True)
    )
    seqs = resp.seqs["si_a_b"]
    assert (seqs.maxSeq, seqs.hasReadSeq, seqs.maxSeq - seqs.hasReadSeq) == (4, 3, 1)
    assert seqs.maxSeqTime == kit.clock.now_ms()
    b = (
        await kit.service.get_has_read_and_max_seq(caller("b"), msg_pb2.GetConversationsHasReadAndMaxSeqReq(userID="b"))
    ).seqs
    assert b["si_a_b"].maxSeq - b["si_a_b"].hasReadSeq == 0


async def test_pull_by_seqs_marks_the_end(kit: MsgKit) -> None:
    """1005 returns asked seqs in range; a seq past the newest (asc) or below the first (desc) sets isEnd/endSeq."""
    for i in range(1, 4):
        await kit.send("a", "b", f"m{i}")

    def req(seqs: list[int], order: int) -> msg_pb2.GetSeqMessageReq:
        return msg_pb2.GetSeqMessageReq(
            userID="b", conversations=[msg_pb2.ConversationSeqs(conversationID="si_a_b", seqs=seqs)], order=order
        )

    asc = await kit.service.pull_by_seqs(caller("b"), req([2, 3, 4, 5], 0))
    assert [m.seq for m in asc.msgs["si_a_b"].Msgs] == [2, 3]
    assert (asc.msgs["si_a_b"].isEnd, asc.msgs["si_a_b"].endSeq) == (True, 3)
    await kit.storage.conversation.set_user_seq_caps(["b"], "si_a_b", min_seq=2, now=1)
    desc = await kit.service.pull_by_seqs(caller("b"), req([1, 2], 1))
    assert [m.seq for m in desc.msgs["si_a_b"].Msgs] == [2]
    assert (desc.msgs["si_a_b"].isEnd, desc.msgs["si_a_b"].endSeq) == (True, 2)


async def test_get_last_message_skips_messages_deleted_for_me(kit: MsgKit) -> None:
    """1007 gives the newest message visible to the user; conversations with none are omitted."""
    await kit.send("a", "b", "old")
    await kit.send("a", "b", "new")
    await kit.storage.msg.delete_for_user("b", "si_a_b", [2])
    last = await kit.service.get_last_message(
        caller("b"), msg_pb2.GetLastMessageReq(userID="b", conversationIDs=["si_a_b", "si_b_c"])
    )
    assert list(last.msgs) == ["si_a_b"] and last.msgs["si_a_b"].seq == 1


# ---- revoke --------------------------------------------------------------------------------------------------


async def test_revoke_once_with_stored_tips_to_both_sides(kit: MsgKit) -> None:
    """Revoke stores 2101 RevokeMsgTips in n_a_b pushed to both; the second revoke is 1404."""
    await kit.send("a", "b", "oops")
    req = msg_pb2.RevokeMsgReq(conversationID="si_a_b", seq=1, userID="a")
    await kit.service.revoke(caller("a"), req, operation_id="rv")
    with pytest.raises(MsgAlreadyRevoke):
        await kit.service.revoke(caller("a"), req, operation_id="rv")
    pushes = await kit.drained()
    tip = pushes[-1]
    assert (tip.conversation_id, tip.msg.seq, tip.msg.contentType, tip.msg.msgFrom) == ("n_a_b", 1, 2101, 200)
    assert set(tip.user_ids) == {"a", "b"}
    detail = json.loads(json.loads(tip.msg.content)["detail"])
    assert detail["revokerUserID"] == "a" and detail["sesstionType"] == 1 and detail["seq"] == 1
    assert detail["clientMsgID"] and detail["isAdminRevoke"] is False
    pulled = await kit.service.pull_by_ranges(caller("b"), ranges("b", ("n_a_b", 1, 1, 1)))
    assert pulled.notificationMsgs["n_a_b"].Msgs[0].contentType == 2101


async def test_only_the_sender_revokes_in_a_single_chat(kit: MsgKit) -> None:
    """The receiver cannot revoke the sender's single-chat message (1002); a missing seq is 1004."""
    await kit.send("a", "b")
    with pytest.raises(NoPermissionError):
        await kit.service.revoke(
            caller("b"), msg_pb2.RevokeMsgReq(conversationID="si_a_b", seq=1, userID="b"), operation_id=""
        )
    with pytest.raises(RecordNotFoundError):
        await kit.service.revoke(
            caller("a"), msg_pb2.RevokeMsgReq(conversationID="si_a_b", seq=9, userID="a"), operation_id=""
        )
    with pytest.raises(ArgsError):
        await kit.service.revoke(
            caller("a"), msg_pb2.RevokeMsgReq(conversationID="si_a_b", seq=0, userID="a"), operation_id=""
        )


# ---- read receipts ---------------------------------------------------------------------------------------------


async def test_mark_conversation_as_read_single_chat(kit: MsgKit) -> None:
    """Reading a single chat marks the peer's messages read, raises hasReadSeq, stores 2200 in n_ for both."""
    await kit.send("a", "b")
    await kit.send("a", "b")
    await kit.send("a", "b")
    await kit.service.mark_conversation_as_read(
        caller("b"),
        msg_pb2.MarkConversationAsReadReq(conversationID="si_a_b", userID="b", hasReadSeq=2),
        operation_id="",
    )
    msgs = await kit.storage.msg.get_msgs("a", "si_a_b", [1, 2, 3])
    assert [m.isRead for m in msgs] == [True, True, False]
    assert (await kit.storage.msg.seq_views("b", ["si_a_b"]))["si_a_b"].has_read_seq == 2
    pushes = await kit.drained()
    receipt = pushes[-1]
    assert (receipt.conversation_id, receipt.msg.contentType, receipt.msg.seq) == ("n_a_b", 2200, 1)
    assert set(receipt.user_ids) == {"a", "b"}
    tips = json.loads(json.loads(receipt.msg.content)["detail"])
    assert tips == {"markAsReadUserID": "b", "conversationID": "si_a_b", "seqs": [1, 2], "hasReadSeq": 2}


async def test_mark_conversation_as_read_takes_extra_seqs(kit: MsgKit) -> None:
    """Seqs below the read position (the reader answered first) are still marked read when listed."""
    await kit.send("a", "b")
    await kit.send("b", "a")  # b's read position jumps to 2 with its own message
    await kit.service.mark_conversation_as_read(
        caller("b"),
        msg_pb2.MarkConversationAsReadReq(conversationID="si_a_b", userID="b", hasReadSeq=2, seqs=[1]),
        operation_id="",
    )
    assert [m.isRead for m in await kit.storage.msg.get_msgs("a", "si_a_b", [1, 2])] == [True, False]


async def test_mark_msgs_as_read_and_has_read_limits(kit: MsgKit) -> None:
    """mark_msgs_as_read raises hasReadSeq; beyond maxSeq or with a 0 seq is 1001; set_* sets it back."""
    for _ in range(3):
        await kit.send("a", "b")
    await kit.service.mark_msgs_as_read(
        caller("b"), msg_pb2.MarkMsgsAsReadReq(conversationID="si_a_b", seqs=[1, 2], userID="b"), operation_id=""
    )
    assert (await kit.storage.msg.seq_views("b", ["si_a_b"]))["si_a_b"].has_read_seq == 2
    with pytest.raises(ArgsError):
        await kit.service.mark_msgs_as_read(
            caller("b"), msg_pb2.MarkMsgsAsReadReq(conversationID="si_a_b", seqs=[9], userID="b"), operation_id=""
        )
    with pytest.raises(ArgsError):
        await kit.service.set_conversation_has_read_seq(
            caller("b"),
            msg_pb2.SetConversationHasReadSeqReq(conversationID="si_a_b", userID="b", hasReadSeq=4),
            operation_id="",
        )
    await kit.service.set_conversation_has_read_seq(
        caller("b"),
        msg_pb2.SetConversationHasReadSeqReq(conversationID="si_a_b", userID="b", hasReadSeq=1),
        operation_id="",
    )
    assert (await kit.storage.msg.seq_views("b", ["si_a_b"]))["si_a_b"].has_read_seq == 1
    pushes = await kit.drained()
    assert pushes[-1].msg.seq == 0 and pushes[-1].user_ids == ("b",)  # 2200 to oneself: online only


# ---- deletes and clears ------------------------------------------------------------------------------------------


async def test_delete_for_me_syncs_my_devices(kit: MsgKit) -> None:
    """Deleting for oneself hides the message for that user only and stores 2102 in n_<me>_<me>."""
    await kit.send("a", "b")
    await kit.service.delete_msgs(
        caller("b"),
        msg_pb2.DeleteMsgsReq(
            conversationID="si_a_b", seqs=[1], userID="b", deleteSyncOpt=msg_pb2.DeleteSyncOpt(IsSyncSelf=True)
        ),
        operation_id="",
    )
    assert (await kit.storage.msg.get_msgs("b", "si_a_b", [1]))[0].status == MsgStatus.HAS_DELETED
    assert (await kit.storage.msg.get_msgs("a", "si_a_b", [1]))[0].status == MsgStatus.SEND_SUCCESS
    pushes = await kit.drained()
    assert (pushes[-1].conversation_id, pushes[-1].msg.contentType, pushes[-1].msg.seq) == ("n_b_b", 2102, 1)
    newest = await kit.service.get_max_seq(caller("b"), sdkws_pb2.GetMaxSeqReq(userID="b"))
    assert newest.maxSeqs["n_b_b"] == 1


async def test_delete_for_everyone_notifies_the_peer(kit: MsgKit) -> None:
    """IsSyncOther deletes physically and stores 2102 in the pair's n_ conversation."""
    await kit.send("a", "b")
    await kit.service.delete_msgs(
        caller("a"),
        msg_pb2.DeleteMsgsReq(
            conversationID="si_a_b", seqs=[1], userID="a", deleteSyncOpt=msg_pb2.DeleteSyncOpt(IsSyncOther=True)
        ),
        operation_id="",
    )
    assert (await kit.storage.msg.get_msgs("b", "si_a_b", [1]))[0] == sdkws_pb2.MsgData(seq=1, status=4)
    pushes = await kit.drained()
    assert (pushes[-1].conversation_id, pushes[-1].msg.contentType) == ("n_a_b", 2102)


async def test_clear_for_everyone_and_user_clear_all(kit: MsgKit) -> None:
    """IsSyncOther hides history from both sides; user_clear_all clears every conversation of the user."""
    await kit.send("a", "b")
    await kit.send("a", "c")
    await kit.service.clear_conversation_msg(
        caller("a"),
        msg_pb2.ClearConversationsMsgReq(
            conversationIDs=["si_a_b"], userID="a", deleteSyncOpt=msg_pb2.DeleteSyncOpt(IsSyncOther=True)
        ),
        operation_id="",
    )
    assert (await kit.service.pull_by_ranges(caller("b"), ranges("b", ("si_a_b", 1, 1, 1)))).msgs == {}
    await kit.service.user_clear_all_msg(caller("c"), msg_pb2.UserClearAllMsgReq(userID="c"), operation_id="")
    assert (await kit.service.pull_by_ranges(caller("c"), ranges("c", ("si_a_c", 1, 1, 1)))).msgs == {}
    assert (await kit.service.pull_by_ranges(caller("a"), ranges("a", ("si_a_c", 1, 1, 1)))).msgs


async def test_physical_deletes_are_admin_only(kit: MsgKit) -> None:
    """delete_msg_physical(_by_seq) need an admin; the cut-off one removes the messages sent before it."""
    await kit.send("a", "b")
    with pytest.raises(NoPermissionError):
        await kit.service.delete_msg_physical_by_seq(
            caller("a"), msg_pb2.DeleteMsgPhysicalBySeqReq(conversationID="si_a_b", seqs=[1])
        )
    kit.clock.advance(3600)
    await kit.service.delete_msg_physical(
        caller(ADMIN), msg_pb2.DeleteMsgPhysicalReq(conversationIDs=["si_a_b"], timestamp=kit.clock.now_s() - 60)
    )
    assert (await kit.storage.msg.seq_states(["si_a_b"]))["si_a_b"].min_seq == 2


# ---- notifications ----------------------------------------------------------------------------------------------


async def test_is_send_msg_notification_stores_a_chat_copy(kit: MsgKit) -> None:
    """A 1201 notification (isSendMsg) is pushed online-only in n_ and stored as a copy in the chat conversation."""
    tips = sdkws_pb2.FriendApplicationApprovedTips(handleMsg="ok")
    await kit.notifications.notify(
        "b", "a", ContentType.FRIEND_APPLICATION_APPROVED_NOTIFICATION, tips, operation_id="n"
    )
    pushes = await kit.drained()
    by_conversation = {p.conversation_id: p for p in pushes}
    assert by_conversation["n_a_b"].msg.seq == 0
    copy = by_conversation["si_a_b"].msg
    assert copy.seq == 1 and copy.contentType == 1201 and copy.options["unreadCount"] is True
    assert by_conversation["n_a_b"].msg.options["unreadCount"] is False
    assert copy.clientMsgID != by_conversation["n_a_b"].msg.clientMsgID
    assert await kit.storage.conversation.get("a", "si_a_b") is not None


async def test_server_time(kit: MsgKit) -> None:
    """server_time is the injected clock in ms."""
    assert await kit.service.server_time() == kit.clock.now_ms()


# ---- with the social graph (friend and group tables) ----------------------------------------------------------


def _social() -> object:
    """tests.factories of the social-graph work, or skip while it is not in this tree."""
    return pytest.importorskip("tests.factories", reason="social-graph tables not in this tree")


async def test_blacklist_blocks_single_chat(kit: MsgKit) -> None:
    """A sender in the receiver's blacklist gets BlockedByPeer (1302); friendVerify needs a friendship (1303)."""
    from openim.protocol.errors import BlockedByPeer, NotPeersFriend

    factories = _social()
    await factories.make_black(kit.storage, "b", "a", now=1)  # type: ignore[attr-defined]
    with pytest.raises(BlockedByPeer):
        await kit.send("a", "b")
    await kit.send("b", "a")  # blocking is one way
    kit.service.friend_verify = True
    with pytest.raises(NotPeersFriend):
        await kit.send("c", "a")
    await factories.make_friend(kit.storage, "a", "c", now=1)  # type: ignore[attr-defined]
    await kit.send("c", "a")


async def test_group_send_pushes_members_and_creates_rows_once(kit: MsgKit) -> None:
    """A group message needs membership (1203); the first one creates every member's row, all get the push."""
    from openim.protocol.errors import MutedInGroup, NotInGroupYetError

    factories = _social()
    await factories.make_group(kit.storage, "g1", "a", ["b"], now=1)  # type: ignore[attr-defined]

    def group_msg(sender: str) -> sdkws_pb2.MsgData:
        return text_msg(sender, "", sessionType=SessionType.READ_GROUP_CHAT, groupID="g1")

    await kit.service.send(caller("a"), group_msg("a"), operation_id="")
    with pytest.raises(NotInGroupYetError):
        await kit.service.send(caller("c"), group_msg("c"), operation_id="")
    assert await kit.storage.conversation.owner_ids("sg_g1") == ["a", "b"]
    await kit.service.send(caller("b"), group_msg("b"), operation_id="")
    pushes = await kit.drained()
    assert [(p.conversation_id, p.msg.seq, sorted(p.user_ids)) for p in pushes] == [
        ("sg_g1", 1, ["a", "b"]),
        ("sg_g1", 2, ["a", "b"]),
    ]
    assert (await kit.storage.msg.seq_views("b", ["sg_g1"]))["sg_g1"].has_read_seq == 2
    from sqlalchemy import update

    from openim.storage.facts import FACT_MEMBERS
    from openim.storage.schema import group_member

    async with kit.storage.facts.writing(FACT_MEMBERS, ("g1",)), kit.storage.db.write("test.mute") as conn:
        await conn.execute(
            update(group_member).where(group_member.c.user_id == "b").values(mute_end_time=kit.clock.now_ms() + 1000)
        )
    with pytest.raises(MutedInGroup):
        await kit.service.send(caller("b"), group_msg("b"), operation_id="")


async def test_single_chat_send_reads_nothing_in_the_steady_state(kit: MsgKit) -> None:
    """A single-chat send's checks are served from memory once read (storage/facts.py): only the append remains."""
    await kit.send("a", "b", "warm-up")
    stats = kit.storage.db.stats.by_name
    before = {name: s.count for name, s in stats.items()}
    for i in range(5):
        await kit.send("a", "b", f"m{i}")
    after = {name: s.count for name, s in stats.items()}
    changed = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    reads = {name: n for name, n in changed.items() if name != "msg.append_batch"}
    assert reads == {}


async def test_a_failing_status_store_does_not_fail_the_send(kit: MsgKit, caplog: pytest.LogCaptureFixture) -> None:
    """A send whose status cannot be kept (Redis unreachable) is still answered; the loss is logged."""
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    unreachable = aioredis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    kit.service.send_status = RedisSendStatus(unreachable)
    try:
        resp = await kit.service.send(caller("a"), text_msg("a", "b"), operation_id="op-down")
    finally:
        await unreachable.aclose()
    assert resp.serverMsgID
    assert "send status of op-down not kept: ConnectionError" in caplog.text
