"""The push hooks through the REST API, against the test receiver: beforeOnlinePush, beforeGroupOnlinePush and
beforeOfflinePush post OpenIM's bodies (pkg/callbackstruct/push.go) of the stored message, a refusal cancels the
push, the group and offline answers' user lists and offlinePushInfo take effect (internal/push/push_handler.go);
the online hooks are asked after the commit, the sender does not wait for them, and a conversation's pushes keep
their order whatever order the answers come in. The online pushes are read off the bus, the offline ones from a
pusher behind the msgtransfer handler. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.api.chat import SI_AB, Chat
from tests.factories import make_group
from tests.webhook_receiver import OK, Call, refuse
from tests.webhooks.conftest import PUSH_HOOKS, Build, Hooked, enable

from openim.infra.bus import TOPIC_PUSH, Push
from openim.infra.pushers import LogPusher, Notice
from openim.jobs.offline_push import OfflinePushHandler
from openim.jobs.worker import Worker
from openim.metrics import WEBHOOK_CALLS
from openim.protocol.constants import OPT_HISTORY
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.msg.offline_push import TOPIC_OFFLINE_PUSH

ONLINE = "callbackBeforeOnlinePushCommand"
GROUP_ONLINE = "callbackBeforeGroupOnlinePushCommand"
OFFLINE = "callbackBeforeOfflinePushCommand"
PUSH_INFO = {"title": "Alice", "desc": "says hi", "ex": "x", "iOSPushSound": "ding", "iOSBadgeCount": True}


@dataclass
class RecordingPusher(LogPusher):
    """LogPusher that also keeps each notice."""

    notices: list[Notice] = field(default_factory=list)

    async def push(self, notice: Notice) -> None:
        self.notices.append(notice)
        await super().push(notice)


@dataclass
class Pushing:
    """A hooked runtime with its online pushes recorded off the bus and an offline-push worker running."""

    hooked: Hooked
    chat: Chat
    online: list[Push]
    pusher: RecordingPusher

    async def settled(self) -> None:
        """Every push of what was sent so far published, and every offline-push job handled."""
        runtime = self.hooked.runtime
        await runtime.services.msg.drain_jobs()
        await runtime.bus.drain()  # type: ignore[attr-defined]
        for _ in range(500):
            if (await runtime.queue.stats(TOPIC_OFFLINE_PUSH, "msgtransfer")).depth == 0:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("offline-push jobs left")

    def pushed(self, text: str) -> list[tuple[str, ...]]:
        """The user lists of the online pushes of the message whose text is `text`."""
        return [p.user_ids for p in self.online if f'"{text}"'.encode() in p.msg.content]


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event a receiver's answer can wait on (the request held open); set at the end whatever happened."""
    event = threading.Event()
    yield event
    event.set()


def hold_while(gate: threading.Event, words: str) -> Any:
    """A receiver answer: OK, after `gate` is set for the message whose content holds `words` (at most 30 s)."""

    def answer(call: Call) -> dict[str, Any]:
        if words in str(call.body.get("content")):
            gate.wait(30)
        return OK

    return answer


def online_answers() -> float:
    """beforeOnlinePush calls answered (allowed) so far in this process."""
    return float(WEBHOOK_CALLS.labels("beforeOnlinePush", "ok")._value.get())


@pytest.fixture
async def pushing(hooked_with: Build) -> AsyncIterator[Pushing]:
    """alice, bob, carol; the push hooks on; nobody connected (every receiver is pushed offline)."""
    hooked = await hooked_with(**enable(*PUSH_HOOKS))
    chat = await hooked.chat("alice", "bob", "carol")
    online: list[Push] = []
    runtime = hooked.runtime
    sub = runtime.bus.subscribe(TOPIC_PUSH, lambda e: online.append(e) if isinstance(e, Push) else None)
    pusher = RecordingPusher()
    handler = OfflinePushHandler(runtime.presence, runtime.storage, pusher, runtime.webhooks)
    worker = Worker(runtime.queue, TOPIC_OFFLINE_PUSH, handler, backoff_s=0.01)
    running = asyncio.ensure_future(worker.run())
    yield Pushing(hooked, chat, online, pusher)
    worker.stop()
    await running
    await sub.close()


