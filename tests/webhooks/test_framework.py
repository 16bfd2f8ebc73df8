"""webhooks/: the transport (URL, headers, body, query), OpenIM's blocking rule, failedContinue both ways, the
content-type filters, and after hooks queued, retried until the receiver is back, and buried when it never is."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.process import free_port
from tests.webhook_receiver import Reply, WebhookReceiver, refuse

from openim.infra.queue import MemoryQueue, dead_letter_topic
from openim.jobs.worker import Worker
from openim.protocol.errors import DataError, NetworkError, WebhookRefusal
from openim.settings import load_settings
from openim.webhooks import TOPIC_WEBHOOK, Webhooks
from openim.webhooks.catalogue import COMMANDS, attribute_name, is_before
from openim.webhooks.hooks import TypeFilter

SINGLE = "callbackBeforeSendSingleMsgCommand"


@pytest.fixture
def receiver(webhook_receiver: WebhookReceiver) -> WebhookReceiver:
    return webhook_receiver


def hooks_for(url: str, queue: MemoryQueue | None = None, **env: str) -> Webhooks:
    settings = load_settings(None, {"OPENIM_WEBHOOKS_URL": url, **env})
    return Webhooks.from_config(settings.webhooks.model_dump(), queue=queue or MemoryQueue())


# ---- config ----------------------------------------------------------------------------------------------------


def test_every_hook_of_openim_is_an_attribute() -> None:
    """Every key of OpenIM's webhooks.yml is a typed attribute of Webhooks, off unless enabled."""
    hooks = Webhooks.off()
    annotated = {name for name in Webhooks.__annotations__ if not name.startswith("_")}
    assert annotated == {attribute_name(n) for n in COMMANDS}
    for name, command in COMMANDS.items():
        hook = getattr(hooks, attribute_name(name))
        assert (hook.name, hook.command, hook.enable) == (name, command, False)
        assert type(hook).__name__ == ("BeforeHook" if is_before(name) else "AfterHook")
    assert len(COMMANDS) == 53


def test_environment_switches_a_hook_on() -> None:
    """OPENIM_WEBHOOKS_<HOOK>_<KEY> variables set a hook's keys, lists comma-separated."""
    hooks = hooks_for(
        "http://127.0.0.1:1/cb",
        OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_ENABLE="true",
        OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_TIMEOUT="30",
        OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_FAILEDCONTINUE="false",
        OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_DENIEDTYPES="102,200-300",
        OPENIM_WEBHOOKS_AFTERSENDGROUPMSG_ATTENTIONIDS="g1,g2",
    )
    hook = hooks.before_send_single_msg
    assert (hook.enable, hook.timeout_s, hook.failed_continue) == (True, 15.0, False)  # timeout capped at 15 s
    assert [hook.accepts(t) for t in (101, 102, 250, 301)] == [True, False, False, True]
    assert hooks.after_send_group_msg.attention_ids == {"g1", "g2"}
    assert hooks.enabled() == ["beforeSendSingleMsg"]


def test_type_filter() -> None:
    """Notifications and typing never fire; allowedTypes narrows, deniedTypes removes, ranges are inclusive."""
    assert TypeFilter().accepts(101) and not TypeFilter().accepts(113) and not TypeFilter().accepts(1201)
    allowed = TypeFilter(allowed=[101, "105-110"])
    assert [allowed.accepts(t) for t in (101, 102, 105, 110, 111)] == [True, False, True, True, False]
    both = TypeFilter(allowed=["100-200"], denied=[110])
    assert [both.accepts(t) for t in (101, 110, 201)] == [True, False, False]


def test_bad_type_entries_are_config_errors() -> None:
    """A deniedTypes entry that is neither a type nor a low-high range is reported with its key."""
    with pytest.raises(Exception, match="deniedTypes"):
        load_settings(None, {"OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_DENIEDTYPES": "text"})
    with pytest.raises(Exception, match=r"webhooks\.url"):
        load_settings(None, {"OPENIM_WEBHOOKS_URL": "ftp://x"})


# ---- before hooks ------------------------------------------------------------------------------------------------


