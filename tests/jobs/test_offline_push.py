"""Offline push end to end: a committed message becomes one job, the msgtransfer worker pushes it to the recipients
without a live mobile connection and not muted (docs/push.md) through the Pusher, and to nobody else; the notice
carries OpenIM's title and offlinePushInfo. On SQLite and PostgreSQL (the receive options are rows)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from tests.factories import make_group
from tests.pushfakes import FakeFcm, FakeGetui, FakeJPush, FakeWebhook
from tests.services.msgkit import MsgKit, caller, msg_kit, text_msg

from openim.infra.presence import MemoryPresence
from openim.infra.pushers import LogPusher, Notice, Pusher
from openim.infra.pushers.fcm import FcmPusher, service_account_of
from openim.infra.pushers.getui import GetuiPusher
from openim.infra.pushers.jpush import JPushPusher
from openim.infra.pushers.webhook import WebhookPusher
from openim.infra.queue import MemoryQueue
from openim.jobs.offline_push import OfflinePushHandler, notice_of
from openim.jobs.worker import Worker
from openim.protocol.constants import ANDROID, IOS, WEB, ContentType, RecvMsgOpt, SessionType
from openim.protocol.pb.sdkws_pb2 import MsgData, OfflinePushInfo
from openim.services.auth import Caller
from openim.services.msg.offline_push import TOPIC_OFFLINE_PUSH, OfflinePushJob, decode, encode
from openim.services.third import ThirdService
from openim.storage import Storage
from openim.storage.conversation import ConversationKey


@dataclass
class RecordingPusher(LogPusher):
    """LogPusher that also remembers each call's users and conversation."""

    calls: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    async def push(self, notice: Notice) -> None:
        """Record the call, then log it as LogPusher does."""
        self.calls.append((notice.user_ids, notice.conversation_id))
        self.notices.append(notice)
        await super().push(notice)


@dataclass
class Transfer:
    """A msg kit whose offline-push jobs a running worker hands to a recording pusher."""

    kit: MsgKit
    queue: MemoryQueue
    presence: MemoryPresence
    pusher: RecordingPusher

    async def settled(self) -> list[tuple[tuple[str, ...], str]]:
        """The pushes so far, once every job enqueued was handled."""
        await self.kit.service.drain_jobs()
        for _ in range(200):
            if (await self.queue.stats(TOPIC_OFFLINE_PUSH, "msgtransfer")).depth == 0:
                break
            await asyncio.sleep(0.01)
        return self.pusher.calls


@pytest.fixture
async def transfer(storage: Storage) -> AsyncIterator[Transfer]:
    """Users a, b, c; a memory queue and presence; a worker running the offline-push handler."""
    queue, presence, pusher = MemoryQueue(poll_s=0.05), MemoryPresence(), RecordingPusher()
    async with msg_kit(storage, queue=queue) as kit:
        await kit.users("a", "b", "c")
        worker = Worker(queue, TOPIC_OFFLINE_PUSH, OfflinePushHandler(presence, storage, pusher), backoff_s=0.01)
        running = asyncio.ensure_future(worker.run())
        yield Transfer(kit, queue, presence, pusher)
        worker.stop()
        await running


async def test_offline_user_gets_exactly_one_push(transfer: Transfer, caplog: pytest.LogCaptureFixture) -> None:
    """A message to a user with no connection produces one LogPusher call, for that user only, and its log line."""
    caplog.set_level(logging.INFO, logger="openim.infra.pushers")
    await transfer.kit.send("a", "b", "hello")
    assert await transfer.settled() == [(("b",), "si_a_b")]
    lines = [r for r in caplog.records if r.name == "openim.infra.pushers"]
    assert len(lines) == 1 and "offline push (log only) to b" in lines[0].getMessage()


async def test_user_online_on_mobile_gets_none(transfer: Transfer) -> None:
    """A receiver with a live Android or iOS connection got the message there: no offline push."""
    await transfer.presence.set_online("b", ANDROID, "conn-b")
    await transfer.presence.set_online("c", IOS, "conn-c")
    await transfer.kit.send("a", "b")
    await transfer.kit.send("a", "c")
    assert await transfer.settled() == []


