"""`openim doctor` on webhooks: which hooks are on and whether the receiver accepts connections, and the
after-hook queue with its dead letters — in the database (no redis.url) and in Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ops.test_doctor import doctor, healthy
from tests.process import free_port
from tests.webhook_receiver import WebhookReceiver

from openim.infra.queue import dead_letter_topic
from openim.infra.redis import connect
from openim.infra.redis.queue import RedisStreamQueue
from openim.jobs.queue import DbQueue
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
    """One call waiting, one in hand, one dead letter (as the worker keeps it: the payload in `webhook.dead`)."""
    await queue.enqueue(TOPIC_WEBHOOK, b"in hand")
    jobs = queue.consume(TOPIC_WEBHOOK, "msgtransfer", "doctor-test")
    await anext(jobs)
    await queue.enqueue(TOPIC_WEBHOOK, b"waiting")
    await queue.enqueue(dead_letter_topic(TOPIC_WEBHOOK), b"doomed")


async def test_dead_letters_in_the_database_warn(tmp_path: Path) -> None:
    """Without redis.url the doctor reads the table queue_job: the topic webhook and its dead letters."""
    config = await healthy(tmp_path)
    storage = await open_storage(f"sqlite:///{tmp_path / 'data' / 'openim.db'}", pool_size=2)
    await _fill(DbQueue(storage.queue, lambda: 1_700_000_000_000))
    await storage.close()
    queue = (await doctor(config))["webhooks.queue"]
    assert queue.status is Status.WARN
    assert "1 after-hook calls waiting, 1 in hand, 1 dead letters" in queue.saw and "webhook.dead" in queue.saw


@pytest.mark.redis
async def test_dead_letters_in_redis_warn(tmp_path: Path, redis_url: str) -> None:
    """With redis.url the doctor reads the streams openim:queue:webhook and openim:queue:webhook.dead."""
    client = await connect(redis_url)
    await _fill(RedisStreamQueue(client))
    await client.aclose()
    queue = (await doctor(await healthy(tmp_path), OPENIM_REDIS_URL=redis_url))["webhooks.queue"]
    assert queue.status is Status.WARN and "openim:queue:webhook.dead" in queue.saw and "1 dead letters" in queue.saw