def text(send_id: str, recv_id: str, words: str, **extra: Any) -> dict[str, Any]:
    return {
        "sendID": send_id,
        "recvID": recv_id,
        "senderPlatformID": 2,
        "contentType": 101,
        "sessionType": 1,
        "content": {"content": words},
        **extra,
    }


async def test_online_push_posts_openims_body(pushing: Pushing) -> None:
    """beforeOnlinePush: the sender's platform, the users pushed to, the message's fields, no offlinePushInfo
    (OpenIM leaves its embedded pointer nil there); its answer's user list is not read (OpenIM's neither)."""
    receiver = pushing.hooked.receiver
    receiver.answer(ONLINE, {"actionCode": 0, "userIDList": ["carol"]})
    await pushing.chat.ok("/msg/send_msg", text("alice", "bob", "hello"), as_="admin", op="op-online")
    await pushing.settled()
    [call] = receiver.calls_of(ONLINE)
    assert list(call.body) == [
        "callbackCommand",
        "operationID",
        "platformID",
        "platform",
        "userIDList",
        "clientMsgID",
        "sendID",
        "groupID",
        "contentType",
        "sessionType",
        "atUserIDList",
        "content",
    ]
    body = call.body
    assert (body["callbackCommand"], body["operationID"], body["platformID"], body["platform"]) == (
        ONLINE,
        "op-online",
        2,
        "Android",
    )
    # the receiver and, senderSync being on for REST sends, the sender's own devices
    assert (body["userIDList"], body["sendID"], body["groupID"], body["sessionType"]) == (
        ["bob", "alice"],
        "alice",
        "",
        1,
    )
    assert (body["contentType"], body["atUserIDList"], body["content"]) == (101, None, '{"content":"hello"}')
    assert pushing.pushed("hello") == [("bob", "alice")]


async def test_sender_does_not_wait_for_the_online_push_hook(pushing: Pushing, gate: threading.Event) -> None:
    """The send is answered while the app server still holds the hook's request; the push leaves once it answers,
    with the offline push of what it allowed."""
    receiver = pushing.hooked.receiver
    receiver.answer(ONLINE, hold_while(gate, "slow"))
    await pushing.chat.send("alice", "bob", "slow")  # answered: the hook's request is still held
    await receiver.wait_for(ONLINE)
    assert not gate.is_set()
    assert pushing.pushed("slow") == []
    assert pushing.pusher.notices == []
    assert await pushing.chat.texts("bob", SI_AB) == ["slow"]
    gate.set()
    await pushing.settled()
    assert pushing.pushed("slow") == [("bob", "alice")]
    assert [n.user_ids for n in pushing.pusher.notices] == [("bob",)]


async def test_pushes_keep_seq_order_when_the_hook_answers_out_of_order(
    pushing: Pushing, gate: threading.Event
) -> None:
    """Both hooks are asked at once; the second message's answer comes first, yet its push waits for the first's."""
    receiver = pushing.hooked.receiver
    receiver.answer(ONLINE, hold_while(gate, "first"))
    answered = online_answers()
    await pushing.chat.send("alice", "bob", "first")
    await pushing.chat.send("alice", "bob", "second")
    calls = await receiver.wait_for(ONLINE, 2)  # the second call is made while the first is held
    assert ["first" in c.body["content"] for c in calls] == [True, False]
    for _ in range(1000):  # until the second answer is in
        if online_answers() > answered:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the second message's hook was not answered")
    assert pushing.pushed("second") == []
    gate.set()
    await pushing.settled()
    order = [p.msg.seq for p in pushing.online if p.conversation_id == SI_AB]
    assert order == sorted(order) and len(order) == 2
    assert [b'"first"' in p.msg.content for p in pushing.online if p.conversation_id == SI_AB] == [True, False]
    assert sorted(n.client_msg_id for n in pushing.pusher.notices) == sorted(p.msg.clientMsgID for p in pushing.online)


