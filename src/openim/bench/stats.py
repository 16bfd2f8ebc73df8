"""What a bench run reports: the result record, its table and JSON line, percentiles, the server's CPU and RSS.

Server CPU comes from /proc/PID/stat (utime + stime of every thread, in clock ticks) read before and after the
measured window; RSS from /proc/PID/status (VmRSS). Both need the server's pid on this machine (`--server-pid`).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

__all__ = ["CpuSample", "ProcStat", "Result", "percentile_ms"]

_TICKS = os.sysconf("SC_CLK_TCK")


def percentile_ms(samples_s: list[float], q: float) -> float | None:
    """The q-th percentile (0..100, nearest rank) of `samples_s` seconds, in ms; None when there are none."""
    if not samples_s:
        return None
    ordered = sorted(samples_s)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return round(ordered[rank] * 1000, 3)


class CpuSample(NamedTuple):
    server_s: float | None
    client_s: float
    wall_s: float


class ProcStat:
    """CPU seconds and RSS of a process by pid; every reading is None when no pid was given."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        if pid is not None and not Path(f"/proc/{pid}/stat").exists():
            raise ValueError(f"no process {pid} on this machine (--server-pid)")

    def sample(self) -> CpuSample:
        """The server's CPU seconds (None without a pid), this process's CPU seconds, and the wall clock."""
        return CpuSample(self.cpu_s(), time.process_time(), time.perf_counter())

    def cpu_s(self) -> float | None:
        if self.pid is None:
            return None
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is field 3, utime 14, stime 15
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def rss_kb(self) -> int | None:
        if self.pid is None:
            return None
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None


@dataclass
class Result:
    """One run of one scenario. The first fields are in every JSON line (None where they do not apply)."""

    scenario: str
    sent_per_s: float | None = None
    delivered_per_s: float | None = None
    lost: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    server_cpu_us_per_msg: float | None = None
    rss_per_conn_kb: float | None = None
    pushes_per_s: float | None = None
    seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # counts and parameters of the scenario

    def cpu_per(self, before: CpuSample, after: CpuSample, count: int) -> None:
        """`server_cpu_us_per_msg` from two samples and the count of units served between them; and how busy
        the load generator itself was (`client_cpu_pct`: near 100 would mean it, not the server, was the limit)."""
        if before.server_s is not None and after.server_s is not None and count:
            self.server_cpu_us_per_msg = round((after.server_s - before.server_s) * 1e6 / count, 1)
            self.extra["server_cpu_s"] = round(after.server_s - before.server_s, 2)
        if after.wall_s > before.wall_s:
            self.extra["client_cpu_pct"] = round(
                100 * (after.client_s - before.client_s) / (after.wall_s - before.wall_s)
            )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "sent_per_s": _round(self.sent_per_s),
            "delivered_per_s": _round(self.delivered_per_s),
            "lost": self.lost,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "server_cpu_us_per_msg": self.server_cpu_us_per_msg,
            "rss_per_conn_kb": self.rss_per_conn_kb,
            "pushes_per_s": _round(self.pushes_per_s),
            "seconds": _round(self.seconds, 3),
        }
        out.update(self.extra)
        return out

    def json_line(self) -> str:
        return orjson.dumps(self.as_dict()).decode()

    def table(self) -> str:
        rows = [
            (k, "-" if v is None else f"{v:,}" if isinstance(v, int | float) else str(v))
            for k, v in self.as_dict().items()
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
