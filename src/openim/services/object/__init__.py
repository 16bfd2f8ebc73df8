"""ObjectService: OpenIM's /object flow — part sizes, multipart and form uploads, instant upload, access URLs.

The flow the SDKs follow (`openim-sdk-core` `internal/third/file/upload.go`): read /object/part_limit, choose the
part size from it (the same formula as `part_size` here), md5 each part, announce the md5 of the part md5s joined
by "," as the upload's hash. /object/initiate_multipart_upload answers only a URL when an object with that hash is
stored already (instant upload), else an upload with signed PUT URLs for the first parts; /object/auth_sign signs
more; /object/complete_multipart_upload checks the announced hash against the part md5s, has the store check
each part's md5 and the size, and records the name. Objects are kept under their hash (`openim/data/hash/<hash>`),
so many names share one stored copy. An upload not completed within `uploadExpire` is removed by `cleanup`
(the msgtransfer role's scheduled job); objects themselves stay until an admin deletes them.
"""

from __future__ import annotations

import hashlib
import posixpath
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from openim.infra.clock import Clock
from openim.infra.objects import ObjectStore, PartMismatch, SignedParts
from openim.protocol.errors import ArgsError, NoPermissionError, RecordNotFoundError
from openim.protocol.pb import object_pb2 as pb
from openim.services.auth import Caller
from openim.services.object.names import HASH_PATH, check_hash, check_key, check_upload_name
from openim.services.object.thumbnail import ImageBox, Thumbnails
from openim.storage import Storage
from openim.storage.rows import ObjectInfo, ObjectUpload

__all__ = ["ObjectLimits", "ObjectService"]

_MAX_SIGN = 1000  # part URLs signed per call
_FORM_EXPIRE_S = 600  # OpenIM: a browser form upload is valid 10 minutes (admins may ask otherwise)
_FORM_GRACE_MS = 3_600_000  # an upload finished near its expiry may still be completed this long after


@dataclass(frozen=True, slots=True)
class ObjectLimits:
    min_part_size: int = 5 << 20
    max_part_size: int = 5 << 30
    max_num_size: int = 10000
    max_size: int = 1 << 30
    url_expire_s: int = 7 * 86400
    upload_expire_s: int = 86400


