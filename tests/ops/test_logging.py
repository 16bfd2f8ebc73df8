"""Logging setup: OpenIM's 0-6 levels, a file per role under storageLocation, text or JSON lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from openim.ops.logging import LEVELS, TRACE, setup_logging
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
    assert LEVELS[3] == logging.WARNING and LEVELS[4] == logging.INFO and LEVELS[6] == TRACE


def test_text_lines_carry_role_operation_and_user(tmp_path: Path) -> None:
    """A line in logs/<role>.log names the role, the operationID and the userID."""
    path = setup_logging(Log(storageLocation=str(tmp_path), remainLogLevel=4), role="api")
    logging.getLogger("openim.api").info("hello", extra={"operationID": "op-7", "userID": "alice"})
    text = path.read_text()
    assert path.name == "api.log"
    assert "INFO [api]" in text and "operationID=op-7" in text and "userID=alice" in text


def test_filtered_level_is_not_written(tmp_path: Path) -> None:
    """With remainLogLevel 3 (warn) an info line is dropped and a warning kept."""
    path = setup_logging(Log(storageLocation=str(tmp_path), remainLogLevel=3), role="api")
    log = logging.getLogger("openim.api")
    log.info("quiet")
    log.warning("loud")
    text = path.read_text()
    assert "quiet" not in text and "loud" in text


def test_json_lines(tmp_path: Path) -> None:
    """isJson writes one JSON object per line with the extras the log analyzer reads."""
    path = setup_logging(Log(storageLocation=str(tmp_path), isJson=True), role="msggateway")
    logging.getLogger("openim.api").info("done", extra={"operationID": "x", "route": "/user/x", "errCode": 0})
    (line,) = path.read_text().splitlines()
    record = json.loads(line)
    assert record["role"] == "msggateway" and record["route"] == "/user/x" and record["errCode"] == 0
