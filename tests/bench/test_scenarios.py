"""`openim bench` against a real `openim start` (SQLite, then PostgreSQL): every scenario, small and short.

Only the shape of the JSON line and correctness are asserted (every message acked and delivered, nothing lost,
counts that add up); never a speed, since this machine is shared.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import _Postgres, _prepare_postgres
from tests.process import OPENIM, ServerProcess, clean_env, start_server

FIELDS = {
    "scenario",
    "sent_per_s",
    "delivered_per_s",
    "lost",
    "p50_ms",
    "p99_ms",
    "server_cpu_us_per_msg",
    "rss_per_conn_kb",
    "pushes_per_s",
    "seconds",
}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server per database for the module's tests (they use fresh users each, so they do not meet)."""
    cwd = tmp_path_factory.mktemp(f"bench-{request.param}")
    env = {"OPENIM_LOG_REMAINLOGLEVEL": "3"}
    if request.param == "postgres":
        pg: _Postgres = request.getfixturevalue("_postgres")
        asyncio.run(_prepare_postgres(pg))
        env["OPENIM_DATABASE_URL"] = pg.url
    proc = start_server(cwd, **env)
    yield proc
    proc.stop()


def bench(server: ServerProcess, *args: str) -> dict[str, Any]:
    """Run `openim bench ... --json` as a process against `server`; its one JSON line, decoded."""
    command = [
        *OPENIM,
        "bench",
        *args,
        "--json",
        "--api",
        f"http://127.0.0.1:{server.api}",
        "--ws",
        f"ws://127.0.0.1:{server.gateway}",
        "--server-pid",
        str(server.proc.pid),
        "--drain",
        "20",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=clean_env())
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    result: dict[str, Any] = json.loads(lines[0])
    assert FIELDS <= set(result), result
    assert result["lost"] == 0, result
    assert result["server_cpu_us_per_msg"] is not None, result
    return result


@pytest.mark.parametrize("envelope", ["json", "gob"])
def test_one_to_one(server: ServerProcess, envelope: str) -> None:
    """Closed loop over 2 pairs, 2 in flight: every message sent is acked and delivered, once."""
    r = bench(server, "one-to-one", "--seconds", "1", "--pairs", "2", "--window", "2", "--envelope", envelope)
    assert r["scenario"] == "one-to-one" and r["envelope"] == envelope
    assert r["sent"] == r["acked"] == r["delivered"] > 0, r
    assert r["errors"] == r["unanswered"] == 0
    assert r["sent_per_s"] > 0 and r["delivered_per_s"] > 0
    assert 0 < r["p50_ms"] <= r["p99_ms"]


def test_latency_at_rate(server: ServerProcess) -> None:
    """An offered 40 msg/s for 1 s: exactly 40 sent, all acked and delivered; each pair's first message (the
    warm-up, out of the window) reported apart."""
    r = bench(server, "latency-at-rate", "--seconds", "1", "--pairs", "2", "--rate", "40")
    assert r["scenario"] == "latency-at-rate"
    assert r["sent"] == r["acked"] == r["delivered"] == 40, r
    assert 0 < r["p50_ms"] <= r["p99_ms"]
    assert 0 < r["first_p50_ms"] <= r["first_max_ms"], r


def test_idle_connections(server: ServerProcess) -> None:
    """20 connections held for 1 s all stay up; RSS per connection is reported from /proc."""
    r = bench(server, "idle-connections", "--seconds", "1", "--conns", "20")
    assert r["scenario"] == "idle-connections"
    assert r["alive"] == r["conns"] == 20, r
    assert r["rss_per_conn_kb"] is not None and r["server_rss_kb"] > 0
    assert r["handshakes_per_s"] > 0


@pytest.mark.parametrize("envelope", ["json", "gob"])
def test_group_fanout(server: ServerProcess, envelope: str) -> None:
    """A group of 10 online members: every acked message reaches all 10 (the sender's own copy included)."""
    r = bench(server, "group-fanout", "--seconds", "1", "--members", "10", "--window", "2", "--envelope", envelope)
    assert r["scenario"] == "group-fanout" and r["members"] == 10
    assert r["sent"] == r["acked"] == r["delivered"] > 0, r
    assert r["pushes"] == 10 * r["acked"], r
    assert r["pushes_per_s"] > 0


def test_catch_up(server: ServerProcess) -> None:
    """60 messages from 3 senders while the receiver is offline, pulled in pages of 25: all 60 arrive."""
    r = bench(server, "catch-up", "--messages", "60", "--pairs", "3", "--window", "2", "--page", "25")
    assert r["scenario"] == "catch-up"
    assert r["acked"] == r["pulled"] == 60, r
    assert r["requests"] >= 3  # 60 messages, at most 25 a request
    assert r["delivered_per_s"] > 0 and r["seconds"] > 0


def test_rest(server: ServerProcess) -> None:
    """4 clients call get_users_info for 1 s: every reply is errCode 0 with the profile asked for."""
    r = bench(server, "rest", "--seconds", "1", "--concurrency", "4")
    assert r["scenario"] == "rest"
    assert r["requests"] == r["ok"] > 0 and r["errors"] == 0, r
    assert 0 < r["p50_ms"] <= r["p99_ms"]


def test_unreachable_server_fails_clearly(tmp_path: Path) -> None:
    """No server at --api: a non-zero exit naming the refused connection, no JSON line."""
    command = [*OPENIM, "bench", "rest", "--json", "--seconds", "1", "--api", "http://127.0.0.1:9", "--ws", "ws://x"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=clean_env(), cwd=tmp_path)
    assert done.returncode != 0
    assert "{" not in done.stdout
    assert "refused" in (done.stdout + done.stderr).lower()
