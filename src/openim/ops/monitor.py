"""`openim monitor`: the guide's alert.sh, done once per incident — the doctor's checks and the guide's alarms
on a timer, posted to a Slack-compatible webhook (`{"text": …}`) when an incident opens and when it clears.

An alarm is keyed by what it is about (`service.api:10002`, `disk.data`, `errors`): the doctor's WARN and FAIL
checks (disk ≥ 80 %, memory ≥ 85 %, database, Redis, … at the monitor's thresholds), a role whose health URL does
not answer (the guide's `nc -z localhost 10002`), and the share of requests answered with a server error
since the previous round, read from the admin role's /metrics. An incident is posted once when it opens, again
only if it gets worse (WARNING → CRITICAL), and once more when it clears (RECOVERED, with its duration). A post
that fails is retried on the next round. With `--state FILE` the open incidents and the request counters
survive between runs, so `openim monitor --once --state …` from cron behaves as the long-running loop does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from openim.ops.doctor import Check, Status, Thresholds, diagnose
from openim.ops.doctor.server import Samples, endpoints, get, scrape
from openim.settings import Settings

__all__ = ["ROLES", "Alarm", "Incident", "Monitor", "RoundReport", "error_counts", "run_monitor"]

ROLES = ("api", "msggateway", "admin")
WARNING, CRITICAL = "WARNING", "CRITICAL"
_RANK = {WARNING: 1, CRITICAL: 2}
# errCodes that are the server's fault (ServerInternalError, NetworkError, DataError); 1xxx are the caller's.
SERVER_ERROR_CODES = frozenset({"500", "90004", "90007"})
_REQUEST_COUNTERS = ("openim_http_requests_total", "openim_ws_requests_total")
_UNITS = {"api": "openim-api", "msggateway": "openim-msggateway", "admin": "openim-api"}  # deploy/systemd/


@dataclass(frozen=True)
class Alarm:
    """Something wrong right now: its incident key, level, and a one-line description with the remedy."""

    key: str
    level: str
    text: str


@dataclass
class Incident:
    """An open incident: first seen at `since` (Unix seconds); `notified` once its post got through."""

    key: str
    level: str
    text: str
    since: float
    notified: bool = False


@dataclass
class RoundReport:
    """What one round did: the messages posted, those that failed to post, the incidents open afterwards."""

    posted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    open: list[str] = field(default_factory=list)


def error_counts(samples: Samples) -> tuple[float, float]:
    """(requests, server errors) summed over the REST and WebSocket request counters."""
    total = errors = 0.0
    for name in _REQUEST_COUNTERS:
        for labels, value in samples.get(name, []):
            total += value
            if labels.get("errCode") in SERVER_ERROR_CODES:
                errors += value
    return total, errors


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Monitor:
    """Rounds of checks and alarms against the open incidents; posts the changes to `webhook`."""

    def __init__(
        self,
        webhook: str,
        *,
        config_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        dev: bool = False,
        thresholds: Thresholds | None = None,
        roles: tuple[str, ...] = ROLES,
        error_rate_pct: float = 5.0,
        min_requests: int = 20,
        state_path: Path | None = None,
        host: str | None = None,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.webhook = webhook
        self.config_path = config_path
        self.env = os.environ if env is None else env
        self.dev = dev
        self.thresholds = thresholds or Thresholds()
        self.roles = roles
        self.error_rate_pct = error_rate_pct
        self.min_requests = min_requests
        self.state_path = state_path
        self.host = host or socket.gethostname()
        self.timeout_s = timeout_s
        self.clock = clock
        self.incidents: dict[str, Incident] = {}
        self.recoveries: list[str] = []  # recovery messages not delivered yet
        self.counters: tuple[float, float] | None = None  # (requests, server errors) at the previous round
        self._load()

    # ---- one round ----------------------------------------------------------------------------------------

    async def round(self) -> RoundReport:
        """Collect the alarms, post what changed, remember the incidents; never raises for a failed post."""
        alarms = await self.alarms()
        report = RoundReport()
        now = self.clock()
        for text in list(self.recoveries):  # retry the recoveries that did not get through last time
            if await self._post(text, report):
                self.recoveries.remove(text)
        current = {a.key: a for a in alarms}
        for key, incident in list(self.incidents.items()):
            if key in current:
                continue
            del self.incidents[key]
            if not incident.notified:
                continue  # nobody heard of it opening: nothing to take back
            after = _duration(now - incident.since)
            text = f"[RECOVERED] OpenIM on {self.host}: {key} is back to normal after {after} (was {incident.level})"
            if not await self._post(text, report):
                self.recoveries.append(text)
        for alarm in alarms:
            known = self.incidents.get(alarm.key)
            if known is None:
                known = self.incidents[alarm.key] = Incident(alarm.key, alarm.level, alarm.text, now)
            elif _RANK[alarm.level] > _RANK[known.level]:
                known.level, known.text, known.notified = alarm.level, alarm.text, False
            if not known.notified:
                known.notified = await self._post(f"[{known.level}] OpenIM Alert on {self.host}: {alarm.text}", report)
        report.open = sorted(self.incidents)
        self._save()
        return report

    async def alarms(self) -> list[Alarm]:
        """Everything wrong now: the doctor's WARN/FAIL checks, roles not answering, the server-error rate."""
        ctx, checks = await diagnose(self.config_path, self.env, dev=self.dev, thresholds=self.thresholds)
        alarms = [_from_check(c) for c in checks if c.status is not Status.OK]
        alarms += await self._services(ctx.settings)
        rate = await self._error_rate(ctx.settings)
        return alarms + ([rate] if rate is not None else [])

    async def _services(self, settings: Settings) -> list[Alarm]:
        alarms = []
        for endpoint in endpoints(settings, self.roles):
            try:
                status, _ = await get(endpoint.url, self.timeout_s)
                problem = "" if status == 200 else f"answered HTTP {status}"
            except OSError as exc:
                problem = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
            if problem:
                alarms.append(
                    Alarm(
                        f"service.{endpoint.role}:{endpoint.port}",
                        CRITICAL,
                        f"{endpoint.role} :{endpoint.port} is down: GET {endpoint.url} {problem}. Check "
                        f"`systemctl status openim` (or {_UNITS[endpoint.role]}) and `journalctl -u openim -n 50`",
                    )
                )
        return alarms

    async def _error_rate(self, settings: Settings) -> Alarm | None:
        if "admin" not in self.roles:
            return None
        samples = await scrape(settings, self.timeout_s)
        if samples is None:
            return None  # the admin role being down is its own alarm
        now = error_counts(samples)
        before, self.counters = self.counters, now
        if before is None or now[0] < before[0]:  # first look, or the server restarted (counters reset)
            return None
        requests, errors = now[0] - before[0], now[1] - before[1]
        if requests < self.min_requests or 100.0 * errors / requests < self.error_rate_pct:
            return None
        return Alarm(
            "errors",
            WARNING,
            f"{errors:.0f} of {requests:.0f} requests since the last check answered a server error "
            f"({100.0 * errors / requests:.1f}% ≥ {self.error_rate_pct:g}%). "
            "`openim logs analyze --since 10m` lists them by errCode and route",
        )

    # ---- delivery and state -------------------------------------------------------------------------------

    async def _post(self, text: str, report: RoundReport) -> bool:
        ok = await asyncio.to_thread(self._send, text)
        (report.posted if ok else report.failed).append(text)
        return ok

    def _send(self, text: str) -> bool:
        body = json.dumps({"text": text}, ensure_ascii=False).encode()
        request = urllib.request.Request(self.webhook, body, {"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return 200 <= int(response.status) < 300
        except (OSError, ValueError):
            return False

    def _load(self) -> None:
        if self.state_path is None or not self.state_path.is_file():
            return
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            self.incidents = {k: Incident(**v) for k, v in data.get("incidents", {}).items()}
            self.recoveries = [str(t) for t in data.get("recoveries", [])]
            counters = data.get("counters")
            self.counters = (float(counters[0]), float(counters[1])) if counters else None
        except (ValueError, TypeError, KeyError):
            self.incidents, self.recoveries, self.counters = {}, [], None  # unreadable: start afresh

    def _save(self) -> None:
        if self.state_path is None:
            return
        data = {
            "incidents": {k: asdict(v) for k, v in self.incidents.items()},
            "recoveries": self.recoveries,
            "counters": list(self.counters) if self.counters else None,
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.state_path)

    # ---- the loop -----------------------------------------------------------------------------------------

    async def run(self, interval_s: float, stop: asyncio.Event, on_round: Callable[[RoundReport], None]) -> None:
        """Rounds every `interval_s` seconds until `stop` is set."""
        while not stop.is_set():
            on_round(await self.round())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)


def _from_check(check: Check) -> Alarm:
    level = CRITICAL if check.status is Status.FAIL else WARNING
    text = f"{check.name}: {check.saw}"
    if check.remedy:
        text += f" — remedy: {check.remedy}"
    return Alarm(check.name, level, text)


def run_monitor(monitor: Monitor, *, interval_s: float, once: bool, echo: Callable[[str], None]) -> int:
    """The whole `openim monitor`: one round (`once`) or rounds until SIGINT/SIGTERM; 1 if a post failed last."""

    def show(report: RoundReport) -> None:
        for text in report.posted:
            echo(f"posted: {text}")
        for text in report.failed:
            echo(f"NOT delivered (retried next round): {text}")
        echo(f"{len(report.open)} incident(s) open" + (f": {', '.join(report.open)}" if report.open else ""))

    async def main() -> RoundReport:
        if once:
            report = await monitor.round()
            show(report)
            return report
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        last = RoundReport()

        def keep(report: RoundReport) -> None:
            nonlocal last
            last = report
            show(report)

        await monitor.run(interval_s, stop, keep)
        return last

    return 1 if asyncio.run(main()).failed else 0
