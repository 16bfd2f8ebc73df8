"""ObjectRepo: tables `object` (uploaded names → stored keys) and `object_upload` (uploads in progress).

Each method is one named transaction (`object.<method>`). Who may write which name, sizes and hashes are the
object service's rules (`services/object/`); the bytes themselves live in an object store (`infra/objects/`).
"""

from __future__ import annotations

from dataclasses import asdict, fields

from sqlalchemy import delete, func, select

from openim.storage import dialect
from openim.storage.db import Db
from openim.storage.rows import ObjectInfo, ObjectUpload
from openim.storage.schema import object_upload
from openim.storage.schema import stored_object as object_table

__all__ = ["ObjectRepo"]

_OBJECT_COLUMNS = tuple(object_table.c[f.name] for f in fields(ObjectInfo))
_UPLOAD_COLUMNS = tuple(object_upload.c[f.name] for f in fields(ObjectUpload))


class ObjectRepo:
    """Reads and writes `object` and `object_upload`."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def set_object(self, info: ObjectInfo) -> None:
        """Insert the name, or point an existing name of the same engine at the new key (OpenIM's SetObject)."""
        values = asdict(info)
        async with self.db.write("object.set_object") as conn:
            keep = ("engine", "name")
            stmt = dialect.upsert(conn, object_table, keep, [k for k in values if k not in keep])
            await conn.execute(stmt.values(values))

    async def get_object(self, engine: str, name: str) -> ObjectInfo | None:
        async with self.db.read("object.get_object") as conn:
            row = (
                await conn.execute(
                    select(*_OBJECT_COLUMNS).where(object_table.c.engine == engine, object_table.c.name == name)
                )
            ).first()
        return ObjectInfo(*row) if row else None

    async def count_key(self, engine: str, key: str) -> int:
        """How many names point at `key`: a stored key is deleted only when none does."""
        async with self.db.read("object.count_key") as conn:
            stmt = select(func.count()).where(object_table.c.engine == engine, object_table.c.key == key)
            return int((await conn.execute(stmt)).scalar_one())

    async def delete_object(self, engine: str, name: str) -> None:
        async with self.db.write("object.delete_object") as conn:
            await conn.execute(delete(object_table).where(object_table.c.engine == engine, object_table.c.name == name))

    async def create_upload(self, upload: ObjectUpload) -> None:
        async with self.db.write("object.create_upload") as conn:
            await conn.execute(object_upload.insert().values(asdict(upload)))

    async def get_upload(self, upload_id: str) -> ObjectUpload | None:
        async with self.db.read("object.get_upload") as conn:
            row = (await conn.execute(select(*_UPLOAD_COLUMNS).where(object_upload.c.upload_id == upload_id))).first()
        return ObjectUpload(*row) if row else None

    async def finish_upload(self, upload_id: str, info: ObjectInfo) -> None:
        """Record the object and forget the upload, in one transaction: a crash leaves one or the other."""
        values = asdict(info)
        async with self.db.write("object.finish_upload") as conn:
            keep = ("engine", "name")
            stmt = dialect.upsert(conn, object_table, keep, [k for k in values if k not in keep])
            await conn.execute(stmt.values(values))
            await conn.execute(delete(object_upload).where(object_upload.c.upload_id == upload_id))

    async def delete_upload(self, upload_id: str) -> None:
        async with self.db.write("object.delete_upload") as conn:
            await conn.execute(delete(object_upload).where(object_upload.c.upload_id == upload_id))

    async def expired_uploads(self, now: int, *, limit: int = 100) -> list[ObjectUpload]:
        """Uploads whose `expire_time` has passed, oldest first, at most `limit`."""
        async with self.db.read("object.expired_uploads") as conn:
            stmt = (
                select(*_UPLOAD_COLUMNS)
                .where(object_upload.c.expire_time <= now)
                .order_by(object_upload.c.expire_time)
                .limit(limit)
            )
            rows = (await conn.execute(stmt)).all()
        return [ObjectUpload(*r) for r in rows]
