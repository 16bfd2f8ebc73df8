"""`openim doctor`: the troubleshooting guide run for you; each check says OK / WARN / FAIL, what it saw, the remedy.

A check is a plain function over a `Context` (the settings as `openim start` would load them, the thresholds,
what earlier checks learned, such as the pids of running openim processes) returning `Check` values. They
read the system (/proc, the filesystem), connect to the database and Redis the configuration names, and
never change anything: a doctor run is safe beside a running server. `openim monitor` runs the same checks
on a timer. Exit code: 0 all OK, 1 a warning, 2 a failure.

Modules: `config` (the file, its permissions, the secret), `host` (ports and who holds them, open-file
limit, somaxconn, disk, memory), `database` (reachable, migrated, indexes, connections, slow transactions),
`infra` (Redis, queue), `discovery` (etcd or Redis: the registered processes), `push` (the offline push
provider's keys, dead letters), `sockets` (the `lsof -i` part), plus the clock check here, which compares the
clocks the other checks measured.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from openim.settings import Settings, find_config_path

__all__ = [
    "Check",
    "Context",
    "Status",
    "Thresholds",
    "check_clock",
    "diagnose",
    "exit_code",
    "render_json",
    "render_text",
    "run_checks",
    "run_doctor",
]


class Status(StrEnum):
    """How a check came out; the order is the severity."""

    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"

    @property
    def rank(self) -> int:
        return {"OK": 0, "WARN": 1, "FAIL": 2}[self.value]


@dataclass(frozen=True)
class Check:
    """One finding: a stable `name` (monitor keys its incidents on it), the status, what was seen, what to do."""

    name: str
    status: Status
    saw: str
    remedy: str = ""

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "saw": self.saw, "remedy": self.remedy}


@dataclass(frozen=True)
class Thresholds:
    """Where a reading turns into WARN or FAIL; the defaults are the guide's (disk 80 %, memory 85 %, nofile 65536)."""

    disk_warn_pct: float = 80.0
    disk_fail_pct: float = 95.0
    memory_warn_pct: float = 85.0
    memory_fail_pct: float = 95.0
    nofile_min: int = 65536
    clock_warn_s: float = 1.0
    clock_fail_s: float = 5.0  # tokens carry iat = now - 5 s: a node further behind rejects fresh ones (1504)
    connect_timeout_s: float = 5.0
    slow_transaction_s: float = 5.0
    connections_warn_pct: float = 80.0


@dataclass
class Context:
    """What the checks share: the settings in force, the options, and what earlier checks found."""

    config_path: Path | None
    env: Mapping[str, str]
    settings: Settings
    settings_loaded: bool
    dev: bool = False
    thresholds: Thresholds = field(default_factory=Thresholds)
    proc: Path = Path("/proc")
    servers: dict[int, tuple[str, ...]] = field(default_factory=dict)  # pid → argv of openim holding our ports
    served: set[int] = field(default_factory=set)  # our ports that openim holds (the server is running)
    clocks: dict[str, float] = field(default_factory=dict)  # "database"/"redis" → its clock minus ours, seconds


async def run_checks(
    config_path: Path | None,
    env: Mapping[str, str],
    *,
    dev: bool = False,
    thresholds: Thresholds | None = None,
    proc: Path = Path("/proc"),
) -> list[Check]:
    """Every check, in the order printed: configuration, ports, database, Redis, queue, discovery, clock,
    webhooks, host."""
    _ctx, checks = await diagnose(config_path, env, dev=dev, thresholds=thresholds, proc=proc)
    return checks