async def test_ios_app_in_background_is_pushed(transfer: Transfer) -> None:
    """An iOS connection in background gets no online push from the gateway, so it gets the offline one (OpenIM);
    an Android one in background still takes online pushes; back in foreground, iOS counts as online again."""
    await transfer.presence.set_online("b", IOS, "conn-b", background=True)
    await transfer.presence.set_online("c", ANDROID, "conn-c", background=True)
    await transfer.kit.send("a", "b")
    await transfer.kit.send("a", "c")
    assert await transfer.settled() == [(("b",), "si_a_b")]
    await transfer.presence.set_background("b", IOS, "conn-b", False)
    await transfer.kit.send("a", "b")
    assert await transfer.settled() == [(("b",), "si_a_b")]


async def test_user_online_on_web_only_is_still_pushed(transfer: Transfer) -> None:
    """Only an iOS/Android connection counts (docs/protocol/messages.md §4 step 10): a web-only receiver is pushed."""
    await transfer.presence.set_online("b", WEB, "conn-b")
    await transfer.kit.send("a", "b")
    assert await transfer.settled() == [(("b",), "si_a_b")]


async def test_offline_push_option_off_gets_none(transfer: Transfer) -> None:
    """A message sent with offlinePush=false enqueues no job and pushes nothing."""
    msg = text_msg("a", "b")
    msg.options["offlinePush"] = False
    await transfer.kit.service.send(caller("a"), msg, operation_id="op")
    assert await transfer.settled() == []
    assert (await transfer.queue.stats(TOPIC_OFFLINE_PUSH, "msgtransfer")).length == 0


async def test_group_message_pushes_offline_members_but_not_the_sender(transfer: Transfer) -> None:
    """In a group, every offline member but the sender is pushed in one call; mobile-online members are not."""
    await make_group(transfer.kit.storage, "g1", "a", ["b", "c"], now=transfer.kit.clock.now_ms())
    await transfer.presence.set_online("c", ANDROID, "conn-c")
    msg = text_msg("a", "", sessionType=SessionType.READ_GROUP_CHAT, groupID="g1")
    await transfer.kit.service.send(caller("a"), msg, operation_id="op")
    assert await transfer.settled() == [(("b",), "sg_g1")]


async def test_muted_group_conversation_gets_none(transfer: Transfer) -> None:
    """Members whose group conversation receive option is 1 or 2 get no offline push; the others do."""
    kit = transfer.kit
    await kit.users("d")
    await make_group(kit.storage, "g1", "a", ["b", "c", "d"], now=kit.clock.now_ms())
    key = ConversationKey("sg_g1", SessionType.READ_GROUP_CHAT, group_id="g1")
    await kit.storage.conversation.set_fields(["b"], key, {"recv_msg_opt": RecvMsgOpt.NOT_RECEIVE}, now=1)
    await kit.storage.conversation.set_fields(["c"], key, {"recv_msg_opt": RecvMsgOpt.RECEIVE_NOT_NOTIFY}, now=1)
    msg = text_msg("a", "", sessionType=SessionType.READ_GROUP_CHAT, groupID="g1")
    await kit.service.send(caller("a"), msg, operation_id="op")
    assert await transfer.settled() == [(("d",), "sg_g1")]


async def test_global_recv_opt_mutes_group_pushes(transfer: Transfer) -> None:
    """A member whose global receive option is 2 (receive, no offline push) gets no push of a group message."""
    kit = transfer.kit
    await kit.storage.user.update_user("b", global_recv_msg_opt=RecvMsgOpt.RECEIVE_NOT_NOTIFY)
    await make_group(kit.storage, "g1", "a", ["b", "c"], now=kit.clock.now_ms())
    msg = text_msg("a", "", sessionType=SessionType.READ_GROUP_CHAT, groupID="g1")
    await kit.service.send(caller("a"), msg, operation_id="op")
    assert await transfer.settled() == [(("c",), "sg_g1")]


