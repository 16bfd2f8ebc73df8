"""Making a backup: the consistent snapshot (SQLite online backup API, or one PostgreSQL REPEATABLE READ
transaction shared with pg_dump), the portable dump read from it, the config copy, the manifest; and retention.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import column, func, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeEngine

from openim import __version__
from openim.ops.backup.dump import (
    BATCH,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    NOTES,
    PG_DUMP_FILE,
    SQLITE_COPY,
    BackupError,
    Progressor,
    TableWriter,
    advance,
    checksums,
    column_kind,
)
from openim.ops.backup.objects import copy_objects_out
from openim.ops.backup.restore import known_revisions
from openim.settings import Settings
from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.migrate import head_revision
from openim.storage.schema import metadata

__all__ = ["BackupResult", "create_backup", "list_backups", "prune_backups"]


@dataclass(frozen=True, slots=True)
class BackupResult:
    """A finished backup: its directory, manifest, totals, warnings, and the old backups retention removed."""

    path: Path
    manifest: dict[str, Any]
    rows: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


# --- backup ---------------------------------------------------------------------------------------------------


async def create_backup(
    settings: Settings,
    config_path: Path | None,
    dest: Path,
    *,
    keep_days: float = 0,
    progress: Progressor = None,
    now: datetime | None = None,
    pg_dump: str = "pg_dump",
) -> BackupResult:
    """Snapshot the configured database (and the config file) into a new directory under `dest`.

    Then, when `keep_days` > 0, delete backups of ours in `dest` created more than `keep_days` ago.
    Raises BackupError when the database is missing, unreachable, or newer than this code.
    """
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    work = await asyncio.to_thread(_prepare, dest, now)
    warnings: list[str] = []
    try:
        try:
            url = dialect.normalize_url(settings.database.url)
        except ValueError as exc:
            raise BackupError(f"database.url: {exc}") from None
        if url.get_backend_name() == "sqlite":
            native, snapshot = await _snapshot_sqlite(Path(url.database or ""), work, progress)
        else:
            native, snapshot = await _snapshot_postgres(settings.database.url, work, progress, pg_dump, warnings)
        revision, tables, server_version = snapshot
        if revision not in known_revisions():
            raise BackupError(
                f"the database is at schema revision {revision}, which this openim-py ({__version__}, head "
                f"{head_revision()}) does not know: back it up with the openim-py that migrated it"
            )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "openim_version": __version__,
            "created_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "schema_revision": revision,
            "database": {"kind": url.get_backend_name(), "url": dialect.mask_url(url), "version": server_version},
            "tables": tables,
            "native": native,
            "config": None,
            "objects": None,
            "files": {},
            "notes": list(NOTES),
            "warnings": warnings,
        }
        manifest["objects"] = await asyncio.to_thread(copy_objects_out, settings, work)
        final = await asyncio.to_thread(_finish, work, manifest, config_path)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    removed = await asyncio.to_thread(prune_backups, dest, keep_days, now=now, keep=final) if keep_days > 0 else []
    rows = sum(int(t["rows"]) for t in tables.values())
    return BackupResult(final, manifest, rows, time.perf_counter() - started, warnings, removed)


def _prepare(dest: Path, now: datetime) -> Path:
    """Create `dest` if needed and a mode-700 working directory `.<name>.partial` in it, with `tables/`."""
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    work = dest / f".{_backup_name(dest, now)}.partial"
    work.mkdir(mode=0o700)
    os.chmod(work, 0o700)  # mkdir's mode is filtered by the umask
    (work / "tables").mkdir(mode=0o700)
    return work


def _finish(work: Path, manifest: dict[str, Any], config_path: Path | None) -> Path:
    """Copy the config, lock permissions down, checksum every file, write the manifest, rename into place."""
    if config_path is not None and config_path.is_file():
        (work / "config").mkdir(mode=0o700)
        manifest["config"] = f"config/{config_path.name}"
        shutil.copyfile(config_path, work / manifest["config"])
    for path in work.rglob("*"):
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    manifest["files"] = checksums(work)
    (work / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    os.chmod(work / MANIFEST, 0o600)
    final = work.with_name(work.name[1 : -len(".partial")])
    work.rename(final)
    return final


def _backup_name(dest: Path, now: datetime) -> str:
    base = "openim-backup-" + now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    name, n = base, 1
    while (dest / name).exists() or (dest / f".{name}.partial").exists():
        n += 1
        name = f"{base}-{n}"
    return name


Snapshot = tuple[str, dict[str, Any], str]  # (revision, tables manifest, server version)


async def _snapshot_sqlite(path: Path, work: Path, progress: Progressor) -> tuple[dict[str, Any], Snapshot]:
    copy = work / SQLITE_COPY
    await asyncio.to_thread(_sqlite_copy, path, copy)
    engine = create_async_engine(f"sqlite+aiosqlite:///file:{copy}?mode=ro&uri=true", poolclass=NullPool)
    try:
        async with engine.connect() as conn, conn.begin():
            snapshot = await _dump_snapshot(conn, work, progress)
    finally:
        await engine.dispose()
    return {"kind": "sqlite-backup-api", "file": SQLITE_COPY}, snapshot


def _sqlite_copy(source: Path, target: Path) -> None:
    """One-step online backup (a consistent read snapshot), then make the copy a standalone rollback-journal file."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}: check database.url, or run `openim migrate` first")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


