"""Logging setup: OpenIM's levels 0 (panic) .. 6 (trace), one file per role under `log.storageLocation`, rotation.

Files. Each role that runs writes `<role>.log` (`api.log`, `msggateway.log`, `admin.log`; `msgtransfer.log` once
that role exists). When one process runs several roles (`openim start`), a record goes to:

1. the file of the role that owns its logger by name: `openim.api` → api, `openim.gateway` and `websockets` →
   msggateway, `openim.ops` → admin, `openim.jobs` → msgtransfer;
2. else the file of the role whose task logged it (`openim.context.role`, set for each role's server task by
   runtime.py and inherited by every task it spawns): a slow transaction or a service warning during a REST
   request lands in api.log next to the request line, as it would with OpenIM's one process per service;
3. else `openim.log`, the process-wide file: start and stop, the message writer's batches, anything logged
   outside a request. With a single role there is no `openim.log`: everything goes to that role's file.

Rotation: every `rotationTime` hours a file is renamed `<role>.log.YYYY-MM-DD_HH` and `remainRotationCount`
rotated files are kept (0 keeps them all). `isStdout` also writes every line to stdout; `isJson` writes JSON
lines instead of text.

Lines carry time, level, role and, where known, operationID and userID (from the record's `extra`, else from
`openim.context`), then logger name and message. REST request lines add route, errCode and response_time (ms).

Cost: a record whose level is filtered out never reaches a handler: `logger.info(...)` is one cached
`isEnabledFor` lookup (~60 ns, see bench/logging.py); callers guard with `log.isEnabledFor(level)` when building
the arguments themselves costs more than that.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from openim import context
from openim.settings import Log

__all__ = [
    "LEVELS",
    "PANIC",
    "PROCESS_LOG",
    "TRACE",
    "JsonFormatter",
    "RoleRouter",
    "log_files",
    "role_of_logger",
    "set_log_level",
    "setup_logging",
]

TRACE = 5
PANIC = logging.CRITICAL + 10
logging.addLevelName(TRACE, "TRACE")
logging.addLevelName(PANIC, "PANIC")

# OpenIM's remainLogLevel → Python level: 0 panic, 1 fatal, 2 error, 3 warn, 4 info, 5 debug, 6 trace.
LEVELS = {
    0: PANIC,
    1: logging.CRITICAL,
    2: logging.ERROR,
    3: logging.WARNING,
    4: logging.INFO,
    5: logging.DEBUG,
    6: TRACE,
}

PROCESS_LOG = "openim"  # the process-wide file's stem, used when several roles share a process
_OWNERS = (  # logger name prefix → the role whose file gets its lines (rule 1 of the module docstring)
    ("openim.api", "api"),
    ("openim.gateway", "msggateway"),
    ("websockets", "msggateway"),
    ("openim.ops", "admin"),
    ("openim.jobs", "msgtransfer"),
)
_CONFIGURED = ("openim", "uvicorn", "websockets")


def role_of_logger(name: str) -> str:
    """The role owning a logger by its name, "" for shared loggers (storage, services, runtime, uvicorn)."""
    for prefix, role in _OWNERS:
        if name == prefix or name.startswith(prefix + "."):
            return role
    return ""


def log_files(settings: Log, roles: Sequence[str]) -> dict[str, Path]:
    """Role → its log file for a process running `roles`; several roles add the process-wide `openim.log`."""
    directory = Path(settings.storageLocation)
    stems = list(dict.fromkeys(roles)) or [PROCESS_LOG]
    if len(stems) > 1:
        stems.append(PROCESS_LOG)
    return {stem: directory / f"{stem}.log" for stem in stems}


class _ContextFilter(logging.Filter):
    """Sets `role` (the file the record goes to), `operationID` and `userID` on each record that is emitted."""

    def __init__(self, roles: Sequence[str], fallback: str) -> None:
        super().__init__()
        self.roles = frozenset(roles)
        self.fallback = fallback

    def filter(self, record: logging.LogRecord) -> bool:
        role = role_of_logger(record.name)
        if role not in self.roles:
            role = context.role.get()
            if role not in self.roles:
                role = self.fallback
        record.role = role
        if not getattr(record, "operationID", ""):
            record.operationID = context.operation_id.get()
        if not getattr(record, "userID", ""):
            record.userID = context.user_id.get()
        return True


class RoleRouter(logging.Handler):
    """Hands each record to the file handler of `record.role` (set by the context filter)."""

    def __init__(self, files: dict[str, logging.Handler], fallback: str) -> None:
        super().__init__()
        self.files = files
        self.fallback = files[fallback]

    def emit(self, record: logging.LogRecord) -> None:
        self.files.get(getattr(record, "role", ""), self.fallback).handle(record)

    def close(self) -> None:
        for handler in self.files.values():
            handler.close()
        super().close()


_FORMAT = "%(asctime)s %(levelname)s [%(role)s] %(name)s operationID=%(operationID)s userID=%(userID)s %(message)s"
_EXTRA_KEYS = ("route", "errCode", "response_time", "tx_name", "duration_ms")


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


def setup_logging(settings: Log, *, role: str = "", roles: Sequence[str] = ()) -> Path:
    """Configure the `openim` logger tree (and uvicorn's, websockets') for a process running `roles` (or `role`).

    Returns the process-wide file: the role's own file when one role runs, else `openim.log`.
    """
    running = list(roles) or [role or PROCESS_LOG]
    paths = log_files(settings, running)
    Path(settings.storageLocation).mkdir(parents=True, exist_ok=True)
    fallback = PROCESS_LOG if PROCESS_LOG in paths else running[0]
    formatter: logging.Formatter = JsonFormatter() if settings.isJson else logging.Formatter(_FORMAT)
    files: dict[str, logging.Handler] = {}
    for stem, path in paths.items():
        rotating = logging.handlers.TimedRotatingFileHandler(
            path, when="h", interval=settings.rotationTime, backupCount=settings.remainRotationCount, encoding="utf-8"
        )
        rotating.setFormatter(formatter)
        files[stem] = rotating
    context_filter = _ContextFilter(list(paths), fallback)
    handlers: list[logging.Handler] = [RoleRouter(files, fallback)]
    if settings.isStdout:
        stdout = logging.StreamHandler(sys.stdout)
        stdout.setFormatter(formatter)
        handlers.append(stdout)
    for handler in handlers:
        handler.addFilter(context_filter)
    _reset()
    for name in _CONFIGURED:
        logger = logging.getLogger(name)
        logger.propagate = False
        for handler in handlers:
            logger.addHandler(handler)
    set_log_level(settings.remainLogLevel)
    return paths[fallback]


def set_log_level(remain_log_level: int) -> None:
    """Apply a new `log.remainLogLevel` (0 panic .. 6 trace) to the configured loggers, handlers unchanged."""
    level = LEVELS[remain_log_level]
    for name in _CONFIGURED:
        logging.getLogger(name).setLevel(level if name == "openim" else max(level, logging.INFO))


def _reset() -> None:
    """Remove and close the handlers a previous setup installed (they are shared by the configured loggers)."""
    seen: set[int] = set()
    for name in _CONFIGURED:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
            if id(old) not in seen:
                seen.add(id(old))
                old.close()