async def test_receive_options_changed_between_pushes_apply_to_the_next(transfer: Transfer) -> None:
    """The options come from the fact cache (storage/facts.py): once a group's push read them, the next push of a
    warm group reads nothing from the database, and a change of either option applies to the push after it."""
    kit = transfer.kit
    facts = kit.storage.facts
    await kit.users("d")
    await make_group(kit.storage, "g1", "a", ["b", "c", "d"], now=kit.clock.now_ms())
    key = ConversationKey("sg_g1", SessionType.READ_GROUP_CHAT, group_id="g1")
    group_msg = lambda: text_msg("a", "", sessionType=SessionType.READ_GROUP_CHAT, groupID="g1")  # noqa: E731
    await kit.service.send(caller("a"), group_msg(), operation_id="op1")
    assert await transfer.settled() == [(("b", "c", "d"), "sg_g1")]
    misses = facts.misses
    before = {name: stat.count for name, stat in kit.storage.db.stats.by_name.items()}
    await kit.service.send(caller("a"), group_msg(), operation_id="op2")
    assert (await transfer.settled())[1:] == [(("b", "c", "d"), "sg_g1")]
    assert facts.misses == misses
    ran = {name for name, stat in kit.storage.db.stats.by_name.items() if stat.count != before.get(name)}
    assert ran == {"msg.append_batch"}  # the message's own write; the push decided from memory
    await kit.storage.conversation.set_fields(["b"], key, {"recv_msg_opt": RecvMsgOpt.NOT_RECEIVE}, now=1)
    await kit.storage.user.update_user("c", global_recv_msg_opt=RecvMsgOpt.RECEIVE_NOT_NOTIFY)
    await kit.service.send(caller("a"), group_msg(), operation_id="op3")
    assert (await transfer.settled())[2:] == [(("d",), "sg_g1")]
    await kit.storage.conversation.set_fields(["b"], key, {"recv_msg_opt": RecvMsgOpt.RECEIVE}, now=2)
    await kit.storage.user.update_user("c", global_recv_msg_opt=RecvMsgOpt.RECEIVE)
    await kit.service.send(caller("a"), group_msg(), operation_id="op4")
    assert (await transfer.settled())[3:] == [(("b", "c", "d"), "sg_g1")]


async def test_single_chat_recv_opt_2_gets_none(transfer: Transfer) -> None:
    """A receiver whose conversation receive option is 2 gets the message but no offline push (settled at send)."""
    kit = transfer.kit
    key = ConversationKey("si_a_b", SessionType.SINGLE_CHAT, user_id="a")
    await kit.storage.conversation.set_fields(["b"], key, {"recv_msg_opt": RecvMsgOpt.RECEIVE_NOT_NOTIFY}, now=1)
    await kit.send("a", "b")
    assert await transfer.settled() == []


async def test_notice_carries_offline_push_info(transfer: Transfer) -> None:
    """offlinePushInfo's title, desc, ex, sound and badge flag reach the pusher with the clientMsgID."""
    info = OfflinePushInfo(title="T", desc="D", ex="E", iOSPushSound="ding.caf", iOSBadgeCount=True)
    msg = text_msg("a", "b")
    msg.offlinePushInfo.CopyFrom(info)
    await transfer.kit.service.send(caller("a"), msg, operation_id="op9")
    await transfer.settled()
    [notice] = transfer.pusher.notices
    assert (notice.title, notice.content, notice.ex, notice.ios_push_sound, notice.ios_badge_count) == (
        "T",
        "D",
        "E",
        "ding.caf",
        True,
    )
    assert notice.client_msg_id == msg.clientMsgID and notice.operation_id == "op9" and notice.msg.seq == 1


