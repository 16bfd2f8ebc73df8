"""Backup and restore: a consistent snapshot of the database taken while the server runs, and its way back.

A backup is a directory `openim-backup-<UTC time>/` (mode 700) holding:

- `tables/<table>.jsonl.gz`, the *portable dump*: every table of `storage.schema.metadata` present in the
  database, in primary-key order, gzip-compressed JSON lines. Line 1 is a header
  `{"table": name, "columns": [[column, kind], ...]}`; every further line is one row as a JSON array in that
  column order. Kinds: `int` (exact, 64-bit), `str`, `bool`, `float`, `bytes` (standard base64); null is null.
  It restores into SQLite or PostgreSQL whichever the source was.
- the *native copy*: `openim.db` from SQLite's online backup API, or `postgres.dump` from `pg_dump
  --format=custom` taken in the very snapshot the portable dump reads (`pg_export_snapshot`); skipped, with
  the reason in the manifest, when pg_dump is missing or older than the server. `openim restore` reads the
  portable dump; the native copy is for the database's own tools (see the manifest's notes).
- `config/<name>`: the configuration file as it is, secrets included (hence mode 700 on the directory).
- `objects/`: with `object.enable: local`, the stored pictures, voice, video and files (`objects.py`); with an
  S3-compatible engine the manifest's `objects` entry names the bucket instead, which is not copied.
- `manifest.json`, written last: format version, schema revision, creation time, source database, row
  counts per table, the object store, and the sha256 of every other file (objects included).

Consistency: SQLite is copied by the online backup API in one step (a read snapshot, writers carry on in WAL
mode) and the portable dump is read from that copy; PostgreSQL is read in one REPEATABLE READ READ ONLY
transaction. Restore empties and reloads every table in ONE transaction, so a failure leaves the database as it
was; a backup from an older schema revision is loaded at that revision and migrated to head in the same
transaction. The schema has no autoincrement column (a test checks it), so no PostgreSQL sequence needs
resetting. Redis holds no system-of-record data in openim-py (token states, presence and caches only), so it
is not part of a backup. This package never asks questions or prints: `cli.py` does.
"""

from __future__ import annotations

from openim.ops.backup.create import BackupResult, create_backup, list_backups, prune_backups
from openim.ops.backup.dump import FORMAT, FORMAT_VERSION, NOTES, BackupError
from openim.ops.backup.report import backup_report, progress_bar, restore_plan, restore_report
from openim.ops.backup.restore import RestoreResult, VerifiedBackup, known_revisions, open_backup, restore_backup

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "NOTES",
    "BackupError",
    "BackupResult",
    "RestoreResult",
    "VerifiedBackup",
    "backup_report",
    "create_backup",
    "known_revisions",
    "list_backups",
    "open_backup",
    "progress_bar",
    "prune_backups",
    "restore_backup",
    "restore_plan",
    "restore_report",
]
