"""/storage/*: the local object store over HTTP (object.enable: local), what signed URLs point at.

GET (and HEAD) send a file with its Content-Type and Length, honour Range requests and stream from disk; PUT
receives one part of a multipart upload; POST /storage/form receives a browser's POST-policy upload. Each request
must carry a valid, unexpired signature (`infra/objects/local.py`), else 403; no token, as with S3 URLs. With an
S3 engine these routes answer 404: the bytes are in the bucket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, PlainTextResponse, Response

from openim.api.deps import ObjectDep
from openim.infra.objects.local import LocalStore, StoreRefused
from openim.services.object import ObjectService

router = APIRouter(prefix="/storage", tags=["storage"], include_in_schema=False)

_FORM_FIELD_LIMIT = 64 << 10  # bytes of one non-file form field


def _local(obj: ObjectService) -> LocalStore:
    if not isinstance(obj.store, LocalStore):
        raise StoreRefused(404, "the object store is not local")
    return obj.store


def _refused(exc: StoreRefused) -> Response:
    return PlainTextResponse(str(exc), status_code=exc.status)


@router.post("/form")
async def form_upload(request: Request, obj: ObjectDep) -> Response:
    try:
        store = _local(obj)
        async with request.form(max_files=1, max_fields=16, max_part_size=_FORM_FIELD_LIMIT) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return PlainTextResponse("the form has no file field", status_code=400)
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            await store.write_form(fields, _chunks(upload), upload.content_type or "")
    except StoreRefused as exc:
        return _refused(exc)
    return Response(status_code=204)


@router.api_route("/{key:path}", methods=["GET", "HEAD"])
async def get_object(key: str, request: Request, obj: ObjectDep) -> Response:
    try:
        found = _local(obj).open_get(key, request.query_params)
    except StoreRefused as exc:
        return _refused(exc)
    headers = {"Cache-Control": "private, max-age=86400"}
    if found.filename:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(found.filename)}"
    return FileResponse(found.path, media_type=found.content_type, headers=headers)


@router.put("/{key:path}")
async def put_part(key: str, request: Request, obj: ObjectDep) -> Response:
    length = request.headers.get("content-length")
    try:
        etag = await _local(obj).write_part(
            key, request.query_params, request.stream(), int(length) if length and length.isdigit() else None
        )
    except StoreRefused as exc:
        return _refused(exc)
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(1 << 20):
        yield chunk
