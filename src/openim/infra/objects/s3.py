"""S3Store: objects in a bucket of any S3-compatible server (MinIO, AWS S3, ...), through boto3.

Two clients: one talks to the server at its internal address (stat, multipart, copy, delete), the other only
signs, with the external address clients reach (OpenIM's `minio.internalAddress` / `externalAddress`): SigV4
signs the Host, so a URL must be signed for the host it will be sent to. Part uploads and downloads are presigned
URLs (SigV4, at most 7 days); browser uploads are presigned POST policies. The bucket stays private and is created
when missing. boto3 is synchronous: every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from openim.infra.objects.store import FormUpload, PartMismatch, SignedPart, SignedParts, StoredObject

__all__ = ["S3Store"]

T = TypeVar("T")
_MAX_PRESIGN_S = 7 * 86400  # SigV4's limit


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Store:
    def __init__(self, engine: str, client: Any, signer: Any, bucket: str, sign_endpoint: str) -> None:
        self.engine = engine
        self._client = client
        self._signer = signer
        self.bucket = bucket
        self._sign_endpoint = sign_endpoint.rstrip("/")

    @classmethod
    async def open(
        cls,
        engine: str,
        *,
        bucket: str,
        endpoint: str | None,
        sign_endpoint: str | None,
        access_key: str,
        secret_key: str,
        session_token: str = "",
        region: str = "us-east-1",
    ) -> S3Store:
        """Connect, and create the bucket when it does not exist."""

        def client(url: str | None) -> Any:
            return boto3.client(
                "s3",
                endpoint_url=url,
                region_name=region,
                aws_access_key_id=access_key or None,
                aws_secret_access_key=secret_key or None,
                aws_session_token=session_token or None,
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
            )

        store = cls(
            engine,
            client(endpoint),
            client(sign_endpoint),
            bucket,
            sign_endpoint or f"https://s3.{region}.amazonaws.com",
        )
        await store._call(store._ensure_bucket, region)
        return store

    def _ensure_bucket(self, region: str) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            self._client.create_bucket(Bucket=self.bucket, **extra)

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def stat(self, key: str) -> StoredObject | None:
        try:
            head = await self._call(self._client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return StoredObject(key, int(head["ContentLength"]), str(head.get("ETag", "")).strip('"').lower())

    async def begin_multipart(self, key: str, content_type: str) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        resp = await self._call(self._client.create_multipart_upload, Bucket=self.bucket, Key=key, **extra)
        return str(resp["UploadId"])

    async def sign_parts(
        self, key: str, upload_id: str, part_numbers: list[int], *, part_size: int, expire_s: int, base_url: str
    ) -> SignedParts:
        expires = min(expire_s, _MAX_PRESIGN_S)
        parts = []
        for n in part_numbers:
            params = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": n}
            url = self._signer.generate_presigned_url("upload_part", Params=params, ExpiresIn=expires)
            parts.append(SignedPart(n, str(url)))
        return SignedParts(f"{self._sign_endpoint}/{self.bucket}/{quote(key)}", parts)

    async def complete_multipart(self, key: str, upload_id: str, part_md5s: list[str], *, size: int) -> StoredObject:
        return await self._call(self._complete, key, upload_id, part_md5s, size)

    def _complete(self, key: str, upload_id: str, part_md5s: list[str], size: int) -> StoredObject:
        uploaded: dict[int, tuple[str, int]] = {}
        try:
            pages = self._client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=key, UploadId=upload_id)
            for page in pages:
                for part in page.get("Parts", []):
                    uploaded[int(part["PartNumber"])] = (str(part["ETag"]).strip('"').lower(), int(part["Size"]))
        except ClientError as exc:
            if _code(exc) == "NoSuchUpload":
                raise PartMismatch("the upload is gone from the bucket (aborted or expired)") from None
            raise
        total = 0
        for number, expected in enumerate(part_md5s, 1):
            if number not in uploaded:
                raise PartMismatch(f"part {number} was not uploaded")
            etag, part_size = uploaded[number]
            if etag != expected.lower():
                raise PartMismatch(f"part {number}: md5 is {etag}, not {expected}")
            total += part_size
        if total != size:
            raise PartMismatch(f"the parts hold {total} bytes, the upload announced {size}")
        parts = [{"ETag": f'"{md5.lower()}"', "PartNumber": n} for n, md5 in enumerate(part_md5s, 1)]
        done = self._client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
        return StoredObject(key, total, str(done.get("ETag", "")).strip('"').lower())

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            await self._call(self._client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if _code(exc) not in ("NoSuchUpload", "404"):
                raise

    async def access_url(
        self, key: str, *, expire_s: int, base_url: str, content_type: str = "", filename: str = ""
    ) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if content_type:
            params["ResponseContentType"] = content_type
        if filename:
            params["ResponseContentDisposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
        url = self._signer.generate_presigned_url("get_object", Params=params, ExpiresIn=min(expire_s, _MAX_PRESIGN_S))
        return str(url)

    async def read(self, key: str, *, limit: int) -> bytes:
        def read() -> bytes:
            resp = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{limit - 1}")
            body = resp["Body"]
            try:
                return bytes(body.read(limit))
            finally:
                body.close()

        return await self._call(read)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await self._call(self._client.put_object, Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    async def form(
        self, key: str, *, size: int, content_type: str, expire_s: int, base_url: str, now_ms: int
    ) -> FormUpload:
        fields: dict[str, str] = {"success_action_status": "200"}
        conditions: list[Any] = [["content-length-range", 0, size], {"success_action_status": "200"}]
        if content_type:
            fields["Content-Type"] = content_type
            conditions.append({"Content-Type": content_type})
        expires = min(expire_s, _MAX_PRESIGN_S)
        post = self._signer.generate_presigned_post(
            self.bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=expires
        )
        return FormUpload(str(post["url"]), {k: str(v) for k, v in post["fields"].items()}, now_ms + expires * 1000)

    async def delete(self, key: str) -> None:
        await self._call(self._client.delete_object, Bucket=self.bucket, Key=key)
