"""LocalStore: objects as files under one folder, served by the API role through HMAC-signed, expiring URLs.

Layout under the root (`object.local.path`, default `data/objects`): each key is a file at its own path
(`openim/data/hash/<hash>`, `openim/thumbnail/…`, `openim/direct/…`); an upload in progress is a folder
`.uploads/<uploadID>/` holding one file per part. Files are written to a temporary name and renamed into place,
so a crash (kill -9) leaves whole files or none, and an upload's received parts stay for a later completion.

URLs are `<base>/storage/<key>?…&expires=<unix s>&signature=<hex>`, the signature an HMAC-SHA256 over the
method, the key and every other query parameter, keyed by a secret derived from the server's `secret`: without a
valid, unexpired signature the API role refuses the request (403). Part uploads carry the upload and part number
and the largest size accepted; downloads carry the Content-Type and file name to answer with.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import orjson

from openim.infra.clock import Clock
from openim.infra.objects.store import FormUpload, PartMismatch, SignedPart, SignedParts, StoredObject

__all__ = ["STORAGE_PATH", "LocalFile", "LocalStore", "StoreRefused"]

STORAGE_PATH = "/storage"  # where the API role serves the local store
_UPLOADS = ".uploads"
_CHUNK = 1 << 20


class StoreRefused(Exception):
    """A request to the local store that is not allowed; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file the API role may send: its path and the headers the signed URL asked for."""

    path: Path
    content_type: str
    filename: str


class LocalStore:
    engine = "local"

    def __init__(self, root: Path, *, secret: str, clock: Clock) -> None:
        self.root = root
        self.clock = clock
        self._key = hashlib.sha256(b"openim-objects\0" + secret.encode()).digest()

    # --- paths and signatures -------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") or p.startswith(".") for p in parts) or "\\" in key or "\0" in key:
            raise StoreRefused(400, "invalid key")
        return self.root.joinpath(*parts)

    def _upload_dir(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise StoreRefused(400, "invalid uploadID")
        return self.root / _UPLOADS / upload_id

    def _signature(self, method: str, key: str, params: Mapping[str, str]) -> str:
        signed = "\n".join([method, key, *(f"{k}={params[k]}" for k in sorted(params))])
        return hmac.new(self._key, signed.encode(), hashlib.sha256).hexdigest()

    def _url(self, base_url: str, method: str, key: str, params: dict[str, str]) -> str:
        query = {**params, "signature": self._signature(method, key, params)}
        return f"{base_url}{STORAGE_PATH}/{quote(key)}?{urlencode(query)}"

    def verify(self, method: str, key: str, query: Mapping[str, str]) -> dict[str, str]:
        """The signed parameters of a request, or StoreRefused(403) when unsigned, tampered with or expired."""
        params = {k: v for k, v in query.items() if k != "signature"}
        given = query.get("signature", "")
        if not given or not hmac.compare_digest(given, self._signature(method, key, params)):
            raise StoreRefused(403, "signature does not match")
        try:
            expires = int(params.get("expires", ""))
        except ValueError:
            raise StoreRefused(403, "signature has no expiry") from None
        if expires < self.clock.now_s():
            raise StoreRefused(403, "signature expired")
        return params

    # --- ObjectStore ------------------------------------------------------------------------------------------

    async def stat(self, key: str) -> StoredObject | None:
        try:
            st = self._path(key).stat()
        except FileNotFoundError:
            return None
        return StoredObject(key, st.st_size, f"{st.st_size:x}-{st.st_mtime_ns:x}")

    async def begin_multipart(self, key: str, content_type: str) -> str:
        self._path(key)
        upload_id = uuid.uuid4().hex
        self._upload_dir(upload_id).mkdir(parents=True)
        return upload_id

    async def sign_parts(
        self, key: str, upload_id: str, part_numbers: list[int], *, part_size: int, expire_s: int, base_url: str
    ) -> SignedParts:
        expires = str(self.clock.now_s() + expire_s)
        parts = []
        for n in part_numbers:
            params = {"uploadID": upload_id, "partNumber": str(n), "maxSize": str(part_size), "expires": expires}
            parts.append(SignedPart(n, self._url(base_url, "PUT", key, params)))
        return SignedParts(f"{base_url}{STORAGE_PATH}/{quote(key)}", parts)

    async def complete_multipart(self, key: str, upload_id: str, part_md5s: list[str], *, size: int) -> StoredObject:
        return await asyncio.to_thread(self._assemble, key, upload_id, part_md5s, size)

    def _assemble(self, key: str, upload_id: str, part_md5s: list[str], size: int) -> StoredObject:
        folder = self._upload_dir(upload_id)
        target = self._path(key)
        tmp = folder / f"assemble-{uuid.uuid4().hex}"
        whole = hashlib.md5()
        total = 0
        try:
            with tmp.open("wb") as out:
                for number, expected in enumerate(part_md5s, 1):
                    part = hashlib.md5()
                    try:
                        src = (folder / str(number)).open("rb")
                    except FileNotFoundError:
                        raise PartMismatch(f"part {number} was not uploaded") from None
                    with src:
                        while chunk := src.read(_CHUNK):
                            part.update(chunk)
                            whole.update(chunk)
                            out.write(chunk)
                            total += len(chunk)
                    if part.hexdigest() != expected.lower():
                        raise PartMismatch(f"part {number}: md5 is {part.hexdigest()}, not {expected}")
                if total != size:
                    raise PartMismatch(f"the parts hold {total} bytes, the upload announced {size}")
                out.flush()
                os.fsync(out.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        return StoredObject(key, total, whole.hexdigest())

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self._upload_dir(upload_id), True)

    async def access_url(
        self, key: str, *, expire_s: int, base_url: str, content_type: str = "", filename: str = ""
    ) -> str:
        params = {"expires": str(self.clock.now_s() + expire_s)}
        if content_type:
            params["ct"] = content_type
        if filename:
            params["fn"] = filename
        return self._url(base_url, "GET", key, params)

    async def read(self, key: str, *, limit: int) -> bytes:
        def read() -> bytes:
            with self._path(key).open("rb") as f:
                return f.read(limit)

        return await asyncio.to_thread(read)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(self._write_whole, self._path(key), data)

    def _write_whole(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    async def form(
        self, key: str, *, size: int, content_type: str, expire_s: int, base_url: str, now_ms: int
    ) -> FormUpload:
        self._path(key)
        expires_ms = now_ms + expire_s * 1000
        policy = {"key": key, "maxSize": size, "contentType": content_type, "expires": expires_ms // 1000}
        encoded = base64.urlsafe_b64encode(orjson.dumps(policy)).decode()
        fields = {"key": key, "policy": encoded, "signature": self._signature("POST", key, {"policy": encoded})}
        return FormUpload(f"{base_url}{STORAGE_PATH}/form", fields, expires_ms)

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    # --- what the API role's /storage routes call ----------------------------------------------------------

    def open_get(self, key: str, query: Mapping[str, str]) -> LocalFile:
        """The file a signed GET URL names (403 on a bad signature, 404 when the key is gone)."""
        params = self.verify("GET", key, query)
        path = self._path(key)
        if not path.is_file():
            raise StoreRefused(404, "no such object")
        return LocalFile(path, params.get("ct", "") or "application/octet-stream", params.get("fn", ""))

    async def write_part(
        self, key: str, query: Mapping[str, str], body: AsyncIterator[bytes], content_length: int | None
    ) -> str:
        """Store one part PUT to a signed URL, streamed to disk; returns its md5 (the ETag S3 answers with)."""
        params = self.verify("PUT", key, query)
        folder = self._upload_dir(params.get("uploadID", ""))
        if not folder.is_dir():
            raise StoreRefused(404, "no such upload (completed, aborted or expired)")
        number = int(params.get("partNumber", "0"))
        max_size = int(params.get("maxSize", "0"))
        return await _stream_to(folder / str(number), body, max_size, content_length)

    async def write_form(self, fields: Mapping[str, str], body: AsyncIterator[bytes], content_type: str) -> str:
        """Store a browser's POST-policy upload; returns its key."""
        encoded = fields.get("policy", "")
        key = fields.get("key", "")
        given = fields.get("signature", "")
        if not given or not hmac.compare_digest(given, self._signature("POST", key, {"policy": encoded})):
            raise StoreRefused(403, "policy signature does not match")
        try:
            policy = orjson.loads(base64.urlsafe_b64decode(encoded))
        except (ValueError, orjson.JSONDecodeError):
            raise StoreRefused(400, "invalid policy") from None
        if policy.get("key") != key:
            raise StoreRefused(403, "key differs from the policy's")
        if int(policy.get("expires", 0)) < self.clock.now_s():
            raise StoreRefused(403, "policy expired")
        if policy.get("contentType") and content_type and policy["contentType"] != content_type:
            raise StoreRefused(403, "Content-Type differs from the policy's")
        await _stream_to(self._path(key), body, int(policy.get("maxSize", 0)), None)
        return key


async def _stream_to(target: Path, body: AsyncIterator[bytes], max_size: int, content_length: int | None) -> str:
    """Write `body` to `target` through a temporary file, refusing more than `max_size` bytes (413)."""
    if content_length is not None and content_length > max_size:
        raise StoreRefused(413, f"more than {max_size} bytes")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    digest = hashlib.md5()
    written = 0
    try:
        with tmp.open("wb") as out:
            async for chunk in body:
                written += len(chunk)
                if written > max_size:
                    raise StoreRefused(413, f"more than {max_size} bytes")
                digest.update(chunk)
                await asyncio.to_thread(out.write, chunk)
            out.flush()
            await asyncio.to_thread(os.fsync, out.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return digest.hexdigest()
