"""Backup and restore for real: snapshot, wipe, restore and compare every table, on SQLite and PostgreSQL.

PostgreSQL tests use databases of their own beside the test database of OPENIM_TEST_POSTGRES_URL (`<it>_backup` as
the source, `<it>_backup_restore` as a second target: `test_gw1_backup` in xdist worker gw1), so they never touch
the database `db_url` empties, nor another worker's; each test starts from an empty `public` schema there.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import shutil
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from alembic import command
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url
from tests.databases import create_database, side_database_url
from tests.factories import (
    add_member,
    make_black,
    make_friend,
    make_friend_request,
    make_group,
    make_group_request,
    pin_friend,
)
from tests.storage.msgs import group_text
from tests.storage.msgs import text as single_text
from typer.testing import CliRunner

from openim.cli import app
from openim.ops.backup import (
    BackupError,
    create_backup,
    known_revisions,
    list_backups,
    open_backup,
    prune_backups,
    restore_backup,
)
from openim.ops.backup.dump import column_kind
from openim.ops.backup.restore import alembic_config
from openim.protocol.constants import GroupRole
from openim.settings import Settings, load_settings
from openim.storage import Storage, open_storage
from openim.storage.db import Db
from openim.storage.migrate import current_revision, head_revision
from openim.storage.msg import MsgRevoke
from openim.storage.rows import ClientLog, ObjectInfo, ObjectUpload, User, UserCommand
from openim.storage.schema import metadata
from openim.storage.token import TokenRepo

PG_SOURCE, PG_TARGET = "backup", "backup_restore"  # suffixes of the test database's name (tests/databases.py)
NOW = 1_700_000_000_000

# --- databases -----------------------------------------------------------------------------------------------


def _pg_url(purpose: str) -> str:
    base = os.environ.get("OPENIM_TEST_POSTGRES_URL", "")
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is required in CI: OPENIM_TEST_POSTGRES_URL is not set")
        pytest.skip("set OPENIM_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run it")
    return side_database_url(base, purpose)


async def _empty_pg(purpose: str) -> str:
    """The URL of our database for `purpose` on the test server, created if missing, with an empty `public` schema."""
    url = _pg_url(purpose)
    await create_database(url)
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    return url


async def _url(kind: str, tmp_path: Path, name: str) -> str:
    """An empty database of `kind`: a new SQLite file under tmp_path, or one of our PostgreSQL databases emptied."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / name / 'openim.db'}"
    return await _empty_pg(PG_TARGET if name == "target" else PG_SOURCE)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def source(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """A migrated, empty Storage on SQLite or on our PostgreSQL database `<test database>_backup`."""
    storage = await open_storage(await _url(request.param, tmp_path, "source"), pool_size=5)
    yield storage
    await storage.close()


def _settings(url: str) -> Settings:
    return load_settings(None, env={"OPENIM_DATABASE_URL": url})


def _url_of(storage: Storage) -> str:
    return storage.db.engine.url.render_as_string(hide_password=False)


# --- data ----------------------------------------------------------------------------------------------------


async def populate(storage: Storage, *, scale: int = 1) -> None:
    """Users, friends, requests, a blacklist, groups with members and requests, configs, messages with reads,
    deletes and a revoke: every table gets rows, with unicode, bytes, booleans, nulls and big integers."""
    users = [User(f"u{i}", f"用户 {i} 🙂", f"https://x/{i}.png", '{"k": "\\u00e9"}', 0, i % 3, NOW + i)
             for i in range(8 * scale)]  # fmt: skip
    users.append(User("big", "", "", "", 2, 0, 2**62 + 7))
    await storage.user.create_users(users)
    await storage.config.set_configs("u0", {"theme": "dark", "lang": "zh-CN"})
    await make_friend(storage, "u0", "u1", now=NOW, remark="bestie ✓")
    await make_friend(storage, "u1", "u0", now=NOW + 1)
    await pin_friend(storage, "u0", "u1", now=NOW + 2)
    await make_friend_request(storage, "u2", "u0", now=NOW, req_msg="hi 你好")
    await make_black(storage, "u3", "u4", now=NOW)
    await make_group(storage, "g1", "u0", ["u1", "u2"], now=NOW, admins=["u3"], name="群 one")
    await add_member(storage, "g1", "u5", now=NOW + 9, role=GroupRole.ORDINARY, nickname="five")
    await make_group_request(storage, "g1", "u6", now=NOW, req_msg="let me in")
    sent = await storage.msg.append_batch(
        [single_text("u0", "u1", f"m{i} ✉", send_time=NOW + i) for i in range(20 * scale)]
        + [group_text("u0", "g1", owners=("u0", "u1", "u2", "u3", "u5"))]
        + [group_text("u1", "g1") for _ in range(10 * scale)]
    )
    first = sent[0]
    await storage.msg.mark_read(first.conversation_id, [1, 2, 3], reader="u1")
    await storage.msg.delete_for_user("u1", first.conversation_id, [4, 5])
    await storage.msg.revoke(first.conversation_id, 6, MsgRevoke(0, "u0", "用户 0", NOW + 100))
    digest = "0" * 32
    await storage.object.set_object(
        ObjectInfo("local", "u0/照片.png", "u0", digest, f"openim/data/hash/{digest}", 2**40, "image/png", "msg", NOW)
    )
    await storage.object.create_upload(
        ObjectUpload(
            "up1",
            "multipart",
            "local",
            "u1",
            "u1/v.mp4",
            digest,
            2**33,
            5 << 20,
            "video/mp4",
            "",
            f"openim/data/hash/{digest}",
            "",
            NOW,
            NOW + 86_400_000,
        )
    )
    await storage.user_command.add(UserCommand("u0", 1, "fav-1", "收藏 ★", '{"x": 1}', NOW // 1000), max_per_user=100)
    tokens = TokenRepo(storage.db, lambda: NOW)
    await tokens.set_tokens("u0", "Web", {"eyJ.u0.web": 0, "eyJ.u0.kicked": 2}, ttl_s=86_400 * 90)
    await tokens.add_temporary("imAdmin", "Admin", "eyJ.admin", ttl_s=2**31)
    await storage.third.set_fcm_token("u1", 2, "fcm-tok-✓", expire_time=0)
    await storage.third.set_badge("u1", 7)
    async with storage.db.read("test.tables") as conn:  # queue_job is absent at the previous revision
        has_queue = await conn.run_sync(lambda c: sa_inspect(c).has_table("queue_job"))
    if has_queue:
        await storage.queue.add("offline_push", [b"\x00job \xff", b"{}"], now=NOW)  # pending jobs travel along
    await storage.third.add_logs(
        [
            ClientLog(
                "1234567890", "Android", "u1", NOW, "https://x/log.zip", "log.zip", "android", "flutter", "3.8.5", "{}"
            )
        ]
    )
    if await _has_table(storage, "cron_task"):  # revision 0011 on (the older-revision test stops before it)
        assert await storage.cron_task.claim("msg_destruct", "host:1:ab", now=NOW, lease_ms=60_000, slot=NOW)
        await storage.cron_task.finish("msg_destruct", "host:1:ab", now=NOW + 5, removed=3, error="")
    if await _has_table(storage, "config_override"):  # revision 0012 on
        await storage.config_override.reset(enabled=True, now=NOW, operator="imAdmin")
        await storage.config_override.put(
            {"log.remainLogLevel": 3, "tokenPolicy.expire": "2d"}, now=NOW, operator="imAdmin"
        )


async def _has_table(storage: Storage, name: str) -> bool:
    async with storage.db.read("test.has_table") as conn:
        return bool(await conn.run_sync(lambda c: sa_inspect(c).has_table(name)))


async def table_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every schema table the database has (an older revision lacks newer ones), in key order."""
    db = await Db.connect(url, pool_size=1)
    try:
        async with db.read("test.table_rows") as conn:
            present = set(await conn.run_sync(lambda c: sa_inspect(c).get_table_names()))
            return {
                t.name: [tuple(r) for r in await conn.execute(select(t).order_by(*t.primary_key.columns))]
                if t.name in present
                else []
                for t in metadata.sorted_tables
                if t.name in present
            }
    finally:
        await db.close()


async def wipe(url: str) -> None:
    """Delete every row of every schema table."""
    db = await Db.connect(url, pool_size=1)
    try:
        async with db.write("test.wipe") as conn:
            for t in reversed(metadata.sorted_tables):
                await conn.execute(t.delete())
    finally:
        await db.close()


def _read_dump(path: Path) -> tuple[list[list[str]], list[list[Any]]]:
    with gzip.open(path, "rb") as f:
        header = orjson.loads(f.readline())
        return header["columns"], [orjson.loads(line) for line in f]


# --- round trips ---------------------------------------------------------------------------------------------


async def test_backup_wipe_restore_keeps_every_row(source: Storage, tmp_path: Path) -> None:
    """Users, groups, friends, messages and conversations are identical, table by table, after backup, wipe, restore."""
    await populate(source)
    url = _url_of(source)
    before = await table_rows(url)
    assert all(before[t.name] for t in metadata.sorted_tables), "every table has rows"

    result = await create_backup(_settings(url), None, tmp_path / "backups")
    manifest = result.manifest
    assert manifest["format"] == "openim-backup" and manifest["format_version"] == 1
    assert manifest["schema_revision"] == head_revision() == await current_revision(source.db)
    assert manifest["database"]["kind"] == source.db.dialect
    assert {n: t["rows"] for n, t in manifest["tables"].items()} == {n: len(r) for n, r in before.items()}
    assert result.rows == sum(len(r) for r in before.values())
    assert any("Redis holds no system-of-record data" in note for note in manifest["notes"])
    native = "openim.db" if source.db.dialect == "sqlite" else "postgres.dump"
    assert manifest["native"]["file"] == native and native in manifest["files"]
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in result.path.rglob("*") if p.is_file())

    await wipe(url)
    assert sum(len(r) for r in (await table_rows(url)).values()) == 0
    restored = await restore_backup(_settings(url), open_backup(result.path))
    assert restored.rows == {n: len(r) for n, r in before.items()}
    assert await table_rows(url) == before


async def test_portable_dump_preserves_types(source: Storage, tmp_path: Path) -> None:
    """The dump writes bytes as base64, integers exactly (2**62 + 7), booleans as booleans and NULL as null."""
    await populate(source)
    result = await create_backup(_settings(_url_of(source)), None, tmp_path)
    columns, rows = _read_dump(result.path / "tables" / "user.jsonl.gz")
    assert ["create_time", "int"] in columns and ["nickname", "str"] in columns
    assert next(r for r in rows if r[0] == "big")[columns.index(["create_time", "int"])] == 2**62 + 7
    columns, rows = _read_dump(result.path / "tables" / "msg.jsonl.gz")
    kinds = dict(map(tuple, columns))
    assert kinds["data"] == "bytes" and kinds["is_read"] == "bool" and kinds["seq"] == "int"
    names = [c for c, _ in columns]
    assert {r[names.index("is_read")] for r in rows} == {True, False}
    assert sum(r[names.index("revoke")] is None for r in rows) == len(rows) - 1
    assert all(isinstance(r[names.index("data")], str) for r in rows)


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        pytest.param("sqlite", "postgres", marks=pytest.mark.postgres),
        pytest.param("postgres", "sqlite", marks=pytest.mark.postgres),
    ],
)
async def test_cross_restore_through_the_portable_dump(src: str, dst: str, tmp_path: Path) -> None:
    """A SQLite backup restores into PostgreSQL, and a PostgreSQL one into SQLite, with every row equal."""
    storage = await open_storage(await _url(src, tmp_path, "source"), pool_size=5)
    try:
        await populate(storage)
        before = await table_rows(_url_of(storage))
        result = await create_backup(_settings(_url_of(storage)), None, tmp_path / "b")
    finally:
        await storage.close()
    target = await _url(dst, tmp_path, "target")  # fresh: no tables yet, restore migrates it
    await restore_backup(_settings(target), open_backup(result.path))
    assert await table_rows(target) == before


@pytest.mark.postgres
async def test_a_row_postgresql_refuses_rolls_the_whole_restore_back(tmp_path: Path) -> None:
    """A userID longer than 64 characters (SQLite accepts it, PostgreSQL does not) fails the SQLite → PostgreSQL
    restore with a message naming the table, and the target keeps every row it had."""
    storage = await open_storage(await _url("sqlite", tmp_path, "source"), pool_size=2)
    try:
        await populate(storage)
        await storage.user.create_users([User("x" * 65, "", "", "", 0, 0, NOW)])
        result = await create_backup(_settings(_url_of(storage)), None, tmp_path / "b")
    finally:
        await storage.close()
    target = await open_storage(await _url("postgres", tmp_path, "target"), pool_size=2)
    try:
        await populate(target)
        before = await table_rows(_url_of(target))
        with pytest.raises(BackupError, match=r"loading table user failed .*rolled back"):
            await restore_backup(_settings(_url_of(target)), open_backup(result.path))
        assert await table_rows(_url_of(target)) == before
    finally:
        await target.close()


async def test_restore_into_a_fresh_sqlite_file(source: Storage, tmp_path: Path) -> None:
    """Restoring into a database file that does not exist yet creates it at the head revision with every row."""
    await populate(source)
    before = await table_rows(_url_of(source))
    result = await create_backup(_settings(_url_of(source)), None, tmp_path / "b")
    target = f"sqlite:///{tmp_path / 'new' / 'openim.db'}"
    outcome = await restore_backup(_settings(target), open_backup(result.path))
    assert outcome.to_revision == head_revision()
    assert await table_rows(target) == before


async def test_restore_replaces_rows_written_after_the_backup(source: Storage, tmp_path: Path) -> None:
    """Rows added after the backup are gone after the restore: the database equals the snapshot, not a merge."""
    await populate(source)
    url = _url_of(source)
    before = await table_rows(url)
    result = await create_backup(_settings(url), None, tmp_path / "b")
    await source.user.create_users([User("late", "", "", "", 0, 0, NOW)])
    await source.msg.append_batch([single_text("u0", "late")])
    await restore_backup(_settings(url), open_backup(result.path))
    assert await table_rows(url) == before


@pytest.mark.postgres
async def test_pg_dump_is_taken_in_the_same_snapshot(tmp_path: Path) -> None:
    """postgres.dump, restored with pg_restore into another database, has exactly the manifest's row counts."""
    storage = await open_storage(await _url("postgres", tmp_path, "source"), pool_size=5)
    try:
        await populate(storage)
        result = await create_backup(_settings(_url_of(storage)), None, tmp_path / "b")
    finally:
        await storage.close()
    assert result.manifest["native"]["kind"] == "pg_dump" and not result.warnings
    target = await _url("postgres", tmp_path, "target")
    parsed = make_url(target)
    env = {
        **os.environ,
        "PGHOST": parsed.host or "",
        "PGPORT": str(parsed.port or 5432),
        "PGUSER": parsed.username or "",
    }
    proc = await asyncio.create_subprocess_exec(
        "pg_restore", "--no-owner", "-d", parsed.database or "", str(result.path / "postgres.dump"), env=env
    )
    assert await proc.wait() == 0
    db = await Db.connect(target, pool_size=1)
    try:
        async with db.read("test.count") as conn:
            for name, entry in result.manifest["tables"].items():
                t = metadata.tables[name]
                assert (await conn.execute(select(func.count()).select_from(t))).scalar_one() == entry["rows"], name
    finally:
        await db.close()


async def test_pg_dump_missing_is_a_warning_not_a_failure(source: Storage, tmp_path: Path) -> None:
    """Without pg_dump a PostgreSQL backup still completes from the portable dump and says why in the manifest."""
    await populate(source)
    result = await create_backup(_settings(_url_of(source)), None, tmp_path / "b", pg_dump="no-such-pg_dump")
    if source.db.dialect == "sqlite":
        assert result.manifest["native"]["kind"] == "sqlite-backup-api" and not result.warnings
        return
    assert result.manifest["native"] == {"kind": None, "skipped": "no-such-pg_dump not found on PATH"}
    assert "portable dump is complete" in result.warnings[0]
    assert not (result.path / "postgres.dump").exists()


@pytest.mark.postgres
async def test_pg_dump_older_than_the_server_is_skipped(tmp_path: Path) -> None:
    """A pg_dump whose major version is below the server's is not run; the manifest says why."""
    fake = tmp_path / "old_pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    fake.chmod(0o755)
    storage = await open_storage(await _url("postgres", tmp_path, "source"), pool_size=2)
    try:
        result = await create_backup(_settings(_url_of(storage)), None, tmp_path / "b", pg_dump=str(fake))
    finally:
        await storage.close()
    assert result.manifest["native"]["kind"] is None
    assert result.manifest["native"]["skipped"].startswith("pg_dump 9.6 is older than the server (PostgreSQL ")


async def test_progress_tracks_every_table(source: Storage, tmp_path: Path) -> None:
    """With a progress display, each table gets a dump task and a load task that end complete at its row count."""
    await populate(source)
    progress = Progress(console=Console(file=io.StringIO(), force_terminal=True))
    with progress:
        result = await create_backup(_settings(_url_of(source)), None, tmp_path / "b", progress=progress)
        await restore_backup(_settings(_url_of(source)), open_backup(result.path, progress=progress), progress=progress)
    tasks = {t.description: t for t in progress.tasks}
    for name, entry in result.manifest["tables"].items():
        for step in ("dump", "load"):
            task = tasks[f"{step} {name}"]
            assert task.total == task.completed == entry["rows"], (step, name)
    assert tasks["verify checksums"].finished


# --- consistency under writes ---------------------------------------------------------------------------------


@pytest.mark.slow
async def test_backup_during_concurrent_writes_is_one_snapshot(source: Storage, tmp_path: Path) -> None:
    """Messages appended while the backup runs: row counts equal the manifest, every conversation's max_seq
    equals its newest stored seq in the dump (one snapshot across tables), and writes happened meanwhile."""
    await populate(source, scale=40)
    url = _url_of(source)
    writes = 0
    stop, started = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        nonlocal writes
        while not stop.is_set():
            await source.msg.append_batch([single_text("u0", "u1"), group_text("u1", "g1"), single_text("u2", "u3")])
            writes += 1
            if writes == 3:
                started.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    await started.wait()
    at_start = writes
    result = await create_backup(_settings(url), None, tmp_path / "b")
    at_end = writes
    stop.set()
    await task
    assert at_end > at_start, "the writer made progress while the backup ran"

    dumped = {}
    for name, entry in result.manifest["tables"].items():
        columns, rows = _read_dump(result.path / entry["file"])
        assert len(rows) == entry["rows"], name
        dumped[name] = [dict(zip([c for c, _ in columns], r, strict=True)) for r in rows]
    newest: dict[str, int] = {}
    for m in dumped["msg"]:
        newest[m["conversation_id"]] = max(newest.get(m["conversation_id"], 0), m["seq"])
    assert {s["conversation_id"]: s["max_seq"] for s in dumped["seq_conversation"]} == newest
    live = (await table_rows(url))["msg"]
    assert 0 < len(dumped["msg"]) < len(live), "the snapshot holds some, not all, of the concurrent writes"


# --- refusals ------------------------------------------------------------------------------------------------


async def test_corrupt_backup_is_refused_and_nothing_changes(source: Storage, tmp_path: Path) -> None:
    """One flipped byte in a table file: open_backup refuses with a checksum message, the database is untouched."""
    await populate(source)
    url = _url_of(source)
    result = await create_backup(_settings(url), None, tmp_path / "b")
    await source.user.create_users([User("after", "", "", "", 0, 0, NOW)])
    before = await table_rows(url)
    victim = result.path / "tables" / "msg.jsonl.gz"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(BackupError, match=r"corrupt: checksum mismatch on tables/msg.jsonl.gz"):
        open_backup(result.path)
    victim.unlink()
    with pytest.raises(BackupError, match=r"tables/msg.jsonl.gz is missing"):
        open_backup(result.path)
    (result.path / "manifest.json").unlink()
    with pytest.raises(BackupError, match=r"not an openim backup"):
        open_backup(result.path)
    assert await table_rows(url) == before


async def test_newer_schema_revision_is_refused(source: Storage, tmp_path: Path) -> None:
    """A backup whose schema revision this code does not know is refused, naming the revision and the remedy."""
    result = await create_backup(_settings(_url_of(source)), None, tmp_path / "b")
    manifest_path = result.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["schema_revision"] = "9999_from_the_future"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match=r"revision 9999_from_the_future, newer than this openim-py knows"):
        open_backup(result.path)
    manifest["schema_revision"], manifest["format_version"] = head_revision(), 2
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match=r"backup format 2; this openim-py reads up to 1"):
        open_backup(result.path)


async def test_backup_of_an_older_revision_restores_and_migrates(tmp_path: Path) -> None:
    """A database still at the previous revision backs up as such; restoring it into a head database loads
    it at that revision and migrates to head in the same transaction."""
    previous = known_revisions()[-2]
    url = f"sqlite:///{tmp_path / 'old' / 'openim.db'}"
    db = await Db.connect(url, pool_size=1)
    async with db.write("test.migrate_old") as conn:
        await conn.run_sync(lambda c: command.upgrade(_alembic(c), previous))
    await db.close()
    storage = await open_storage(url, pool_size=5, migrate=False)
    try:
        await populate(storage)
    finally:
        await storage.close()
    before = await table_rows(url)
    result = await create_backup(_settings(url), None, tmp_path / "b")
    assert result.manifest["schema_revision"] == previous

    target = f"sqlite:///{tmp_path / 'target' / 'openim.db'}"
    await (await open_storage(target, pool_size=1)).close()  # a database already at head
    outcome = await restore_backup(_settings(target), open_backup(result.path))
    assert (outcome.from_revision, outcome.to_revision) == (previous, head_revision())
    after = await table_rows(target)
    assert {name: after[name] for name in before} == before
    assert all(not after[name] for name in after.keys() - before.keys())  # tables newer than the backup: empty
    check = await Db.connect(target, pool_size=1)
    try:
        assert await current_revision(check) == head_revision()
    finally:
        await check.close()


def _alembic(connection: Any) -> Any:
    return alembic_config(connection)


async def test_restore_refuses_a_database_newer_than_the_code(source: Storage, tmp_path: Path) -> None:
    """If the target database is at a revision this code does not know, restore refuses and changes nothing."""
    await populate(source)
    url = _url_of(source)
    result = await create_backup(_settings(url), None, tmp_path / "b")
    async with source.db.write("test.future") as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    before = await table_rows(url)
    with pytest.raises(BackupError, match=r"revision 9999_future, newer than this openim-py knows"):
        await restore_backup(_settings(url), open_backup(result.path))
    assert await table_rows(url) == before


async def test_missing_sqlite_database_is_a_clear_error(tmp_path: Path) -> None:
    """Backing up a SQLite path with no file says so instead of creating an empty database; no partial dir stays."""
    dest = tmp_path / "b"
    with pytest.raises(BackupError, match=r"no SQLite database at .*nothing.db"):
        await create_backup(_settings(f"sqlite:///{tmp_path / 'nothing.db'}"), None, dest)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "nothing.db").exists()


