"""Logging setup: OpenIM's 0-6 levels, a file per role under storageLocation, rotation, text or JSON lines."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.process import start_server

from openim import context
from openim.ops.logging import LEVELS, PANIC, TRACE, log_files, role_of_logger, setup_logging
from openim.settings import Log


@pytest.fixture(autouse=True)
def _restore_loggers() -> Iterator[None]:
    yield
    for name in ("openim", "uvicorn", "websockets"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def test_levels_follow_openims_table() -> None:
    """0 panic … 6 trace map onto increasingly verbose Python levels."""
    assert [LEVELS[i] for i in range(7)] == sorted((LEVELS[i] for i in range(7)), reverse=True)
    assert LEVELS[0] == PANIC and LEVELS[1] == logging.CRITICAL and LEVELS[2] == logging.ERROR
    assert LEVELS[3] == logging.WARNING and LEVELS[4] == logging.INFO and LEVELS[6] == TRACE
    assert logging.getLevelName(PANIC) == "PANIC" and logging.getLevelName(TRACE) == "TRACE"


def test_text_lines_carry_role_operation_and_user(tmp_path: Path) -> None:
    """A line in logs/<role>.log names the role, the operationID and the userID."""
    path = setup_logging(Log(storageLocation=str(tmp_path), remainLogLevel=4), role="api")
    logging.getLogger("openim.api").info("hello", extra={"operationID": "op-7", "userID": "alice"})
    text = path.read_text()
    assert path.name == "api.log"
    assert "INFO [api]" in text and "operationID=op-7" in text and "userID=alice" in text


def test_operation_and_user_come_from_the_request_context(tmp_path: Path) -> None:
    """A service or storage line logged during a request carries the request's operationID and userID."""
    path = setup_logging(Log(storageLocation=str(tmp_path), remainLogLevel=4), role="api")
    op, user = context.operation_id.set("op-ctx"), context.user_id.set("bob")
    try:
        logging.getLogger("openim.storage").warning("slow")
    finally:
        context.operation_id.reset(op)
        context.user_id.reset(user)
    assert "operationID=op-ctx userID=bob" in path.read_text()


def test_filtered_level_is_not_written(tmp_path: Path) -> None:
    """With remainLogLevel 3 (warn) an info line is dropped and a warning kept."""
    path = setup_logging(Log(storageLocation=str(tmp_path), remainLogLevel=3), role="api")
    log = logging.getLogger("openim.api")
    log.info("quiet")
    log.warning("loud")
    text = path.read_text()
    assert "quiet" not in text and "loud" in text


def test_filtered_line_formats_nothing(tmp_path: Path) -> None:
    """A line below the level never formats its arguments: a filtered call costs one level check."""
    setup_logging(Log(storageLocation=str(tmp_path), remainLogLevel=2), role="api")
    formatted: list[str] = []

    class Costly:
        def __str__(self) -> str:
            formatted.append("x")
            return "costly"

    log = logging.getLogger("openim.services")
    log.info("value %s", Costly())
    log.log(TRACE, "value %s", Costly())
    assert formatted == [] and not log.isEnabledFor(logging.INFO)
    log.error("value %s", Costly())
    assert formatted == ["x"]


def test_panic_level_keeps_only_panics(tmp_path: Path) -> None:
    """remainLogLevel 0 writes PANIC lines only; 1 (fatal) adds CRITICAL."""
    path = setup_logging(Log(storageLocation=str(tmp_path), remainLogLevel=0), role="api")
    log = logging.getLogger("openim.api")
    log.critical("fatal-line")
    log.log(PANIC, "panic-line")
    text = path.read_text()
    assert "panic-line" in text and "PANIC" in text and "fatal-line" not in text


def test_json_lines(tmp_path: Path) -> None:
    """isJson writes one JSON object per line with the extras the log analyzer reads."""
    path = setup_logging(Log(storageLocation=str(tmp_path), isJson=True), role="msggateway")
    extra = {"operationID": "x", "route": "/user/x", "errCode": 0, "response_time": 1.5}
    logging.getLogger("openim.api").info("done", extra=extra)
    (line,) = path.read_text().splitlines()
    record = json.loads(line)
    assert record["role"] == "msggateway" and record["route"] == "/user/x" and record["errCode"] == 0
    assert record["response_time"] == 1.5 and record["level"] == "INFO" and record["time"]


def test_owner_of_each_logger() -> None:
    """Transport loggers belong to their role; storage, services and uvicorn are shared."""
    assert role_of_logger("openim.api.middleware") == "api" and role_of_logger("openim.api") == "api"
    assert role_of_logger("openim.gateway") == "msggateway" and role_of_logger("websockets.server") == "msggateway"
    assert role_of_logger("openim.ops.debug") == "admin"
    assert role_of_logger("openim.storage") == role_of_logger("uvicorn.error") == role_of_logger("openim.apix") == ""


