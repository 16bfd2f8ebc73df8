"""The scheduled jobs (OpenIM's crontask) over a clock the test moves, on SQLite and PostgreSQL: what each one
removes, which seqs, the notification it sends, and the scheduler around them (firings, one runner, metrics)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from tests.api.chat import SI_AB, Chat, open_chat
from tests.api.conftest import Api

from openim.api.app import create_app
from openim.infra.bus import TOPIC_PUSH, Push
from openim.infra.clock import FakeClock
from openim.jobs.crontask import JOB_MSG_DESTRUCT, JOB_RETAIN_CHAT_RECORDS, JOB_VERSION_LOG_CLEANUP
from openim.jobs.scheduler import Scheduler
from openim.protocol.constants import ContentType
from openim.runtime import Runtime
from openim.settings import Settings

DAY = 86_400


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[Api]:
    """The REST API over a runtime on a FakeClock (`api.runtime.clock`), every job scheduled each minute."""
    import httpx

    cron = {"cronExecuteTime": "* * * * *", "msgDestructExecuteTime": "* * * * *"}
    tokens = {"expire": "3650d"}  # the tests move the clock by a year
    settings = Settings.model_validate({"database": {"url": db_url}, "cronTask": cron, "tokenPolicy": tokens})
    runtime = await Runtime.build(settings, clock=FakeClock())
    transport = httpx.ASGITransport(app=create_app(runtime.services))
    async with httpx.AsyncClient(transport=transport, base_url="http://openim.test") as http:
        yield Api(http, runtime)
    await runtime.close()


def clock_of(api: Api) -> FakeClock:
    clock = api.runtime.clock
    assert isinstance(clock, FakeClock)
    return clock


async def set_destruct(chat: Chat, owner: str, peer: str, seconds: int, *, on: bool = True) -> None:
    conv = {
        "conversationID": f"si_{min(owner, peer)}_{max(owner, peer)}",
        "conversationType": 1,
        "userID": peer,
        "isMsgDestruct": on,
        "msgDestructTime": seconds,
    }
    await chat.ok("/conversation/set_conversations", {"userIDs": [owner], "conversation": conv}, as_=owner)


async def visible_seqs(chat: Chat, user: str) -> list[int]:
    return [m["seq"] for m in await chat.pull(user, SI_AB) if m.get("status") != 4]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- msg_destruct: OpenIM's clearUserMsg -----------------------------------------------------------------------


async def test_destruct_hides_old_messages_from_the_owner_only(api: Api) -> None:
    """Messages older than msgDestructTime disappear for the owner (its min seq rises past them), the peer keeps
    them, the owner gets 1300 ConversationChanged, and the conversation reads minSeq and latestMsgDestructTime."""
    chat = await open_chat(api, "alice", "bob")
    clock = clock_of(api)
    await set_destruct(chat, "alice", "bob", 60)
    for text in ("one", "two"):
        await chat.send("alice", "bob", text)
    clock.advance(150)
    await chat.send("bob", "alice", "three")  # seq 3: 30 s old at the firing, younger than msgDestructTime
    pushed: list[Push] = []
    sub = api.runtime.bus.subscribe(TOPIC_PUSH, lambda e: pushed.append(e) if isinstance(e, Push) else None)
    scheduler = api.runtime.scheduler()
    await scheduler.tick()  # plans the next firing: the next whole minute, 30 s from now
    clock.advance(30)
    outcomes = await scheduler.tick()
    assert [(o.name, o.result, o.removed) for o in outcomes if o.name == JOB_MSG_DESTRUCT] == [
        (JOB_MSG_DESTRUCT, "ok", 1)
    ]
    assert await visible_seqs(chat, "alice") == [3]
    assert await visible_seqs(chat, "bob") == [1, 2, 3]
    conv = await chat.ok(
        "/conversation/get_conversation", {"ownerUserID": "alice", "conversationID": SI_AB}, as_="alice"
    )
    assert conv["conversation"]["minSeq"] == 3
    assert conv["conversation"]["latestMsgDestructTime"] == clock.now_ms()
    await api.runtime.bus.drain()  # type: ignore[attr-defined]
    await sub.close()
    changes = [p for p in pushed if p.msg.contentType == ContentType.CONVERSATION_CHANGE_NOTIFICATION]
    assert [set(p.user_ids) for p in changes] == [{"alice"}]
    detail = json.loads(json.loads(changes[0].msg.content)["detail"])  # NotificationElem{detail: tips as JSON}
    assert detail == {"userID": "alice", "conversationIDList": [SI_AB]}


async def test_destruct_waits_msg_destruct_time_between_runs(api: Api) -> None:
    """A row is done at most once per msgDestructTime; a run that hides nothing changes no min seq."""
    chat = await open_chat(api, "alice", "bob")
    clock = clock_of(api)
    await set_destruct(chat, "alice", "bob", 3600)
    await chat.send("alice", "bob", "old")
    clock.advance(2 * 3600)
    conversation = api.runtime.services.conversation
    first = await conversation.destruct_due_msgs(clock.now_ms())
    assert [(d.owner_user_id, d.min_seq) for d in first] == [("alice", 2)]
    await chat.send("alice", "bob", "new")
    clock.advance(1800)  # half a msgDestructTime since the last run: not due
    assert await conversation.destruct_due_msgs(clock.now_ms()) == []
    clock.advance(1801)  # "new" is now 3601 s old and the row is due
    again = await conversation.destruct_due_msgs(clock.now_ms())
    assert [(d.owner_user_id, d.min_seq) for d in again] == [("alice", 3)]


async def test_destruct_ignores_rows_switched_off_and_never_lowers_min_seq(api: Api) -> None:
    """isMsgDestruct off, or msgDestructTime 0, is never due; a cleared conversation stays cleared."""
    chat = await open_chat(api, "alice", "bob")
    clock = clock_of(api)
    await set_destruct(chat, "alice", "bob", 60, on=False)
    await set_destruct(chat, "bob", "alice", 0)
    for text in ("a", "b", "c"):
        await chat.send("alice", "bob", text)
    clock.advance(3600)
    conversation = api.runtime.services.conversation
    assert await conversation.destruct_due_msgs(clock.now_ms()) == []
    await chat.ok("/msg/clear_conversation_msg", {"userID": "alice", "conversationIDs": [SI_AB]}, as_="alice")
    await set_destruct(chat, "alice", "bob", 60)
    await chat.send("bob", "alice", "d")  # seq 4
    clock.advance(30)  # "d" is 30 s old: the destruct point is seq 3, below the clear (min seq 4)
    done = await conversation.destruct_due_msgs(clock.now_ms())
    assert [(d.owner_user_id, d.min_seq) for d in done] == [("alice", 0)]
    assert await visible_seqs(chat, "alice") == [4]


# --- retain_chat_records: OpenIM's deleteMsg (DestructMsgs) ------------------------------------------------------


async def test_retention_deletes_old_messages_for_everyone(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """Messages older than retainChatRecords days are deleted, the conversation's min seq moves past them, newer
    ones stay; the run is logged with what it removed and counted in the metrics."""
    chat = await open_chat(api, "alice", "bob", "carol")
    clock = clock_of(api)
    for text in ("1", "2", "3"):
        await chat.send("alice", "bob", text)
    await chat.send("carol", "alice", "carol-old")
    clock.advance(200 * DAY)
    await chat.send("bob", "alice", "4")
    clock.advance(166 * DAY)  # messages 1-3 and carol's are 366 days old, 4 is 166
    before = sample("openim_cron_removed_total", task=JOB_RETAIN_CHAT_RECORDS)
    with caplog.at_level(logging.INFO, logger="openim.jobs"):
        outcome = await api.runtime.scheduler().run_job(JOB_RETAIN_CHAT_RECORDS)
    assert (outcome.result, outcome.removed) == ("ok", 4)
    assert await visible_seqs(chat, "alice") == [4]
    assert await visible_seqs(chat, "bob") == [4]
    seqs = await chat.seqs("bob", SI_AB)
    assert seqs is not None and seqs["maxSeq"] == 4
    views = await api.runtime.storage.msg.seq_states([SI_AB, "si_alice_carol"])
    assert (views[SI_AB].min_seq, views["si_alice_carol"].min_seq) == (4, 2)
    assert sample("openim_cron_removed_total", task=JOB_RETAIN_CHAT_RECORDS) == before + 4
    line = next(r.getMessage() for r in caplog.records if r.name == "openim.jobs.scheduler")
    assert line.startswith(f"{JOB_RETAIN_CHAT_RECORDS}: 4 message(s) sent before ")
    assert f"{SI_AB} up to seq 3 (3)" in line and "si_alice_carol up to seq 1 (1)" in line


async def test_retention_is_off_at_zero_days(api: Api) -> None:
    """retainChatRecords 0 keeps messages forever: the job is not scheduled."""
    api.runtime.settings.cronTask.retainChatRecords = 0
    scheduler = api.runtime.scheduler()
    await scheduler.tick()
    assert scheduler.next_firing(JOB_RETAIN_CHAT_RECORDS) is None
    assert scheduler.next_firing(JOB_MSG_DESTRUCT) is not None


# --- version_log_cleanup ---------------------------------------------------------------------------------------


async def test_version_log_cleanup_forces_a_full_sync_on_older_versions(api: Api) -> None:
    """Deletion entries older than retainVersionLogs days go; a client holding a version from before them gets a
    full sync, one holding the current version an empty delta."""
    chat = await open_chat(api, "alice", "bob")
    clock = clock_of(api)
    await chat.send("alice", "bob", "hi")
    body = {"userID": "alice", "versionID": "", "version": 0}
    full = await chat.ok("/conversation/get_incremental_conversations", body, as_="alice")
    old = {"userID": "alice", "versionID": full["versionID"], "version": full["version"]}
    await chat.ok(
        "/conversation/delete_conversations", {"ownerUserID": "alice", "conversationIDs": [SI_AB]}, as_="alice"
    )
    delta = await chat.ok("/conversation/get_incremental_conversations", old, as_="alice")
    assert (delta["full"], delta["delete"]) == (False, [SI_AB])
    current = {**old, "version": delta["version"]}
    clock.advance(31 * DAY)
    outcome = await api.runtime.scheduler().run_job(JOB_VERSION_LOG_CLEANUP)
    assert (outcome.result, outcome.removed) == ("ok", 1)
    assert "conversation/alice (1)" in outcome.summary
    assert (await chat.ok("/conversation/get_incremental_conversations", old, as_="alice"))["full"] is True
    unchanged = await chat.ok("/conversation/get_incremental_conversations", current, as_="alice")
    assert (unchanged["full"], unchanged["delete"]) == (False, None)


async def test_version_log_cleanup_keeps_recent_deletions(api: Api) -> None:
    """A deletion younger than retainVersionLogs days stays in the log."""
    chat = await open_chat(api, "alice", "bob")
    await chat.send("alice", "bob", "hi")
    await chat.ok(
        "/conversation/delete_conversations", {"ownerUserID": "alice", "conversationIDs": [SI_AB]}, as_="alice"
    )
    clock_of(api).advance(29 * DAY)
    outcome = await api.runtime.scheduler().run_job(JOB_VERSION_LOG_CLEANUP)
    assert (outcome.result, outcome.removed) == ("ok", 0)


# --- the scheduler -------------------------------------------------------------------------------------------


async def test_one_runner_per_firing_among_processes(api: Api) -> None:
    """Two schedulers (two msgtransfer processes) on one database: each firing runs once, and a by-hand run waits
    for a running one's lease."""
    clock = clock_of(api)
    first, second = api.runtime.scheduler(owner="p1"), api.runtime.scheduler(owner="p2")
    await first.tick()
    await second.tick()
    clock.advance(60)
    outcomes = [o for s in (first, second) for o in await s.tick() if o.name == JOB_MSG_DESTRUCT]
    assert sorted(o.result for o in outcomes) == ["ok", "skipped"]
    repo = api.runtime.storage.cron_task
    assert await repo.claim(JOB_VERSION_LOG_CLEANUP, "p9", now=clock.now_ms(), lease_ms=60_000)  # running elsewhere
    assert (await second.run_job(JOB_VERSION_LOG_CLEANUP)).result == "skipped"
    clock.advance(61)  # p9 died: its lease ran out
    assert (await second.run_job(JOB_VERSION_LOG_CLEANUP)).result == "ok"