def test_every_column_has_a_portable_kind_and_no_sequences() -> None:
    """Each schema column maps to a dump kind, and no table has an autoincrement column (no sequence to reset)."""
    for t in metadata.sorted_tables:
        assert t.autoincrement_column is None, f"{t.name}: restore must reset its PostgreSQL sequence"
        for c in t.columns:
            assert column_kind(c.type) in {"int", "str", "bool", "bytes", "float"}


# --- retention -----------------------------------------------------------------------------------------------


def _age(backup: Path, days: float) -> None:
    manifest_path = backup / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    created = datetime.now(UTC) - timedelta(days=days)
    manifest["created_at"] = created.isoformat().replace("+00:00", "Z")
    manifest_path.write_text(json.dumps(manifest))


async def test_retention_removes_only_our_old_backups(tmp_path: Path) -> None:
    """--keep-days 7 deletes our backups older than 7 days by their manifest; fresh ones, foreign directories,
    foreign manifests and unfinished backups stay."""
    storage = await open_storage(f"sqlite:///{tmp_path / 'db' / 'openim.db'}", pool_size=2)
    await storage.close()
    settings = _settings(f"sqlite:///{tmp_path / 'db' / 'openim.db'}")
    dest = tmp_path / "backups"
    old1 = (await create_backup(settings, None, dest)).path
    old2 = (await create_backup(settings, None, dest)).path
    recent = (await create_backup(settings, None, dest)).path
    _age(old1, 10)
    _age(old2, 7.5)
    _age(recent, 6)
    foreign = dest / "photos"
    foreign.mkdir()
    os.utime(foreign, (0, 0))
    other = dest / "other-tool"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"format": "something", "created_at": "2000-01-01T00:00:00Z"}))
    partial = dest / ".openim-backup-20000101T000000Z.partial"
    partial.mkdir()

    result = await create_backup(settings, None, dest, keep_days=7)
    assert sorted(result.removed) == sorted([old1, old2])
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        [recent.name, result.path.name, "photos", "other-tool", partial.name]
    )
    assert [p for p, _ in list_backups(dest)] == [recent, result.path]
    assert prune_backups(dest, 1, now=datetime.now(UTC) + timedelta(days=30), keep=result.path) == [recent]


