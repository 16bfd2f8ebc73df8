"""Faults during steady sends on a scaled-out deployment (tests/cluster.py: 2 api, 2 gateways, 1 msgtransfer on a
private redis-server and, through a cuttable TCP proxy, PostgreSQL).

Senders run on both gateways (JS-SDK-like clients: OpenIM's JSON envelope over WebSocket, reconnecting to either
gateway and logging in again as the SDK does) and on both api processes (REST /msg/send_msg), while one fault
strikes: kill -9 of a gateway, of an api process, of msgtransfer; Redis killed and restarted with its append-only
file and without any data; PostgreSQL unreachable for a few seconds. Each test then asserts on what the clients
were told: every acknowledged message is stored exactly once, seqs are gapless per conversation, no sender saw a
later message of its own get a lower seq, and the offline-push jobs (the REST receivers are offline) were all
done — reclaimed from a killed msgtransfer — and done once, except those in the killed worker's hands.

The processes are shared by the module's tests (a killed one is restarted after its test), so each test checks
the whole history of the conversations and only the messages its own run tagged.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.cluster import Cluster, PrivateRedis, TcpProxy, postgres_address, through, wait_port_free
from tests.databases import create_database, side_database_url
from tests.nginx import Nginx
from tests.wsclient import send_text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from openim.infra.redis.queue import stream_key
from openim.protocol.pb import msg_pb2
from openim.services.msg.offline_push import TOPIC_OFFLINE_PUSH

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

WS_PAIRS = [("alice", "bob", 0), ("bob", "alice", 1)]  # (sender, receiver, its first gateway): one conversation
REST_PAIRS = [("carol", "dave", 0), ("dave", "carol", 1)]  # (sender, receiver, its first api); both offline
USERS = ["alice", "bob", "carol", "dave"]
CONVERSATIONS = {"si_alice_bob": "alice", "si_carol_dave": "carol"}
BEFORE, AFTER = 40, 40  # acknowledged sends before the fault, and after it is over


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, _postgres: Any) -> Iterator[Cluster]:
    cwd = tmp_path_factory.mktemp("faults")
    database_url = side_database_url(_postgres.url, "faults")
    asyncio.run(create_database(database_url, fresh=True))
    proxy = TcpProxy(postgres_address(database_url))
    proxy.start()
    redis_server = PrivateRedis(cwd / "redis")
    redis_server.start(persistent=True)
    # Reclaim a dead worker's jobs after 2 s instead of a minute, so the msgtransfer test stays short.
    cluster = Cluster.build(cwd, through(database_url, proxy.port), redis_server.url, OPENIM_REDIS_JOBCLAIMIDLE="2")
    cluster.proxy, cluster.redis = proxy, redis_server
    try:
        cluster.start_all()
        admin = cluster.admin_token()
        result = cluster.post("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in USERS]}, admin)
        assert result["errCode"] == 0, result
        yield cluster
    finally:
        cluster.stop()
        redis_server.kill(wipe=False)
        proxy.close()


@pytest.fixture
def deployment(cluster: Cluster) -> Iterator[Cluster]:
    """The module's cluster, whole again after the test (a killed role restarted)."""
    yield cluster
    cluster.revive()


@dataclass
class Traffic:
    """What the clients were told during one run."""

    tag: str
    acked: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # conversation → [(sender, text)]
    attempted: set[str] = field(default_factory=set)
    errors: Counter[int] = field(default_factory=Counter)  # errCode → how many sends answered it
    reconnects: int = 0
    stop: bool = False
    ws_urls: list[str] = field(default_factory=list)  # where the WS senders connect: each gateway, or nginx
    api_urls: list[str] = field(default_factory=list)  # where the REST senders post: each api process, or nginx

    def ack(self, conversation_id: str, sender: str, text: str) -> None:
        self.acked.setdefault(conversation_id, []).append((sender, text))

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.acked.values())


async def _token(cluster: Cluster, user: str) -> str:
    """A fresh user token (a real SDK logs in again when its token is refused); any api process that answers."""
    for attempt in range(200):
        api = attempt % 2
        try:
            admin = await asyncio.to_thread(_admin, cluster, api)
            body = {"userID": user, "platformID": 5}
            result = await asyncio.to_thread(cluster.post, "/auth/get_user_token", body, admin, api)
            if result["errCode"] == 0:
                return str(result["data"]["token"])
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"no token for {user}")


def _admin(cluster: Cluster, api: int) -> str:
    body = {"secret": "openIM123", "userID": "imAdmin"}
    return str(cluster.post("/auth/get_admin_token", body, api=api)["data"]["token"])