async def test_a_failing_job_is_counted_and_keeps_its_schedule(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that raises is logged, counted as failed and recorded; the next firing runs it again."""
    clock = clock_of(api)

    async def broken(now: int, *, batch: int = 100, max_batches: int = 100) -> list[object]:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(api.runtime.services.conversation, "destruct_due_msgs", broken)
    scheduler = api.runtime.scheduler()
    failed = sample("openim_cron_runs_total", task=JOB_MSG_DESTRUCT, result="failed")
    await scheduler.tick()
    clock.advance(60)
    outcome = next(o for o in await scheduler.tick() if o.name == JOB_MSG_DESTRUCT)
    assert (outcome.result, outcome.summary) == ("failed", "RuntimeError: database on fire")
    assert sample("openim_cron_runs_total", task=JOB_MSG_DESTRUCT, result="failed") == failed + 1
    state = next(s for s in await api.runtime.storage.cron_task.states() if s.name == JOB_MSG_DESTRUCT)
    assert state.last_error == "RuntimeError: database on fire" and state.lease_until == 0
    monkeypatch.undo()
    clock.advance(60)
    assert next(o for o in await scheduler.tick() if o.name == JOB_MSG_DESTRUCT).result == "ok"


async def test_schedule_changes_apply_from_the_next_firing(api: Api) -> None:
    """A new cron expression replans the job; "" turns it off."""
    clock = clock_of(api)
    scheduler: Scheduler = api.runtime.scheduler()
    await scheduler.tick()
    api.runtime.settings.cronTask.msgDestructExecuteTime = "0 * * * *"
    await scheduler.tick()
    planned = scheduler.next_firing(JOB_MSG_DESTRUCT)
    assert planned is not None and planned > clock.now_ms()
    assert dt.datetime.fromtimestamp(planned / 1000).minute == 0
    api.runtime.settings.cronTask.msgDestructExecuteTime = ""
    await scheduler.tick()
    assert scheduler.next_firing(JOB_MSG_DESTRUCT) is None
