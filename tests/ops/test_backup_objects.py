"""Backups carry the local object store (checksummed, verified, restored) and record an S3 bucket (SQLite only:
the object files do not depend on the database kind, and tests/ops/test_backup.py covers PostgreSQL)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from openim.infra.clock import FakeClock
from openim.infra.objects import LocalStore
from openim.ops.backup import BackupError, create_backup, open_backup, restore_backup
from openim.settings import Settings, load_settings
from openim.storage import open_storage


def _settings(tmp_path: Path, engine: str = "local") -> Settings:
    env = {
        "OPENIM_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'openim.db'}",
        "OPENIM_OBJECT_ENABLE": engine,
        "OPENIM_OBJECT_LOCAL_PATH": str(tmp_path / "objects"),
    }
    return load_settings(None, env=env)


async def test_local_objects_are_backed_up_checked_and_restored(tmp_path: Path) -> None:
    """Every stored file is in the backup with its sha256; after losing the store, restore brings it back."""
    settings = _settings(tmp_path)
    storage = await open_storage(settings.database.url)
    await storage.close()
    store = LocalStore(tmp_path / "objects", secret="s", clock=FakeClock())
    blobs = {f"openim/data/hash/{i:032x}": os.urandom(1000 + i) for i in range(3)}
    for key, data in blobs.items():
        await store.put(key, data, content_type="")
    (tmp_path / "objects" / ".uploads" / "pending").mkdir(parents=True)
    (tmp_path / "objects" / ".uploads" / "pending" / "1").write_bytes(b"part")

    result = await create_backup(settings, None, tmp_path / "backups")
    entry = result.manifest["objects"]
    assert entry == {"engine": "local", "dir": "objects", "files": 3, "bytes": 3003, "copied": True}
    for key in blobs:
        assert f"objects/{key}" in result.manifest["files"]
    assert not any(".uploads" in f for f in result.manifest["files"])

    shutil.rmtree(tmp_path / "objects")
    restored = await restore_backup(settings, open_backup(result.path))
    assert restored.objects == 3
    for key, data in blobs.items():
        assert (tmp_path / "objects" / key).read_bytes() == data


async def test_a_damaged_object_in_a_backup_refuses_the_restore(tmp_path: Path) -> None:
    """A flipped byte in a backed-up object fails the checksum: nothing is restored."""
    settings = _settings(tmp_path)
    storage = await open_storage(settings.database.url)
    await storage.close()
    store = LocalStore(tmp_path / "objects", secret="s", clock=FakeClock())
    await store.put("openim/data/hash/" + "a" * 32, b"picture bytes", content_type="")
    result = await create_backup(settings, None, tmp_path / "backups")
    damaged = result.path / "objects" / "openim" / "data" / "hash" / ("a" * 32)
    damaged.write_bytes(b"Picture bytes")
    with pytest.raises(BackupError, match="checksum mismatch"):
        open_backup(result.path)


async def test_an_s3_bucket_is_recorded_not_copied(tmp_path: Path) -> None:
    """With object.enable: minio the manifest names the bucket and says it was not copied."""
    settings = _settings(tmp_path, "minio")
    storage = await open_storage(settings.database.url)
    await storage.close()
    result = await create_backup(settings, None, tmp_path / "backups")
    assert result.manifest["objects"]["engine"] == "minio"
    assert result.manifest["objects"]["bucket"] == "openim"
    assert result.manifest["objects"]["copied"] is False
    assert not (result.path / "objects").exists()