class ObjectService:
    def __init__(self, storage: Storage, store: ObjectStore, clock: Clock, *, limits: ObjectLimits) -> None:
        self.storage = storage
        self.store = store
        self.clock = clock
        self.limits = limits
        self.thumbnails = Thumbnails(store)

    @property
    def engine(self) -> str:
        return self.store.engine

    # --- sizes ----------------------------------------------------------------------------------------------

    def part_limit(self) -> pb.PartLimitResp:
        lim = self.limits
        return pb.PartLimitResp(
            minPartSize=lim.min_part_size, maxPartSize=lim.max_part_size, maxNumSize=lim.max_num_size
        )

    def part_size(self, size: int) -> int:
        """The part size for an object of `size` bytes: the SDK computes the same from part_limit."""
        lim = self.limits
        if size <= 0:
            raise ArgsError("size must be greater than 0")
        if size > lim.max_size or size > lim.max_part_size * lim.max_num_size:
            raise ArgsError(f"size must be at most {min(lim.max_size, lim.max_part_size * lim.max_num_size)} bytes")
        if size <= lim.min_part_size * lim.max_num_size:
            return lim.min_part_size
        return -(-size // lim.max_num_size)

    # --- multipart uploads ----------------------------------------------------------------------------------

    async def initiate_multipart_upload(
        self, caller: Caller, req: pb.InitiateMultipartUploadReq, *, url_prefix: str, base_url: str
    ) -> pb.InitiateMultipartUploadResp:
        check_upload_name(caller, req.name)
        digest = check_hash(req.hash)
        part_size = self.part_size(req.size)
        key = HASH_PATH + digest
        stored = await self.store.stat(key)
        now = self.clock.now_ms()
        if stored is not None:  # instant upload: the bytes are here already, only the name is new
            await self.storage.object.set_object(self._object(caller, req.name, digest, stored.key, stored.size, req))
            return pb.InitiateMultipartUploadResp(url=url_prefix + req.name)
        engine_upload_id = await self.store.begin_multipart(key, req.contentType)
        upload = ObjectUpload(
            upload_id=uuid.uuid4().hex,
            kind="multipart",
            engine=self.engine,
            user_id=caller.user_id,
            name=req.name,
            hash=digest,
            size=req.size,
            part_size=part_size,
            content_type=req.contentType,
            cause=req.cause,
            key=key,
            engine_upload_id=engine_upload_id,
            create_time=now,
            expire_time=now + self.limits.upload_expire_s * 1000,
        )
        await self.storage.object.create_upload(upload)
        info = pb.UploadInfo(uploadID=upload.upload_id, partSize=part_size, expireTime=upload.expire_time)
        count = _part_count(upload)
        wanted = count if req.maxParts < 0 else min(req.maxParts, count, _MAX_SIGN)
        if wanted > 0:
            signed = await self._sign(upload, list(range(1, wanted + 1)), base_url)
            info.sign.CopyFrom(pb.AuthSignParts(url=signed.url, parts=_pb_parts(signed)))
            _fill_kv(info.sign.query, signed.query)
            _fill_kv(info.sign.header, signed.header)
        return pb.InitiateMultipartUploadResp(upload=info)

    async def auth_sign(self, caller: Caller, req: pb.AuthSignReq, *, base_url: str) -> pb.AuthSignResp:
        upload = await self._own_upload(caller, req.uploadID, "multipart")
        count = _part_count(upload)
        if not req.partNumbers or len(req.partNumbers) > _MAX_SIGN:
            raise ArgsError(f"partNumbers must list 1 to {_MAX_SIGN} parts")
        if any(n < 1 or n > count for n in req.partNumbers):
            raise ArgsError(f"part numbers run from 1 to {count}")
        signed = await self._sign(upload, list(req.partNumbers), base_url)
        resp = pb.AuthSignResp(url=signed.url, parts=_pb_parts(signed))
        _fill_kv(resp.query, signed.query)
        _fill_kv(resp.header, signed.header)
        return resp

    async def complete_multipart_upload(
        self, caller: Caller, req: pb.CompleteMultipartUploadReq, *, url_prefix: str
    ) -> pb.CompleteMultipartUploadResp:
        check_upload_name(caller, req.name)
        upload = await self._own_upload(caller, req.uploadID, "multipart")
        parts = [p.lower() for p in req.parts]
        if hashlib.md5(",".join(parts).encode()).hexdigest() != upload.hash:
            raise ArgsError("md5 mismatching: the parts' md5s do not give the hash announced at initiation")
        if len(parts) != _part_count(upload):
            raise ArgsError(f"the upload has {_part_count(upload)} parts, {len(parts)} given")
        stored = await self.store.stat(upload.key)
        if stored is None:
            try:
                stored = await self.store.complete_multipart(
                    upload.key, upload.engine_upload_id, parts, size=upload.size
                )
            except PartMismatch as exc:
                raise ArgsError(str(exc)) from None
        else:  # the same bytes were completed by another upload meanwhile
            await self.store.abort_multipart(upload.key, upload.engine_upload_id)
        content_type = req.contentType or upload.content_type
        info = ObjectInfo(
            self.engine,
            req.name,
            caller.user_id,
            upload.hash,
            stored.key,
            stored.size,
            content_type,
            req.cause or upload.cause,
            self.clock.now_ms(),
        )
        await self.storage.object.finish_upload(upload.upload_id, info)
        return pb.CompleteMultipartUploadResp(url=url_prefix + req.name)

    # --- downloads ------------------------------------------------------------------------------------------

    async def access_url(self, req: pb.AccessURLReq, *, base_url: str) -> pb.AccessURLResp:
        """A signed URL of the object `name` (or of its thumbnail), valid for `urlExpire`."""
        obj = await self.storage.object.get_object(self.engine, req.name)
        if obj is None:
            raise RecordNotFoundError(f"object {req.name!r} not found")
        kind = req.query.get("type", "")
        key, content_type, filename = obj.key, obj.content_type, posixpath.basename(obj.name)
        if kind == "image":
            box = ImageBox(_int(req.query.get("width")), _int(req.query.get("height")), req.query.get("format", ""))
            key, content_type = await self.thumbnails.key_for(obj.key, obj.size, box)
            filename = ""
        elif kind:
            raise ArgsError("invalid query type")
        expire_s = self.limits.url_expire_s
        url = await self.store.access_url(
            key, expire_s=expire_s, base_url=base_url, content_type=content_type, filename=filename
        )
        return pb.AccessURLResp(url=url, expireTime=self.clock.now_ms() + expire_s * 1000)

    # --- browser form uploads -------------------------------------------------------------------------------

    async def initiate_form_data(
        self, caller: Caller, req: pb.InitiateFormDataReq, *, base_url: str
    ) -> pb.InitiateFormDataResp:
        if not req.name:
            raise ArgsError("name is empty")
        if req.size <= 0:
            raise ArgsError("size must be greater than 0")
        check_upload_name(caller, req.name)
        if req.size > self.limits.max_size:
            raise ArgsError(f"size must be at most {self.limits.max_size} bytes")
        expire_s, key = _FORM_EXPIRE_S, ""
        if caller.is_admin:
            expire_s = max(1, req.millisecond // 1000) if req.millisecond > 0 else _FORM_EXPIRE_S
            key = check_key(req.name) if req.absolute else ""
        now = self.clock.now_ms()
        upload_id = uuid.uuid4().hex
        if not key:
            date = datetime.fromtimestamp(now / 1000, UTC).strftime("%Y%m%d")
            key = f"openim/direct/{date}/{caller.user_id}/{upload_id}{_extension(req.name)}"
        form = await self.store.form(
            key, size=req.size, content_type=req.contentType, expire_s=expire_s, base_url=base_url, now_ms=now
        )
        await self.storage.object.create_upload(
            ObjectUpload(
                upload_id,
                "form",
                self.engine,
                caller.user_id,
                req.name,
                "",
                req.size,
                0,
                req.contentType,
                req.group,
                key,
                "",
                now,
                form.expires_ms + _FORM_GRACE_MS,
            )
        )
        return pb.InitiateFormDataResp(
            id=upload_id,
            url=form.url,
            file=form.file,
            formData=form.form_data,
            expires=form.expires_ms,
            successCodes=list(form.success_codes),
        )

    async def complete_form_data(
        self, caller: Caller, req: pb.CompleteFormDataReq, *, url_prefix: str
    ) -> pb.CompleteFormDataResp:
        if not req.id:
            raise ArgsError("id is empty")
        upload = await self._own_upload(caller, req.id, "form")
        check_upload_name(caller, upload.name)
        stored = await self.store.stat(upload.key)
        if stored is None:
            raise RecordNotFoundError("nothing was uploaded with this form")
        if stored.size > 0 and stored.size != upload.size:
            raise ArgsError(f"file size mismatch: {stored.size} bytes uploaded, {upload.size} announced")
        info = ObjectInfo(
            self.engine,
            upload.name,
            caller.user_id,
            "etag_" + stored.etag,
            stored.key,
            stored.size,
            upload.content_type,
            upload.cause,
            self.clock.now_ms(),
        )
        await self.storage.object.finish_upload(upload.upload_id, info)
        return pb.CompleteFormDataResp(url=url_prefix + upload.name)

    # --- clean-up -------------------------------------------------------------------------------------------

    async def cleanup(self, *, limit: int = 100) -> int:
        """Remove uploads past their expiry with what they stored; returns how many were removed."""
        expired = await self.storage.object.expired_uploads(self.clock.now_ms(), limit=limit)
        for upload in expired:
            if upload.engine == self.engine:
                if upload.kind == "multipart":
                    await self.store.abort_multipart(upload.key, upload.engine_upload_id)
                elif await self.storage.object.count_key(self.engine, upload.key) == 0:
                    await self.store.delete(upload.key)  # a form upload never completed
            await self.storage.object.delete_upload(upload.upload_id)
        return len(expired)

    # --- helpers --------------------------------------------------------------------------------------------

    async def _own_upload(self, caller: Caller, upload_id: str, kind: str) -> ObjectUpload:
        upload = await self.storage.object.get_upload(upload_id) if len(upload_id) <= 64 else None
        if upload is None or upload.kind != kind or upload.engine != self.engine:
            raise RecordNotFoundError(f"upload {upload_id!r} not found (completed, expired or never begun)")
        if upload.user_id != caller.user_id and not caller.is_admin:
            raise NoPermissionError("the upload belongs to another user")
        if upload.expire_time <= self.clock.now_ms():
            raise RecordNotFoundError(f"upload {upload_id!r} expired")
        return upload

    async def _sign(self, upload: ObjectUpload, numbers: list[int], base_url: str) -> SignedParts:
        remaining_s = max(1, (upload.expire_time - self.clock.now_ms()) // 1000)
        return await self.store.sign_parts(
            upload.key,
            upload.engine_upload_id,
            numbers,
            part_size=upload.part_size,
            expire_s=remaining_s,
            base_url=base_url,
        )

    def _object(
        self, caller: Caller, name: str, digest: str, key: str, size: int, req: pb.InitiateMultipartUploadReq
    ) -> ObjectInfo:
        return ObjectInfo(
            self.engine, name, caller.user_id, digest, key, size, req.contentType, req.cause, self.clock.now_ms()
        )


def _part_count(upload: ObjectUpload) -> int:
    return -(-upload.size // upload.part_size)


def _pb_parts(signed: SignedParts) -> list[pb.SignPart]:
    out = []
    for part in signed.parts:
        sp = pb.SignPart(partNumber=part.part_number, url=part.url)
        _fill_kv(sp.query, part.query)
        _fill_kv(sp.header, part.header)
        out.append(sp)
    return out


def _fill_kv(target: object, values: dict[str, list[str]]) -> None:
    for key, vals in values.items():
        target.add(key=key, values=vals)  # type: ignore[attr-defined]


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _extension(name: str) -> str:
    ext = posixpath.splitext(name)[1]
    return ext if len(ext) <= 16 and ext[1:].isalnum() else ""
