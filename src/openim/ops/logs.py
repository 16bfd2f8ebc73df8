"""Logs: `openim logs analyze`, what the troubleshooting guide's log-analyzer.sh tries to do, done right.

It reads the files `ops/logging.py` writes under `log.storageLocation` (`<role>.log`, `openim.log`, rotated
`<role>.log.YYYY-MM-DD_HH`, also gzip-compressed `*.gz`) or the files given, in both line formats:

- text: `<time> <LEVEL> [<role>] <logger> operationID=<id> userID=<id> <message>`, where `<time>` is logging's
  asctime (`2024-05-01 12:00:00,123`, local time) or ISO 8601 with an offset; the lines that follow a record
  with a traceback (`Traceback (most recent call last):` …) belong to it;
- JSON lines: `{"time", "level", "role", "logger", "operationID", "userID", "msg", "route", "errCode",
  "response_time", "exc"}`.

A REST request is a record whose message is `<route> errCode=<n> response_time=<ms>ms` (api/middleware.py), or a
JSON record with `route`, `errCode` and `response_time`. From the records inside `--since` it reports: counts per
level (OpenIM's names, 0 PANIC … 6 TRACE), error-level records grouped by message (numbers folded into `<n>`),
the latest errors, the requests that answered errCode ≠ 0 grouped by errCode, and per route the request count,
failures, average / p95 (nearest rank) / max response time, busiest first; and the slow transactions
(`slow transaction <name> took <n> ms`, written by storage/db.py) per name. Lines that fit neither format are
counted (with a few samples), never fatal; a file that cannot be read is reported and skipped.
"""

from __future__ import annotations

import gzip
import heapq
import itertools
import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any, TextIO

import orjson
from rich.console import Console
from rich.table import Table

from openim.protocol.errors import by_code

__all__ = ["Record", "Report", "analyze", "log_paths", "parse_line", "parse_since", "render_json", "render_text"]

