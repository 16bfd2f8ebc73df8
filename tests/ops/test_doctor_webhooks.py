"""`openim doctor` on webhooks: which hooks are on and whether the receiver accepts connections, and the
after-hook queue with its dead letters — in the database (no redis.url) and in Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ops.test_doctor import doctor, healthy
from tests.process import free_port
from tests.webhook_receiver import WebhookReceiver

from openim.infra.queue import Job
from openim.infra.redis import connect
from openim.infra.redis.queue import RedisStreamQueue
from openim.jobs.db_queue import DbQueue
from openim.ops.doctor import Status
from openim.storage import open_storage
from openim.webhooks import TOPIC_WEBHOOK


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


async def test_no_hook_on_is_ok(tmp_path: Path) -> None:
    """With every hook off nothing is posted; the empty queue is OK."""
    checks = await doctor(await healthy(tmp_path))
    assert checks["webhooks"].status is Status.OK and "no hook is enabled" in checks["webhooks"].saw
    queue = checks["webhooks.queue"]
    assert queue.status is Status.OK and "0 after-hook calls waiting, 0 in hand, 0 dead letters" in queue.saw


async def test_receiver_reachable_or_not(tmp_path: Path) -> None:
    """A listening receiver is OK; a closed port WARNs, and FAILs when a before hook would fail its operations."""
    config = await healthy(tmp_path)
    with WebhookReceiver() as receiver:
        checks = await doctor(config, OPENIM_WEBHOOKS_URL=receiver.url, OPENIM_WEBHOOKS_AFTERUSERONLINE_ENABLE="true")
        assert checks["webhooks"].status is Status.OK and "afterUserOnline" in checks["webhooks"].saw
        assert receiver.calls == []  # the doctor posts nothing
    closed = f"http://127.0.0.1:{free_port()}/cb"
    checks = await doctor(config, OPENIM_WEBHOOKS_URL=closed, OPENIM_WEBHOOKS_AFTERUSERONLINE_ENABLE="true")
    assert checks["webhooks"].status is Status.WARN and "refuses connections" in checks["webhooks"].saw
    checks = await doctor(
        config,
        OPENIM_WEBHOOKS_URL=closed,
        OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_ENABLE="true",
        OPENIM_WEBHOOKS_BEFORESENDSINGLEMSG_FAILEDCONTINUE="false",
    )
    assert checks["webhooks"].status is Status.FAIL and "beforeSendSingleMsg fail" in checks["webhooks"].saw


async def _fill(queue: DbQueue | RedisStreamQueue) -> None:
    for payload in (b"waiting", b"doomed"):
        await queue.enqueue(TOPIC_WEBHOOK, payload)
    jobs = queue.consume(TOPIC_WEBHOOK, "msgtransfer", "doctor-test")
    first: Job = await anext(jobs)
    second: Job = await anext(jobs)
    await queue.bury(second if second.payload == b"doomed" else first, "failed 10 times; last: HTTP 503")


async def test_dead_letters_in_the_database_warn(tmp_path: Path) -> None:
    """Without redis.url the doctor reads the tables job and job_dead and shows the newest dead letter's reason."""
    config = await healthy(tmp_path)
    storage = await open_storage(f"sqlite:///{tmp_path / 'data' / 'openim.db'}", pool_size=2)
    await _fill(DbQueue(storage.queue))
    await storage.close()
    queue = (await doctor(config))["webhooks.queue"]
    assert queue.status is Status.WARN
    assert "1 in hand, 1 dead letters" in queue.saw and "HTTP 503" in queue.saw


@pytest.mark.redis
async def test_dead_letters_in_redis_warn(tmp_path: Path, redis_url: str) -> None:
    """With redis.url the doctor reads the streams openim:queue:webhook and openim:dead:webhook."""
    client = await connect(redis_url)
    await _fill(RedisStreamQueue(client))
    await client.aclose()
    queue = (await doctor(await healthy(tmp_path), OPENIM_REDIS_URL=redis_url))["webhooks.queue"]
    assert queue.status is Status.WARN and "openim:dead:webhook" in queue.saw and "HTTP 503" in queue.saw
