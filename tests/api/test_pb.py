"""api/pb.py, the protobuf bridge: JSON and x-protobuf decoding, Go-shaped envelopes, errors, OpenAPI (tiny app)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.api.conftest import Api

from openim.api.deps import CallerDep, OperationID
from openim.api.middleware import OpenIMMiddleware
from openim.api.openapi import install_contract
from openim.api.pb import PbRouter, json_schema
from openim.protocol.errors import NoPermissionError
from openim.protocol.pb import conversation_pb2, jssdk_pb2, msg_pb2, sdkws_pb2
from openim.services.auth import Caller

router = PbRouter(prefix="/t", tags=["test"])


@router.pb("/max_seq")
async def max_seq(req: sdkws_pb2.GetMaxSeqReq, caller: CallerDep) -> sdkws_pb2.GetMaxSeqResp:
    """Echo: one maxSeqs entry named after the request's userID, valued by the caller's platform."""
    return sdkws_pb2.GetMaxSeqResp(maxSeqs={f"si_{req.userID}": caller.platform_id})


@router.pb("/void")
async def void(req: msg_pb2.RevokeMsgReq) -> None:
    """Returns nothing, like every route whose OpenIM response is empty."""
    if req.userID == "forbidden":
        raise NoPermissionError("not yours")


@router.pb("/empty")
async def empty(req: msg_pb2.RevokeMsgReq) -> msg_pb2.RevokeMsgResp:
    return msg_pb2.RevokeMsgResp()


@router.pb("/zero")
async def zero(req: msg_pb2.GetServerTimeReq, op: OperationID) -> msg_pb2.GetServerTimeResp:
    return msg_pb2.GetServerTimeResp(serverTime=len(op) if op == "count-me" else 0)


@router.pb("/pull")
async def pull(req: sdkws_pb2.PullMessageBySeqsReq) -> sdkws_pb2.PullMessageBySeqsResp:
    resp = sdkws_pb2.PullMessageBySeqsResp()
    for r in req.seqRanges:
        msg = sdkws_pb2.MsgData(sendID=req.userID, seq=r.begin, content=b'{"content":"hi"}')
        resp.msgs[r.conversationID].Msgs.append(msg)
    return resp


@router.pb("/conv")
async def conv(req: conversation_pb2.SetConversationsReq) -> None:
    pass


@router.pb("/jssdk", protobuf=True)
async def jssdk(req: jssdk_pb2.GetActiveConversationsReq, caller: CallerDep) -> jssdk_pb2.GetActiveConversationsResp:
    if req.count == 0:
        return jssdk_pb2.GetActiveConversationsResp()
    if req.count < 0:
        raise NoPermissionError("negative")
    msg = sdkws_pb2.MsgData(sendID="userA", recvID=caller.user_id, seq=1, content=b'{"content":"hello from A"}')
    item = jssdk_pb2.ConversationMsg(lastMsg=msg, maxSeq=1)
    item.conversation.ownerUserID = req.ownerUserID
    return jssdk_pb2.GetActiveConversationsResp(unreadCount=req.count, conversations=[item])


async def _authenticate(token: str) -> Caller:
    return Caller(token, 5)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(router)
    install_contract(app)
    app.add_middleware(OpenIMMiddleware, authenticate=_authenticate)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def _post(
    http: httpx.AsyncClient, path: str, content: bytes, content_type: str | None = "application/json", op: str = "op"
) -> dict[str, Any]:
    headers = {"operationID": op, "token": "userB"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    resp = await http.post(path, content=content, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    body: dict[str, Any] = resp.json()
    return body


async def test_json_request_and_go_shaped_response(http: httpx.AsyncClient) -> None:
    """Keys match case-insensitively; the answer has every field, a null for the empty map, the caller injected."""
    body = await _post(http, "/t/max_seq", b'{"UserID": "alice", "unknown": [1, 2]}')
    assert body == {"errCode": 0, "errMsg": "", "errDlt": "", "data": {"maxSeqs": {"si_alice": 5}, "minSeqs": None}}


async def test_nested_messages_print_in_go_shape(http: httpx.AsyncClient) -> None:
    """PullMsgs keeps its capital `Msgs`, MsgData prints all fields and its content as base64."""
    req = b'{"userID": "a", "seqRanges": [{"conversationID": "si_a_b", "begin": 7, "end": 9, "num": 3}], "order": 0}'
    body = await _post(http, "/t/pull", req)
    data = body["data"]
    assert data["notificationMsgs"] is None
    pulled = data["msgs"]["si_a_b"]
    assert set(pulled) == {"Msgs", "isEnd", "endSeq"}
    (msg,) = pulled["Msgs"]
    assert msg["seq"] == 7 and msg["sendID"] == "a"
    assert base64.b64decode(msg["content"]) == b'{"content":"hi"}'
    assert msg["options"] is None and msg["offlinePushInfo"] is None and msg["atUserIDList"] is None
    assert len(msg) == len(sdkws_pb2.MsgData.DESCRIPTOR.fields)


async def test_wrappers_decode_from_bare_scalars(http: httpx.AsyncClient) -> None:
    """Wrapper fields take bare scalars; a quoted boolean in one is 1001."""
    ok = await _post(http, "/t/conv", b'{"userIDs": ["a"], "conversation": {"isPinned": true, "ex": "x"}}')
    assert ok == {"errCode": 0, "errMsg": "", "errDlt": ""}
    bad = await _post(http, "/t/conv", b'{"userIDs": ["a"], "conversation": {"isPinned": "true"}}')
    assert bad["errCode"] == 1001 and "isPinned" in bad["errDlt"]


async def test_void_and_empty_responses_have_no_data(http: httpx.AsyncClient) -> None:
    """None and a response message without fields both print as the bare envelope."""
    for path in ("/t/void", "/t/empty"):
        body = await _post(http, path, b'{"conversationID": "c", "seq": 1, "userID": "u"}')
        assert body == {"errCode": 0, "errMsg": "", "errDlt": ""}


async def test_zero_valued_response_still_has_data(http: httpx.AsyncClient) -> None:
    """A response message with fields prints them even when all are zero; OperationID reaches the endpoint."""
    assert (await _post(http, "/t/zero", b"{}"))["data"] == {"serverTime": 0}
    assert (await _post(http, "/t/zero", b"{}", op="count-me"))["data"] == {"serverTime": 8}


async def test_null_body_is_the_zero_request(http: httpx.AsyncClient) -> None:
    """A JSON `null` body decodes to the zero-valued request, as in Go."""
    body = await _post(http, "/t/max_seq", b"null")
    assert body["data"] == {"maxSeqs": {"si_": 5}, "minSeqs": None}


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b'{"userID": ', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"userID": 5}', "GetMaxSeqReq.userID"),
        (b'{"userID": null, "x": 1}{}', "not valid JSON"),
        (b"[]", "array"),
        (b'"userID"', "string"),
    ],
)
async def test_bad_json_bodies_are_1001(http: httpx.AsyncClient, raw: bytes, needle: str) -> None:
    """Empty, malformed, mistyped and non-object bodies are 1001 ArgsError with a detail saying what is wrong."""
    body = await _post(http, "/t/max_seq", raw)
    assert body["errCode"] == 1001 and body["errMsg"] == "ArgsError"
    assert needle in body["errDlt"], body
    assert "data" not in body


async def test_wrong_integer_types_are_1001(http: httpx.AsyncClient) -> None:
    """A quoted number, a fraction and an out-of-range value for an int64 are all decoding errors."""
    for seq in (b'"1"', b"1.5", b"true", b"9223372036854775808"):
        body = await _post(http, "/t/void", b'{"seq": ' + seq + b"}")
        assert body["errCode"] == 1001, seq


async def test_content_type_is_ignored_on_json_routes(http: httpx.AsyncClient) -> None:
    """Routes other than /jssdk parse JSON whatever Content-Type says, as OpenIM's a2r does."""
    for content_type in (None, "text/plain", "application/x-protobuf"):
        body = await _post(http, "/t/max_seq", b'{"userID": "a"}', content_type)
        assert body["data"]["maxSeqs"] == {"si_a": 5}, content_type


