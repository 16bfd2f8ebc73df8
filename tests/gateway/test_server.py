"""Handshake of the gateway (docs/protocol/gateway.md §1): parameters, order of checks, both failure reportings,
/health."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from openim.gateway.server import parse_conn_args
from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import sdkws_pb2

from .conftest import Gateway, GatewayFactory


async def refusal(gw: Gateway, query: str) -> dict[str, Any]:
    """The HTTP 200 JSON body of a handshake refused without an upgrade."""
    with pytest.raises(InvalidStatus) as info:
        await gw.raw(query)
    response = info.value.response
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = json.loads(response.body or b"")
    return body


async def text_refusal(gw: Gateway, query: str) -> dict[str, Any]:
    """The text frame of a handshake refused after the upgrade (isMsgResp=true); the TCP connection then ends."""
    ws = await gw.raw(query)
    first = await asyncio.wait_for(ws.recv(), 5)
    assert isinstance(first, str)
    with pytest.raises(ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is None  # no close frame: the server dropped the connection
    body: dict[str, Any] = json.loads(first)
    return body


def v_param(**info: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(info).encode()).decode().rstrip("=")


async def test_health_answers_json(gateway: Gateway) -> None:
    """GET /health answers 200 with a JSON body naming the role."""
    async with httpx.AsyncClient() as http:
        resp = await http.get(f"http://127.0.0.1:{gateway.port}/health")
    assert resp.status_code == 200
    assert resp.json()["role"] == "msggateway"


async def test_go_sdk_gets_no_first_frame_and_can_talk(gateway: Gateway) -> None:
    """Without isMsgResp the upgrade alone says success; the first frame is the reply to the first request."""
    sdk = await gateway.connect("alice", 2, sdk="go")
    resp = await sdk.request(
        ReqIdentifier.SET_BACKGROUND_STATUS, sdkws_pb2.SetAppBackgroundStatusReq().SerializeToString()
    )
    assert resp.err_code == 0
    assert sdk.texts.empty()


async def test_is_msg_resp_sends_success_text_first(gateway: Gateway) -> None:
    """With isMsgResp=true the first frame is the text {"errCode":0,"errMsg":"","errDlt":""} (checked in connect)."""
    sdk = await gateway.connect("alice", 5, sdk="js")
    resp = await sdk.request(ReqIdentifier.SET_BACKGROUND_STATUS)
    assert (resp.err_code, resp.data) == (0, b"")


async def test_any_path_is_accepted(gateway: Gateway) -> None:
    """Upgrades are served on any path, as OpenIM's catch-all route."""
    token = await gateway.token("alice", 5)
    ws = await gateway.raw(gateway.query("alice", token, 5, sdk="js"), path="/msg_gateway")
    assert await asyncio.wait_for(ws.recv(), 5) == '{"errCode":0,"errMsg":"","errDlt":""}'
    await ws.close()


async def test_no_permessage_deflate(gateway: Gateway) -> None:
    """The server declines permessage-deflate, which browsers offer: frames are gzipped by the SDK itself."""
    from websockets.asyncio.client import connect

    token = await gateway.token("alice", 5)
    async with connect(f"{gateway.url}?{gateway.query('alice', token, 5, sdk='js')}") as ws:
        assert ws.response is not None
        assert "Sec-WebSocket-Extensions" not in ws.response.headers


async def test_v_parameter_replaces_the_others(gateway: Gateway) -> None:
    """The `v` form (base64 RawURL JSON with userID/sendResponse/background) is accepted and wins over the rest."""
    token = await gateway.token("alice", 5)
    v = v_param(
        token=token, userID="alice", platformID=5, operationID="op", sdkType="js", sendResponse=True, background=False
    )
    ws = await gateway.raw(f"v={v}&sendID=nobody&platformID=oops")
    assert await asyncio.wait_for(ws.recv(), 5) == '{"errCode":0,"errMsg":"","errDlt":""}'
    await ws.close()


@pytest.mark.parametrize(
    ("drop", "override", "code", "detail"),
    [
        ("platformID", {}, 1602, "platformID is not int"),
        ("", {"platformID": "5x"}, 1602, "platformID is not int"),
        ("", {"platformID": "99"}, 1602, "platformID is invalid"),
        ("operationID", {}, 1602, "operationID is empty"),
        ("token", {}, 1602, "token is empty"),
        ("sendID", {}, 1602, "sendID is empty"),
        ("", {"sdkType": "python"}, 1602, "sdkType is invalid"),
        ("", {"isMsgResp": "maybe"}, 1602, "isMsgResp is not bool"),
    ],
)
async def test_parameter_errors_are_http_1602(
    gateway: Gateway, drop: str, override: dict[str, str], code: int, detail: str
) -> None:
    """Each bad parameter is refused with 1602 over HTTP, even with isMsgResp=true (not yet parsed then)."""
    token = await gateway.token("alice", 5)
    params = dict(p.split("=", 1) for p in gateway.query("alice", token, 5, sdk="js").split("&"))
    params.pop(drop, None)
    params.update(override)
    body = await refusal(gateway, "&".join(f"{k}={v}" for k, v in params.items()))
    assert body == {"errCode": code, "errMsg": "args err, need token, sendID, platformID", "errDlt": detail}