async def test_before_hook_posts_openims_request(receiver: WebhookReceiver) -> None:
    """POST {url}/{command}, JSON body with callbackCommand, operationID header; the answer comes back."""
    hooks = hooks_for(receiver.url, OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_ENABLE="true")
    receiver.answer(SINGLE, {"actionCode": 0, "errCode": 0, "nextCode": 0, "extra": "x"})
    answer = await hooks.before_send_single_msg.call({"sendID": "a", "recvID": "b"}, operation_id="op-1")
    assert answer is not None and answer["extra"] == "x"
    [call] = receiver.calls
    assert call.path == "/callbackExample/" + SINGLE
    assert call.body == {"sendID": "a", "recvID": "b", "callbackCommand": SINGLE}
    assert call.headers["operationid"] == "op-1"
    assert call.headers["content-type"] == "application/json; charset=utf-8"
    await hooks.close()


@pytest.mark.parametrize(
    ("answer", "blocked"),
    [
        ({"actionCode": 0, "nextCode": 1, "errCode": 5001}, True),
        ({"actionCode": 1, "nextCode": 1, "errCode": 5001}, False),
        ({"actionCode": 0, "nextCode": 0, "errCode": 5001}, False),
        ({}, False),
    ],
)
async def test_blocking_rule(receiver: WebhookReceiver, answer: dict[str, Any], blocked: bool) -> None:
    """Only actionCode == 0 and nextCode == 1 blocks (OpenIM's CommonCallbackResp.Parse)."""
    hooks = hooks_for(receiver.url, OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_ENABLE="true")
    receiver.answer(SINGLE, answer)
    if blocked:
        with pytest.raises(WebhookRefusal):
            await hooks.before_send_single_msg.call({})
    else:
        assert await hooks.before_send_single_msg.call({}) is not None
    await hooks.close()


async def test_refusal_carries_the_receivers_error(receiver: WebhookReceiver) -> None:
    """The caller gets the hook's errCode, errMsg and errDlt as sent; errCode 0 becomes 80000."""
    hooks = hooks_for(receiver.url, OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_ENABLE="true")
    receiver.answer(SINGLE, refuse(5001, "no swearing", "word 3"))
    with pytest.raises(WebhookRefusal) as caught:
        await hooks.before_send_single_msg.call({})
    assert caught.value.to_wire() == {"errCode": 5001, "errMsg": "no swearing", "errDlt": "word 3"}
    receiver.answer(SINGLE, refuse(0))
    with pytest.raises(WebhookRefusal) as caught:
        await hooks.before_send_single_msg.call({})
    assert caught.value.code == 80000
    await hooks.close()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(b"<html>oops</html>"), DataError),
        (Reply([1, 2]), DataError),
        (Reply({"actionCode": "0"}), DataError),
        (Reply({"errCode": 0}, status=502), NetworkError),
        (Reply(delay_s=1.5), NetworkError),
    ],
    ids=["not-json", "not-an-object", "string-code", "http-502", "timeout"],
)
async def test_failures_with_failed_continue_false_fail(receiver: WebhookReceiver, reply: Reply, error: type) -> None:
    """failedContinue false: a bad answer fails with 90007, no answer in time or a 5xx with 90004."""
    hooks = hooks_for(
        receiver.url,
        OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_ENABLE="true",
        OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_FAILEDCONTINUE="false",
        OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_TIMEOUT="1",
    )
    receiver.answer(SINGLE, reply)
    with pytest.raises(error):
        await hooks.before_send_single_msg.call({})
    await hooks.close()


async def test_unreachable_receiver_both_ways() -> None:
    """Connection refused: failedContinue true goes on (None), false fails with 90004 NetworkError."""
    url = f"http://127.0.0.1:{free_port()}/cb"
    going_on = hooks_for(url, OPENIM_WEBHOOKS_BEFOREADDFRIEND_ENABLE="true")
    assert await going_on.before_add_friend.call({"fromUserID": "a"}) is None
    failing = hooks_for(
        url, OPENIM_WEBHOOKS_BEFOREADDFRIEND_ENABLE="true", OPENIM_WEBHOOKS_BEFOREADDFRIEND_FAILEDCONTINUE="false"
    )
    with pytest.raises(NetworkError):
        await failing.before_add_friend.call({"fromUserID": "a"})
    await going_on.close()
    await failing.close()


