"""ObjectStore: the protocol every object engine implements, and the values it returns.

Keys are the store's own paths (`openim/data/hash/<hash>`, `openim/thumbnail/…`, `openim/direct/…`), chosen by
the object service, never by a client. Every URL a store hands out is signed and expires: the store is private.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["FormUpload", "ObjectStore", "PartMismatch", "SignedPart", "SignedParts", "StoredObject"]


class PartMismatch(Exception):
    """A completed upload's parts do not match what the client announced (a part missing, its md5, the size)."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    etag: str  # the md5 of the bytes for single uploads; an engine's own tag for multipart ones


@dataclass(frozen=True, slots=True)
class SignedPart:
    part_number: int
    url: str  # the whole URL to PUT the part to (query included)
    query: dict[str, list[str]] = field(default_factory=dict)
    header: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SignedParts:
    url: str
    parts: list[SignedPart]
    query: dict[str, list[str]] = field(default_factory=dict)
    header: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FormUpload:
    """A browser POST-policy upload: POST multipart/form-data to `url` with `form_data` and the file as `file`."""

    url: str
    form_data: dict[str, str]
    expires_ms: int
    file: str = "file"
    success_codes: tuple[int, ...] = (200, 204)


class ObjectStore(Protocol):
    """What the object service needs from an engine. `base_url` is where the API role is reached by the client
    (the local engine's URLs point there; S3 engines ignore it and use their external address)."""

    engine: str

    async def stat(self, key: str) -> StoredObject | None:
        """The stored key's size and tag, or None when it does not exist."""
        ...

    async def begin_multipart(self, key: str, content_type: str) -> str:
        """Start a multipart upload to `key`; returns the engine's upload id."""
        ...

    async def sign_parts(
        self, key: str, upload_id: str, part_numbers: list[int], *, part_size: int, expire_s: int, base_url: str
    ) -> SignedParts:
        """Signed PUT URLs for the given parts of an upload, valid for `expire_s`."""
        ...

    async def complete_multipart(self, key: str, upload_id: str, part_md5s: list[str], *, size: int) -> StoredObject:
        """Join the parts into `key`; raise PartMismatch when a part is missing, its md5 differs or the total
        size is not `size`."""
        ...

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop an upload and whatever parts it received; a no-op when it is gone already."""
        ...

    async def access_url(
        self, key: str, *, expire_s: int, base_url: str, content_type: str = "", filename: str = ""
    ) -> str:
        """A signed GET URL for `key`, answering with that Content-Type and attachment filename when given."""
        ...

    async def read(self, key: str, *, limit: int) -> bytes:
        """The first `limit` bytes of `key` (thumbnails read images whole, up to a bound)."""
        ...

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store small generated data (thumbnails)."""
        ...

    async def form(
        self, key: str, *, size: int, content_type: str, expire_s: int, base_url: str, now_ms: int
    ) -> FormUpload:
        """A POST-policy for a browser to upload at most `size` bytes to `key` before it expires."""
        ...

    async def delete(self, key: str) -> None:
        """Remove `key`; a no-op when it does not exist."""
        ...