async def _ws_sender(cluster: Cluster, traffic: Traffic, sender: str, receiver: str, first: int) -> None:
    conversation = "si_" + "_".join(sorted((sender, receiver)))
    n, gateway = 0, first
    while not traffic.stop:
        token = await _token(cluster, sender)
        query = f"sendID={sender}&token={token}&platformID=5&operationID=f-{sender}&isMsgResp=true&sdkType=js"
        url = traffic.ws_urls[gateway % len(traffic.ws_urls)]
        gateway = 1 - gateway  # the next (re)connection tries the other gateway first
        try:
            async with connect(f"{url}?{query}", compression=None, open_timeout=5) as ws:
                if json.loads(await asyncio.wait_for(ws.recv(), 5))["errCode"] != 0:
                    continue
                while not traffic.stop:
                    text = f"{traffic.tag}-{sender}-{n}"
                    n += 1
                    traffic.attempted.add(text)
                    resp = await send_text(ws, sender, receiver, text, timeout_s=15)
                    if resp.err_code == 0:
                        assert msg_pb2.SendMsgResp.FromString(resp.data).clientMsgID == text
                        traffic.ack(conversation, sender, text)
                    else:
                        traffic.errors[resp.err_code] += 1
                        await asyncio.sleep(0.05)
        except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError):
            traffic.reconnects += 1
            await asyncio.sleep(0.1)


async def _rest_sender(cluster: Cluster, traffic: Traffic, sender: str, receiver: str, first: int) -> None:
    conversation = "si_" + "_".join(sorted((sender, receiver)))
    n, api = 0, first
    admin = await _token_admin(cluster, api)
    async with httpx.AsyncClient(timeout=15) as http:
        while not traffic.stop:
            text = f"{traffic.tag}-{sender}-{n}"
            n += 1
            body = {
                "sendID": sender,
                "recvID": receiver,
                "contentType": 101,
                "sessionType": 1,
                "content": {"content": text},
            }
            traffic.attempted.add(text)
            url = f"{traffic.api_urls[api % len(traffic.api_urls)]}/msg/send_msg"
            try:
                result = (await http.post(url, json=body, headers={"operationID": text, "token": admin})).json()
            except httpx.HTTPError:
                api = 1 - api  # that process is gone: the other one
                await asyncio.sleep(0.05)
                continue
            if result["errCode"] == 0:
                traffic.ack(conversation, sender, text)
            elif result["errCode"] in (1501, 1503, 1504, 1507):  # the admin token is gone (Redis lost it)
                admin = await _token_admin(cluster, api)
            else:
                traffic.errors[result["errCode"]] += 1
                await asyncio.sleep(0.05)


async def _token_admin(cluster: Cluster, api: int) -> str:
    for attempt in range(200):
        try:
            return await asyncio.to_thread(_admin, cluster, (api + attempt) % 2)
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            await asyncio.sleep(0.1)
    raise AssertionError("no admin token")


async def _run(
    cluster: Cluster, tag: str, fault: Callable[[Traffic], Awaitable[None]], nginx: Nginx | None = None
) -> Traffic:
    """Steady sends on both gateways and both api processes (or through `nginx` to them); `fault` once BEFORE
    acks are in; AFTER more acks after it."""
    traffic = Traffic(tag)
    if nginx is None:
        traffic.ws_urls = [f"ws://127.0.0.1:{g.port}/" for g in cluster.gateways]
        traffic.api_urls = [f"http://127.0.0.1:{a.port}" for a in cluster.apis]
    else:
        traffic.ws_urls = [f"ws://127.0.0.1:{nginx.port}/msg_gateway"]
        traffic.api_urls = [f"http://127.0.0.1:{nginx.port}/api"]
    senders = [asyncio.create_task(_ws_sender(cluster, traffic, *p)) for p in WS_PAIRS]
    senders += [asyncio.create_task(_rest_sender(cluster, traffic, *p)) for p in REST_PAIRS]
    try:
        async with asyncio.timeout(90):  # seconds on a quiet machine; a loaded CI runner restarts slowly
            while traffic.count < BEFORE:  # noqa: ASYNC110 - waits for traffic the senders produce
                await asyncio.sleep(0.01)
            await fault(traffic)
            done = traffic.count
            while traffic.count < done + AFTER:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        traffic.stop = True
        await asyncio.wait_for(asyncio.gather(*senders, return_exceptions=True), 30)
    for task in senders:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return traffic


