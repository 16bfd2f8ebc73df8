"""The connection hooks of the gateway (docs/integrations.md): afterUserOnline when an SDK logs in,
afterUserOffline when it goes, afterUserKickOff when the multi-login policy or a forced logout closes it — with
OpenIM's bodies (callbackstruct/msg_gateway.go), posted by the msgtransfer worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.gateway.conftest import ADMIN, Gateway
from tests.webhook_receiver import WebhookReceiver

from openim.jobs.worker import Worker
from openim.runtime import Runtime
from openim.settings import Settings
from openim.webhooks import TOPIC_WEBHOOK

ONLINE, OFFLINE, KICK = (
    "callbackAfterUserOnlineCommand",
    "callbackAfterUserOfflineCommand",
    "callbackAfterUserKickOffCommand",
)
BASE = {"callbackCommand", "operationID", "platformID", "platform", "userID", "seq"}


@pytest.fixture
def settings(tmp_path: Path, webhook_receiver: WebhookReceiver) -> Settings:
    hooks = {name: {"enable": True} for name in ("afterUserOnline", "afterUserOffline", "afterUserKickOff")}
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'data' / 'openim.db'}"},
            "webhooks": {"url": webhook_receiver.url, **hooks},
        }
    )


@pytest.fixture
async def worker(runtime: Runtime) -> AsyncIterator[Worker]:
    worker = Worker(runtime.queue, TOPIC_WEBHOOK, runtime.webhooks.delivery(), backoff_s=0.05)
    running = asyncio.ensure_future(worker.run())
    yield worker
    worker.stop()
    await running


async def test_online_offline_and_kick_off(gateway: Gateway, webhook_receiver: WebhookReceiver, worker: Worker) -> None:
    """Login → afterUserOnline (isAppBackground, connID); a second login on the same platform kicks the first
    (policy 1) → afterUserKickOff and afterUserOffline for it; logout of the second → afterUserOffline."""
    first = await gateway.connect("alice", 2)  # Android
    [online] = await webhook_receiver.wait_for(ONLINE)
    assert set(online.body) == BASE | {"isAppBackground", "connID"}
    assert (online.body["userID"], online.body["platformID"], online.body["platform"]) == ("alice", 2, "Android")
    assert online.body["isAppBackground"] is False
    [conn] = gateway.server.hub.conns("alice")
    assert online.body["connID"] == conn.conn_id
    assert online.body["operationID"] == conn.operation_id == online.headers["operationid"]
    assert online.body["seq"] == gateway.runtime.clock.now_ms()

    second = await gateway.connect("alice", 2)
    await first.closed()
    [kicked] = await webhook_receiver.wait_for(KICK)
    assert set(kicked.body) == BASE and kicked.body["userID"] == "alice"
    [offline] = await webhook_receiver.wait_for(OFFLINE)
    assert set(offline.body) == BASE | {"connID"} and offline.body["connID"] == conn.conn_id
    await webhook_receiver.wait_for(ONLINE, 2)

    await second.close()
    offline_calls = await webhook_receiver.wait_for(OFFLINE, 2)
    assert offline_calls[1].body["connID"] != conn.conn_id


async def test_force_logout_fires_kick_off(gateway: Gateway, webhook_receiver: WebhookReceiver, worker: Worker) -> None:
    """An admin's force_logout closes the connection through the bus: afterUserKickOff, then afterUserOffline."""
    client = await gateway.connect("bob", 1)  # iOS
    await webhook_receiver.wait_for(ONLINE)
    await gateway.runtime.services.auth.force_logout(ADMIN, "bob", 1)
    await client.closed()
    [kicked] = await webhook_receiver.wait_for(KICK)
    assert (kicked.body["userID"], kicked.body["platform"]) == ("bob", "IOS")
    await webhook_receiver.wait_for(OFFLINE)
