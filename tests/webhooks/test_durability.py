"""Pending after-hook calls survive a kill -9, for real: of the single `openim start` process on the embedded
default (SQLite, the database queue), and of the msgtransfer role split off on Redis and PostgreSQL (the Redis
stream). The receiver is down while the process dies, so the call is held between two tries; it arrives once the
process is back and the receiver is up."""

from __future__ import annotations

import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.conftest import empty_db_url
from tests.process import OPENIM, clean_env, free_port, start_server
from tests.webhook_receiver import WebhookReceiver

REGISTER = "callbackAfterUserRegisterCommand"
FAST_RETRY = {
    "OPENIM_WEBHOOKS_AFTERUSERREGISTER_ENABLE": "true",
    "OPENIM_WEBHOOKS_RETRY_FIRSTDELAY": "0.2",
    "OPENIM_WEBHOOKS_RETRY_MAXDELAY": "0.5",
    "OPENIM_WEBHOOKS_RETRY_ATTEMPTS": "100",
}


def register(api: int, user_id: str) -> None:
    def post(path: str, body: object, token: str = "") -> dict[str, object]:
        headers = {"operationID": f"durable-{user_id}", **({"token": token} if token else {})}
        result: dict[str, object] = httpx.post(f"http://127.0.0.1:{api}{path}", json=body, headers=headers).json()
        assert result["errCode"] == 0, result
        return result

    data = post("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})["data"]
    assert isinstance(data, dict)
    post("/user/user_register", {"users": [{"userID": user_id, "nickname": user_id}]}, str(data["token"]))


def wait_for_retries(log: Path, at_least: int = 2, within: float = 30) -> None:
    """Until the msgtransfer role logged `at_least` failed tries of a webhook job (the call is held)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if log.is_file() and log.read_text(errors="replace").count("webhook job") >= at_least:
            return
        time.sleep(0.1)
    raise AssertionError(f"no retries logged in {log}")


def registered_users(receiver: WebhookReceiver, count: int) -> list[str]:
    calls = receiver.wait_for_sync(REGISTER, count, timeout_s=30)  # < the 60 s idle reclaim: taken back at once
    return sorted(u["userID"] for c in calls for u in c.body["users"])


def test_embedded_process_killed_holding_a_call(tmp_path: Path) -> None:
    """One `openim start` (SQLite): a call held between tries is posted after kill -9 and a restart."""
    receiver = WebhookReceiver()  # not listening yet: every try is refused
    env = {"OPENIM_WEBHOOKS_URL": receiver.url, **FAST_RETRY}
    ports = (free_port(), free_port(), free_port())
    server = start_server(tmp_path, ports=ports, **env)
    try:
        register(server.api, "held")
        wait_for_retries(tmp_path / "logs" / "msgtransfer.log")
        server.proc.kill()  # SIGKILL: no drain, the job stays claimed by a pid that is gone
        server.proc.wait()
        with receiver:
            server = start_server(tmp_path, ports=ports, **env)
            assert registered_users(receiver, 1) == ["held"]
    finally:
        server.stop()


@dataclass
class Role:
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start_role(cwd: Path, roles: tuple[str, ...], health_port: int, env: dict[str, str]) -> Role:
    out = cwd / f"{'-'.join(roles)}.out"
    with out.open("a") as sink:
        proc = subprocess.Popen([*OPENIM, "start", *roles], cwd=cwd, env=clean_env(**env), stdout=sink, stderr=sink)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(out.read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{health_port}/healthz", timeout=0.5).status_code == 200:
                return Role(proc, out)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"openim start {roles} did not answer")


@pytest.mark.postgres
@pytest.mark.redis
async def test_split_msgtransfer_killed(tmp_path: Path, request: pytest.FixtureRequest, redis_url: str) -> None:
    """api + msggateway and msgtransfer as two processes on PostgreSQL and Redis: msgtransfer killed -9 while it
    holds one call; another is queued while it is down; both arrive once it is restarted."""
    database = await empty_db_url(request, "postgres", tmp_path)
    receiver = WebhookReceiver()
    api, gateway, admin = free_port(), free_port(), free_port()
    env = {
        "OPENIM_DATABASE_URL": database,
        "OPENIM_REDIS_URL": redis_url,
        "OPENIM_WEBHOOKS_URL": receiver.url,
        "OPENIM_API_PORTS": str(api),
        "OPENIM_MSGGATEWAY_PORTS": str(gateway),
        "OPENIM_ADMIN_PORT": str(admin),
        "OPENIM_LOG_STORAGELOCATION": str(tmp_path / "logs"),
        **FAST_RETRY,
    }
    front = start_role(tmp_path, ("api", "msggateway"), api, env)
    worker = start_role(tmp_path, ("msgtransfer", "admin"), admin, env)
    first, second = f"split-{uuid.uuid4().hex[:8]}", f"split-{uuid.uuid4().hex[:8]}"
    try:
        register(api, first)
        wait_for_retries(tmp_path / "logs" / "msgtransfer.log")
        worker.kill()
        register(api, second)  # queued in the stream while no msgtransfer runs
        with receiver:
            worker = start_role(tmp_path, ("msgtransfer", "admin"), admin, env)
            assert registered_users(receiver, 2) == sorted([first, second])
    finally:
        worker.kill()
        front.kill()
