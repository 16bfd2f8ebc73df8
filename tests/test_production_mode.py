"""`env: production` and the secret, with real `openim start` processes: refusal, good start, development warning."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.process import OPENIM, START_TIMEOUT, clean_env, free_port, start_server

GOOD_SECRET = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port held by a listening socket here: a start that tried to bind it first would report it taken."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def refused(cwd: Path, port: int, **env: str) -> subprocess.CompletedProcess[str]:
    """`openim start` whose REST port is `port`; it must exit by itself within 30 s."""
    environ = clean_env(
        OPENIM_API_LISTENIP="127.0.0.1",
        OPENIM_API_PORTS=str(port),
        OPENIM_MSGGATEWAY_PORTS=str(free_port()),
        OPENIM_ADMIN_PORT=str(free_port()),
        **env,
    )
    return subprocess.run(
        [*OPENIM, "start"], cwd=cwd, env=environ, capture_output=True, text=True, timeout=START_TIMEOUT
    )


def test_production_refuses_the_default_secret_before_binding(tmp_path: Path, held_port: int) -> None:
    """OPENIM_ENV=production with openIM123 exits 1 saying how to set a secret; it bound nothing, opened no database."""
    result = refused(tmp_path, held_port, OPENIM_ENV="production")
    assert result.returncode == 1
    assert "cannot listen" not in result.stderr  # the refusal comes before the (taken) REST port is bound
    assert "openim: refusing to start with env: production: the secret is OpenIM's published default openIM123" in (
        result.stderr
    )
    for how in ("config key `secret`", "$OPENIM_SECRET", "openssl rand -hex 32", "secrets.token_hex(32)"):
        assert how in result.stderr
    assert not (tmp_path / "data").exists()
    log = (tmp_path / "logs" / "openim.log").read_text()
    assert "ERROR" in log and "refusing to start with env: production" in log and "listening on" not in log


def test_production_refuses_a_short_secret(tmp_path: Path, held_port: int) -> None:
    """A 15-character secret is refused too, its length named; the config file's `env: production` counts as well."""
    (tmp_path / "config.yaml").write_text("env: production\nsecret: fifteen-chars-x\n")
    result = refused(tmp_path, held_port, OPENIM_CONFIG=str(tmp_path / "config.yaml"))
    assert result.returncode == 1
    assert "the secret is 15 characters, fewer than 16" in result.stderr


@pytest.mark.slow
def test_production_starts_with_a_good_secret(tmp_path: Path) -> None:
    """With a 32-character secret production starts and serves; the secret signs admin tokens, openIM123 does not."""
    server = start_server(tmp_path, OPENIM_ENV="production", OPENIM_SECRET=GOOD_SECRET)
    try:
        assert server.post("/auth/get_admin_token", {"secret": GOOD_SECRET, "userID": "imAdmin"})["errCode"] == 0
        assert server.post("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})["errCode"] != 0
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=15) == 0
    finally:
        server.stop()
    assert "warning" not in (tmp_path / "start.out").read_text()


@pytest.mark.slow
def test_development_warns_when_the_default_secret_is_exposed(tmp_path: Path) -> None:
    """The default secret on 0.0.0.0 starts with a warning on stderr and in the log; on 127.0.0.1 it does not."""
    exposed = tmp_path / "exposed"
    exposed.mkdir()
    server = start_server(exposed, "api", OPENIM_API_LISTENIP="0.0.0.0")
    try:
        assert httpx.get(f"http://127.0.0.1:{server.api}/healthz").status_code == 200
    finally:
        server.stop()
    expected = (
        "openim: warning: the secret is OpenIM's published default openIM123 and the REST API listens on 0.0.0.0 "
        f"port {server.api} (api.listenIP), beyond this machine: anyone who can reach it can get an admin token "
        "from /auth/get_admin_token. Set a random secret of at least 16 characters in the config key `secret` or "
        "in $OPENIM_SECRET, e.g. OPENIM_SECRET=$(openssl rand -hex 32) or "
        "python3 -c 'import secrets; print(secrets.token_hex(32))'; or set api.listenIP: 127.0.0.1 while "
        "developing. With env: production (OPENIM_ENV=production) openim start refuses the default."
    )
    assert expected in (exposed / "start.out").read_text().splitlines()
    log = (exposed / "logs" / "api.log").read_text()
    assert "WARNING" in log and expected.removeprefix("openim: warning: ") in log

    local = tmp_path / "local"
    local.mkdir()
    server = start_server(local, "api", OPENIM_API_LISTENIP="127.0.0.1")
    server.stop()
    assert "published default" not in (local / "start.out").read_text()
    assert "published default" not in (local / "logs" / "api.log").read_text()