async def _snapshot_postgres(
    url: str, work: Path, progress: Progressor, pg_dump: str, warnings: list[str]
) -> tuple[dict[str, Any], Snapshot]:
    try:
        db = await Db.connect(url, pool_size=1)
    except ConnectionError as exc:
        raise BackupError(str(exc)) from None
    try:
        async with db.engine.connect() as raw:
            conn = await raw.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            async with conn.begin():
                server_num = int((await conn.execute(text("SHOW server_version_num"))).scalar_one())
                snapshot_id = str((await conn.execute(text("SELECT pg_export_snapshot()"))).scalar_one())
                native: dict[str, Any]
                reason, tool_version = await _pg_dump_usable(pg_dump, server_num // 10000)
                task = None
                if reason:
                    native = {"kind": None, "skipped": reason}
                    warnings.append(f"no postgres.dump: {reason}; the portable dump is complete")
                else:
                    native = {"kind": "pg_dump", "file": PG_DUMP_FILE, "pg_dump_version": tool_version}
                    task = asyncio.create_task(_run_pg_dump(pg_dump, url, snapshot_id, work / PG_DUMP_FILE))
                try:
                    snapshot = await _dump_snapshot(conn, work, progress)
                finally:
                    failure = await task if task is not None else None
                if failure:
                    native = {"kind": None, "skipped": failure}
                    warnings.append(f"no postgres.dump: {failure}; the portable dump is complete")
                    (work / PG_DUMP_FILE).unlink(missing_ok=True)
    finally:
        await db.close()
    return native, snapshot


async def _pg_dump_usable(pg_dump: str, server_major: int) -> tuple[str, str]:
    """("", version) when pg_dump runs and can dump this server, else (why not, "")."""
    exe = shutil.which(pg_dump)
    if exe is None:
        return f"{pg_dump} not found on PATH", ""
    proc = await asyncio.create_subprocess_exec(
        exe, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    match = re.search(r"(\d+)(?:\.(\d+))?", out.decode(errors="replace"))
    if proc.returncode != 0 or match is None:
        return f"`{pg_dump} --version` failed", ""
    if int(match.group(1)) < server_major:
        return f"pg_dump {match.group(0)} is older than the server (PostgreSQL {server_major})", ""
    return "", match.group(0)


async def _run_pg_dump(pg_dump: str, url: str, snapshot_id: str, target: Path) -> str:
    """Run pg_dump on `snapshot_id` (credentials in the environment, not argv); "" on success, else the reason."""
    parsed = make_url(url)
    env = dict(os.environ)
    params = {
        "PGHOST": parsed.host or parsed.query.get("host"),
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
        "PGSSLMODE": parsed.query.get("sslmode") or parsed.query.get("ssl"),
    }
    env.update({k: str(v) for k, v in params.items() if v})
    proc = await asyncio.create_subprocess_exec(
        pg_dump, "--format=custom", f"--snapshot={snapshot_id}", f"--file={target}",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode != 0:
        return f"pg_dump exited {proc.returncode}: {err.decode(errors='replace').strip()[-500:]}"
    return ""


async def _dump_snapshot(conn: AsyncConnection, work: Path, progress: Progressor) -> Snapshot:
    """Write every schema table present in this snapshot to `tables/`; return revision, per-table entries, version."""
    revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
    if revision is None:
        raise BackupError("the database has no schema revision: run `openim migrate` (or start the server) first")
    present = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    if conn.dialect.name == "sqlite":
        version = str((await conn.execute(text("SELECT sqlite_version()"))).scalar_one())
    else:
        version = str((await conn.execute(text("SHOW server_version"))).scalar_one())
    tables: dict[str, Any] = {}
    for schema_table in metadata.sorted_tables:
        if schema_table.name not in present:
            continue
        columns = await _columns(conn, schema_table.name)
        total = int((await conn.execute(select(func.count()).select_from(table(schema_table.name)))).scalar_one())
        task = progress.add_task(f"dump {schema_table.name}", total=total) if progress else None
        relative = f"tables/{schema_table.name}.jsonl.gz"
        writer = TableWriter(work / relative, schema_table.name, columns)
        clause = table(schema_table.name, *(column(n, t) for n, t in columns))
        pk = [clause.c[c.name] for c in schema_table.primary_key.columns if c.name in clause.c]
        try:
            result = await conn.stream(select(clause).order_by(*pk).execution_options(yield_per=BATCH))
            async for part in result.partitions(BATCH):
                await asyncio.to_thread(writer.write, part)
                advance(progress, task, len(part))
        finally:
            await asyncio.to_thread(writer.close)
        if writer.rows != total:  # cannot happen inside one snapshot; a guard against a broken isolation level
            raise BackupError(f"table {schema_table.name}: counted {total} rows but read {writer.rows}")
        kinds = {n: column_kind(t) for n, t in columns}
        tables[str(schema_table.name)] = {"rows": total, "file": relative, "columns": kinds}
    return str(revision), tables, version


async def _columns(conn: AsyncConnection, name: str) -> list[tuple[str, TypeEngine[Any]]]:
    """The table's columns as the database has them, typed as schema.py types them when it knows the column."""
    reflected = await conn.run_sync(lambda c: inspect(c).get_columns(name))
    known = metadata.tables[name].c
    return [(str(c["name"]), known[c["name"]].type if c["name"] in known else c["type"]) for c in reflected]


# --- retention ------------------------------------------------------------------------------------------------


def list_backups(dest: Path) -> list[tuple[Path, datetime]]:
    """Backups of ours directly under `dest` (a directory with our manifest), oldest first, with creation time."""
    found = []
    if not dest.is_dir():
        return []
    for child in dest.iterdir():
        try:
            manifest = json.loads((child / MANIFEST).read_text())
            if manifest.get("format") != FORMAT:
                continue
            created = datetime.fromisoformat(manifest["created_at"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        found.append((child, created if created.tzinfo else created.replace(tzinfo=UTC)))
    return sorted(found, key=lambda item: item[1])


def prune_backups(dest: Path, keep_days: float, *, now: datetime, keep: Path | None = None) -> list[Path]:
    """Delete our backups in `dest` created more than `keep_days` before `now` (never `keep`); return them.

    Only directories with our manifest are candidates, and age is the manifest's `created_at`, not the mtime.
    """
    cutoff = now - timedelta(days=keep_days)
    removed = []
    for path, created in list_backups(dest):
        if created < cutoff and (keep is None or path.resolve() != keep.resolve()):
            shutil.rmtree(path)
            removed.append(path)
    return removed
