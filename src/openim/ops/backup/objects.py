"""The object store in a backup: the local engine's files are copied in (`objects/`), an S3 bucket is recorded.

Stored objects never change once written (keys are content hashes or fresh IDs), so copying the folder after
the database snapshot gives every object the snapshot names; files written meanwhile come along harmlessly.
Uploads in progress (`.uploads/`) are left out: they are removed when they expire anyway. Every copied file is
checksummed in the manifest like the tables, and `open_backup` verifies them before a restore. A restore copies
them back into `object.local.path`, keeping files already there (nothing stored is ever deleted by a restore).
An S3-compatible bucket is not copied: the manifest names it, and the store's own tools back it up.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from openim.settings import Settings

__all__ = ["OBJECTS_DIR", "copy_objects_in", "copy_objects_out"]

OBJECTS_DIR = "objects"
_SKIPPED = ".uploads"


def copy_objects_out(settings: Settings, work: Path) -> dict[str, Any]:
    """Copy the local store into `work/objects`, or describe the bucket; the manifest's `objects` entry."""
    obj = settings.object
    if obj.enable == "minio":
        return {"engine": "minio", "bucket": settings.minio.bucket, "address": settings.minio.internalAddress,
                "copied": False, "note": "the bucket is not copied: back it up with the store's own tools"}  # fmt: skip
    if obj.enable == "aws":
        return {"engine": "aws", "bucket": obj.aws.bucket, "region": obj.aws.region, "copied": False,
                "note": "the bucket is not copied: use S3 versioning or replication"}  # fmt: skip
    root = Path(obj.local.path)
    files = size = 0
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if relative.parts[0] == _SKIPPED or not path.is_file() or path.name.startswith("."):
                continue
            target = work / OBJECTS_DIR / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            files += 1
            size += target.stat().st_size
    return {"engine": "local", "dir": OBJECTS_DIR, "files": files, "bytes": size, "copied": True}


def copy_objects_in(settings: Settings, backup: Path, manifest: dict[str, Any]) -> int:
    """Copy a backup's verified `objects/` into the local store; the number of files written."""
    entry = manifest.get("objects") or {}
    if not entry.get("copied") or settings.object.enable != "local":
        return 0
    source = backup / str(entry.get("dir", OBJECTS_DIR))
    root = Path(settings.object.local.path)
    written = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        target = root / path.relative_to(source)
        if target.is_file() and target.stat().st_size == path.stat().st_size:
            continue  # objects never change: same key, same bytes
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.restore")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        written += 1
    return written