async def test_service_errors_become_the_envelope(http: httpx.AsyncClient) -> None:
    """An OpenIMError raised by the endpoint reaches the middleware and prints as its errCode."""
    body = await _post(http, "/t/void", b'{"userID": "forbidden"}')
    assert body == {"errCode": 1002, "errMsg": "NoPermissionError", "errDlt": "not yours"}


# --- application/x-protobuf (the JS SDK's /jssdk calls) ------------------------------------------------------

TRACE_GET_ACTIVE_CONVERSATIONS = bytes.fromhex("0a05757365724210" + "14")  # ownerUserID "userB", count 20


async def test_protobuf_request_gets_base64_protobuf_data(http: httpx.AsyncClient) -> None:
    """The trace's 9-byte body decodes; `data` is the base64 of the serialized response, as the JS SDK decodes it."""
    assert len(TRACE_GET_ACTIVE_CONVERSATIONS) == 9
    body = await _post(http, "/t/jssdk", TRACE_GET_ACTIVE_CONVERSATIONS, "application/x-protobuf")
    assert body["errCode"] == 0 and isinstance(body["data"], str)
    resp = jssdk_pb2.GetActiveConversationsResp.FromString(base64.b64decode(body["data"], validate=True))
    assert resp.unreadCount == 20
    (item,) = resp.conversations
    assert item.conversation.ownerUserID == "userB"
    assert item.lastMsg.recvID == "userB" and item.lastMsg.content == b'{"content":"hello from A"}'


