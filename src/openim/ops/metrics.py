"""The admin role's side of metrics: values read at scrape time, the event-loop lag probe, and the exposition.

The metrics the hot paths update are defined in `openim.metrics` (a module under every layer, so storage and the
transports can count without importing ops); this module adds what costs nothing until Prometheus asks, read from
the running objects in `collect()`:

| name | type | labels | value |
|---|---|---|---|
| openim_build_info | gauge | version | 1 |
| openim_db_pool_size | gauge | | connections the pool may open (`database.poolSize`) |
| openim_db_pool_in_use | gauge | | connections checked out now |
| openim_db_pool_waiting | gauge | | transactions waiting for a connection (or SQLite's writer slot) |
| openim_db_transactions_total | counter | name | named transactions run (storage/db.py `DbStats`) |
| openim_db_transaction_errors_total | counter | name | of which rolled back |
| openim_db_transaction_seconds_total | counter | name | time spent in them |
| openim_db_slow_transactions | gauge | | slow transactions remembered (the last 100 over 200 ms) |
| openim_msg_writer_queued | gauge | | messages waiting for a group-commit transaction |
| openim_python_allocated_blocks | gauge | | memory blocks Python's allocator handed out and not freed yet |

plus prometheus_client's process collector (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
`process_open_fds`, `process_max_fds`, `process_start_time_seconds`) and its Python gc / info collectors.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from openim import __version__
from openim.metrics import EVENT_LOOP_LAG
from openim.storage.commit import MsgWriter
from openim.storage.db import Db

__all__ = ["CONTENT_TYPE", "RuntimeCollector", "bind", "probe_loop_lag", "render"]

CONTENT_TYPE = CONTENT_TYPE_LATEST


class RuntimeCollector(Collector):
    """Reads the database pool, transaction totals and the writer queue of the bound runtime at each scrape."""

    def __init__(self) -> None:
        self._db: weakref.ref[Db] | None = None
        self._writer: weakref.ref[MsgWriter] | None = None

    def bind(self, db: Db | None, writer: MsgWriter | None) -> None:
        """Report on these objects from now on (weakly held: a closed runtime is not kept alive)."""
        self._db = weakref.ref(db) if db is not None else None
        self._writer = weakref.ref(writer) if writer is not None else None

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        build = GaugeMetricFamily("openim_build_info", "openim-py version", labels=["version"])
        build.add_metric([__version__], 1)
        yield build
        # Roughly the live Python objects: a leak of objects shows here whatever the C allocator and SQLite's page
        # cache do to the RSS (the soak test bounds its growth). Cheap: a sum over the allocator's arenas.
        yield GaugeMetricFamily(
            "openim_python_allocated_blocks",
            "Memory blocks Python's allocator handed out and not freed yet",
            value=sys.getallocatedblocks(),
        )
        db = self._db() if self._db is not None else None
        if db is not None:
            pool = db.pool_status()
            yield GaugeMetricFamily("openim_db_pool_size", "Connections the pool may open", value=pool.size)
            yield GaugeMetricFamily("openim_db_pool_in_use", "Pool connections checked out", value=pool.in_use)
            yield GaugeMetricFamily(
                "openim_db_pool_waiting", "Transactions waiting for a connection or the writer slot", value=pool.waiting
            )
            count = CounterMetricFamily("openim_db_transactions", "Named transactions run", labels=["name"])
            errors = CounterMetricFamily(
                "openim_db_transaction_errors", "Named transactions rolled back", labels=["name"]
            )
            seconds = CounterMetricFamily(
                "openim_db_transaction_seconds", "Time in named transactions", labels=["name"]
            )
            for name, stat in list(db.stats.by_name.items()):
                count.add_metric([name], stat.count)
                errors.add_metric([name], stat.errors)
                seconds.add_metric([name], stat.total_s)
            yield count
            yield errors
            yield seconds
            yield GaugeMetricFamily(
                "openim_db_slow_transactions", "Slow transactions remembered (the last 100)", value=len(db.stats.slow)
            )
        writer = self._writer() if self._writer is not None else None
        if writer is not None:
            yield GaugeMetricFamily(
                "openim_msg_writer_queued", "Messages waiting for a group-commit transaction", value=writer.queued
            )


_collector = RuntimeCollector()
REGISTRY.register(_collector)


def bind(db: Db | None, writer: MsgWriter | None = None) -> None:
    """Make /metrics report this database and message writer (the runtime calls it once it is built)."""
    _collector.bind(db, writer)


def render(registry: CollectorRegistry = REGISTRY) -> bytes:
    """The Prometheus text exposition of every registered metric."""
    return generate_latest(registry)


async def probe_loop_lag(interval: float = 0.5) -> None:
    """Forever: sleep `interval` and record how late the loop woke up (`openim_event_loop_lag_seconds`)."""
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(interval)
        EVENT_LOOP_LAG.observe(max(0.0, loop.time() - start - interval))
