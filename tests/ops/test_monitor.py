"""Tests for `openim monitor`: incidents posted once to a local webhook receiver, and once more when they clear.

The receiver is a small HTTP server on 127.0.0.1 standing in for Slack; the server watched is a real
`openim start`, except for the error-rate test, where a stand-in admin endpoint serves chosen counters.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.process import OPENIM, clean_env, free_port, start_server

from openim.ops.doctor import Thresholds
from openim.ops.monitor import Monitor, error_counts
from openim.storage import open_storage

SECRET = "a-test-secret-that-is-long-enough"


class Receiver:
    """Collects the `text` of every JSON body POSTed to it; answers `status` (200 unless a test changes it)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert set(body) == {"text"} and self.headers["Content-Type"] == "application/json"
                if receiver.status == 200:
                    receiver.texts.append(body["text"])
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/openim"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self) -> list[str]:
        """The texts received since the last call."""
        texts, self.texts = self.texts, []
        return texts

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1."""
    recv = Receiver()
    yield recv
    recv.close()


async def prepared(tmp_path: Path) -> dict[str, str]:
    """The environment of a setup on free ports with a migrated SQLite database readable by its owner only."""
    url = f"sqlite:///{tmp_path / 'openim.db'}"
    storage = await open_storage(url, pool_size=1)
    await storage.close()
    (tmp_path / "openim.db").chmod(0o600)
    return clean_env(
        OPENIM_API_PORTS=str(free_port()),
        OPENIM_MSGGATEWAY_PORTS=str(free_port()),
        OPENIM_ADMIN_PORT=str(free_port()),
        OPENIM_DATABASE_URL=url,
        OPENIM_SECRET=SECRET,
        OPENIM_LOG_STORAGELOCATION=str(tmp_path / "logs"),
    )


def services(texts: list[str]) -> list[str]:
    """The posts about roles answering or not (other checks may come and go on a busy test machine)."""
    return [t for t in texts if " is down: " in t or ": service." in t]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test in an empty directory, so no ./config/config.yaml is found by accident."""
    monkeypatch.chdir(tmp_path)


@pytest.mark.slow
async def test_service_down_posts_once_and_recovers(tmp_path: Path, receiver: Receiver) -> None:
    """Each role not answering is posted once, not again while it stays down, and once when it answers again."""
    env = await prepared(tmp_path)
    api, gateway, admin = env["OPENIM_API_PORTS"], env["OPENIM_MSGGATEWAY_PORTS"], env["OPENIM_ADMIN_PORT"]
    monitor = Monitor(receiver.url, env=env, host="im-1")
    report = await monitor.round()
    down = sorted(t for t in receiver.take() if "is down" in t)
    assert down == [
        f"[CRITICAL] OpenIM Alert on im-1: admin :{admin} is down: GET http://127.0.0.1:{admin}/healthz "
        "[Errno 111] Connection refused. Check `systemctl status openim` (or openim-api) and "
        "`journalctl -u openim -n 50`",
        f"[CRITICAL] OpenIM Alert on im-1: api :{api} is down: GET http://127.0.0.1:{api}/healthz "
        "[Errno 111] Connection refused. Check `systemctl status openim` (or openim-api) and "
        "`journalctl -u openim -n 50`",
        f"[CRITICAL] OpenIM Alert on im-1: msggateway :{gateway} is down: GET http://127.0.0.1:{gateway}/health "
        "[Errno 111] Connection refused. Check `systemctl status openim` (or openim-msggateway) and "
        "`journalctl -u openim -n 50`",
    ]
    assert {f"service.api:{api}", f"service.msggateway:{gateway}", f"service.admin:{admin}"} <= set(report.open)

    await monitor.round()
    assert services(receiver.take()) == []  # still down: nothing new

    settings = {k: v for k, v in env.items() if k in ("OPENIM_DATABASE_URL", "OPENIM_SECRET")}
    server = start_server(tmp_path, ports=(int(api), int(gateway), int(admin)), **settings)
    try:
        report = await monitor.round()
        recovered = sorted(services(receiver.take()))
        assert [t.split(" after ")[0] for t in recovered] == [
            f"[RECOVERED] OpenIM on im-1: service.admin:{admin} is back to normal",
            f"[RECOVERED] OpenIM on im-1: service.api:{api} is back to normal",
            f"[RECOVERED] OpenIM on im-1: service.msggateway:{gateway} is back to normal",
        ]
        assert not any(key.startswith("service.") for key in report.open)
        await monitor.round()
        assert services(receiver.take()) == []
    finally:
        server.stop()
    await monitor.round()
    assert len([t for t in receiver.take() if "is down" in t]) == 3  # a new incident after the recovery


@pytest.mark.slow
async def test_cli_once_keeps_state_between_runs(tmp_path: Path, receiver: Receiver) -> None:
    """`openim monitor --once --state FILE` posts an incident on the first run only, and its recovery later."""
    env = await prepared(tmp_path)
    state = tmp_path / "monitor.json"

    def once(*args: str) -> subprocess.CompletedProcess[str]:
        command = [*OPENIM, "monitor", "--webhook", receiver.url, "--once", "--state", str(state), *args]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    first = once("--disk", "0", "--roles", "api")
    assert first.returncode == 0, first.stderr
    disk = [t for t in receiver.take() if "disk.logs" in t]
    assert len(disk) == 1 and disk[0].startswith("[WARNING] OpenIM Alert on ")
    assert "posted: [WARNING]" in first.stdout and "disk.logs" in json.loads(state.read_text())["incidents"]
    again = once("--disk", "0", "--roles", "api")
    assert again.returncode == 0
    assert [t for t in receiver.take() if "disk" in t] == []
    cleared = once("--disk", "100", "--roles", "api")
    assert cleared.returncode == 0
    assert [t.split(" after ")[0] for t in receiver.take() if "disk.logs" in t] == [
        f"[RECOVERED] OpenIM on {first.stdout.split('Alert on ')[1].split(':')[0]}: disk.logs is back to normal"
    ]


