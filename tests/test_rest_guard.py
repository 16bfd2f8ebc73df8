"""The REST listener against socket exhaustion (api/http_guard.py), on a real `openim start`: connection caps per
IP and per process, head and body deadlines, and the gateway in the same process still accepting clients while
REST is flooded (the attack: idle partial POSTs took every fd and stopped REST and the gateway alike)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.process import ServerProcess, start_server
from websockets.sync.client import connect

PER_IP = 30
TOTAL = 50
TIMEOUT = 1  # headerTimeout and requestTimeout, seconds


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("guard"),
        OPENIM_API_MAXCONNECTIONS=str(TOTAL),
        OPENIM_API_MAXCONNECTIONSPERIP=str(PER_IP),
        OPENIM_API_HEADERTIMEOUT=str(TIMEOUT),
        OPENIM_API_REQUESTTIMEOUT=str(TIMEOUT),
    )
    yield srv
    srv.stop()


def _open(server: ServerProcess, source: str, first_bytes: bytes) -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.api))
    sock.sendall(first_bytes)
    return sock


def _closed_by_server(sock: socket.socket, wait: float) -> bool:
    """The server closed (or reset) the socket within `wait` seconds, having sent nothing."""
    sock.settimeout(wait)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _healthz(server: ServerProcess, source: str) -> int:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=5) as http:
        return http.get(f"http://127.0.0.1:{server.api}/healthz").status_code


def _wait_released(server: ServerProcess) -> None:
    """Until the sockets of an earlier test are gone from the server's counts (their close travels async)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if _healthz(server, "127.0.0.9") == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


PARTIAL_HEAD = b"POST /user/get_users_info HTTP/1.1\r\nHost: x\r\n"


def test_per_ip_cap_refuses_only_that_ip(server: ServerProcess) -> None:
    held = [_open(server, "127.0.0.2", PARTIAL_HEAD) for _ in range(PER_IP)]
    try:
        time.sleep(0.2)  # the server has accepted and counted them
        extra = _open(server, "127.0.0.2", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _closed_by_server(extra, 5), "a connection over the per-IP cap must be closed unanswered"
        extra.close()
        assert _healthz(server, "127.0.0.3") == 200  # another address is served meanwhile
    finally:
        for sock in held:
            sock.close()
    _wait_released(server)
    assert _healthz(server, "127.0.0.2") == 200  # the IP is served again once its connections are gone


def test_process_cap_leaves_the_gateway_working(server: ServerProcess) -> None:
    admin = server.admin_token()
    assert server.post("/user/user_register", {"users": [{"userID": "g1", "nickname": "g"}]}, admin)["errCode"] == 0
    token = server.post("/auth/get_user_token", {"userID": "g1", "platformID": 5}, admin)["data"]["token"]
    held = []
    try:
        for i in range(TOTAL):  # spread over addresses so that only the process cap applies
            held.append(_open(server, f"127.0.1.{i % 10 + 1}", PARTIAL_HEAD))
        time.sleep(0.2)
        extra = _open(server, "127.0.2.1", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _closed_by_server(extra, 5)
        extra.close()
        query = f"sendID=g1&platformID=5&operationID=guard&sdkType=js&isMsgResp=true&isBackground=false&token={token}"
        with connect(f"ws://127.0.0.1:{server.gateway}/?{query}") as ws:  # REST is full; the gateway accepts
            assert json.loads(ws.recv(timeout=5))["errCode"] == 0
    finally:
        for sock in held:
            sock.close()
    _wait_released(server)
    assert server.admin_token()


def test_a_head_that_never_ends_is_closed_after_header_timeout(server: ServerProcess) -> None:
    _wait_released(server)
    sock = _open(server, "127.0.0.4", PARTIAL_HEAD)
    started = time.monotonic()
    assert _closed_by_server(sock, TIMEOUT + 10)
    assert time.monotonic() - started >= TIMEOUT * 0.9  # not before the deadline
    sock.close()


def test_a_body_that_never_ends_is_closed_after_request_timeout(server: ServerProcess) -> None:
    head = b"POST /auth/get_admin_token HTTP/1.1\r\nHost: x\r\noperationID: b\r\nContent-Length: 100\r\n\r\n{"
    sock = _open(server, "127.0.0.5", head)
    assert _closed_by_server(sock, TIMEOUT + 10)
    sock.close()


def test_refusals_are_counted_and_logged(server: ServerProcess) -> None:
    metrics = httpx.get(f"http://127.0.0.1:{server.admin}/metrics").text
    counted = {
        line.split('reason="')[1].split('"')[0]
        for line in metrics.splitlines()
        if line.startswith("openim_http_refused_connections_total{") and not line.endswith(" 0.0")
    }
    assert {"max_connections_per_ip", "max_connections", "header_timeout", "body_timeout"} <= counted
    log = (server.cwd / "logs" / "api.log").read_text()
    assert "REST connection closed: max_connections_per_ip" in log
