"""/object/*: OpenIM's upload and download routes (spec §3.6), answered by the object service.

Requests and responses are OpenIM's protobuf messages (`openim.object`, the object half of `openim.third`)
through the `api/pb.py` bridge, like /msg and /conversation: the SDKs send them as Go JSON. The URL prefix of the
answers (`<api>/object/<name>`) is OpenIM's: the `X-Request-Api` header when a proxy sets it, else the scheme and
Host of the request. `GET /object/<name>` needs no token (an `<img src>` sends none): it redirects (302) to a
signed URL that expires; unknown names are 404, bad queries 400, as plain text.
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from openim.api.deps import ApiBase, CallerDep, ObjectDep
from openim.api.openapi import plain_text, redirect
from openim.api.pb import PbRouter
from openim.protocol.errors import ArgsError, OpenIMError, RecordNotFoundError
from openim.protocol.pb import object_pb2 as pb

router = PbRouter(prefix="/object", tags=["object"])


@router.pb("/part_limit")
async def part_limit(req: pb.PartLimitReq, caller: CallerDep, obj: ObjectDep) -> pb.PartLimitResp:
    """The smallest and largest part and the most parts of an upload."""
    return obj.part_limit()


@router.pb("/part_size")
async def part_size(req: pb.PartSizeReq, caller: CallerDep, obj: ObjectDep) -> pb.PartSizeResp:
    """The part size for an object of `size` bytes."""
    return pb.PartSizeResp(size=obj.part_size(req.size))


@router.pb("/initiate_multipart_upload")
async def initiate_multipart_upload(
    req: pb.InitiateMultipartUploadReq, caller: CallerDep, obj: ObjectDep, base: ApiBase
) -> pb.InitiateMultipartUploadResp:
    """Begin an upload (signed part URLs), or answer the URL at once when the hash is stored already."""
    return await obj.initiate_multipart_upload(caller, req, url_prefix=base + "/object/", base_url=base)


@router.pb("/auth_sign")
async def auth_sign(req: pb.AuthSignReq, caller: CallerDep, obj: ObjectDep, base: ApiBase) -> pb.AuthSignResp:
    """Signed PUT URLs for more parts of the caller's upload."""
    return await obj.auth_sign(caller, req, base_url=base)


@router.pb("/complete_multipart_upload")
async def complete_multipart_upload(
    req: pb.CompleteMultipartUploadReq, caller: CallerDep, obj: ObjectDep, base: ApiBase
) -> pb.CompleteMultipartUploadResp:
    """Check the parts against the announced hash, join them and record the name."""
    return await obj.complete_multipart_upload(caller, req, url_prefix=base + "/object/")


@router.pb("/access_url")
async def access_url(req: pb.AccessURLReq, caller: CallerDep, obj: ObjectDep, base: ApiBase) -> pb.AccessURLResp:
    """A signed, expiring URL of the object (or of an image thumbnail with type=image&width&height&format)."""
    return await obj.access_url(req, base_url=base)


@router.pb("/initiate_form_data")
async def initiate_form_data(
    req: pb.InitiateFormDataReq, caller: CallerDep, obj: ObjectDep, base: ApiBase
) -> pb.InitiateFormDataResp:
    """A POST policy for a browser to upload one file."""
    return await obj.initiate_form_data(caller, req, base_url=base)


@router.pb("/complete_form_data")
async def complete_form_data(
    req: pb.CompleteFormDataReq, caller: CallerDep, obj: ObjectDep, base: ApiBase
) -> pb.CompleteFormDataResp:
    """Record the name of a file a browser uploaded with its POST policy."""
    return await obj.complete_form_data(caller, req, url_prefix=base + "/object/")


@router.get(
    "/{name:path}",
    response_class=Response,
    status_code=302,
    responses={
        302: redirect("to a signed, expiring URL of the object (or of its thumbnail)"),
        400: plain_text("a bad query (thumbnail parameters)"),
        404: plain_text("no object of this name"),
    },
)
async def object_redirect(name: str, request: Request, obj: ObjectDep, base: ApiBase) -> Response:
    """302 to a signed URL of the object; no token needed. The query is passed on (type=image&width&height)."""
    if not name:
        return PlainTextResponse("name is empty", status_code=400)
    query = {k: v for k, v in request.query_params.items()}
    try:
        resp = await obj.access_url(pb.AccessURLReq(name=name.lstrip("/"), query=query), base_url=base)
    except ArgsError as exc:
        return PlainTextResponse(str(exc), status_code=400)
    except RecordNotFoundError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    except OpenIMError as exc:
        return PlainTextResponse(str(exc), status_code=500)
    return RedirectResponse(resp.url, status_code=302)
