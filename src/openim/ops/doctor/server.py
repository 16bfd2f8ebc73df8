"""The running server as the doctor and the monitor see it from outside: its health URLs and its /metrics.

`endpoints(settings)` lists what a full `openim start` serves (REST `/healthz` per api port, the gateway's
`/health` per msggateway port, the admin `/healthz`), with the address to reach each from this machine.
`scrape` reads the admin role's Prometheus text; `check_pool` turns the database-pool and transaction
metrics into the doctor's view of a running server (the guide's "connection pool full" and slow queries).
"""

from __future__ import annotations

import asyncio
import ipaddress
import urllib.error
import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from openim.ops.doctor import Check, Context, Status
from openim.settings import Settings

__all__ = ["Endpoint", "Samples", "check_pool", "endpoints", "get", "reach", "scrape"]

Samples = dict[str, list[tuple[dict[str, str], float]]]  # metric sample name → (labels, value) of each series

SLOW_MEAN_S = 0.2  # a named transaction whose mean time exceeds this is reported (storage/db.py's slow threshold)


@dataclass(frozen=True)
class Endpoint:
    """One health URL of a role: `role`, its `port`, and the `url` to GET from this machine."""

    role: str
    port: int
    url: str


def reach(listen_ip: str) -> str:
    """The address to connect to for a socket listening on `listen_ip` (loopback for a wildcard)."""
    try:
        address = ipaddress.ip_address(listen_ip)
    except ValueError:
        return listen_ip
    if address.is_unspecified:
        return "::1" if address.version == 6 else "127.0.0.1"
    return f"[{listen_ip}]" if address.version == 6 else listen_ip


def endpoints(settings: Settings, roles: tuple[str, ...] = ("api", "msggateway", "admin")) -> list[Endpoint]:
    """The health URL of every listener of the given roles."""
    found: list[Endpoint] = []
    if "api" in roles:
        host = reach(settings.api.listenIP)
        found += [Endpoint("api", p, f"http://{host}:{p}/healthz") for p in settings.api.ports]
    if "msggateway" in roles:
        host = reach(settings.msggateway.listenIP)
        found += [Endpoint("msggateway", p, f"http://{host}:{p}/health") for p in settings.msggateway.ports]
    if "admin" in roles and settings.admin.port:
        host, port = reach(settings.admin.listenIP), settings.admin.port
        found.append(Endpoint("admin", port, f"http://{host}:{port}/healthz"))
    return found


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


async def get(url: str, timeout_s: float = 5.0) -> tuple[int, bytes]:
    """GET `url` off the event loop: (status, body); raises OSError (refused, timeout) when nothing answers."""
    return await asyncio.to_thread(_get, url, timeout_s)


async def scrape(settings: Settings, timeout_s: float = 5.0) -> Samples | None:
    """The admin role's /metrics as samples by name, or None when it does not answer."""
    if not settings.admin.port:
        return None
    url = f"http://{reach(settings.admin.listenIP)}:{settings.admin.port}/metrics"
    try:
        status, body = await get(url, timeout_s)
    except OSError:
        return None
    if status != 200:
        return None
    samples: Samples = {}
    for family in text_string_to_metric_families(body.decode("utf-8", errors="replace")):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return samples


def _value(samples: Samples, name: str) -> float | None:
    series = samples.get(name)
    return sum(v for _, v in series) if series else None


async def check_pool(ctx: Context) -> Check | None:
    """The running server's pool (in use / size / waiting) and its slowest named transactions; None without one."""
    if ctx.settings.admin.port not in ctx.served:
        return None
    samples = await scrape(ctx.settings, ctx.thresholds.connect_timeout_s)
    if samples is None or _value(samples, "openim_db_pool_size") is None:
        return None
    size = int(_value(samples, "openim_db_pool_size") or 0)
    in_use = int(_value(samples, "openim_db_pool_in_use") or 0)
    waiting = int(_value(samples, "openim_db_pool_waiting") or 0)
    counts = {labels.get("name", ""): v for labels, v in samples.get("openim_db_transactions_total", [])}
    seconds = {labels.get("name", ""): v for labels, v in samples.get("openim_db_transaction_seconds_total", [])}
    means = sorted(((seconds.get(n, 0.0) / c, n, c) for n, c in counts.items() if c), reverse=True)
    slow = [f"{n} {m * 1000:.0f} ms mean over {c:.0f}" for m, n, c in means[:3] if m > SLOW_MEAN_S]
    saw = f"running server's pool: {in_use} of {size} connections in use, {waiting} transaction(s) waiting"
    remembered = _value(samples, "openim_db_slow_transactions")
    if remembered:
        saw += f"; {remembered:.0f} transaction(s) over 200 ms since start (named in the log: `openim logs analyze`)"
    if slow:
        saw += "; slow on average: " + ", ".join(slow)
    if waiting and in_use >= size:
        return Check(
            "database.pool",
            Status.WARN,
            saw + ": the pool is exhausted, requests queue for a connection",
            "raise database.poolSize (PostgreSQL: keep poolSize × processes below max_connections), and look for "
            "slow transactions by name on /metrics (openim_db_transaction_seconds_total) and in the log",
        )
    if slow:
        return Check(
            "database.pool",
            Status.WARN,
            saw,
            "check the indexes (database.indexes above) and the database server's load (`iostat -x 1`)",
        )
    return Check("database.pool", Status.OK, saw)
