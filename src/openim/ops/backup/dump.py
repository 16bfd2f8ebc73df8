"""The files of a backup: the portable table dump (gzip JSON lines), its column kinds, checksums, constants.

`TableWriter` and `TableReader` run in worker threads (compression and JSON are CPU work the event loop must not
do); they hold no database connection. The format is described in the package docstring.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from rich.progress import Progress, TaskID
from sqlalchemy.types import TypeEngine

__all__ = [
    "BATCH",
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "MANIFEST",
    "NOTES",
    "PG_DUMP_FILE",
    "SQLITE_COPY",
    "BackupError",
    "Progressor",
    "TableReader",
    "TableWriter",
    "advance",
    "checksums",
    "column_kind",
    "sha256_file",
]

FORMAT = "openim-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_COPY = "openim.db"
PG_DUMP_FILE = "postgres.dump"
BATCH = 2000
NOTES = (
    "Redis holds no system-of-record data in openim-py (token states, presence and caches; users sign in again) "
    "and is not backed up. OpenIM's guide saves Redis' RDB because OpenIM keeps seqs there; openim-py keeps them "
    "in the seq_conversation table, which is in this backup.",
    "The config file is copied as it is, secrets included (secret, database password): keep this directory "
    "mode 700 and store it as you would the config.",
    "openim restore reads tables/*.jsonl.gz (into SQLite or PostgreSQL). Native copies: openim.db is a plain "
    "SQLite file (stop the server, copy it over the database file, delete its -wal and -shm); postgres.dump is "
    "for `pg_restore --clean --if-exists --no-owner -d DBNAME postgres.dump`.",
)

Progressor = Progress | None


class BackupError(Exception):
    """A backup cannot be made, or a backup cannot be restored; the message says why and what to do."""


KINDS: dict[type, str] = {int: "int", str: "str", bool: "bool", float: "float", bytes: "bytes"}


def column_kind(type_: TypeEngine[Any]) -> str:
    """The portable kind of a column type: int, str, bool, float or bytes; BackupError for anything else."""
    try:
        return KINDS[type_.python_type]
    except (NotImplementedError, KeyError):
        raise BackupError(f"column type {type_!r} has no portable encoding; extend ops/backup.py") from None


class TableWriter:
    """One gzip JSON-lines table file; `write` and `close` run in a worker thread."""

    def __init__(self, path: Path, name: str, columns: Sequence[tuple[str, TypeEngine[Any]]]) -> None:
        self._file = gzip.open(path, "wb", compresslevel=5)
        header = {"table": name, "columns": [[n, column_kind(t)] for n, t in columns]}
        self._file.write(orjson.dumps(header) + b"\n")
        self._bytes = [i for i, (_, t) in enumerate(columns) if column_kind(t) == "bytes"]
        self.rows = 0

    def write(self, rows: Sequence[Any]) -> None:
        lines = []
        b64 = base64.b64encode
        for row in rows:
            values = list(row)
            for i in self._bytes:
                if values[i] is not None:
                    values[i] = b64(values[i]).decode("ascii")
            lines.append(orjson.dumps(values))
        if lines:
            self._file.write(b"\n".join(lines) + b"\n")
        self.rows += len(lines)

    def close(self) -> None:
        self._file.close()


def checksums(root: Path) -> dict[str, Any]:
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST):
        files[path.relative_to(root).as_posix()] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return files


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def advance(progress: Progressor, task: TaskID | None, n: int) -> None:
    if progress is not None and task is not None:
        progress.advance(task, n)


class TableReader:
    """One table file of the portable dump, decoded to tuples of Python values; runs in a worker thread."""

    def __init__(self, path: Path, name: str) -> None:
        self._file = gzip.open(path, "rb")
        try:
            header = orjson.loads(self._file.readline())
            self.columns: list[tuple[str, str]] = [(str(n), str(k)) for n, k in header["columns"]]
            if header["table"] != name or any(k not in KINDS.values() for _, k in self.columns):
                raise ValueError(f"header {header!r} does not describe table {name}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._file.close()
            raise BackupError(f"{path}: not a table dump of {name} ({exc})") from None
        self._path = path
        self._bytes = [i for i, (_, k) in enumerate(self.columns) if k == "bytes"]

    def read(self, n: int) -> list[tuple[Any, ...]]:
        rows = []
        b64 = base64.b64decode
        try:
            for line in itertools.islice(self._file, n):
                values = orjson.loads(line)
                for i in self._bytes:
                    if values[i] is not None:
                        values[i] = b64(values[i])
                rows.append(tuple(values))
        except (OSError, EOFError, ValueError) as exc:
            raise BackupError(f"{self._path} is corrupt ({exc}); the restore was rolled back") from None
        return rows

    def close(self) -> None:
        self._file.close()