LEVEL_NAMES = ("PANIC", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE")
_SEVERITY = {"PANIC": 0, "FATAL": 1, "CRITICAL": 1, "ERROR": 2, "WARN": 3, "WARNING": 3, "INFO": 4, "DEBUG": 5,
             "TRACE": 6}  # fmt: skip
_PY_LEVELS = ((60, 0), (50, 1), (40, 2), (30, 3), (20, 4), (10, 5), (0, 6))  # "Level N" → severity

_TEXT = re.compile(
    r"^(?P<time>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+"
    r"(?P<level>Level \d+|[A-Za-z]+)\s+\[(?P<role>[^\]]*)\]\s+(?P<logger>\S+)\s+"
    r"(?:operationID=(?P<op>\S*)\s*)?(?:userID=(?P<user>\S*)\s?)?(?P<msg>.*)$"
)
_REQUEST = re.compile(r"(?:^|\s)(?P<route>/\S*)\s+errCode=(?P<code>-?\d+)\s+response_time=(?P<ms>\d+(?:\.\d+)?)\s*ms")
_SLOW_TX = re.compile(r"slow transaction (?P<name>\S+) took (?P<ms>\d+(?:\.\d+)?) ms(?P<rolled> \(rolled back\))?")
_NUMBERS = re.compile(r"\d+(?:\.\d+)?")
_TRACEBACK_START = ("Traceback (most recent call last):",)
_SINCE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class Record:
    """One parsed log record; `ts` is Unix seconds, `severity` OpenIM's 0 (panic) … 6 (trace)."""

    ts: float
    severity: int
    role: str
    logger: str
    operation_id: str
    user_id: str
    message: str
    route: str | None = None
    err_code: int | None = None
    response_ms: float | None = None
    tx_name: str | None = None
    tx_ms: float | None = None
    tx_rolled_back: bool = False


@dataclass
class _Route:
    count: int = 0
    errors: int = 0
    times: array[float] = field(default_factory=lambda: array("d"))


@dataclass
class Report:
    """What `analyze` found; `to_dict` is the `--json` document."""

    since: datetime | None
    until: datetime
    files: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    records: int = 0
    in_window: int = 0
    unparsable: int = 0
    continuation: int = 0
    unparsable_samples: list[str] = field(default_factory=list)
    levels: Counter[int] = field(default_factory=Counter)
    by_message: dict[tuple[int, str, str], list[Any]] = field(default_factory=dict)  # → [count, last ts, example]
    latest: list[tuple[float, int, Record]] = field(default_factory=list)  # a min-heap of the newest errors
    by_code: dict[int, Counter[str]] = field(default_factory=dict)  # errCode → route → count
    routes: dict[str, _Route] = field(default_factory=dict)
    slow: dict[str, _Route] = field(default_factory=dict)  # transaction name → slow runs (errors = rolled back)

    def to_dict(self, *, top: int | None = None) -> dict[str, Any]:
        """Plain data: every number the text rendering shows, times as ISO 8601 with offset."""
        errors_total = sum(n for sev, n in self.levels.items() if sev <= 2)
        messages = sorted(self.by_message.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        codes = sorted(self.by_code.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        routes = sorted(self.routes.items(), key=lambda kv: (-kv[1].count, kv[0]))
        return {
            "window": {"since": _iso(self.since.timestamp()) if self.since else None, "until": _iso(self.until)},
            "files": self.files,
            "lines": self.lines,
            "records": self.records,
            "in_window": self.in_window,
            "unparsable": self.unparsable,
            "continuation": self.continuation,
            "unparsable_samples": self.unparsable_samples,
            "levels": {LEVEL_NAMES[sev]: n for sev, n in sorted(self.levels.items())},
            "errors": {
                "total": errors_total,
                "by_message": [
                    {
                        "level": LEVEL_NAMES[sev],
                        "logger": logger,
                        "message": message,
                        "count": count,
                        "last": _iso(last),
                        "example": example,
                    }
                    for (sev, logger, message), (count, last, example) in messages[:top]
                ],
                "latest": [_record_dict(r) for _, _, r in sorted(self.latest, key=lambda x: (-x[0], -x[1]))],
                "by_err_code": [
                    {
                        "errCode": code,
                        "name": _code_name(code),
                        "count": sum(rs.values()),
                        "routes": [
                            {"route": r, "count": n} for r, n in sorted(rs.items(), key=lambda x: (-x[1], x[0]))
                        ],
                    }
                    for code, rs in codes[:top]
                ],
            },
            "requests": {
                "total": sum(r.count for r in self.routes.values()),
                "failed": sum(r.errors for r in self.routes.values()),
                "routes": [{"route": name, **_stats(r)} for name, r in routes[:top]],
            },
            "slow_transactions": [
                {"name": name, **_stats(t, errors="rolled_back")}
                for name, t in sorted(self.slow.items(), key=lambda kv: (-kv[1].count, kv[0]))[:top]
            ],
        }


def parse_since(text: str) -> timedelta | None:
    """`90s`, `30m`, `1h`, `2d`, `1w`, or combined `1h30m`; `all` (or `0`) means no limit (None)."""
    spec = text.strip().lower()
    if spec in ("all", "0"):
        return None
    parts = _SINCE.findall(spec)
    if not parts or _SINCE.sub("", spec).strip():
        raise ValueError(f"--since {text!r}: write a duration such as 30m, 1h, 2d, 1h30m, or all")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))


def log_paths(location: Path) -> list[Path]:
    """The log files in a directory: `*.log`, rotated `*.log.*` and their `.gz`, sorted by name; a file as itself."""
    if location.is_file():
        return [location]
    if not location.is_dir():
        return []
    return sorted(p for p in location.iterdir() if p.is_file() and (p.suffix == ".log" or ".log." in p.name))


def parse_line(line: str) -> Record | None:
    """One line in either format, or None when it is neither (a continuation line is None too)."""
    if line.startswith("{"):
        return _parse_json(line)
    match = _TEXT.match(line)
    if match is None:
        return None
    ts = _timestamp(match["time"])
    severity = _severity(match["level"])
    if ts is None or severity is None:
        return None
    message = match["msg"]
    route = err_code = response_ms = None
    request = _REQUEST.search(message)
    if request is not None:
        route, err_code, response_ms = request["route"], int(request["code"]), float(request["ms"])
    record = Record(ts, severity, match["role"], match["logger"], match["op"] or "", match["user"] or "", message,
                    route, err_code, response_ms)  # fmt: skip
    return _with_transaction(record, None, None)


def analyze(paths: Sequence[Path], *, since: timedelta | None, now: datetime | None = None, latest: int = 10) -> Report:
    """Read `paths` and summarize the records no older than `since` before `now` (all of them when None)."""
    now = now or datetime.now().astimezone()
    cutoff = now - since if since is not None else None
    report = Report(cutoff, now)
    order = itertools.count()
    for path in paths:
        entry: dict[str, Any] = {"path": str(path), "lines": 0, "records": 0, "in_window": 0, "unparsable": 0}
        report.files.append(entry)
        try:
            if cutoff is not None and path.stat().st_mtime < cutoff.timestamp():
                entry["skipped"] = "not written since the window began"
                continue
            with _open(path) as stream:
                _read(stream, entry, report, cutoff.timestamp() if cutoff else None, latest, order)
        except (OSError, EOFError, UnicodeError) as exc:  # unreadable, truncated gzip, …
            entry["error"] = f"{type(exc).__name__}: {exc}"
    return report


def render_json(report: Report) -> str:
    """The report as indented JSON (every route, message and errCode)."""
    return orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode()


def render_text(report: Report, *, top: int = 10, width: int = 120) -> str:
    """The report as rich tables, top `top` rows of each, plain text (no colours) for any output."""
    data = report.to_dict(top=top)
    out = StringIO()
    console = Console(file=out, width=width, highlight=False)
    window = f"since {_short(data['window']['since'])}" if data["window"]["since"] else "all time"
    read = [f for f in data["files"] if "skipped" not in f and "error" not in f]
    console.print(f"{window} until {_short(data['window']['until'])}: {data['in_window']:,} records in the window")
    console.print(
        f"{len(read)} of {len(data['files'])} files read, {data['records']:,} records parsed, "
        f"{data['unparsable']:,} unparsable lines"
    )
    for f in data["files"]:
        if "error" in f:
            console.print(f"  could not read {f['path']}: {f['error']}")
    console.print("levels: " + (", ".join(f"{k} {v:,}" for k, v in data["levels"].items()) or "none"))
    errors, reqs = data["errors"], data["requests"]
    codes = _table("requests answered with errCode ≠ 0", "errCode", "name", "#requests", "top routes")
    for c in errors["by_err_code"]:
        top_routes = ", ".join(f"{r['route']} ({r['count']})" for r in c["routes"][:3])
        codes.add_row(str(c["errCode"]), c["name"], f"{c['count']:,}", top_routes)
    messages = _table(f"errors by message ({errors['total']:,})", "#count", "level", "logger", "message", "last")
    for m in errors["by_message"]:
        messages.add_row(f"{m['count']:,}", m["level"], m["logger"], m["message"], _short(m["last"]))
    latest = _table("latest errors", "time", "level", "role", "operationID", "userID", "message")
    for r in errors["latest"]:
        latest.add_row(_short(r["time"]), r["level"], r["role"], r["operationID"], r["userID"], r["message"])
    title = f"busiest routes ({reqs['total']:,} requests, {reqs['failed']:,} with errCode ≠ 0)"
    routes = _table(title, "route", "#requests", "#errors", "#avg ms", "#p95 ms", "#max ms")
    for r in reqs["routes"]:
        numbers = (
            f"{r['count']:,}",
            f"{r['errors']:,}",
            f"{r['avg_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['max_ms']:.1f}",
        )
        routes.add_row(r["route"], *numbers)
    slow = _table("slow transactions", "name", "#count", "#rolled back", "#avg ms", "#p95 ms", "#max ms")
    for t in data["slow_transactions"]:
        slow.add_row(t["name"], f"{t['count']:,}", f"{t['rolled_back']:,}", f"{t['avg_ms']:.1f}", f"{t['p95_ms']:.1f}",
                     f"{t['max_ms']:.1f}")  # fmt: skip
    for table in (codes, messages, latest, routes, slow):
        console.print(table if table.row_count else f"{table.title}: none")
    return out.getvalue().rstrip("\n")


def _table(title: str, *columns: str) -> Table:
    """A table whose columns named with a leading # hold numbers (right-aligned)."""
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name.lstrip("#"), justify="right" if name.startswith("#") else "left")
    return table