async def test_online_push_refusal_cancels_both_pushes_not_the_message(pushing: Pushing) -> None:
    """A refused beforeOnlinePush: no online push, no offline push (OpenIM's Push2User returns before it), and the
    message is stored."""
    pushing.hooked.receiver.answer(ONLINE, refuse(8001, "quiet hours"))
    await pushing.chat.send("alice", "bob", "late")
    await pushing.settled()
    assert pushing.pushed("late") == []
    assert pushing.pusher.notices == []
    assert pushing.hooked.receiver.calls_of(OFFLINE) == []
    assert await pushing.chat.texts("bob", SI_AB) == ["late"]
    pushing.hooked.receiver.clear()
    await pushing.chat.send("alice", "bob", "morning")
    await pushing.settled()
    assert pushing.pushed("morning") == [("bob", "alice")]
    assert [n.user_ids for n in pushing.pusher.notices] == [("bob",)]


async def test_group_online_push_answer_replaces_the_members(pushing: Pushing) -> None:
    """beforeGroupOnlinePush: OpenIM's body (no user list, the seq); a non-empty userIDList is who the message is
    pushed to, online and offline; the conversation rows are still every member's."""
    await make_group(pushing.hooked.runtime.storage, "g1", "alice", ["bob", "carol"], now=1)
    receiver = pushing.hooked.receiver
    receiver.answer(GROUP_ONLINE, {"actionCode": 0, "userIDList": ["alice", "carol"]})
    await pushing.chat.ok(
        "/msg/send_msg", {**text("alice", "", "team"), "groupID": "g1", "sessionType": 3}, as_="admin", op="op-g"
    )
    await pushing.settled()
    [call] = receiver.calls_of(GROUP_ONLINE)
    assert list(call.body) == [
        "callbackCommand",
        "operationID",
        "platformID",
        "platform",
        "clientMsgID",
        "sendID",
        "groupID",
        "contentType",
        "sessionType",
        "atUserIDList",
        "content",
        "seq",
    ]
    assert (call.body["groupID"], call.body["sessionType"], call.body["operationID"]) == ("g1", 3, "op-g")
    [stored] = await pushing.chat.pull("bob", "sg_g1")
    assert call.body["seq"] == stored["seq"] > 0  # asked after the commit: the stored message's seq
    assert receiver.calls_of(ONLINE) == []
    assert pushing.pushed("team") == [("alice", "carol")]
    assert [n.user_ids for n in pushing.pusher.notices] == [("carol",)]
    assert await pushing.chat.texts("bob", "sg_g1") == ["team"]
    receiver.answer(GROUP_ONLINE, {"actionCode": 0, "userIDList": []})  # empty: OpenIM keeps the members
    await pushing.chat.send("alice", group_id="g1", text="all")
    await pushing.settled()
    assert [set(u) for u in pushing.pushed("all")] == [{"alice", "bob", "carol"}]


async def test_group_online_push_refusal_cancels_the_push(pushing: Pushing) -> None:
    await make_group(pushing.hooked.runtime.storage, "g2", "alice", ["bob"], now=1)
    pushing.hooked.receiver.answer(GROUP_ONLINE, refuse(8002))
    await pushing.chat.send("alice", group_id="g2", text="hush")
    await pushing.settled()
    assert pushing.pushed("hush") == []
    assert pushing.pusher.notices == []
    assert await pushing.chat.texts("bob", "sg_g2") == ["hush"]


