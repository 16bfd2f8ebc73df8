"""`openim logs analyze` on logs written by the real logging setup (text and JSON), rotated and gzip files,
garbage lines and a --since window, with exact expected numbers; and on request lines from the real middleware."""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from openim.cli import app
from openim.ops.logging import setup_logging
from openim.ops.logs import analyze, log_paths, parse_line, parse_since, render_json, render_text
from openim.settings import Log

REQUEST_FORMAT = "%s errCode=%s response_time=%.1fms"  # as api/middleware.py writes it


def _close_loggers() -> None:
    for name in ("openim", "uvicorn", "websockets"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


@pytest.fixture(autouse=True)
def _restore_loggers() -> Iterator[None]:
    yield
    _close_loggers()


class Writer:
    """Writes records through the real `setup_logging` handlers, each stamped with a chosen time."""

    def __init__(self, directory: Path, now: float) -> None:
        self.directory = directory
        self.now = now

    def configure(self, role: str, *, is_json: bool) -> None:
        setup_logging(Log(storageLocation=str(self.directory), remainLogLevel=6, isJson=is_json), role=role)

    def emit(
        self,
        minutes_ago: float,
        level: int,
        msg: str,
        *args: object,
        name: str = "openim.api",
        extra: dict[str, Any] | None = None,
        exc_info: Any = None,
    ) -> None:
        at = self.now - minutes_ago * 60
        logger = logging.getLogger(name)
        record = logger.makeRecord(name, level, __file__, 0, msg, args, exc_info, extra=extra)
        record.created, record.msecs = at, (at - int(at)) * 1000
        logger.handle(record)

    def request(self, minutes_ago: float, route: str, err_code: int, ms: float, user: str = "alice") -> None:
        extra = {"operationID": f"op-{route}-{ms}", "userID": user, "route": route, "errCode": err_code,
                 "response_time": ms}  # fmt: skip
        self.emit(minutes_ago, logging.INFO, REQUEST_FORMAT, route, err_code, ms, extra=extra)


def _boom() -> Any:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        return sys.exc_info()


def write_scenario(directory: Path, now: float) -> int:
    """Three phases: text then rotated and gzipped, text again with garbage, JSON with garbage, plus an old
    rotated file not written for 3 hours. Returns the number of traceback lines written (continuation lines)."""
    w = Writer(directory, now)
    w.configure("api", is_json=False)
    # phase A: two hours ago (outside 1h) and 40-50 minutes ago
    w.request(120, "/msg/send_msg", 0, 15.0)
    w.request(120, "/msg/send_msg", 0, 900.0)
    w.emit(119, logging.ERROR, "cannot connect to redis: timeout after %d s", 1, name="openim.infra.redis")
    for ms in range(1, 11):
        w.request(50, "/msg/send_msg", 1001 if ms == 3 else 0, float(ms))
    w.emit(45, logging.ERROR, "cannot connect to redis: timeout after %d s", 5, name="openim.infra.redis")
    slow = {"tx_name": "msg.append_batch", "duration_ms": 250.0}
    w.emit(44, logging.WARNING, "slow transaction %s took %.0f ms", "msg.append_batch", 250, name="openim.storage",
           extra=slow)  # fmt: skip
    _close_loggers()
    rotated = directory / "api.log.2000-01-01_00"
    (directory / "api.log").rename(rotated)
    with rotated.open("rb") as src, gzip.open(directory / "api.log.2000-01-01_00.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    rotated.unlink()

    # phase B: text, 26-30 minutes ago, a traceback, then garbage
    w.configure("api", is_json=False)
    for ms in range(11, 21):
        w.request(30, "/msg/send_msg", 1001 if ms == 17 else 0, float(ms))
    for ms, code in ((5.0, 0), (5.0, 0), (5.0, 0), (5.0, 0), (100.0, 1004)):
        w.request(29, "/user/get_users_info", code, ms)
    exc_info = _boom()
    w.emit(28, logging.ERROR, "unhandled error in POST %s", "/auth/get_user_token", exc_info=exc_info,
           extra={"operationID": "op-crash"})  # fmt: skip
    w.request(28, "/auth/get_user_token", 500, 3.5)
    w.emit(27, logging.ERROR, "cannot connect to redis: timeout after %d s", 7, name="openim.infra.redis")
    w.emit(26, logging.DEBUG, "debug detail")
    _close_loggers()
    with (directory / "api.log").open("a", encoding="utf-8") as f:
        f.write("garbage line\n\x00\x01 binary junk\n2024-13-45 99:99:99,000 INFO [api] openim.api bad date\n\n")

    # phase C: JSON lines from the gateway role, then JSON-looking garbage
    w.configure("msggateway", is_json=True)
    w.emit(20, logging.CRITICAL, "disk full on %s", "/data", name="openim.gateway")
    w.emit(15, logging.ERROR, "cannot connect to redis: timeout after %d s", 9, name="openim.infra.redis")
    w.request(10, "/msg/pull_msg_by_seq", 0, 2.0)
    w.request(10, "/msg/pull_msg_by_seq", 0, 4.0)
    w.emit(12, logging.WARNING, "slow transaction %s took %.0f ms", "msg.append_batch", 350, name="openim.storage",
           extra={"tx_name": "msg.append_batch", "duration_ms": 350.0})  # fmt: skip
    w.emit(11, logging.WARNING, "slow transaction %s took %.0f ms%s", "user.create_users", 500, " (rolled back)",
           name="openim.storage", extra={"tx_name": "user.create_users", "duration_ms": 500.0})  # fmt: skip
    w.emit(5, logging.INFO, "connection opened", name="openim.gateway")
    _close_loggers()
    with (directory / "msggateway.log").open("a", encoding="utf-8") as f:
        f.write('{"not": "a record"}\n{broken json\n[1, 2, 3]\n')

    # an old rotated file, last written three hours ago: skipped without being read
    old = directory / "msggateway.log.2000-01-01_00"
    old.write_text(json.dumps({"time": "2000-01-01 00:00:00,000", "level": "ERROR", "msg": "ancient"}) + "\n")
    os.utime(old, (now - 3 * 3600, now - 3 * 3600))
    return len(logging.Formatter().formatException(exc_info).splitlines())


@pytest.fixture
def scenario(tmp_path: Path) -> tuple[Path, datetime, int]:
    now = datetime.now().astimezone().replace(microsecond=0)
    continuation = write_scenario(tmp_path, now.timestamp())
    return tmp_path, now, continuation


def test_one_hour_window_exact_numbers(scenario: tuple[Path, datetime, int]) -> None:
    """Within --since 1h: per-route count, errors, avg/p95/max, errCodes, error groups, latest errors, levels,
    unparsable and continuation lines are exactly those of the generated logs, across every file."""
    directory, now, continuation = scenario
    paths = log_paths(directory)
    assert [p.name for p in paths] == [
        "api.log", "api.log.2000-01-01_00.gz", "msggateway.log", "msggateway.log.2000-01-01_00",
    ]  # fmt: skip
    data = analyze(paths, since=parse_since("1h"), now=now).to_dict()

    assert data["requests"]["total"] == 28 and data["requests"]["failed"] == 4
    assert data["requests"]["routes"] == [
        {"route": "/msg/send_msg", "count": 20, "errors": 2, "avg_ms": 10.5, "p95_ms": 19.0, "max_ms": 20.0},
        {"route": "/user/get_users_info", "count": 5, "errors": 1, "avg_ms": 24.0, "p95_ms": 100.0, "max_ms": 100.0},
        {"route": "/msg/pull_msg_by_seq", "count": 2, "errors": 0, "avg_ms": 3.0, "p95_ms": 4.0, "max_ms": 4.0},
        {"route": "/auth/get_user_token", "count": 1, "errors": 1, "avg_ms": 3.5, "p95_ms": 3.5, "max_ms": 3.5},
    ]
    assert data["errors"]["by_err_code"] == [
        {"errCode": 1001, "name": "ArgsError", "count": 2, "routes": [{"route": "/msg/send_msg", "count": 2}]},
        {"errCode": 500, "name": "ServerInternalError", "count": 1,
         "routes": [{"route": "/auth/get_user_token", "count": 1}]},
        {"errCode": 1004, "name": "RecordNotFoundError", "count": 1,
         "routes": [{"route": "/user/get_users_info", "count": 1}]},
    ]  # fmt: skip
    errors = data["errors"]
    assert errors["total"] == 5
    assert [(m["level"], m["logger"], m["message"], m["count"]) for m in errors["by_message"]] == [
        ("ERROR", "openim.infra.redis", "cannot connect to redis: timeout after <n> s", 3),
        ("FATAL", "openim.gateway", "disk full on /data", 1),
        ("ERROR", "openim.api", "unhandled error in POST /auth/get_user_token", 1),
    ]
    assert errors["by_message"][0]["example"] == "cannot connect to redis: timeout after 9 s"
    assert [(e["level"], e["role"], e["message"]) for e in errors["latest"]] == [
        ("ERROR", "msggateway", "cannot connect to redis: timeout after 9 s"),
        ("FATAL", "msggateway", "disk full on /data"),
        ("ERROR", "api", "cannot connect to redis: timeout after 7 s"),
        ("ERROR", "api", "unhandled error in POST /auth/get_user_token"),
        ("ERROR", "api", "cannot connect to redis: timeout after 5 s"),
    ]
    assert errors["latest"][3]["operationID"] == "op-crash"
    assert data["slow_transactions"] == [
        {"name": "msg.append_batch", "count": 2, "rolled_back": 0, "avg_ms": 300.0, "p95_ms": 350.0, "max_ms": 350.0},
        {"name": "user.create_users", "count": 1, "rolled_back": 1, "avg_ms": 500.0, "p95_ms": 500.0, "max_ms": 500.0},
    ]
    assert data["levels"] == {"FATAL": 1, "ERROR": 4, "WARN": 3, "INFO": 29, "DEBUG": 1}
    assert (data["records"], data["in_window"]) == (41, 38)
    assert (data["unparsable"], data["continuation"]) == (6, continuation)
    assert data["lines"] == 41 + 6 + continuation
    assert data["unparsable_samples"][:2] == ["garbage line", "\x00\x01 binary junk"]
    by_name = {Path(f["path"]).name: f for f in data["files"]}
    assert by_name["msggateway.log.2000-01-01_00"]["skipped"] == "not written since the window began"
    assert (by_name["api.log.2000-01-01_00.gz"]["records"], by_name["api.log.2000-01-01_00.gz"]["in_window"]) == (
        15,
        12,
    )
    assert by_name["msggateway.log"]["unparsable"] == 3 and by_name["api.log"]["unparsable"] == 3


def test_since_moves_the_window(scenario: tuple[Path, datetime, int]) -> None:
    """--since all counts the two-hour-old lines too; --since 25m keeps only the JSON phase."""
    directory, now, _ = scenario
    everything = analyze(log_paths(directory), since=None, now=now).to_dict()
    send = everything["requests"]["routes"][0]
    assert (send["route"], send["count"], send["max_ms"]) == ("/msg/send_msg", 22, 900.0)
    assert everything["errors"]["total"] == 7  # + the redis error two hours ago + the ancient file's error
    assert everything["in_window"] == everything["records"] == 42

    recent = analyze(log_paths(directory), since=parse_since("25m"), now=now).to_dict()
    assert recent["requests"]["total"] == 2 and recent["errors"]["total"] == 2
    assert recent["in_window"] == 7 and recent["records"] == 41


def test_text_rendering_shows_each_table(scenario: tuple[Path, datetime, int]) -> None:
    """The text report has the errCode, message, latest-error and route tables with their numbers."""
    directory, now, _ = scenario
    text = render_text(analyze(log_paths(directory), since=parse_since("1h"), now=now), top=2)
    expected_parts = [
        "requests answered with errCode ≠ 0", "errors by message (5)", "latest errors", "ArgsError",
        "busiest routes (28 requests, 4 with errCode ≠ 0)", "/msg/send_msg", "10.5", "19.0",
        "38 records in the window", "6 unparsable lines", "slow transactions", "user.create_users",
    ]  # fmt: skip
    for expected in expected_parts:
        assert expected in text, expected
    assert "/msg/pull_msg_by_seq" not in text  # --top 2 shows the two busiest routes


def test_cli_json_and_text(scenario: tuple[Path, datetime, int]) -> None:
    """`openim logs analyze --file DIR --json` prints the report; a bad --since exits 2; no files exits 1."""
    directory, _, _ = scenario
    runner = CliRunner()
    out = runner.invoke(app, ["logs", "analyze", "--file", str(directory), "--since", "1h", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["requests"]["total"] == 28 and data["errors"]["total"] == 5
    out = runner.invoke(app, ["logs", "analyze", "--file", str(directory / "api.log"), "--since", "2d"])
    assert out.exit_code == 0 and "busiest routes (16 requests" in out.output
    out = runner.invoke(app, ["logs", "analyze", "--file", str(directory), "--since", "soon"])
    assert out.exit_code == 2 and "write a duration such as 30m" in out.output
    out = runner.invoke(app, ["logs", "analyze", "--file", str(directory / "nothing")])
    assert out.exit_code == 1 and "no log files" in out.output


def test_parse_since() -> None:
    """Durations in s/m/h/d/w, combined, or all; anything else is an error naming the accepted forms."""
    assert parse_since("30m") == timedelta(minutes=30)
    assert parse_since("1h30m") == timedelta(minutes=90)
    assert parse_since("2d") == timedelta(days=2) and parse_since("1w") == timedelta(days=7)
    assert parse_since("all") is None and parse_since("0") is None
    for bad in ("", "1x", "h", "1h later"):
        with pytest.raises(ValueError, match="30m, 1h, 2d"):
            parse_since(bad)


def test_parse_line_variants() -> None:
    """ISO times with offsets, Python's unnamed 'Level 60', JSON with response_time only in the message or as
    '3.2ms', epoch-second times; a JSON value that is not an object is not a record."""
    text = parse_line("2024-05-01T12:00:00.5+00:00 Level 60 [api] openim.x operationID=o userID=u it broke")
    assert text is not None and text.ts == 1714564800.5 and text.severity == 0 and text.message == "it broke"
    old_json = parse_line(
        '{"time": 1714564800, "level": "INFO", "msg": "/user/x errCode=0 response_time=2.5ms", "route": "/user/x"}'
    )
    assert old_json is not None and (old_json.route, old_json.err_code, old_json.response_ms) == ("/user/x", 0, 2.5)
    as_text = parse_line('{"time": "2024-05-01 12:00:00,000", "level": "INFO", "msg": "m", "route": "/r", '
                         '"errCode": 1002, "response_time": "3.2ms"}')  # fmt: skip
    assert as_text is not None and (as_text.route, as_text.err_code, as_text.response_ms) == ("/r", 1002, 3.2)
    no_user = parse_line("2024-05-01 12:00:00,000 INFO [api] openim.api operationID=op userID= /a errCode=0 "
                         "response_time=1.0ms")  # fmt: skip
    assert no_user is not None and (no_user.user_id, no_user.route, no_user.response_ms) == ("", "/a", 1.0)
    assert parse_line('"just a string"') is None and parse_line("[]") is None


@pytest.mark.parametrize("is_json", [False, True])
async def test_real_middleware_lines_are_understood(tmp_path: Path, is_json: bool) -> None:
    """Request lines written by api/middleware.py itself, in text and JSON, give routes, errCodes and times."""
    from openim.api.middleware import OpenIMMiddleware

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"errCode":0}'})

    async def authenticate(token: str) -> Any:
        raise AssertionError("only whitelisted routes are called")

    setup_logging(Log(storageLocation=str(tmp_path), remainLogLevel=4, isJson=is_json), role="api")
    transport = httpx.ASGITransport(app=OpenIMMiddleware(ok, authenticate=authenticate))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for _ in range(3):
            await client.post("/auth/parse_token", headers={"operationID": "op1"}, json={})
        await client.post("/auth/parse_token", json={})  # no operationID: errCode 1001
    _close_loggers()
    data = analyze(log_paths(tmp_path), since=parse_since("1h")).to_dict()
    (route,) = data["requests"]["routes"]
    assert (route["route"], route["count"], route["errors"]) == ("/auth/parse_token", 4, 1)
    assert 0 <= route["avg_ms"] <= route["max_ms"]
    assert [c["errCode"] for c in data["errors"]["by_err_code"]] == [1001]
    assert data["unparsable"] == 0
    json.loads(render_json(analyze(log_paths(tmp_path), since=None)))