# --- the command line ----------------------------------------------------------------------------------------


def _populated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'data' / 'openim.db'}"

    async def fill() -> None:
        storage = await open_storage(url, pool_size=2)
        try:
            await populate(storage)
        finally:
            await storage.close()

    asyncio.run(fill())
    return url


def test_cli_backup_then_restore_with_confirmation(tmp_path: Path) -> None:
    """`openim backup` writes a backup with the config; `openim restore` aborts on "n", restores on --yes."""
    url = _populated_sqlite(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text(f"secret: s3cret-value\ndatabase:\n  url: {url}\n")
    before = asyncio.run(table_rows(url))
    runner = CliRunner()

    out = runner.invoke(app, ["backup", "--config", str(config), "--dest", str(tmp_path / "b"), "--keep-days", "7"])
    assert out.exit_code == 0, out.output
    assert "Redis" in out.output and "mode 700" in out.output
    (backup,) = (tmp_path / "b").iterdir()
    assert (backup / "config" / "config.yaml").read_text() == config.read_text()

    asyncio.run(wipe(url))
    out = runner.invoke(app, ["restore", str(backup), "--config", str(config)], input="n\n")
    assert out.exit_code == 1 and "replaces every row" in out.output and "aborted" in out.output.lower()
    assert sum(len(r) for r in asyncio.run(table_rows(url)).values()) == 0

    out = runner.invoke(app, ["restore", str(backup), "--config", str(config), "--yes"])
    assert out.exit_code == 0, out.output
    assert "row counts verified" in out.output
    assert asyncio.run(table_rows(url)) == before


def test_cli_restore_refuses_a_corrupt_backup(tmp_path: Path) -> None:
    """`openim restore` on a backup with a damaged file exits 1 with the checksum message and asks nothing."""
    url = _populated_sqlite(tmp_path)
    runner = CliRunner()
    env = {"OPENIM_DATABASE_URL": url}
    out = runner.invoke(app, ["backup", "--dest", str(tmp_path / "b")], env=env)
    assert out.exit_code == 0, out.output
    (backup,) = (tmp_path / "b").iterdir()
    with (backup / "tables" / "user.jsonl.gz").open("ab") as f:
        f.write(b"junk")
    out = runner.invoke(app, ["restore", str(backup), "--yes"], env=env)
    assert out.exit_code == 1
    assert "checksum mismatch on tables/user.jsonl.gz" in out.output
    shutil.rmtree(backup)