async def test_protobuf_content_type_variants(http: httpx.AsyncClient) -> None:
    """application/protobuf and a content type with parameters are protobuf too."""
    for content_type in ("application/protobuf", "application/x-protobuf; charset=binary"):
        body = await _post(http, "/t/jssdk", TRACE_GET_ACTIVE_CONVERSATIONS, content_type)
        assert body["errCode"] == 0 and isinstance(body["data"], str), content_type


async def test_protobuf_empty_response_is_an_empty_string(http: httpx.AsyncClient) -> None:
    """An empty response serializes to no bytes, so `data` is "" (Go prints an empty []byte so)."""
    body = await _post(
        http,
        "/t/jssdk",
        jssdk_pb2.GetActiveConversationsReq(ownerUserID="u").SerializeToString(),
        "application/x-protobuf",
    )
    assert body == {"errCode": 0, "errMsg": "", "errDlt": "", "data": ""}


async def test_protobuf_route_still_speaks_json(http: httpx.AsyncClient) -> None:
    """The same /jssdk route answers Go-shaped JSON to JSON callers (and to a missing Content-Type)."""
    for content_type in ("application/json", None):
        body = await _post(http, "/t/jssdk", b'{"ownerUserID": "userB", "count": 2}', content_type)
        data = body["data"]
        assert data["unreadCount"] == 2
        (item,) = data["conversations"]
        assert item["friend"] is None and item["readSeq"] == 0
        assert base64.b64decode(item["lastMsg"]["content"]) == b'{"content":"hello from A"}'


async def test_broken_protobuf_is_1001(http: httpx.AsyncClient) -> None:
    """Truncated or malformed protobuf bytes are 1001 naming the request message."""
    for raw in (b"\x0a\x05use", b"\xff\xff\xff", b"\x0a\x02\xff\xfe"):
        body = await _post(http, "/t/jssdk", raw, "application/x-protobuf")
        assert body["errCode"] == 1001, raw
        assert "openim.jssdk.GetActiveConversationsReq" in body["errDlt"]


async def test_unsupported_content_type_on_protobuf_route_is_1001(http: httpx.AsyncClient) -> None:
    """A /jssdk route rejects content types that are neither JSON nor protobuf, as OpenIM does."""
    body = await _post(http, "/t/jssdk", b'{"count": 1}', "text/plain")
    assert body["errCode"] == 1001 and "content type" in body["errDlt"]


async def test_protobuf_caller_gets_errors_as_json(http: httpx.AsyncClient) -> None:
    """Errors keep the JSON envelope for protobuf callers too."""
    raw = jssdk_pb2.GetActiveConversationsReq(count=-1).SerializeToString()
    body = await _post(http, "/t/jssdk", raw, "application/x-protobuf")
    assert body == {"errCode": 1002, "errMsg": "NoPermissionError", "errDlt": "negative"}


# --- registration and OpenAPI -----------------------------------------------------------------------------


def test_endpoint_without_a_message_parameter_is_refused() -> None:
    """Registering an endpoint with no (or two) protobuf parameters is a TypeError at import time."""
    bad = PbRouter()
    with pytest.raises(TypeError, match="exactly one"):

        @bad.pb("/x")
        async def nothing(caller: CallerDep) -> None:
            pass

    with pytest.raises(TypeError, match="exactly one"):

        @bad.pb("/y")
        async def two(a: msg_pb2.RevokeMsgReq, b: msg_pb2.RevokeMsgReq) -> None:
            pass