async def test_escalation_reposts_and_recovery_is_single(tmp_path: Path, receiver: Receiver) -> None:
    """A warning that becomes critical is posted again; its recovery is posted once."""
    env = await prepared(tmp_path)
    monitor = Monitor(receiver.url, env=env, host="h", roles=(), thresholds=Thresholds(disk_warn_pct=0))
    await monitor.round()
    [warning] = [t for t in receiver.take() if "disk.logs" in t]
    assert warning.startswith(f"[WARNING] OpenIM Alert on h: disk.logs: {tmp_path / 'logs'} (logs): ")
    monitor.thresholds = replace(monitor.thresholds, disk_fail_pct=0)
    await monitor.round()
    [critical] = [t for t in receiver.take() if "disk.logs" in t]
    assert critical.startswith(f"[CRITICAL] OpenIM Alert on h: disk.logs: {tmp_path / 'logs'} (logs): ")
    monitor.thresholds = replace(monitor.thresholds, disk_warn_pct=0)  # back to a warning: not posted
    await monitor.round()
    assert [t for t in receiver.take() if "disk.logs" in t] == []
    monitor.thresholds = Thresholds()
    await monitor.round()
    assert [t.split(" after ")[0] for t in receiver.take() if "disk.logs" in t] == [
        "[RECOVERED] OpenIM on h: disk.logs is back to normal"
    ]
    await monitor.round()
    assert [t for t in receiver.take() if "disk.logs" in t] == []


async def test_failed_delivery_is_retried(tmp_path: Path, receiver: Receiver) -> None:
    """A post the webhook refuses is retried on the next round, then not again."""
    env = await prepared(tmp_path)
    monitor = Monitor(receiver.url, env=env, host="h", roles=(), thresholds=Thresholds(disk_warn_pct=0))
    receiver.status = 500
    report = await monitor.round()
    assert any("disk.logs" in t for t in report.failed) and receiver.take() == []
    receiver.status = 200
    report = await monitor.round()
    assert [t for t in receiver.take() if "disk.logs" in t] and any("disk.logs" in t for t in report.posted)
    await monitor.round()
    assert [t for t in receiver.take() if "disk.logs" in t] == []


class Metrics:
    """A stand-in admin endpoint: /healthz, and /metrics with the request counters a test sets."""

    def __init__(self) -> None:
        self.requests = {"0": 0, "500": 0, "1001": 0}
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    lines = [
                        "# TYPE openim_http_requests_total counter",
                        *(
                            f'openim_http_requests_total{{route="/msg/send_msg",errCode="{c}"}} {n}'
                            for c, n in metrics.requests.items()
                        ),
                    ]
                    body = ("\n".join(lines) + "\n").encode()
                else:
                    body = b'{"status": "ok"}'
                self.send_response(200)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


async def test_error_rate_from_metrics(tmp_path: Path, receiver: Receiver) -> None:
    """A share of server errors (errCode 500) above --error-rate since the last round is an incident."""
    metrics = Metrics()
    try:
        env = await prepared(tmp_path)
        env["OPENIM_ADMIN_PORT"] = str(metrics.port)
        monitor = Monitor(receiver.url, env=env, host="h", roles=("admin",), error_rate_pct=5)
        metrics.requests.update({"0": 1000, "500": 1})
        await monitor.round()  # the first look only sets the baseline
        assert [t for t in receiver.take() if "server error" in t] == []
        metrics.requests.update({"0": 1090, "500": 11, "1001": 50})  # +150 requests, 10 of them errCode 500
        await monitor.round()
        [alert] = [t for t in receiver.take() if "server error" in t]
        assert "10 of 150 requests since the last check answered a server error (6.7% ≥ 5%)" in alert
        assert "openim logs analyze" in alert
        metrics.requests.update({"0": 1290})
        await monitor.round()
        assert [t.split(" after ")[0] for t in receiver.take() if "errors" in t] == [
            "[RECOVERED] OpenIM on h: errors is back to normal"
        ]
    finally:
        metrics.server.shutdown()
        metrics.server.server_close()


def test_error_counts_sum_rest_and_websocket() -> None:
    """Requests and server errors are summed over the REST and WebSocket counters; 1xxx errors are the caller's."""
    samples = {
        "openim_http_requests_total": [({"errCode": "0"}, 10.0), ({"errCode": "500"}, 2.0), ({"errCode": "1501"}, 3.0)],
        "openim_ws_requests_total": [({"errCode": "0"}, 5.0), ({"errCode": "90007"}, 1.0)],
    }
    assert error_counts(samples) == (21.0, 3.0)


@pytest.mark.slow
async def test_cli_exit_code_when_the_webhook_is_unreachable(tmp_path: Path) -> None:
    """`--once` exits 1 and says the message was not delivered when nothing answers at the webhook."""
    env = await prepared(tmp_path)
    command = [*OPENIM, "monitor", "--once", "--roles", "api", "--webhook", f"http://127.0.0.1:{free_port()}/hook"]
    result = run(command, tmp_path, env)
    assert result.returncode == 1
    assert "NOT delivered (retried next round): [CRITICAL] OpenIM Alert on " in result.stdout
    assert "service.api:" in result.stdout
