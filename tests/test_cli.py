"""The `openim` command run as a real process: start, the README walk-through, health, stop, clear failures."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.process import OPENIM, START_TIMEOUT, ServerProcess, clean_env, free_port, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path)
    yield proc
    proc.stop()


@pytest.mark.slow
def test_start_walkthrough_and_graceful_stop(server: ServerProcess) -> None:
    """The README walk-through works on a fresh start with embedded defaults, and SIGTERM exits 0."""
    admin = server.post("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})
    assert admin["errCode"] == 0, admin
    admin_token = admin["data"]["token"]  # type: ignore[index]
    reg = server.post("/user/user_register", {"users": [{"userID": "alice", "nickname": "Alice"}]}, admin_token)
    assert reg == {"errCode": 0, "errMsg": "", "errDlt": ""}
    issued = server.post("/auth/get_user_token", {"userID": "alice", "platformID": 1}, admin_token)
    user_token = issued["data"]["token"]  # type: ignore[index]
    info = server.post("/user/get_users_info", {"userIDs": ["alice"]}, user_token)
    assert info["data"]["usersInfo"][0]["nickname"] == "Alice"  # type: ignore[index]
    parsed = server.post("/auth/parse_token", {"token": user_token})
    assert parsed["data"]["userID"] == "alice" and parsed["data"]["platformID"] == 1  # type: ignore[index]

    assert httpx.get(f"http://127.0.0.1:{server.gateway}/health").json()["status"] == "ok"
    assert httpx.get(f"http://127.0.0.1:{server.admin}/healthz").status_code == 200
    ready = httpx.get(f"http://127.0.0.1:{server.admin}/readyz").json()
    assert ready["checks"]["database"]["ok"] is True
    assert "process_cpu_seconds_total" in httpx.get(f"http://127.0.0.1:{server.admin}/metrics").text

    assert (server.cwd / "data" / "openim.db").is_file()
    assert any((server.cwd / "logs").iterdir())

    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=15) == 0


@pytest.mark.slow
def test_data_survives_a_restart(server: ServerProcess) -> None:
    """Users registered before a stop are there after the next start on the same data directory."""
    token = server.post("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})["data"]["token"]  # type: ignore[index]
    server.post("/user/user_register", {"users": [{"userID": "bob", "nickname": "Bob"}]}, token)
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=15) == 0
    env = clean_env(
        OPENIM_API_PORTS=str(server.api),
        OPENIM_MSGGATEWAY_PORTS=str(server.gateway),
        OPENIM_ADMIN_PORT=str(server.admin),
    )
    proc = subprocess.Popen(
        [*OPENIM, "start", "api"], cwd=server.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{server.api}/healthz", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = server.post("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})["data"]["token"]  # type: ignore[index]
        info = server.post("/user/get_users_info", {"userIDs": ["bob"]}, token)
        assert info["data"]["usersInfo"][0]["nickname"] == "Bob"  # type: ignore[index]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    """When the REST port is taken, start exits 1 and names the port instead of a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_env(
            OPENIM_API_LISTENIP="127.0.0.1",
            OPENIM_API_PORTS=str(port),
            OPENIM_MSGGATEWAY_PORTS=str(free_port()),
            OPENIM_ADMIN_PORT=str(free_port()),
        )
        result = subprocess.run(
            [*OPENIM, "start"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=START_TIMEOUT
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_start_with_a_broken_config_names_the_line(tmp_path: Path) -> None:
    """A bad value in the config file stops start with file:line and the key."""
    config = tmp_path / "bad.yaml"
    config.write_text("api:\n  ports: [not-a-port]\n")
    result = subprocess.run(
        [*OPENIM, "start", "--config", str(config)],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert result.returncode == 1
    assert "bad.yaml:2:" in result.stderr and "api.ports" in result.stderr


def test_unknown_role_is_refused(tmp_path: Path) -> None:
    """Naming a role that does not exist exits 2 with the list of roles."""
    result = subprocess.run([*OPENIM, "start", "nope"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True)
    assert result.returncode == 2 and "api, msggateway, msgtransfer, admin" in result.stderr


def test_config_check_command(tmp_path: Path) -> None:
    """`openim config check` exits 1 naming file:line on a broken file, and 0 with masked settings on a good one."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("secret: s3cret-value\nmsggateway:\n  ports: [10001\n")
    result = subprocess.run([*OPENIM, "config", "check", str(bad)], env=clean_env(), capture_output=True, text=True)
    assert result.returncode == 1 and "bad.yaml:" in result.stderr
    good = tmp_path / "good.yaml"
    good.write_text("secret: s3cret-value\n")
    result = subprocess.run([*OPENIM, "config", "check", str(good)], env=clean_env(), capture_output=True, text=True)
    assert result.returncode == 0
    assert "s3cret-value" not in result.stdout and "***" in result.stdout


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("OPENIM_DATABASE_URL", "postgresql://postgres@127.0.0.1:{port}/nothing"),
        ("OPENIM_REDIS_URL", "redis://127.0.0.1:{port}/0"),
    ],
)
@pytest.mark.slow
def test_unreachable_dependency_is_a_clear_error(tmp_path: Path, variable: str, url: str) -> None:
    """A database or Redis that does not answer stops start with exit 1, the masked URL and no traceback."""
    closed = free_port()  # nothing listens there
    env = clean_env(
        OPENIM_API_PORTS=str(free_port()),
        OPENIM_MSGGATEWAY_PORTS=str(free_port()),
        OPENIM_ADMIN_PORT=str(free_port()),
        **{variable: url.format(port=closed)},
    )
    result = subprocess.run(
        [*OPENIM, "start"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=START_TIMEOUT
    )
    assert result.returncode == 1, result.stderr
    assert f"127.0.0.1:{closed}" in result.stderr and "Traceback" not in result.stderr
