"""Restoring a backup: check it (format, revision, checksums), then replace every row of the configured
database in one transaction, migrating a backup of an older revision to head on the way, and verify the counts.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, delete, func, inspect, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.ops.backup.dump import (
    BATCH,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    BackupError,
    Progressor,
    TableReader,
    advance,
    sha256_file,
)
from openim.ops.backup.objects import copy_objects_in
from openim.settings import Settings
from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.migrate import MIGRATIONS_DIR, current_revision, head_revision
from openim.storage.schema import metadata

__all__ = ["RestoreResult", "VerifiedBackup", "alembic_config", "known_revisions", "open_backup", "restore_backup"]


@dataclass(frozen=True, slots=True)
class VerifiedBackup:
    """A backup whose manifest is ours and whose files match their checksums: the only thing restore accepts."""

    path: Path
    manifest: dict[str, Any]

    @property
    def revision(self) -> str:
        return str(self.manifest["schema_revision"])

    @property
    def rows(self) -> dict[str, int]:
        return {name: int(t["rows"]) for name, t in self.manifest["tables"].items()}


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """A finished restore: the rows loaded per table, the revisions involved, the time taken."""

    rows: dict[str, int]
    from_revision: str
    to_revision: str
    seconds: float
    objects: int = 0  # files of the local object store written back


def known_revisions() -> list[str]:
    """Every schema revision this code can migrate from, oldest first."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return [s.revision for s in reversed(list(scripts.walk_revisions()))]


def open_backup(path: Path, *, progress: Progressor = None) -> VerifiedBackup:
    """Read and check a backup: our format, a revision this code knows, every file present with its checksum.

    Raises BackupError with the reason; nothing is written anywhere.
    """
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{path} is not an openim backup: no {MANIFEST} (an unfinished backup has none)")
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT:
            raise ValueError("not our format")
        version, revision = int(manifest["format_version"]), str(manifest["schema_revision"])
        files, tables = dict(manifest["files"]), dict(manifest["tables"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"{manifest_path} is not a valid openim backup manifest ({exc})") from None
    if version > FORMAT_VERSION:
        raise BackupError(f"{path} has backup format {version}; this openim-py reads up to {FORMAT_VERSION}: upgrade")
    known = known_revisions()
    if revision not in known:
        raise BackupError(
            f"{path} holds schema revision {revision}, newer than this openim-py knows (head {known[-1]}): "
            "restore it with the openim-py version that made it, or upgrade openim-py first"
        )
    for entry in tables.values():
        if entry["file"] not in files:
            raise BackupError(f"{path} is corrupt: {entry['file']} has no checksum in the manifest")
    size = sum(int(f["bytes"]) for f in files.values())
    task = progress.add_task("verify checksums", total=size) if progress else None
    for relative, expected in files.items():
        file = path / relative
        if not file.is_file():
            raise BackupError(f"{path} is corrupt: {relative} is missing; refusing to restore")
        actual = sha256_file(file)
        if actual != expected["sha256"]:
            raise BackupError(
                f"{path} is corrupt: checksum mismatch on {relative} (manifest {expected['sha256'][:12]}…, "
                f"file {actual[:12]}…); refusing to restore"
            )
        advance(progress, task, int(expected["bytes"]))
    return VerifiedBackup(path, manifest)


async def restore_backup(settings: Settings, backup: VerifiedBackup, *, progress: Progressor = None) -> RestoreResult:
    """Replace every row of the configured database with the backup's, in one transaction, then check the counts.

    The database is created and migrated as needed. A backup of an older revision is loaded at that revision
    and migrated to head in the same transaction. Raises BackupError if the database is newer than this code
    or the counts after loading differ from the manifest (the transaction is then rolled back).
    """
    started = time.perf_counter()
    try:
        db = await Db.connect(settings.database.url, pool_size=1)
    except (ConnectionError, ValueError) as exc:
        raise BackupError(str(exc)) from None
    db.stats.slow_threshold_s = float("inf")  # one long transaction by design: no "slow transaction" warning
    try:
        current = await current_revision(db)
        if current is not None and current not in known_revisions():
            raise BackupError(
                f"the database {db.url} is at schema revision {current}, newer than this openim-py knows: refusing"
            )
        head = head_revision()
        async with db.write("ops.restore") as conn:
            await dialect.lock_for_migration(conn)
            if current != backup.revision:
                await conn.run_sync(_migrate_to, backup.revision, current)
            await _empty_tables(conn, backup)
            loaded = {}
            for name in backup.manifest["tables"]:
                loaded[name] = await _load_table(conn, backup, name, progress)
            counted = await _count(conn, backup.rows)
            if counted != backup.rows:
                raise BackupError(f"row counts after loading {counted} differ from the manifest {backup.rows}")
            if backup.revision != head:
                await conn.run_sync(_migrate_to, head, backup.revision)
        if backup.revision == head:
            async with db.read("ops.restore.verify") as conn:
                counted = await _count(conn, backup.rows)
            if counted != backup.rows:
                raise BackupError(f"row counts after the restore {counted} differ from the manifest {backup.rows}")
    finally:
        await db.close()
    objects = await asyncio.to_thread(copy_objects_in, settings, backup.path, backup.manifest)
    return RestoreResult(loaded, backup.revision, head, time.perf_counter() - started, objects)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's config for our migrations, on `connection` when given (as storage/migrate.py builds it)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _migrate_to(conn: Connection, target: str, current: str | None) -> None:
    known = known_revisions()
    if current is None or known.index(target) > known.index(current):
        command.upgrade(alembic_config(conn), target)
    else:
        command.downgrade(alembic_config(conn), target)


async def _empty_tables(conn: AsyncConnection, backup: VerifiedBackup) -> None:
    present = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    names = [t.name for t in reversed(metadata.sorted_tables) if t.name in present]
    names += [n for n in backup.manifest["tables"] if n in present and n not in names]
    if conn.dialect.name == "postgresql":
        await conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names)))
    else:
        for name in names:
            await conn.execute(delete(table(name)))


