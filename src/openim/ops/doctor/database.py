"""Doctor checks of the database: reachable, migrated to this code's head, the indexes the schema declares, its
connections and long transactions (PostgreSQL), and its clock.

The guide's MongoDB commands have counterparts here: `db.runCommand('ping')` is the connection and its latency,
`db.serverStatus().connections` is pg_stat_activity against max_connections, `db.currentOp()` and the
profiler are the transactions open longer than the slow threshold, and its `createIndex` list is replaced by
comparing the live indexes with `storage/schema.py`, printing the DDL of any that is missing. The database
is only read; nothing is migrated or created (a missing SQLite file is reported, not made).
"""

from __future__ import annotations

import asyncio
import stat
import time
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.schema import CreateIndex

from openim.ops.doctor import Check, Context, Status
from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.migrate import MIGRATIONS_DIR, current_revision, head_revision
from openim.storage.schema import metadata

__all__ = ["check_database", "schema_drift", "sqlite_file"]


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (relative to the working directory, as the server opens it); None otherwise."""
    try:
        parsed = dialect.normalize_url(url)
    except ValueError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    return Path(parsed.database or "")


def _down(ctx: Context, masked: str, cause: str) -> Check:
    url = ctx.settings.database.url
    if url.startswith("sqlite"):
        remedy = "check the path in database.url and that the service user may read and write its folder"
    else:
        remedy = (
            "start PostgreSQL (`systemctl start postgresql`), check host, port, user and password in database.url "
            "(`pg_isready -h HOST -p PORT`), and that no firewall is in between (`ufw status`, `iptables -L`)"
        )
    return Check("database", Status.FAIL, f"cannot connect to {masked}: {cause}", remedy)


async def check_database(ctx: Context) -> list[Check]:
    """Connect (without migrating), then schema revision, indexes, connections, long transactions, clock."""
    url = ctx.settings.database.url
    masked = dialect.mask_url(url)
    path = sqlite_file(url)
    checks: list[Check] = []
    if path is not None:
        if not path.is_file():
            return [
                Check(
                    "database",
                    Status.WARN,
                    f"{path.absolute()} does not exist yet (SQLite)",
                    "`openim migrate` or `openim start` creates it; if the server ran before, database.url or the "
                    "working directory changed (relative paths are resolved against it)",
                )
            ]
        checks.append(_file_mode(path))
    try:
        db = await asyncio.wait_for(Db.connect(url, pool_size=2), timeout=ctx.thresholds.connect_timeout_s + 10)
    except (ConnectionError, TimeoutError, ValueError, OSError) as exc:
        cause = str(exc.__cause__ or exc) if isinstance(exc, ConnectionError) else str(exc) or type(exc).__name__
        return [_down(ctx, masked, cause), *checks]
    try:
        latencies = [await db.ping() for _ in range(3)]
        saw = f"{db.url} answers in {min(latencies) * 1000:.1f} ms"
        if db.dialect == "sqlite":
            async with db.read("doctor.journal_mode") as conn:
                mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            if str(mode).lower() != "wal":
                checks.insert(
                    0,
                    Check(
                        "database",
                        Status.WARN,
                        saw + f"; journal_mode is {mode}, not wal: readers and the writer block each other",
                        "keep the SQLite file on a local filesystem (WAL does not work on network filesystems)",
                    ),
                )
            else:
                checks.insert(0, Check("database", Status.OK, saw + " (journal_mode wal)"))
        else:
            checks.insert(0, Check("database", Status.OK, saw))
        checks += await _schema(db)
        if db.dialect == "postgresql":
            checks += await _connections(ctx, db)
            checks.append(await _long_transactions(ctx, db))
            ctx.clocks["database"] = await _clock_offset(db)
        else:
            checks.append(
                Check(
                    "database.connections",
                    Status.OK,
                    f"SQLite: each process opens up to database.poolSize ({ctx.settings.database.poolSize}) "
                    "connections to the file and writes one transaction at a time; pool use and slow transactions "
                    "of a running server are on its /metrics",
                )
            )
    finally:
        await db.close()
    return checks


def _file_mode(path: Path) -> Check:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & stat.S_IROTH:
        return Check(
            "database.file",
            Status.WARN,
            f"{path} is mode {mode:04o}: every local user can read all messages and accounts",
            f"chmod 640 {path} (and its -wal and -shm files); run the server with umask 027 (UMask= in the unit)",
        )
    return Check("database.file", Status.OK, f"{path} is mode {mode:04o}, {path.stat().st_size / 2**20:.1f} MiB")


async def _schema(db: Db) -> list[Check]:
    head = head_revision()
    current = await current_revision(db)
    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}
    if current == head:
        checks = [Check("database.schema", Status.OK, f"at revision {current}, this version's head")]
    elif current is None:
        return [
            Check(
                "database.schema",
                Status.FAIL,
                "the database has no openim schema (never migrated)",
                "`openim migrate` creates it (`openim start` does too); check database.url names the right database",
            )
        ]
    elif current in known:
        return [
            Check(
                "database.schema",
                Status.WARN,
                f"at revision {current}, this version's head is {head}",
                "`openim migrate` upgrades it (`openim start` does on start); take `openim backup` first",
            )
        ]
    else:
        return [
            Check(
                "database.schema",
                Status.FAIL,
                f"at revision {current}, which this version does not know (its head is {head}): a newer openim-py "
                "migrated it",
                "run the openim-py version that migrated it, or restore a backup taken before that upgrade",
            )
        ]
    async with db.read("doctor.schema_drift") as conn:
        missing, ddl = await conn.run_sync(schema_drift)
    if missing:
        checks.append(
            Check(
                "database.indexes",
                Status.FAIL,
                "missing from the live database: " + "; ".join(missing),
                "create them (the server's queries scan whole tables without them):\n" + "\n".join(ddl),
            )
        )
    else:
        count = sum(len(t.indexes) + 1 for t in metadata.sorted_tables)
        checks.append(
            Check("database.indexes", Status.OK, f"all {count} keys and indexes of {len(metadata.tables)} tables exist")
        )
    return checks


def schema_drift(conn: Connection) -> tuple[list[str], list[str]]:
    """What `schema.metadata` declares and the live database lacks (tables, primary keys, indexes), and the DDL
    that creates each missing index."""
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    missing: list[str] = []
    ddl: list[str] = []
    for table in metadata.sorted_tables:
        if table.name not in tables:
            missing.append(f"table {table.name}")
            continue
        live = [(tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table.name)]
        live += [(tuple(u["column_names"]), True) for u in inspector.get_unique_constraints(table.name)]
        pk = tuple(inspector.get_pk_constraint(table.name)["constrained_columns"])
        want_pk = tuple(c.name for c in table.primary_key.columns)
        if pk != want_pk:
            missing.append(f"primary key {table.name}({', '.join(want_pk)})")
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            columns = tuple(c.name for c in index.columns)
            # A unique index serves the lookups of a plain one on the same columns.
            if any(cols == columns and (unique or not index.unique) for cols, unique in live):
                continue
            missing.append(f"index {index.name} on {table.name}({', '.join(columns)})")
            ddl.append(str(CreateIndex(index).compile(dialect=conn.dialect)).strip() + ";")
    return missing, ddl


async def _connections(ctx: Context, db: Db) -> list[Check]:
    """pg_stat_activity: connections held by openim and in total, against max_connections."""
    async with db.read("doctor.connections") as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE application_name = 'openim' AND datname = current_database()),"
                    " count(*) FILTER (WHERE application_name = 'openim' AND datname = current_database()"
                    " AND state = 'active'),"
                    " count(*) FILTER (WHERE wait_event_type = 'Lock' AND datname = current_database()),"
                    " count(*) AS total,"
                    " current_setting('max_connections')::int AS max"
                    " FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                )
            )
        ).one()
    ours, active, waiting, total, maximum = (int(v) for v in row)
    pool = ctx.settings.database.poolSize
    saw = (
        f"openim holds {ours} connection(s) to this database, {active} active, {waiting} waiting on a lock; "
        f"{total + 1} of max_connections {maximum} in use on the server; database.poolSize is {pool} per process"
    )
    pct = 100.0 * (total + 1) / max(1, maximum)
    if pct >= ctx.thresholds.connections_warn_pct:
        return [
            Check(
                "database.connections",
                Status.WARN,
                saw + f" ({pct:.0f}%): new connections will be refused ('too many clients')",
                "keep poolSize × openim processes (+ other clients) below max_connections: lower database.poolSize, "
                "or raise max_connections in postgresql.conf",
            )
        ]
    return [Check("database.connections", Status.OK, saw)]


async def _long_transactions(ctx: Context, db: Db) -> Check:
    """Transactions open longer than the slow threshold on this database: they hold locks and stall vacuum."""
    limit = ctx.thresholds.slow_transaction_s
    async with db.read("doctor.long_transactions") as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT pid, application_name, state, EXTRACT(EPOCH FROM now() - xact_start) AS seconds,"
                    " left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query"
                    " FROM pg_stat_activity WHERE datname = current_database() AND xact_start IS NOT NULL"
                    " AND pid <> pg_backend_pid() AND now() - xact_start > make_interval(secs => :limit)"
                    " ORDER BY xact_start LIMIT 5"
                ),
                {"limit": limit},
            )
        ).all()
    if not rows:
        return Check("database.slow", Status.OK, f"no transaction open longer than {limit:g} s")
    listed = "; ".join(
        f"pid {r.pid} ({r.application_name or '?'}, {r.state}) {r.seconds:.0f} s: {r.query}" for r in rows
    )
    return Check(
        "database.slow",
        Status.WARN,
        f"{len(rows)} transaction(s) open longer than {limit:g} s: {listed}",
        "find the client holding it (application_name, pid); `SELECT pg_terminate_backend(PID)` ends it. openim's "
        "own slow transactions are logged by name on openim.storage and counted on /metrics",
    )


async def _clock_offset(db: Db) -> float:
    """The database server's clock minus ours, in seconds, corrected by half the round trip."""
    async with db.read("doctor.clock") as conn:
        before = time.time()
        server = float((await conn.execute(text("SELECT EXTRACT(EPOCH FROM clock_timestamp())"))).scalar_one())
        after = time.time()
    return server - (before + after) / 2
