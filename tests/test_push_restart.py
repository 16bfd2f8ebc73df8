"""Nothing lost across restarts: offline pushes still pending when a process is killed with SIGKILL are delivered
once it is back — the single embedded process (jobs in the SQLite database), and the msgtransfer
role of a split deployment (jobs in a Redis stream). The provider is the push webhook (`push.enable: webhook`) to
a fake app server on loopback that answers 503 until the kill, so the jobs are in flight when it comes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import empty_db_url
from tests.process import ServerProcess, free_port, start_server
from tests.pushfakes import FakeWebhook

MESSAGES = 5


def _until(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def _register(server: ServerProcess, token: str) -> None:
    """alice and bob; bob never connects, so every message to him is an offline push."""
    users = [{"userID": u, "nickname": u} for u in ("alice", "bob")]
    assert server.post("/user/user_register", {"users": users}, token)["errCode"] == 0


def _send(server: ServerProcess, token: str, prefix: str = "") -> list[str]:
    """MESSAGES texts from alice to bob; their clientMsgIDs."""
    ids = []
    for n in range(MESSAGES):
        body = {
            "sendID": "alice",
            "recvID": "bob",
            "contentType": 101,
            "sessionType": 1,
            "content": {"content": f"{prefix}{n}"},
        }
        result = server.post("/msg/send_msg", body, token)
        assert result["errCode"] == 0, result
        ids.append(str(result["data"]["clientMsgID"]))
    return ids


def _kill(server: ServerProcess) -> None:
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()


def _webhook_env(hook: FakeWebhook, **extra: str) -> dict[str, str]:
    return {"OPENIM_PUSH_ENABLE": "webhook", "OPENIM_PUSH_WEBHOOK_URL": hook.url, **extra}


async def test_kill_9_of_the_embedded_process_loses_no_push(tmp_path: Path) -> None:
    """Pushes failing (503) at the kill -9 of `openim start` (SQLite, no Redis: the embedded default) reach the app
    server after the restart, every message. (The queue's PostgreSQL path: tests/infra/test_queue.py.)"""
    hook = FakeWebhook()
    hook.server.fail_next(503, times=10_000)
    env = _webhook_env(hook)
    server = start_server(tmp_path, **env)
    try:
        token = server.admin_token()
        _register(server, token)
        ids = _send(server, token)
        _until(lambda: {r.json()["clientMsgID"] for r in hook.server.requests} == set(ids), "a first try of each push")
        _kill(server)
    finally:
        server.stop()
    hook.server.failures.clear()
    hook.server.requests.clear()
    # Fresh ports: the killed process's may be taken meanwhile (another test's outgoing connection); its database
    # in tmp_path is what carries the jobs.
    restarted = start_server(tmp_path, **env)
    try:
        _until(lambda: {r.json()["clientMsgID"] for r in hook.server.requests} >= set(ids), "every push after restart")
        assert all(r.json()["userIDList"] == ["bob"] for r in hook.server.requests)
    finally:
        restarted.stop()
        hook.server.stop()


@pytest.mark.redis
@pytest.mark.postgres
async def test_kill_9_of_msgtransfer_loses_no_push(
    tmp_path: Path, redis_url: str, request: pytest.FixtureRequest
) -> None:
    """With Redis, pushes queued while msgtransfer is dead and those it held when killed are all delivered later."""
    db_url = await empty_db_url(request, "postgres", tmp_path)
    hook = FakeWebhook()
    hook.server.fail_next(503, times=10_000)
    env = _webhook_env(hook, OPENIM_DATABASE_URL=db_url, OPENIM_REDIS_URL=redis_url)
    for name in ("front", "transfer"):
        (tmp_path / name).mkdir()
    front = start_server(tmp_path / "front", "api", "msggateway", **env)
    transfer_port = free_port()  # msgtransfer's process answers /healthz on its admin port
    transfer = start_server(
        tmp_path / "transfer", "msgtransfer", "admin", ports=(transfer_port, free_port(), transfer_port), **env
    )
    try:
        token = front.admin_token()
        _register(front, token)
        held = _send(front, token)
        _until(lambda: {r.json()["clientMsgID"] for r in hook.server.requests} == set(held), "a first try of each")
        _kill(transfer)
        queued = _send(front, token, prefix="+")
        hook.server.failures.clear()
        hook.server.requests.clear()
        back_port = free_port()  # not the killed one's: it may be taken meanwhile
        back = start_server(
            tmp_path / "transfer", "msgtransfer", "admin", ports=(back_port, free_port(), back_port), **env
        )
        try:
            want = set(held) | set(queued)
            _until(lambda: {r.json()["clientMsgID"] for r in hook.server.requests} >= want, "every push after restart")
        finally:
            back.stop()
    finally:
        transfer.stop()
        front.stop()
        hook.server.stop()