async def diagnose(
    config_path: Path | None,
    env: Mapping[str, str],
    *,
    dev: bool = False,
    thresholds: Thresholds | None = None,
    proc: Path = Path("/proc"),
) -> tuple[Context, list[Check]]:
    """`run_checks`, also returning the context: the settings used and what the checks found (openim pids)."""
    from openim.ops.doctor import config, database, discovery, host, infra, push, server, webhooks

    path = find_config_path(config_path, env)
    checks, settings = config.check_config(path, env)
    ctx = Context(path, env, settings or Settings(), settings is not None, dev, thresholds or Thresholds(), proc)
    checks += config.check_permissions(ctx)
    checks += config.check_secret(ctx)
    checks += await asyncio.to_thread(host.check_ports, ctx)
    checks += await database.check_database(ctx)
    pool = await server.check_pool(ctx)
    checks += [pool] if pool is not None else []
    checks += await infra.check_redis(ctx)
    checks += [await infra.check_queue(ctx), push.check_push(ctx), await push.check_dead_letters(ctx)]
    checks += await discovery.check_discovery(ctx)
    checks.append(check_clock(ctx))
    checks += [await webhooks.check_webhooks(ctx), await webhooks.check_webhook_queue(ctx)]
    checks += [host.check_open_files(ctx), host.check_somaxconn(ctx)]
    checks += host.check_disks(ctx)
    checks.append(host.check_memory(ctx))
    return ctx, checks


def check_clock(ctx: Context) -> Check:
    """This machine's clock against the database's and Redis's: every process must agree on token times."""
    t = ctx.thresholds
    if not ctx.clocks:
        return Check(
            "clock",
            Status.OK,
            "no other clock to compare with (SQLite is a local file, Redis not configured): tokens are issued and "
            "checked by this one process, so its clock only has to be right for clients (`timedatectl status`)",
        )
    parts = [f"{name} {round(offset * 1000):+d} ms" for name, offset in sorted(ctx.clocks.items())]
    worst = max(abs(offset) for offset in ctx.clocks.values())
    saw = f"offset to {', '.join(parts)}"
    remedy = (
        "synchronise the clocks with NTP on every host (`timedatectl set-ntp true`, or chrony; `timedatectl status` "
        "shows 'System clock synchronized: yes'): tokens are signed with iat 5 s in the past and checked by "
        "whichever process receives them, and message send times come from the server that accepted them"
    )
    if worst >= t.clock_fail_s:
        saw += f"; {worst:.1f} s apart, tokens will be rejected as not valid yet"
        return Check("clock", Status.FAIL, saw, remedy)
    if worst >= t.clock_warn_s:
        return Check("clock", Status.WARN, saw + f"; {worst:.1f} s apart", remedy)
    return Check("clock", Status.OK, saw)


def exit_code(checks: list[Check]) -> int:
    """0 when every check is OK, 1 when the worst is a warning, 2 when one failed."""
    return max((c.status.rank for c in checks), default=0)


def render_text(checks: list[Check]) -> str:
    """One line per check (`STATUS name  what it saw`), the remedy indented under it, and a count at the end."""
    width = max((len(c.name) for c in checks), default=0)
    lines = []
    for check in checks:
        saw = check.saw.replace("\n", "\n" + " " * (width + 8))
        lines.append(f"{check.status.value:<5} {check.name:<{width}}  {saw}")
        if check.remedy and check.status is not Status.OK:
            lines.append(f"{'':<5} {'':<{width}}  remedy: {check.remedy}")
    counts = {s: sum(1 for c in checks if c.status is s) for s in Status}
    lines.append(
        f"{counts[Status.FAIL]} FAIL, {counts[Status.WARN]} WARN, {counts[Status.OK]} OK (exit {exit_code(checks)})"
    )
    return "\n".join(lines)


def render_json(checks: list[Check]) -> str:
    """The checks as one JSON document: overall status, exit code, and each check with its remedy."""
    code = exit_code(checks)
    document = {
        "status": next(s.value for s in Status if s.rank == code),
        "exitCode": code,
        "checks": [c.as_json() for c in checks],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def run_doctor(
    config_path: Path | None, env: Mapping[str, str], *, as_json: bool = False, dev: bool = False
) -> tuple[int, str]:
    """The whole `openim doctor`: its exit code and the text to print."""
    checks = asyncio.run(run_checks(config_path, env, dev=dev))
    return exit_code(checks), render_json(checks) if as_json else render_text(checks)