def _pull(cluster: Cluster, conversation_id: str) -> list[dict[str, Any]]:
    admin = _admin(cluster, 0)
    ranges = [{"conversationID": conversation_id, "begin": 1, "end": 1_000_000, "num": 1_000_000}]
    body = {"userID": CONVERSATIONS[conversation_id], "seqRanges": ranges, "order": 0}
    data = cluster.post("/msg/pull_msg_by_seq", body, admin)["data"]
    pulled = (data["msgs"] or {}).get(conversation_id)
    return list(pulled["Msgs"] or []) if pulled else []


def _text(msg: dict[str, Any]) -> str:
    return str(json.loads(base64.b64decode(str(msg["content"])))["content"])


def _check_messages(cluster: Cluster, traffic: Traffic) -> dict[str, dict[str, int]]:
    """Stored exactly once, gapless, no rewinds; returns conversation → text → seq of this run's messages."""
    seqs: dict[str, dict[str, int]] = {}
    for conversation_id in CONVERSATIONS:
        msgs = _pull(cluster, conversation_id)
        assert [m["seq"] for m in msgs] == list(range(1, len(msgs) + 1)), f"{conversation_id}: seqs not gapless"
        mine = [_text(m) for m in msgs if _text(m).startswith(traffic.tag + "-")]
        duplicated = [t for t, k in Counter(mine).items() if k > 1]
        assert not duplicated, f"{conversation_id}: stored more than once: {duplicated}"
        assert set(mine) <= traffic.attempted, "stored but never sent"
        by_text = {_text(m): int(m["seq"]) for m in msgs}
        acked = traffic.acked.get(conversation_id, [])
        lost = [t for _, t in acked if t not in by_text]
        assert not lost, f"{conversation_id}: acknowledged but lost: {lost}"
        for sender in {s for s, _ in acked}:  # a sender's later message never gets a lower seq
            order = [by_text[t] for s, t in acked if s == sender]
            assert order == sorted(order) and len(set(order)) == len(order), f"{sender}: seq went back: {order}"
        seqs[conversation_id] = {t: by_text[t] for t in mine}
    return seqs


PUSH_LINE = re.compile(r"offline push \(log only\) to (\S+): conversation (\S+) seq (\d+)")


async def _check_jobs(cluster: Cluster, traffic: Traffic, seqs: dict[str, dict[str, int]], spared: int) -> None:
    """Every offline push of this run's REST messages done (none pending, none lagging), at most `spared` twice."""
    assert cluster.redis is not None
    client = cluster.redis.client()
    try:
        async with asyncio.timeout(20):
            while True:
                groups = client.xinfo_groups(stream_key(TOPIC_OFFLINE_PUSH))
                group = next(g for g in groups if g["name"] in (b"msgtransfer", "msgtransfer"))
                if group["pending"] == 0 and not group.get("lag"):
                    break
                await asyncio.sleep(0.2)
    finally:
        client.close()
    wanted = set(seqs["si_carol_dave"].values())
    async with asyncio.timeout(10):
        while True:
            log = "".join(p.read_text() for p in (cluster.cwd / "logs").glob("msgtransfer*.log*"))
            done = Counter(
                int(m[3]) for m in PUSH_LINE.finditer(log) if m[2] == "si_carol_dave" and int(m[3]) in wanted
            )
            if set(done) == wanted:
                break
            await asyncio.sleep(0.2)
    twice = sorted(seq for seq, k in done.items() if k > 1)
    assert len(twice) <= spared, f"offline pushes done more than once: {twice}"


async def test_gateway_kill9(deployment: Cluster) -> None:
    async def fault(traffic: Traffic) -> None:
        deployment.gateways[0].kill9()

    traffic = await _run(deployment, "gw", fault)
    assert traffic.reconnects >= 1
    seqs = _check_messages(deployment, traffic)
    await _check_jobs(deployment, traffic, seqs, spared=0)


async def test_api_kill9(deployment: Cluster) -> None:
    async def fault(traffic: Traffic) -> None:
        deployment.apis[1].kill9()

    traffic = await _run(deployment, "api", fault)
    seqs = _check_messages(deployment, traffic)
    # The killed process's offline-push jobs, outbox rows committed with its messages, are relayed by the other
    # api process after redis.jobClaimIdle; those it had relayed without deleting their rows yet go twice.
    await _check_jobs(deployment, traffic, seqs, spared=16)


async def test_msgtransfer_kill9_jobs_reclaimed(deployment: Cluster) -> None:
    """The killed worker's pending jobs go to its successor after redis.jobClaimIdle (2 s here)."""

    async def fault(traffic: Traffic) -> None:
        assert deployment.transfer is not None
        deployment.transfer.kill9()
        await asyncio.sleep(1)  # jobs pile up with no consumer
        wait_port_free(deployment.transfer.port)
        await asyncio.to_thread(deployment.start, deployment.transfer)

    traffic = await _run(deployment, "transfer", fault)
    seqs = _check_messages(deployment, traffic)
    await _check_jobs(deployment, traffic, seqs, spared=16)  # Worker concurrency: those in hand may run twice


