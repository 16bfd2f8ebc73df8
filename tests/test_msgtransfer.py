"""The msgtransfer role: `openim start` runs it in-process (a REST message to an offline user is logged by
LogPusher in msgtransfer.log), and a process running only some roles says what will not work without Redis."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.process import start_server

from openim.runtime import ROLES, split_roles_warning
from openim.settings import Settings


@pytest.mark.slow
def test_start_runs_msgtransfer_in_process(tmp_path: Path) -> None:
    """`openim start` pushes a message to an offline user offline: one LogPusher line in msgtransfer.log."""
    logs = tmp_path / "logs"
    server = start_server(tmp_path, OPENIM_LOG_STORAGELOCATION=str(logs))
    try:
        admin = server.admin_token()
        users = [{"userID": u, "nickname": u, "faceURL": ""} for u in ("alice", "bob")]
        assert server.post("/user/user_register", {"users": users}, admin)["errCode"] == 0
        body = {"sendID": "alice", "recvID": "bob", "contentType": 101, "sessionType": 1, "content": {"content": "x"}}
        assert server.post("/msg/send_msg", body, admin)["errCode"] == 0
        log = logs / "msgtransfer.log"
        deadline = time.monotonic() + 10
        lines: list[str] = []
        while time.monotonic() < deadline:
            lines = (
                [ln for ln in log.read_text().splitlines() if "offline push (log only)" in ln] if log.exists() else []
            )
            if lines:
                break
            time.sleep(0.1)
        assert len(lines) == 1 and "to bob" in lines[0] and "si_alice_bob" in lines[0]
    finally:
        server.stop()


def test_msgtransfer_is_a_role() -> None:
    """msgtransfer is one of the roles `openim start` runs by default."""
    assert "msgtransfer" in ROLES


def test_msgtransfer_alone_without_redis_warns() -> None:
    """`openim start msgtransfer` without redis.url warns that it cannot see the other processes' connections."""
    warning = split_roles_warning(Settings(), ("msgtransfer",))
    assert warning is not None and "redis.url is not set" in warning and "presence is per process" in warning


def test_api_and_gateway_without_msgtransfer_or_redis_warn() -> None:
    """api and msggateway without msgtransfer and without redis.url warn that offline pushes wait in the database."""
    warning = split_roles_warning(Settings(), ("api", "msggateway", "admin"))
    assert warning is not None and "without msgtransfer" in warning and "queue_job" in warning


def test_every_role_or_redis_needs_no_warning() -> None:
    """All roles in one process, or api and msggateway with Redis and PostgreSQL, need no warning."""
    assert split_roles_warning(Settings(), ROLES) is None
    scaled = Settings(redis={"url": "redis://127.0.0.1:6379/13"}, database={"url": "postgresql://u@h/db"})
    assert split_roles_warning(scaled, ("api", "msggateway")) is None
    assert split_roles_warning(scaled, ("msgtransfer",)) is None