@pytest.mark.parametrize(
    ("content_type", "title"),
    [(ContentType.TEXT, "[TEXT]"), (ContentType.PICTURE, "[PICTURE]"), (ContentType.FILE, "[File]"), (110, "[NEWMSG]")],
)
def test_title_without_offline_push_info_is_openims_placeholder(content_type: int, title: str) -> None:
    """With no offlinePushInfo title the notice says OpenIM's placeholder, and the body repeats it."""
    notice = notice_of(MsgData(contentType=content_type), ("b",), conversation_id="si_a_b", operation_id="")
    assert (notice.title, notice.content) == (title, title)


def test_job_payload_round_trips() -> None:
    """An offline-push job decodes to what was encoded; anything else is a ValueError."""
    job = OfflinePushJob("si_a_b", MsgData(sendID="a", recvID="b", seq=3), ("b",), "op1")
    assert decode(encode(job)) == job
    with pytest.raises(ValueError):
        decode(b"not json")


# --- through each real provider, to its fake vendor ----------------------------------------------------------------


@dataclass
class Vendor:
    """A provider wired to its fake vendor, and how to read which users the vendor was asked to notify."""

    pusher: Pusher
    reached: Callable[[], list[str]]
    stop: Callable[[], None]


async def _vendor(kind: str, third: ThirdService) -> Vendor:
    if kind == "webhook":
        hook = FakeWebhook()
        return Vendor(
            WebhookPusher(hook.url, third),
            lambda: [u for b in hook.bodies() for u in b["userIDList"]],
            hook.server.stop,
        )
    if kind == "fcm":
        fcm = FakeFcm()
        for user in ("b", "c"):
            await third.update_fcm_token(Caller(user, ANDROID), user, ANDROID, f"tok-{user}", expire_time_s=0)
        pusher = FcmPusher(third, account=service_account_of(fcm.service_account()), endpoint=fcm.server.url)
        return Vendor(pusher, lambda: [str(m["token"]).removeprefix("tok-") for m in fcm.sent()], fcm.server.stop)
    if kind == "jpush":
        jpush = FakeJPush()
        jpush.devices |= {"b", "c"}
        pusher = JPushPusher(jpush.app_key, jpush.master_secret, push_url=jpush.push_url)
        return Vendor(pusher, lambda: [u for p in jpush.pushes() for u in p["audience"]["alias"]], jpush.server.stop)
    getui = FakeGetui()
    pusher = GetuiPusher(getui.app_key, getui.master_secret, push_url=getui.push_url)
    singles = getui.server.to
    return Vendor(
        pusher,
        lambda: [u for r in singles("/push/single/alias") for u in r.json()["audience"]["alias"]],
        getui.server.stop,
    )


@pytest.mark.parametrize("kind", ["webhook", "fcm", "jpush", "getui"])
async def test_each_provider_reaches_the_offline_receiver_only(storage: Storage, kind: str) -> None:
    """Through every provider: the offline receiver is notified by the vendor; an online one and a muted one not."""
    queue, presence = MemoryQueue(poll_s=0.05), MemoryPresence()
    async with msg_kit(storage, queue=queue) as kit:
        await kit.users("a", "b", "c", "d")
        vendor = await _vendor(kind, ThirdService(storage, kit.clock))
        worker = Worker(queue, TOPIC_OFFLINE_PUSH, OfflinePushHandler(presence, storage, vendor.pusher), backoff_s=0.01)
        running = asyncio.ensure_future(worker.run())
        try:
            await presence.set_online("c", IOS, "conn-c")
            key = ConversationKey("si_a_d", SessionType.SINGLE_CHAT, user_id="a")
            await kit.storage.conversation.set_fields(
                ["d"], key, {"recv_msg_opt": RecvMsgOpt.RECEIVE_NOT_NOTIFY}, now=1
            )
            for receiver in ("b", "c", "d"):
                await kit.send("a", receiver)
            await kit.service.drain_jobs()
            for _ in range(300):
                if (await queue.stats(TOPIC_OFFLINE_PUSH, "msgtransfer")).depth == 0:
                    break
                await asyncio.sleep(0.01)
            assert vendor.reached() == ["b"] and worker.dead_letters == 0
        finally:
            worker.stop()
            await running
            await vendor.pusher.close()
            vendor.stop()