def test_several_roles_write_one_file_each(tmp_path: Path) -> None:
    """In one process each role has its file; shared loggers follow the role of the task, else go to openim.log."""
    settings = Log(storageLocation=str(tmp_path), remainLogLevel=4)
    setup_logging(settings, roles=("api", "msggateway", "admin"))
    files = log_files(settings, ("api", "msggateway", "admin"))
    assert sorted(files) == ["admin", "api", "msggateway", "openim"]
    logging.getLogger("openim.api").info("rest-line")
    logging.getLogger("openim.gateway").info("ws-line")
    logging.getLogger("openim.ops.debug").info("admin-line")
    logging.getLogger("openim.runtime").info("process-line")
    token = context.role.set("api")
    try:
        logging.getLogger("openim.storage").warning("storage-in-api-request")
        logging.getLogger("openim.gateway").info("gateway-even-in-api-task")
    finally:
        context.role.reset(token)
    logging.getLogger("openim.storage").warning("storage-outside-requests")
    text = {role: path.read_text() for role, path in files.items()}
    assert "rest-line" in text["api"] and "storage-in-api-request" in text["api"]
    assert "ws-line" in text["msggateway"] and "gateway-even-in-api-task" in text["msggateway"]
    assert "admin-line" in text["admin"]
    assert "process-line" in text["openim"] and "storage-outside-requests" in text["openim"]
    assert "[api]" in text["api"] and "[openim]" in text["openim"]
    for role, body in text.items():
        assert sum(body.count(w) for w in ("rest-line", "ws-line", "admin-line", "process-line")) == 1, role


def test_a_role_not_running_falls_back_to_the_process_file(tmp_path: Path) -> None:
    """With only api running, gateway lines go to api.log, the process's one file; no openim.log is made."""
    path = setup_logging(Log(storageLocation=str(tmp_path), remainLogLevel=4), roles=("api",))
    logging.getLogger("openim.gateway").info("ws-line")
    logging.getLogger("openim.runtime").info("process-line")
    assert path.name == "api.log" and "ws-line" in path.read_text() and "process-line" in path.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api.log"]


def test_rotation_every_rotation_time_hours_keeps_remain_rotation_count(tmp_path: Path) -> None:
    """Files rotate every rotationTime hours; only remainRotationCount rotated files are kept."""
    settings = Log(storageLocation=str(tmp_path), rotationTime=6, remainRotationCount=2)
    setup_logging(settings, role="api")
    router = logging.getLogger("openim").handlers[0]
    handler = router.files["api"]  # type: ignore[attr-defined]
    assert isinstance(handler, logging.handlers.TimedRotatingFileHandler)
    assert handler.interval == 6 * 3600 and handler.backupCount == 2
    for hour in range(4):  # four older rotations, oldest first
        (tmp_path / f"api.log.2020-01-01_0{hour}").write_text(f"old {hour}\n")
    logging.getLogger("openim.api").info("before rotation")
    handler.rolloverAt = int(time.time()) - 1  # the rotation time has come
    logging.getLogger("openim.api").info("after rotation")
    rotated = sorted(p.name for p in tmp_path.iterdir() if p.name != "api.log")
    assert len(rotated) == 2 and "api.log.2020-01-01_00" not in rotated
    assert "after rotation" in (tmp_path / "api.log").read_text()
    assert any("before rotation" in (tmp_path / name).read_text() for name in rotated)


def test_stdout_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """isStdout writes each line to stdout as well as to the file."""
    path = setup_logging(Log(storageLocation=str(tmp_path), isStdout=True, remainLogLevel=4), role="api")
    logging.getLogger("openim.api").info("both places")
    assert "both places" in capsys.readouterr().out and "both places" in path.read_text()


@pytest.mark.slow
def test_real_server_writes_each_roles_lines_to_its_file(tmp_path: Path) -> None:
    """`openim start` writes REST request lines to api.log, gateway lines to msggateway.log, the rest to openim.log.

    Every role of the process has its file, msgtransfer.log included.
    """
    server = start_server(tmp_path, OPENIM_LOG_REMAINLOGLEVEL="4")
    try:
        assert server.post("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})["errCode"] == 0
        refused = httpx.get(
            f"http://127.0.0.1:{server.gateway}/?sendID=a&token=t&platformID=99&operationID=o&isBackground=false"
        )
        assert refused.json()["errCode"] == 1602
        assert httpx.get(f"http://127.0.0.1:{server.admin}/debug/pprof/goroutine").status_code == 200
        os.kill(server.proc.pid, signal.SIGTERM)
        assert server.proc.wait(30) == 0
    finally:
        server.stop()
    logs = {p.stem: p.read_text() for p in (tmp_path / "logs").glob("*.log")}
    assert sorted(logs) == ["admin", "api", "msggateway", "msgtransfer", "openim"]
    request_line = next(line for line in logs["api"].splitlines() if "/auth/get_admin_token" in line)
    assert "INFO [api] openim.api operationID=proc-test" in request_line
    assert "errCode=0 response_time=" in request_line and request_line.endswith("ms")
    assert "uvicorn.error" in logs["api"]  # uvicorn's own lines follow the role of its server task
    assert "handshake refused: 1602" in logs["msggateway"] and "/auth/" not in logs["msggateway"]
    assert "goroutine" in logs["admin"] and "uvicorn.error" in logs["admin"]
    assert "stopping" in logs["openim"] and "stopped" in logs["openim"] and "uvicorn" not in logs["openim"]