async def test_offline_push_posts_openims_body_with_the_push_info(pushing: Pushing) -> None:
    """beforeOfflinePush: the users to push, the message's offlinePushInfo flattened in (Go's embedded pointer),
    the message's fields."""
    receiver = pushing.hooked.receiver
    await pushing.chat.ok(
        "/msg/send_msg", text("alice", "bob", "ring", offlinePushInfo=PUSH_INFO), as_="admin", op="op-off"
    )
    await pushing.settled()
    [call] = receiver.calls_of(OFFLINE)
    assert list(call.body.items()) == [
        ("callbackCommand", OFFLINE),
        ("operationID", "op-off"),
        ("platformID", 2),
        ("platform", "Android"),
        ("userIDList", ["bob"]),
        ("title", "Alice"),
        ("desc", "says hi"),
        ("ex", "x"),
        ("iOSPushSound", "ding"),
        ("iOSBadgeCount", True),
        ("signalInfo", ""),
        ("clientMsgID", call.body["clientMsgID"]),
        ("sendID", "alice"),
        ("groupID", ""),
        ("contentType", 101),
        ("sessionType", 1),
        ("atUserIDList", None),
        ("content", '{"content":"ring"}'),
    ]
    [notice] = pushing.pusher.notices
    assert (notice.user_ids, notice.title, notice.content) == (("bob",), "Alice", "says hi")


async def test_offline_push_answer_replaces_users_and_push_info(pushing: Pushing) -> None:
    """A non-empty userIDList is who is pushed, as given; an offlinePushInfo is what the notice says."""
    pushing.hooked.receiver.answer(
        OFFLINE, {"actionCode": 0, "userIDList": ["carol"], "offlinePushInfo": {"title": "New", "desc": "open"}}
    )
    await pushing.chat.send("alice", "bob", "psst")
    await pushing.settled()
    [call] = pushing.hooked.receiver.calls_of(OFFLINE)
    assert call.body["userIDList"] == ["bob"] and "title" not in call.body  # sent without offlinePushInfo
    [notice] = pushing.pusher.notices
    assert (notice.user_ids, notice.title, notice.content) == (("carol",), "New", "open")
    assert pushing.pushed("psst") == [("bob", "alice")]  # the online push is not this hook's


async def test_offline_push_refusal_cancels_it(pushing: Pushing) -> None:
    pushing.hooked.receiver.answer(OFFLINE, refuse(8003, "no pushes"))
    await pushing.chat.send("alice", "bob", "silent")
    await pushing.settled()
    assert len(pushing.hooked.receiver.calls_of(OFFLINE)) == 1
    assert pushing.pusher.notices == []
    assert pushing.pushed("silent") == [("bob", "alice")]


async def test_online_only_message_is_asked_without_the_sender_waiting(pushing: Pushing, gate: threading.Event) -> None:
    """A message stored nowhere (isHistory false) is asked the same way: sent while the hook holds its request,
    then pushed with seq 0, and never offline."""
    pushing.hooked.receiver.answer(ONLINE, hold_while(gate, "fleeting"))
    msg = MsgData(sendID="alice", recvID="bob", sessionType=1, contentType=101, content=b'{"content":"fleeting"}')
    msg.options[OPT_HISTORY] = False
    assert await pushing.hooked.runtime.services.msg.send_notification(msg, operation_id="op-fleeting") is None
    [call] = await pushing.hooked.receiver.wait_for(ONLINE)
    assert call.body["userIDList"] == ["bob", "alice"]
    assert pushing.pushed("fleeting") == []
    gate.set()
    await pushing.settled()
    assert [p.msg.seq for p in pushing.online if b'"fleeting"' in p.msg.content] == [0]
    assert pushing.pusher.notices == []


async def test_typing_fires_no_push_hook(pushing: Pushing) -> None:
    """Typing (113, online only; the SDKs send it over the gateway) is pushed without asking (OpenIM's push hooks
    skip it)."""
    msg = MsgData(sendID="alice", recvID="bob", sessionType=1, contentType=113, content=b'{"msgTips":"typing"}')
    msg.options[OPT_HISTORY] = False
    await pushing.hooked.runtime.services.msg.send_notification(msg, operation_id="op-typing")
    await pushing.settled()
    assert pushing.hooked.receiver.calls_of(ONLINE) == []
    assert pushing.pushed("typing") == [("bob", "alice")]  # senderSync, absent, is on