@pytest.mark.parametrize("value", ["", "yes"])
async def test_bad_is_background_is_500(gateway: Gateway, value: str) -> None:
    """A missing or non-bool isBackground is OpenIM's plain strconv error: errCode 500 over HTTP."""
    token = await gateway.token("alice", 5)
    body = await refusal(gateway, gateway.query("alice", token, 5, isBackground=value))
    assert body["errCode"] == 500
    assert body["errMsg"] == f'strconv.ParseBool: parsing "{value}": invalid syntax'


_DEEP_V = base64.urlsafe_b64encode(b"[" * 1500 + b"]" * 1500).decode().rstrip("=")  # past Python's recursion limit


@pytest.mark.parametrize(
    ("v", "detail"),
    [("!!", "data is not base64"), (v_param() + "x", "data is not json"), (_DEEP_V, "data is not json")],
)
async def test_bad_v_parameter_is_1602(gateway: Gateway, v: str, detail: str) -> None:
    """A `v` that is not base64 RawURL, or not JSON, is 1602."""
    body = await refusal(gateway, f"v={v}")
    assert (body["errCode"], body["errDlt"]) == (1602, detail)


async def test_v_parameter_with_wrong_types_is_1602(gateway: Gateway) -> None:
    """JSON kinds are strict as in Go: a string platformID in `v` is 'data is not json'."""
    body = await refusal(gateway, "v=" + v_param(token="t", userID="u", platformID="5", operationID="o"))
    assert (body["errCode"], body["errDlt"]) == (1602, "data is not json")


@pytest.mark.parametrize("style", ["http", "text"])
async def test_malformed_token(gateway: Gateway, style: str) -> None:
    """A token that is not a JWT is 1503, over HTTP or in the text frame as isMsgResp asks."""
    query = gateway.query("alice", "not-a-jwt", 5, sdk="go" if style == "http" else "js")
    body = await (refusal(gateway, query) if style == "http" else text_refusal(gateway, query))
    assert (body["errCode"], body["errMsg"]) == (1503, "TokenMalformedError")


@pytest.mark.parametrize("style", ["http", "text"])
async def test_kicked_token_is_1506(gateway: Gateway, style: str) -> None:
    """A token replaced by a newer one on the same platform (policy 1) is refused with 1506."""
    old = await gateway.token("alice", 5)
    await gateway.token("alice", 5)
    query = gateway.query("alice", old, 5, sdk="go" if style == "http" else "js")
    body = await (refusal(gateway, query) if style == "http" else text_refusal(gateway, query))
    assert (body["errCode"], body["errMsg"]) == (1506, "TokenKickedError")


async def test_unknown_signature_is_1505(gateway: Gateway) -> None:
    """A token signed with another secret is 1505 (TokenUnknownError)."""
    token = await gateway.token("alice", 5)
    head, claims, _ = token.split(".")
    body = await text_refusal(gateway, gateway.query("alice", f"{head}.{claims}.AAAA", 5, sdk="js"))
    assert body["errCode"] == 1505


@pytest.mark.parametrize("style", ["http", "text"])
async def test_sender_mismatch_is_1502(gateway: Gateway, style: str) -> None:
    """A token of another user is 1502 with errDlt naming both users."""
    token = await gateway.token("alice", 5)
    query = gateway.query("mallory", token, 5, sdk="go" if style == "http" else "js")
    body = await (refusal(gateway, query) if style == "http" else text_refusal(gateway, query))
    assert body == {"errCode": 1502, "errMsg": "TokenInvalidError", "errDlt": "token uid alice != userID mallory"}


async def test_platform_mismatch_is_1502(gateway: Gateway) -> None:
    """A token of another platform is 1502 with errDlt naming both platforms."""
    token = await gateway.token("alice", 5)
    body = await text_refusal(gateway, gateway.query("alice", token, 2, sdk="wasm"))
    assert body == {"errCode": 1502, "errMsg": "TokenInvalidError", "errDlt": "token platform 5 != platformID 2"}


async def test_connection_limit_is_1601(gateway_factory: GatewayFactory) -> None:
    """At websocketMaxConnNum connections a new handshake is refused with 1601 over HTTP, even for isMsgResp."""
    gw = await gateway_factory(websocketMaxConnNum=1)
    await gw.connect("alice", 5, sdk="js")
    token = await gw.token("bob", 5)
    body = await refusal(gw, gw.query("bob", token, 5, sdk="js"))
    assert body == {"errCode": 1601, "errMsg": "ConnOverMaxNumLimit", "errDlt": "over max conn num limit"}


def test_parse_conn_args_reads_header_compression() -> None:
    """compression falls back to the HTTP header of that name; values are Go ParseBool spellings."""
    args = parse_conn_args("sendID=u&token=t&platformID=%2B2&operationID=o&isBackground=T", {"compression": "gzip"})
    assert (args.compression, args.platform_id, args.background, args.sdk_type) == (True, 2, True, "go")
