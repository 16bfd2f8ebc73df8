"""Logging setup: OpenIM's levels 0 (panic) .. 6 (trace), files under `log.storageLocation`, rotation by hours.

Lines carry time, level, role and, where known, operationID and userID. A filtered-out level costs one integer
comparison: handlers and formatters run only for records the logger's level lets through.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import orjson

from openim.settings import Log

__all__ = ["LEVELS", "TRACE", "JsonFormatter", "setup_logging"]

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

# OpenIM's remainLogLevel → Python level: 0 panic, 1 fatal, 2 error, 3 warn, 4 info, 5 debug, 6 trace.
LEVELS = {
    0: logging.CRITICAL + 10,
    1: logging.CRITICAL,
    2: logging.ERROR,
    3: logging.WARNING,
    4: logging.INFO,
    5: logging.DEBUG,
    6: TRACE,
}


class _ContextFilter(logging.Filter):
    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def filter(self, record: logging.LogRecord) -> bool:
        record.role = self.role
        if not hasattr(record, "operationID"):
            record.operationID = ""
        if not hasattr(record, "userID"):
            record.userID = ""
        return True


_FORMAT = "%(asctime)s %(levelname)s [%(role)s] %(name)s operationID=%(operationID)s userID=%(userID)s %(message)s"
_EXTRA_KEYS = ("route", "errCode", "tx_name", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, role, logger, operationID, userID, msg and known extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "role": getattr(record, "role", ""),
            "logger": record.name,
            "operationID": getattr(record, "operationID", ""),
            "userID": getattr(record, "userID", ""),
            "msg": record.getMessage(),
        }
        for key in _EXTRA_KEYS:
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def setup_logging(settings: Log, *, role: str) -> Path:
    """Configure the `openim` logger tree (and uvicorn's) for this process; returns the log file path."""
    directory = Path(settings.storageLocation)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{role}.log"
    handlers: list[logging.Handler] = [
        logging.handlers.TimedRotatingFileHandler(
            path, when="h", interval=settings.rotationTime, backupCount=settings.remainRotationCount, encoding="utf-8"
        )
    ]
    if settings.isStdout:
        handlers.append(logging.StreamHandler(sys.stdout))
    formatter: logging.Formatter = JsonFormatter() if settings.isJson else logging.Formatter(_FORMAT)
    context = _ContextFilter(role)
    level = LEVELS[settings.remainLogLevel]
    for name in ("openim", "uvicorn", "websockets"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
            old.close()
        logger.setLevel(level if name == "openim" else max(level, logging.INFO))
        logger.propagate = False
        for handler in handlers:
            handler.setFormatter(formatter)
            handler.addFilter(context)
            logger.addHandler(handler)
    return path