async def _load_table(conn: AsyncConnection, backup: VerifiedBackup, name: str, progress: Progressor) -> int:
    """Stream one table file into the table on the transaction's own driver connection, bypassing SQLAlchemy's
    per-row processing: COPY on PostgreSQL, executemany on SQLite (the values are already Python types)."""
    reader = await asyncio.to_thread(TableReader, backup.path / backup.manifest["tables"][name]["file"], name)
    names = [n for n, _ in reader.columns]
    driver: Any = (await conn.get_raw_connection()).driver_connection
    quote = conn.dialect.identifier_preparer.quote
    sql = f"INSERT INTO {quote(name)} ({', '.join(map(quote, names))}) VALUES ({', '.join('?' * len(names))})"
    task = progress.add_task(f"load {name}", total=backup.rows[name]) if progress else None
    rows = 0
    try:
        while batch := await asyncio.to_thread(reader.read, BATCH):
            if conn.dialect.name == "postgresql":
                await driver.copy_records_to_table(name, records=batch, columns=names)
            else:
                await driver.executemany(sql, batch)
            rows += len(batch)
            advance(progress, task, len(batch))
    except BackupError:
        raise
    except Exception as exc:  # the database refused a row (a value too long for PostgreSQL, a duplicate key, …)
        message = f"loading table {name} failed ({type(exc).__name__}: {exc}); the restore was rolled back"
        raise BackupError(message) from exc
    finally:
        await asyncio.to_thread(reader.close)
    return rows


async def _count(conn: AsyncConnection, expected: dict[str, int]) -> dict[str, int]:
    return {n: int((await conn.execute(select(func.count()).select_from(table(n)))).scalar_one()) for n in expected}
