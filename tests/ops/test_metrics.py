"""Prometheus metrics: values move when requests, sends, pushes and pulls happen, in-process and on a real server."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import REGISTRY
from tests.process import start_server
from websockets.asyncio.client import connect

from openim.api.app import create_app
from openim.gateway.frames import FrameCodec, Req
from openim.ops.metrics import bind, render
from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import sdkws_pb2
from openim.runtime import Runtime
from openim.settings import Settings
from openim.storage.dialect import SQLITE_MAX_POOL


def value(name: str, **labels: str) -> float:
    """The current value of one sample of the default registry (0 when it does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings.model_validate({"database": {"url": f"sqlite:///{tmp_path / 'openim.db'}"}})
    rt = await Runtime.build(settings)
    yield rt
    await rt.close()


@pytest.fixture
async def http(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime.services))
    async with httpx.AsyncClient(transport=transport, base_url="http://openim.test") as client:
        yield client


async def _post(http: httpx.AsyncClient, path: str, body: object, token: str = "") -> dict[str, object]:
    headers = {"operationID": "metrics-test", **({"token": token} if token else {})}
    result: dict[str, object] = (await http.post(path, json=body, headers=headers)).json()
    return result


async def _admin(http: httpx.AsyncClient) -> str:
    data = (await _post(http, "/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"}))["data"]
    assert isinstance(data, dict)
    return str(data["token"])


async def test_rest_requests_are_counted_by_route_template_and_errcode(http: httpx.AsyncClient) -> None:
    """A REST request counts under its route and errCode; an unknown path under "unmatched", never its raw path."""
    route = "/user/get_users_info"
    ok_before = value("openim_http_requests_total", route=route, errCode="0")
    denied_before = value("openim_http_requests_total", route=route, errCode="1503")
    timed_before = value("openim_http_request_seconds_count", route=route)
    unmatched_before = value("openim_http_requests_total", route="unmatched", errCode="404")
    admin = await _admin(http)
    assert (await _post(http, route, {"userIDs": ["imAdmin"]}, admin))["errCode"] == 0
    assert (await _post(http, route, {"userIDs": ["imAdmin"]}, "not-a-token"))["errCode"] == 1503
    assert (await http.post("/no/such/route-123", headers={"operationID": "x", "token": admin})).status_code == 404
    assert value("openim_http_requests_total", route=route, errCode="0") == ok_before + 1
    assert value("openim_http_requests_total", route=route, errCode="1503") == denied_before + 1
    assert value("openim_http_request_seconds_count", route=route) == timed_before + 2
    assert value("openim_http_requests_total", route="unmatched", errCode="404") == unmatched_before + 1
    assert "route-123" not in render().decode()


async def test_send_and_pull_move_message_metrics(http: httpx.AsyncClient, runtime: Runtime) -> None:
    """A REST send counts as sent, is timed, is committed in a batch; pulling it counts a pulled message."""
    admin = await _admin(http)
    users = [{"userID": u, "nickname": u} for u in ("alice", "bob")]
    assert (await _post(http, "/user/user_register", {"users": users}, admin))["errCode"] == 0
    sent = value("openim_msg_sent_total", sessionType="single")
    timed = value("openim_msg_send_seconds_count")
    batches = value("openim_msg_commit_batch_size_count")
    batched_msgs = value("openim_msg_commit_batch_size_sum")
    pulled = value("openim_msg_pulled_total")
    body = {"sendID": "alice", "recvID": "bob", "contentType": 101, "sessionType": 1, "content": {"content": "hi"}}
    assert (await _post(http, "/msg/send_msg", body, admin))["errCode"] == 0
    assert value("openim_msg_sent_total", sessionType="single") == sent + 1
    assert value("openim_msg_send_seconds_count") == timed + 1
    assert value("openim_msg_commit_batch_size_count") >= batches + 1
    assert value("openim_msg_commit_batch_size_sum") >= batched_msgs + 1
    ranges = [{"conversationID": "si_alice_bob", "begin": 1, "end": 10, "num": 10}]
    pull = {"userID": "bob", "seqRanges": ranges, "order": 0}
    assert (await _post(http, "/msg/pull_msg_by_seq", pull, admin))["errCode"] == 0
    assert value("openim_msg_pulled_total") == pulled + 1


async def test_pool_and_transactions_are_read_at_scrape_time(runtime: Runtime) -> None:
    """The bound database reports its pool size, connections in use, waiting and per-name transaction totals."""
    bind(runtime.storage.db, runtime.services.msg.writer)
    await runtime.storage.user.get_user("nobody")
    text = render().decode()
    size = SQLITE_MAX_POOL if runtime.storage.db.dialect == "sqlite" else 20  # SQLite stops at its cap
    assert re.search(rf"^openim_db_pool_size {size}\.0$", text, re.M)
    assert re.search(r"^openim_db_pool_in_use 0\.0$", text, re.M)
    assert re.search(r"^openim_db_pool_waiting 0\.0$", text, re.M)
    assert re.search(r'^openim_db_transactions_total\{name="user\.get_user[^"]*"\} [1-9]', text, re.M), text
    assert re.search(r"^openim_msg_writer_queued 0\.0$", text, re.M)
    assert 'openim_build_info{version="' in text
    async with runtime.storage.db.read("test.hold"):
        assert re.search(r"^openim_db_pool_in_use 1\.0$", render().decode(), re.M)


