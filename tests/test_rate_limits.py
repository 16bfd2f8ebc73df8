"""Rate limits on a real `openim start` with `ratelimiter.enable` (infra/ratelimit.py): REST calls per IP answer
HTTP 429 with OpenIM's envelope once the burst is spent, gateway handshakes per IP the same, a user's sends and a
connection's frames get their request's reply with errCode 429 — and other clients are not affected."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import httpx
import pytest
from tests.process import ServerProcess, start_server
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from openim.gateway.frames import FrameCodec, Req, Resp
from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import sdkws_pb2

BURST = {"IPREQUESTS": 30, "IPCONNECTS": 6, "USERSENDS": 3, "CONNFRAMES": 8}
CODEC = FrameCodec("json", gzip=False)
NEWEST = sdkws_pb2.GetMaxSeqReq(userID="f1").SerializeToString()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    rules = {}
    for name, burst in BURST.items():  # refills every 100 s: no refill during the test
        rules[f"OPENIM_RATELIMITER_{name}_RATE"] = "0.01"
        rules[f"OPENIM_RATELIMITER_{name}_BURST"] = str(burst)
    srv = start_server(tmp_path_factory.mktemp("rates"), OPENIM_RATELIMITER_ENABLE="true", **rules)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def tokens(server: ServerProcess) -> dict[str, str]:
    admin = server.admin_token()
    users = [{"userID": u, "nickname": u} for u in ("s1", "s2", "f1", "peer")]
    assert server.post("/user/user_register", {"users": users}, admin)["errCode"] == 0
    out = {}
    for user in ("s1", "s2", "f1"):
        out[user] = server.post("/auth/get_user_token", {"userID": user, "platformID": 5}, admin)["data"]["token"]
    return out  # 6 REST requests from 127.0.0.1: within its burst


@contextlib.contextmanager
def _ws(server: ServerProcess, user: str, token: str, source: str = "127.0.0.1") -> Iterator[ClientConnection]:
    query = f"sendID={user}&token={token}&platformID=5&operationID=rl&isMsgResp=true&isBackground=false&sdkType=js"
    with connect(f"ws://127.0.0.1:{server.gateway}/?{query}", source_address=(source, 0)) as ws:
        assert json.loads(ws.recv(timeout=5))["errCode"] == 0
        yield ws


def _request(ws: ClientConnection, req: Req) -> Resp:
    ws.send(CODEC.encode_req(req))
    while True:  # skip pushes until the reply
        resp = CODEC.decode_resp(ws.recv(timeout=10))  # type: ignore[arg-type]
        if resp.msg_incr == req.msg_incr:
            return resp


def _send(ws: ClientConnection, sender: str, n: int) -> Resp:
    msg = sdkws_pb2.MsgData(
        sendID=sender,
        recvID="peer",
        clientMsgID=f"{sender}-{n}",
        sessionType=1,
        contentType=101,
        content=json.dumps({"content": str(n)}).encode(),
    )
    req = Req(
        int(ReqIdentifier.SEND_MSG),
        send_id=sender,
        operation_id=f"o{n}",
        msg_incr=f"m{n}",
        data=msg.SerializeToString(),
    )
    return _request(ws, req)


def test_rest_calls_per_ip(server: ServerProcess, tokens: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{server.api}/auth/get_admin_token"
    body = {"secret": "wrong", "userID": "imAdmin"}
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.7")) as http:
        answers = [http.post(url, json=body, headers={"operationID": f"r{i}"}) for i in range(BURST["IPREQUESTS"] + 1)]
    assert all(a.status_code == 200 for a in answers[:-1])
    limited = answers[-1]
    assert limited.status_code == 429
    assert limited.json()["errCode"] == 429
    assert limited.json()["errMsg"] == "too many requests, please try again later"
    assert int(limited.headers["Retry-After"]) >= 1
    assert server.post("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})["errCode"] == 0


def test_sends_per_user_across_connections(server: ServerProcess, tokens: dict[str, str]) -> None:
    with _ws(server, "s1", tokens["s1"]) as first, _ws(server, "s1", tokens["s1"]) as second:
        codes = [_send(first if n % 2 else second, "s1", n).err_code for n in range(BURST["USERSENDS"] + 1)]
        assert codes == [0] * BURST["USERSENDS"] + [429]
    with _ws(server, "s2", tokens["s2"]) as other:
        assert _send(other, "s2", 0).err_code == 0  # another user sends on


def test_frames_per_connection(server: ServerProcess, tokens: dict[str, str]) -> None:
    with _ws(server, "f1", tokens["f1"]) as ws:
        codes = []
        for n in range(BURST["CONNFRAMES"] + 1):
            req = Req(
                int(ReqIdentifier.GET_NEWEST_SEQ), send_id="f1", operation_id=f"f{n}", msg_incr=f"f{n}", data=NEWEST
            )
            codes.append(_request(ws, req).err_code)
        assert codes == [0] * BURST["CONNFRAMES"] + [429]
    with _ws(server, "f1", tokens["f1"]) as fresh:  # a new connection has its own budget
        req = Req(int(ReqIdentifier.GET_NEWEST_SEQ), send_id="f1", operation_id="x", msg_incr="x", data=NEWEST)
        assert _request(fresh, req).err_code == 0


def test_handshakes_per_ip(server: ServerProcess, tokens: dict[str, str]) -> None:
    with contextlib.ExitStack() as opened:
        for _ in range(BURST["IPCONNECTS"]):
            opened.enter_context(_ws(server, "s2", tokens["s2"], source="127.0.0.8"))
        with pytest.raises(InvalidStatus) as refused, _ws(server, "s2", tokens["s2"], source="127.0.0.8"):
            pass
        assert refused.value.response.status_code == 429
        assert json.loads(refused.value.response.body)["errCode"] == 429
        opened.enter_context(_ws(server, "s2", tokens["s2"], source="127.0.0.9"))  # another address connects


def test_refusals_are_counted(server: ServerProcess, tokens: dict[str, str]) -> None:
    metrics = httpx.get(f"http://127.0.0.1:{server.admin}/metrics").text
    counted = {
        line.split('rule="')[1].split('"')[0]
        for line in metrics.splitlines()
        if line.startswith("openim_rate_limited_total{") and not line.endswith(" 0.0")
    }
    assert {"ip_requests", "ip_connects", "user_sends", "conn_frames"} <= counted