def test_endpoint_returning_something_else_is_refused() -> None:
    """An endpoint must be annotated to return a protobuf message or None."""
    bad = PbRouter()
    with pytest.raises(TypeError, match="must return"):

        @bad.pb("/x")  # type: ignore[type-var]
        async def returns_dict(req: msg_pb2.RevokeMsgReq) -> dict[str, int]:
            return {}


def test_decorator_returns_the_endpoint_unchanged() -> None:
    """The endpoint stays a plain coroutine function callable from tests and other code."""
    assert max_seq.__name__ == "max_seq"
    assert void.__doc__ is not None and "Returns nothing" in void.__doc__


async def test_openapi_names_the_messages(http: httpx.AsyncClient) -> None:
    """The OpenAPI operation carries the request schema, the message names and the x-protobuf alternative."""
    spec = (await http.get("/openapi.json")).json()
    op = spec["paths"]["/t/max_seq"]["post"]
    assert op["operationId"].startswith("max_seq")
    assert "`openim.sdkws.GetMaxSeqReq`" in op["description"]
    assert "`openim.sdkws.GetMaxSeqResp`" in op["description"]
    assert "Echo" in op["description"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["title"] == "openim.sdkws.GetMaxSeqReq"
    assert schema["properties"]["userID"] == {"type": "string"}
    parameters = [p["name"] for p in op.get("parameters", [])]
    assert "_pb_request" not in parameters
    success = op["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"][0]
    data = success["properties"]["data"]
    assert data["properties"]["maxSeqs"]["additionalProperties"] == {"type": "integer", "format": "int64"}
    void_op = spec["paths"]["/t/void"]["post"]
    void_success = void_op["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert "data" not in void_success["properties"]
    jssdk_op = spec["paths"]["/t/jssdk"]["post"]
    assert set(jssdk_op["requestBody"]["content"]) == {"application/json", "application/x-protobuf"}
    assert "x-protobuf" in jssdk_op["description"]


def test_json_schema_follows_the_go_shape() -> None:
    """int64 integers, base64 bytes, nullable lists, maps and messages, wrappers as bare nullable scalars."""
    msg = json_schema(sdkws_pb2.MsgData)["properties"]
    assert msg["seq"] == {"type": "integer", "format": "int64"}
    assert msg["content"] == {"type": "string", "format": "byte"}
    assert msg["atUserIDList"] == {"type": ["array", "null"], "items": {"type": "string"}}
    assert msg["options"] == {"type": ["object", "null"], "additionalProperties": {"type": "boolean"}}
    assert msg["offlinePushInfo"]["type"] == ["object", "null"]
    assert msg["offlinePushInfo"]["title"] == "openim.sdkws.OfflinePushInfo"
    req = json_schema(conversation_pb2.ConversationReq)["properties"]
    assert req["isPinned"]["type"] == ["boolean", "null"]
    assert req["recvMsgOpt"]["type"] == ["integer", "null"] and req["recvMsgOpt"]["format"] == "int32"
    pull = json_schema(msg_pb2.GetSeqMessageReq)["properties"]
    assert pull["order"]["type"] == "integer"


async def test_the_real_app_documents_every_pb_route(api: Api) -> None:
    """The served OpenAPI names each /msg, /conversation and /jssdk request: OpenIM's message or send_msg's model."""
    spec = (await api.http.get("/openapi.json")).json()
    titles = {
        path: op["post"]["requestBody"]["content"]["application/json"]["schema"].get("title")
        or op["post"]["requestBody"]["content"]["application/json"]["schema"].get("$ref", "").rsplit("/", 1)[-1]
        for path, op in spec["paths"].items()
        if path.startswith(("/msg/", "/conversation/", "/jssdk/"))
    }
    assert titles["/msg/pull_msg_by_seq"] == "openim.sdkws.PullMessageBySeqsReq"
    assert titles["/conversation/set_conversations"] == "openim.conversation.SetConversationsReq"
    assert titles["/jssdk/get_active_conversations"] == "openim.jssdk.GetActiveConversationsReq"
    assert titles["/msg/send_msg"] == "SendMsgReq"
    assert titles["/msg/send_simple_msg"] == "SendSimpleMsgReq"
    assert len(titles) == 34
    assert all(titles.values())