async def test_timeout_with_failed_continue_goes_on(receiver: WebhookReceiver) -> None:
    """failedContinue true: a receiver slower than the timeout lets the operation go on unmodified."""
    hooks = hooks_for(
        receiver.url, OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_ENABLE="true", OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_TIMEOUT="1"
    )
    receiver.answer(SINGLE, Reply(refuse(5001), delay_s=1.5))
    assert await hooks.before_send_single_msg.call({}) is None
    await hooks.close()


def test_disabled_hooks_need_nothing() -> None:
    """Webhooks.off() has no transport and no queue; enabling a hook without them is refused at start."""
    hooks = Webhooks.off()
    assert hooks.transport is None and hooks.enabled() == []
    with pytest.raises(ValueError, match="no job queue"):
        Webhooks(None, None, {"afterUserOnline": {"enable": True}})


# ---- after hooks --------------------------------------------------------------------------------------------------


def _worker(queue: MemoryQueue, hooks: Webhooks, attempts: int = 10) -> Worker:
    return Worker(
        queue, TOPIC_WEBHOOK, hooks.delivery(), consumer="t", max_attempts=attempts, backoff_s=0.05, max_backoff_s=0.2
    )


async def test_after_hook_is_queued_then_delivered(receiver: WebhookReceiver) -> None:
    """fire() queues the call; the msgtransfer worker posts it with its query string and operationID."""
    queue = MemoryQueue(poll_s=0.05)
    hooks = hooks_for(receiver.url, queue, OPENIM_WEBHOOKS_AFTERSENDSINGLEMSG_ENABLE="true")
    await hooks.after_send_single_msg.fire({"sendID": "a"}, operation_id="op-2", query={"key": "k=="})
    assert (await queue.stats(TOPIC_WEBHOOK, "msgtransfer")).length == 1
    assert receiver.calls == []  # nothing posted until the worker runs
    worker = _worker(queue, hooks)
    running = asyncio.ensure_future(worker.run())
    [call] = await receiver.wait_for("callbackAfterSendSingleMsgCommand")
    assert call.query == {"key": "k=="}
    assert call.headers["operationid"] == "op-2"
    assert call.body == {"sendID": "a", "callbackCommand": "callbackAfterSendSingleMsgCommand"}
    worker.stop()
    await running
    await hooks.close()


async def test_after_hook_is_retried_until_the_receiver_is_back() -> None:
    """A receiver that is down: the call is tried again with growing pauses and arrives once it is up."""
    receiver = WebhookReceiver()  # not started: connection refused
    queue = MemoryQueue(poll_s=0.05)
    hooks = hooks_for(receiver.url, queue, OPENIM_WEBHOOKS_AFTERUSERONLINE_ENABLE="true")
    await hooks.after_user_online.fire({"userID": "u1"})
    worker = _worker(queue, hooks)
    running = asyncio.ensure_future(worker.run())
    await asyncio.sleep(0.3)
    assert worker.done == 0
    with receiver:
        [call] = await receiver.wait_for("callbackAfterUserOnlineCommand")
        assert call.body["userID"] == "u1"
        for _ in range(100):
            if worker.done:
                break
            await asyncio.sleep(0.02)
    assert (worker.done, worker.dead_letters) == (1, 0)
    worker.stop()
    await running
    await hooks.close()


async def test_after_hook_that_never_arrives_is_a_dead_letter(receiver: WebhookReceiver) -> None:
    """After the last try the call is buried in the topic's dead-letter list with the reason, not dropped."""
    queue = MemoryQueue(poll_s=0.05)
    hooks = hooks_for(receiver.url, queue, OPENIM_WEBHOOKS_AFTERUSEROFFLINE_ENABLE="true")
    receiver.answer("callbackAfterUserOfflineCommand", Reply(b"no", status=503))
    await hooks.after_user_offline.fire({"userID": "u1"})
    worker = _worker(queue, hooks, attempts=3)
    running = asyncio.ensure_future(worker.run())
    await receiver.wait_for("callbackAfterUserOfflineCommand", 3)
    for _ in range(100):
        if worker.dead_letters:
            break
        await asyncio.sleep(0.02)
    worker.stop()
    await running
    assert worker.dead_letters == 1
    dead_topic = dead_letter_topic(TOPIC_WEBHOOK)  # the worker keeps the call, payload unchanged, in <topic>.dead
    assert (await queue.stats(dead_topic, "msgtransfer")).length == 1
    dead = await anext(queue.consume(dead_topic, "test", "reader"))
    assert b"u1" in dead.payload
    await hooks.close()