@pytest.mark.parametrize("persistent", [True, False], ids=["appendonly", "no-persistence"])
async def test_redis_restart(deployment: Cluster, persistent: bool) -> None:
    """kill -9 of Redis, restarted on its append-only file, or empty: tokens, presence and the queue gone then."""
    redis_server = deployment.redis
    assert redis_server is not None

    async def fault(traffic: Traffic) -> None:
        redis_server.kill(wipe=not persistent)
        await asyncio.sleep(1)
        redis_server.start(persistent=True)

    traffic = await _run(deployment, f"redis{int(persistent)}", fault)
    for role in deployment.roles:
        assert role.alive, f"{role.name} exited when Redis went away"
    seqs = _check_messages(deployment, traffic)
    if persistent:  # without persistence the stream and its jobs went with the data
        # A job Redis wrote to its append-only file before it was killed, without answering, is added again by
        # the outbox relay that did not hear back (at most its jobs in hand); an acknowledgement lost the same
        # way has the msgtransfer worker push again.
        await _check_jobs(deployment, traffic, seqs, spared=32)


async def test_postgres_unreachable(deployment: Cluster) -> None:
    """PostgreSQL cut for 3 s: sends answer an errCode (no crash, no hang), succeed after; no process exits."""
    proxy = deployment.proxy
    assert proxy is not None
    seen: dict[str, int] = {}

    async def fault(traffic: Traffic) -> None:
        await asyncio.to_thread(proxy.cut)
        cut_at = time.monotonic()
        try:
            async with asyncio.timeout(20):
                while sum(traffic.errors.values()) < 4:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            await asyncio.sleep(max(0.0, 3 - (time.monotonic() - cut_at)))
            seen["acked_while_down"] = traffic.count
        finally:
            await asyncio.to_thread(proxy.restore)

    traffic = await _run(deployment, "pg", fault)
    for role in deployment.roles:
        assert role.alive, f"{role.name} exited when PostgreSQL went away"
    assert traffic.errors, "no send failed while PostgreSQL was unreachable"
    assert set(traffic.errors) == {90004}, f"not NetworkError: {traffic.errors}"
    print(f"\nerrCodes while PostgreSQL was cut: {dict(traffic.errors)}")
    seqs = _check_messages(deployment, traffic)
    await _check_jobs(deployment, traffic, seqs, spared=0)


async def test_nginx_in_front_gateway_kill9(deployment: Cluster, tmp_path: Path) -> None:
    """deploy/nginx/openim.conf as shipped (tests/nginx.py) in front of both gateways and both api processes:
    clients spread over the gateways (least_conn), a gateway killed, its clients back through nginx on the other;
    /api/prometheus_discovery/ answers loopback and refuses any other address; object URLs name nginx's address."""
    nginx = Nginx(tmp_path / "nginx", [g.port for g in deployment.gateways], [a.port for a in deployment.apis])
    nginx.start()
    try:

        async def fault(traffic: Traffic) -> None:
            deployment.gateways[0].kill9()

        traffic = await _run(deployment, "nginx", fault, nginx)
        assert traffic.reconnects >= 1, "no client was on the killed gateway: least_conn did not spread them"
        seqs = _check_messages(deployment, traffic)
        await _check_jobs(deployment, traffic, seqs, spared=0)
        url = f"http://127.0.0.1:{nginx.port}/api/prometheus_discovery/api"
        async with httpx.AsyncClient(timeout=5) as local:
            assert (await local.get(url)).status_code == 200
        other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(transport=other, timeout=5) as client:
            assert (await client.get(url)).status_code == 403
            assert (await client.get(f"http://127.0.0.1:{nginx.port}/api/healthz")).status_code == 200
        # X-Request-Api keeps the port clients use: object URLs built behind nginx lead back through it.
        public = f"http://127.0.0.1:{nginx.port}/api"
        form = {"name": "a.txt", "size": 1, "contentType": "text/plain"}
        headers = {"operationID": "nginx-object", "token": deployment.admin_token()}
        async with httpx.AsyncClient(timeout=10) as local:
            answer = (await local.post(f"{public}/object/initiate_form_data", json=form, headers=headers)).json()
        assert answer["errCode"] == 0, answer
        assert answer["data"]["url"].startswith(f"{public}/"), answer
    finally:
        nginx.stop()