def _scrape(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def _sample(text: str, name: str, **labels: str) -> float:
    """One sample's value in Prometheus text (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        metric, _, number = line.rpartition(" ")
        base, _, rest = metric.partition("{")
        got = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if base == name and got == want:
            return float(number)
    return 0.0


@pytest.mark.slow
async def test_real_server_exposes_gateway_message_and_process_metrics(tmp_path: Path) -> None:
    """On `openim start`, /metrics on the admin port follows connections by platform, WS sends, pushes and REST."""
    server = start_server(tmp_path)
    try:
        admin = server.admin_token()
        users = [{"userID": u, "nickname": u} for u in ("alice", "bob")]
        assert server.post("/user/user_register", {"users": users}, admin)["errCode"] == 0
        tokens = {
            u: server.post("/auth/get_user_token", {"userID": u, "platformID": 5}, admin)["data"]["token"]
            for u in ("alice", "bob")
        }
        before = _scrape(server.admin)
        codec = FrameCodec("json", gzip=False)
        clients = []
        for user in ("alice", "bob"):
            query = f"sendID={user}&token={tokens[user]}&platformID=5&operationID=c-{user}"
            query += "&isMsgResp=true&sdkType=js&isBackground=false"
            ws = await connect(f"ws://127.0.0.1:{server.gateway}/?{query}", compression=None)
            assert json.loads(await ws.recv())["errCode"] == 0
            clients.append(ws)
        alice, bob = clients
        msg = sdkws_pb2.MsgData(
            sendID="alice", recvID="bob", clientMsgID="m-1", sessionType=1, contentType=101, content=b'{"content":"x"}'
        )
        req = Req(
            int(ReqIdentifier.SEND_MSG),
            send_id="alice",
            operation_id="op-ws-send",
            msg_incr="alice_1",
            data=msg.SerializeToString(),
        )
        await alice.send(codec.encode_req(req))
        reply = codec.decode_resp(await asyncio.wait_for(alice.recv(), 10))  # type: ignore[arg-type]
        assert (reply.msg_incr, reply.err_code) == ("alice_1", 0)
        push = codec.decode_resp(await asyncio.wait_for(bob.recv(), 10))  # type: ignore[arg-type]
        assert push.req_identifier == ReqIdentifier.PUSH_MSG
        after = _scrape(server.admin)
        for ws in clients:
            await ws.close()
    finally:
        server.stop()
    assert _sample(after, "openim_gateway_connections", platform="Web") == 2
    assert _sample(after, "openim_gateway_online_users") == 2
    assert _sample(after, "openim_gateway_handshakes_total", errCode="0") == 2
    assert _sample(after, "openim_ws_requests_total", reqIdentifier="1003", errCode="0") == 1
    assert _sample(after, "openim_msg_sent_total", sessionType="single") == 1
    assert _sample(after, "openim_msg_send_seconds_count") == 1
    assert _sample(after, "openim_msg_pushed_total") >= 1  # bob (and alice's own copy on her connection)
    assert _sample(after, "openim_msg_commit_batch_size_count") >= 1
    assert _sample(after, "openim_http_requests_total", route="/auth/get_user_token", errCode="0") == 2
    assert _sample(before, "openim_gateway_connections", platform="Web") == 0
    assert _sample(after, "openim_db_pool_size") == SQLITE_MAX_POOL  # the embedded default: SQLite, capped
    assert _sample(after, "process_open_fds") > 0 and _sample(after, "process_resident_memory_bytes") > 0
    assert "process_cpu_seconds_total" in after and "openim_event_loop_lag_seconds_bucket" in after


ALERTS = Path(__file__).parents[2] / "deploy" / "prometheus" / "alerts.yml"


async def test_alert_rules_use_only_metrics_that_exist(runtime: Runtime) -> None:
    """Every openim_*/process_* metric an alert rule reads is exposed by /metrics; each rule is complete."""
    bind(runtime.storage.db, runtime.services.msg.writer)
    exposed = render().decode()
    document = yaml.safe_load(ALERTS.read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert {"OpenIMDown", "OpenIMServerErrors", "OpenIMSlowRequests", "HostDiskUsageHigh", "HostMemoryUsageHigh"} <= {
        rule["alert"] for rule in rules
    }
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"], rule
        for name in re.findall(r"\b((?:openim|process)_[a-z_]+)", rule["expr"]):
            base = re.sub(r"_(bucket|count|sum)$", "", name)
            assert re.search(rf"^# TYPE {base} ", exposed, re.M), f"{rule['alert']}: {name} is not exposed"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Prometheus) is not installed")
def test_alert_rules_pass_promtool() -> None:
    """`promtool check rules` accepts deploy/prometheus/alerts.yml."""
    result = subprocess.run(["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_allocated_blocks_follow_live_python_objects() -> None:
    """openim_python_allocated_blocks counts live Python allocations: 100,000 more objects kept alive raise it
    by about that many (what the soak test bounds: objects, not the RSS allocator arenas and SQLite hold)."""

    def blocks() -> float:
        found = re.search(r"^openim_python_allocated_blocks (\S+)$", render().decode(), re.M)
        assert found is not None
        return float(found[1])

    before = blocks()
    kept = [object() for _ in range(100_000)]
    during = blocks()
    del kept
    after = blocks()
    assert 90_000 < during - before < 150_000, (before, during)
    assert after < during - 90_000, (during, after)