def _short(iso: str) -> str:
    """An ISO time as `YYYY-MM-DD HH:MM:SS` (the offset is the machine's, as in the log files)."""
    return iso[:19].replace("T", " ")


# --- reading ------------------------------------------------------------------------------------------------


def _open(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def _read(
    stream: Iterable[str],
    entry: dict[str, Any],
    report: Report,
    cutoff: float | None,
    latest: int,
    order: Iterator[int],
) -> None:
    in_traceback = False
    previous: Record | None = None
    for raw in stream:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        entry["lines"] += 1
        report.lines += 1
        record = parse_line(line)
        if record is None:
            if previous is not None and (in_traceback or line.startswith(_TRACEBACK_START)):
                in_traceback = True
                report.continuation += 1
                continue
            entry["unparsable"] += 1
            report.unparsable += 1
            if len(report.unparsable_samples) < 5:
                report.unparsable_samples.append(line[:200])
            continue
        previous, in_traceback = record, False
        entry["records"] += 1
        report.records += 1
        if cutoff is not None and record.ts < cutoff:
            continue
        entry["in_window"] += 1
        report.in_window += 1
        _count(report, record, latest, order)


def _count(report: Report, record: Record, latest: int, order: Iterator[int]) -> None:
    report.levels[record.severity] += 1
    if record.tx_name is not None and record.tx_ms is not None:
        tx = report.slow.get(record.tx_name)
        if tx is None:
            tx = report.slow[record.tx_name] = _Route()
        tx.count += 1
        tx.errors += record.tx_rolled_back
        tx.times.append(record.tx_ms)
    if record.route is not None and record.err_code is not None and record.response_ms is not None:
        route = report.routes.get(record.route)
        if route is None:
            route = report.routes[record.route] = _Route()
        route.count += 1
        route.times.append(record.response_ms)
        if record.err_code != 0:
            route.errors += 1
            report.by_code.setdefault(record.err_code, Counter())[record.route] += 1
    if record.severity <= 2:
        first_line = record.message.splitlines()[0] if record.message else ""
        key = (record.severity, record.logger, _NUMBERS.sub("<n>", first_line))
        group = report.by_message.get(key)
        if group is None:
            report.by_message[key] = [1, record.ts, record.message]
        else:
            group[0] += 1
            if record.ts >= group[1]:
                group[1], group[2] = record.ts, record.message
        item = (record.ts, next(order), record)
        if len(report.latest) < latest:
            heapq.heappush(report.latest, item)
        elif latest > 0 and item[:2] > report.latest[0][:2]:
            heapq.heapreplace(report.latest, item)


def _parse_json(line: str) -> Record | None:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    raw_time = data.get("time", data.get("ts", data.get("timestamp")))
    ts = float(raw_time) if isinstance(raw_time, int | float) else _timestamp(str(raw_time or ""))
    severity = _severity(str(data.get("level", "")))
    if ts is None or severity is None:
        return None
    message = str(data.get("msg", data.get("message", "")))
    route, err_code, response_ms = data.get("route"), data.get("errCode"), data.get("response_time")
    request = _REQUEST.search(message)
    if request is not None:
        route = route if isinstance(route, str) else request["route"]
        err_code = err_code if isinstance(err_code, int) else int(request["code"])
        response_ms = response_ms if response_ms is not None else request["ms"]
    record = Record(
        ts, severity, str(data.get("role", "")), str(data.get("logger", "")), str(data.get("operationID", "")),
        str(data.get("userID", "")), message, route if isinstance(route, str) else None,
        err_code if isinstance(err_code, int) and not isinstance(err_code, bool) else None, _milliseconds(response_ms),
    )  # fmt: skip
    tx_name = data.get("tx_name")
    return _with_transaction(
        record, tx_name if isinstance(tx_name, str) else None, _milliseconds(data.get("duration_ms"))
    )


def _with_transaction(record: Record, name: str | None, ms: float | None) -> Record:
    """The record with its slow-transaction fields, from the JSON extras or else from the message."""
    match = _SLOW_TX.search(record.message)
    if match is None and name is None:
        return record
    rolled = match is not None and match["rolled"] is not None
    name = name or (match["name"] if match else None)
    ms = ms if ms is not None else (float(match["ms"]) if match else None)
    return replace(record, tx_name=name, tx_ms=ms, tx_rolled_back=rolled)


def _milliseconds(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().removesuffix("ms"))
        except ValueError:
            return None
    return None


def _timestamp(text: str) -> float | None:
    """Unix seconds of an asctime or ISO 8601 time; a time without an offset is local time, as logging writes it."""
    try:
        return datetime.fromisoformat(text.replace(",", ".", 1)).timestamp()
    except ValueError:
        return None


def _severity(level: str) -> int | None:
    name = level.upper()
    if name in _SEVERITY:
        return _SEVERITY[name]
    if name.startswith("LEVEL "):
        number = int(name[6:])
        return next(sev for floor, sev in _PY_LEVELS if number >= floor)
    return None


# --- output helpers -------------------------------------------------------------------------------------------


def _iso(ts: float | datetime) -> str:
    moment = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts).astimezone()
    return moment.isoformat(timespec="milliseconds")


def _record_dict(record: Record) -> dict[str, Any]:
    return {
        "time": _iso(record.ts),
        "level": LEVEL_NAMES[record.severity],
        "role": record.role,
        "logger": record.logger,
        "operationID": record.operation_id,
        "userID": record.user_id,
        "message": record.message,
    }


def _code_name(code: int) -> str:
    cls = by_code(code)
    return cls.__name__ if cls.code == code else ""


def _stats(route: _Route, *, errors: str = "errors") -> dict[str, Any]:
    times = sorted(route.times)
    p95 = times[max(0, math.ceil(0.95 * len(times)) - 1)]
    return {
        "count": route.count,
        errors: route.errors,
        "avg_ms": round(sum(times) / len(times), 3),
        "p95_ms": p95,
        "max_ms": times[-1],
    }
