"""The object tests' client: the SDK's upload flow over HTTP, and test data."""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from openim.infra.clock import FakeClock
from openim.runtime import Runtime
from openim.settings import Settings

PART = 64 << 10  # object.minPartSize in these tests (moto is told the same minimum)
BASE = "http://openim.test"


def object_settings(engine: str, db_url: str, root: Path, s3_address: str = "") -> Settings:
    data: dict[str, Any] = {
        "database": {"url": db_url},
        "object": {"enable": engine, "local": {"path": str(root)}, "minPartSize": PART, "maxSize": 64 << 20},
    }
    if engine == "minio":
        data["minio"] = {"internalAddress": s3_address, "bucket": "openim-test", "accessKeyID": "test"}
    return Settings.model_validate(data)


@dataclass
class ObjApi:
    http: httpx.AsyncClient
    runtime: Runtime
    clock: FakeClock
    root: Path
    tokens: dict[str, str]

    async def post(self, path: str, body: Any, user: str = "alice") -> dict[str, Any]:
        headers = {"operationID": f"op-{time.monotonic_ns()}", "token": self.tokens[user]}
        resp = await self.http.post(BASE + path, json=body, headers=headers)
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()
        return result

    async def ok(self, path: str, body: Any, user: str = "alice") -> Any:
        result = await self.post(path, body, user)
        assert result["errCode"] == 0, result
        return result.get("data")

    async def upload(self, data: bytes, name: str, *, user: str = "alice", content_type: str = "") -> str:
        """The SDK's flow: part size from part_limit, md5 per part, hash of the hashes, PUT to signed URLs."""
        limit = await self.ok("/object/part_limit", {}, user)
        part_size = int(limit["minPartSize"])
        parts = [data[i : i + part_size] for i in range(0, len(data), part_size)]
        md5s = [hashlib.md5(p).hexdigest() for p in parts]
        digest = hashlib.md5(",".join(md5s).encode()).hexdigest()
        req = {"hash": digest, "size": len(data), "partSize": part_size, "maxParts": min(2, len(parts)),
               "name": name, "contentType": content_type, "cause": "test"}  # fmt: skip
        init = await self.ok("/object/initiate_multipart_upload", req, user)
        if init.get("upload") is None:
            return str(init["url"])
        upload = init["upload"]
        assert int(upload["partSize"]) == part_size
        urls = {p["partNumber"]: p["url"] for p in upload["sign"]["parts"]}
        missing = [n for n in range(1, len(parts) + 1) if n not in urls]
        if missing:
            signed = await self.ok("/object/auth_sign", {"uploadID": upload["uploadID"], "partNumbers": missing}, user)
            urls.update({p["partNumber"]: p["url"] for p in signed["parts"]})
        for n, part in enumerate(parts, 1):
            resp = await self.http.put(urls[n], content=part)
            assert resp.status_code == 200, resp.text
        done = await self.ok(
            "/object/complete_multipart_upload",
            {"uploadID": upload["uploadID"], "parts": md5s, "name": name, "contentType": content_type},
            user,
        )
        return str(done["url"])

    async def download(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """GET an /object/<name> URL (302) and follow it to the store."""
        resp = await self.http.get(url)
        assert resp.status_code == 302, resp.text
        return await self.http.get(resp.headers["location"], headers=headers)


def png(width: int, height: int) -> bytes:
    img = Image.new("RGB", (width, height))
    for x in range(width):
        img.putpixel((x, x * height // width), (255, x % 256, 0))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
