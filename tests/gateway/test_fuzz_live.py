"""Hostile frames against a live gateway: the process stays up, another user keeps chatting, memory stays bounded.

A real `openim start api msggateway` on free ports. alice chats with bob on one connection (a SendMsg every
20 ms, each waiting for its reply) while mallory, on her own connections, sends what hypothesis draws: mutated
gob, JSON and gzip frames, gob type tables with lying counts, gzip bombs, huge declared lengths, garbage text,
then floods one connection with text and control pings without reading the answers. The server closes
mallory's connection on a malformed frame (as OpenIM does) and she reconnects.

Asserted: the process is alive, every one of alice's sends was answered with errCode 0 (each within a generous
30 s bound, a liveness check and not a latency limit), a new connection is served afterwards, the server's
RSS grew by less than 200 MiB, and the server logged no error (every hostile frame ended as a FrameError, 1001 or
an unknown-ReqIdentifier close, never as a bug). Printed: alice's reply latency (p50, p99, max) before, during
and after the attack, mallory's frames and reconnects, and the RSS before and after. Examples are derandomized;
OPENIM_FUZZ_EXAMPLES raises their number by hand.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.gateway.test_fuzz import BOMBS, gob_type_tables, mutated, reqs
from tests.process import ServerProcess, start_server
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from openim.gateway.frames import FrameCodec, FrameError, Req, Resp, gzip_frame
from openim.protocol.constants import ContentType, MsgStatus, ReqIdentifier, SessionType
from openim.protocol.ids import new_client_msg_id
from openim.protocol.pb import sdkws_pb2

EXAMPLES = int(os.environ.get("OPENIM_FUZZ_EXAMPLES", "200"))
GO = FrameCodec("gob", gzip=True)  # what the Go SDK speaks: gob envelopes, gzip per frame
PINGS = 3000
RSS_GROWTH_LIMIT = 200 << 20
_incr = itertools.count(1)


def rss(pid: int) -> int:
    """Resident set size of a process, bytes (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) << 10
    raise AssertionError("no VmRSS")


@dataclass
class Live:
    server: ServerProcess
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.gateway}/"

    def connect(self, user_id: str) -> ClientConnection:
        query = (
            f"sendID={user_id}&token={self.tokens[user_id]}&platformID=2&operationID=fuzz-{next(_incr)}"
            "&isBackground=false&compression=gzip&sdkVersion=3.8.0"
        )
        # No keepalive pings: websockets draws their payloads from the global `random` in its background thread,
        # and Hypothesis, seeing that state move while it draws an example, reports it (an error here).
        return connect(
            f"{self.url}?{query}", compression=None, max_size=None, open_timeout=30, close_timeout=2, ping_interval=None
        )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    server = start_server(tmp_path_factory.mktemp("fuzz_live"), "api", "msggateway")
    try:
        admin = server.admin_token()
        users = [{"userID": u, "nickname": u} for u in ("alice", "bob", "mallory")]
        assert server.post("/user/user_register", {"users": users}, admin)["errCode"] == 0
        tokens = {
            u["userID"]: server.post("/auth/get_user_token", {"userID": u["userID"], "platformID": 2}, admin)["data"][
                "token"
            ]
            for u in users
        }
        yield Live(server, tokens)
    finally:
        server.stop()


# --- alice, chatting throughout -------------------------------------------------------------------------------


def _send_req(sender: str, recv: str, text: str) -> Req:
    msg = sdkws_pb2.MsgData(
        sendID=sender,
        recvID=recv,
        clientMsgID=new_client_msg_id(sender),
        senderPlatformID=2,
        sessionType=SessionType.SINGLE_CHAT,
        msgFrom=100,
        contentType=ContentType.TEXT,
        content=json.dumps({"content": text}).encode(),
        createTime=int(time.time() * 1000),
        status=MsgStatus.SENDING,
    )
    incr = f"{sender}_{next(_incr)}"
    return Req(ReqIdentifier.SEND_MSG, "", sender, f"op-{incr}", incr, msg.SerializeToString())


@dataclass
class Chatter:
    """alice's connection: one SendMsg at a time, the reply awaited (pushes skipped), latencies kept per phase."""

    live: Live
    phase: str = "before"
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            with self.live.connect("alice") as ws:
                while not self.stop.is_set():
                    self._one(ws)
                    time.sleep(0.02)
        except Exception as exc:
            self.failures.append(f"alice's connection failed: {exc!r}")

    def _one(self, ws: ClientConnection) -> None:
        req = _send_req("alice", "bob", f"hello {req_n()}")
        started = time.perf_counter()
        ws.send(GO.encode_req(req))
        deadline = started + 30
        while True:
            frame = ws.recv(timeout=max(deadline - time.perf_counter(), 0.001))
            assert isinstance(frame, bytes)
            resp = GO.decode_resp(frame)
            if resp.msg_incr == req.msg_incr:
                break
        self.latencies.setdefault(self.phase, []).append(time.perf_counter() - started)
        if resp.err_code != 0:
            self.failures.append(f"alice's send answered {resp.err_code} {resp.err_msg}")


_req_counter = itertools.count(1)


def req_n() -> int:
    return next(_req_counter)


def _summary(latencies: list[float]) -> str:
    if not latencies:
        return "no sends"
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"{len(ms)} sends, p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms"


# --- mallory ------------------------------------------------------------------------------------------------------


@dataclass
class Mallory:
    live: Live
    ws: ClientConnection | None = None
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    frames: int = 0
    reconnects: int = 0
    refused: int = 0  # handshakes the server refused (it may, while she floods)

    def conn(self) -> ClientConnection:
        if self.ws is None:
            try:
                self.stack = contextlib.ExitStack()
                self.ws = self.stack.enter_context(self.live.connect("mallory"))
            except InvalidStatus:
                self.refused += 1
                raise
            self.reconnects += 1
        return self.ws

    def send(self, frame: bytes | str) -> None:
        """Send one frame; then read what comes within 50 ms; a closed connection is dropped for the next."""
        ws = self.conn()
        try:
            ws.send(frame)
            self.frames += 1
            with contextlib.suppress(TimeoutError):
                while True:
                    ws.recv(timeout=0.05)
        except ConnectionClosed:
            self.drop()

    def drop(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.stack.close()
            self.ws = None


def _mallory_frame(req: Req) -> Req:
    return Req(req.req_identifier, req.token, "mallory", req.operation_id, req.msg_incr, req.data)


plain_gob, plain_json = FrameCodec("gob"), FrameCodec("json")
_BOMB_FRAMES = [BOMBS[name]()[1] for name in BOMBS]


def _one_of_these(frames: list[Any]) -> st.SearchStrategy[Any]:
    """sampled_from by index, so the strategy's repr stays short: Hypothesis formats it in some reports, and a repr of
    the bombs themselves (~700 kB) is a HypothesisWarning, an error under this project's filterwarnings."""
    return st.sampled_from(range(len(frames))).map(frames.__getitem__)


hostile = st.one_of(
    st.builds(lambda r: GO.encode_req(_mallory_frame(r)), reqs),  # valid frames: unknown ids, bad protobuf
    reqs.flatmap(lambda r: mutated(plain_gob.encode_req(_mallory_frame(r)))).map(gzip_frame),
    reqs.flatmap(lambda r: mutated(GO.encode_req(_mallory_frame(r)))),
    reqs.flatmap(lambda r: mutated(plain_json.encode_req(_mallory_frame(r)))).map(gzip_frame),
    gob_type_tables().map(gzip_frame),
    _one_of_these(_BOMB_FRAMES),
    st.binary(max_size=300),
    st.text(max_size=100),
    _one_of_these(['{"type":"ping","body":' + "[" * 1000 + "]" * 1000 + "}", '{"type":"ping"}', "{}"]),
)


@pytest.mark.slow
def test_hostile_frames_leave_other_users_served(live: Live) -> None:
    """mallory's frames and ping floods: the process lives, alice's every send is answered, RSS stays bounded."""
    pid = live.server.proc.pid
    chatter = Chatter(live)
    alice = threading.Thread(target=chatter.run, daemon=True)
    alice.start()
    time.sleep(1.0)  # the "before" sample
    rss_before = rss(pid)
    chatter.phase = "during"
    mallory = Mallory(live)
    started = time.monotonic()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(hostile, min_size=1, max_size=3))
    def attack(frames: list[bytes | str]) -> None:
        for frame in frames:
            mallory.send(frame)

    try:
        attack()
        fuzz_seconds = time.monotonic() - started
        flood = _ping_flood(live)
    finally:
        mallory.drop()
        chatter.phase = "after"
        time.sleep(1.0)
        chatter.stop.set()
        alice.join(60)
    rss_after = rss(pid)

    print(
        f"\nlive fuzz: {mallory.frames} hostile frames in {fuzz_seconds:.1f} s, {mallory.reconnects} connections, "
        f"{mallory.refused} refused; ping flood: {flood}"
    )
    for phase in ("before", "during", "after"):
        print(f"  alice {phase}: {_summary(chatter.latencies.get(phase, []))}")
    print(f"  server RSS {rss_before >> 20} MiB → {rss_after >> 20} MiB")

    assert live.server.proc.poll() is None, "the server died"
    assert not alice.is_alive(), "alice's loop did not stop"
    assert chatter.failures == []
    assert len(chatter.latencies.get("during", [])) >= 5, chatter.latencies.keys()
    assert rss_after - rss_before < RSS_GROWTH_LIMIT
    errors = [
        line
        for log in live.server.cwd.rglob("*.log")
        for line in log.read_text(errors="replace").splitlines()
        if " ERROR " in line or "Traceback" in line
    ]
    assert errors == [], "the server logged errors (a frame reached a bug, not a FrameError):\n" + "\n".join(errors)
    with live.connect("bob") as ws:  # a new connection is served
        req = Req(
            ReqIdentifier.GET_NEWEST_SEQ,
            "",
            "bob",
            "op-end",
            "bob_end",
            sdkws_pb2.GetMaxSeqReq(userID="bob").SerializeToString(),
        )
        ws.send(GO.encode_req(req))
        resp = _reply(ws, "bob_end")
        assert resp.err_code == 0, resp


def _reply(ws: ClientConnection, msg_incr: str) -> Resp:
    deadline = time.monotonic() + 30
    while True:
        frame = ws.recv(timeout=max(deadline - time.monotonic(), 0.001))
        assert isinstance(frame, bytes)
        try:
            resp = GO.decode_resp(frame)
        except FrameError:
            continue
        if resp.msg_incr == msg_incr:
            return resp


def _ping_flood(live: Live) -> str:
    """PINGS text pings and as many control pings on one connection, answers unread until the end, then drained."""
    sent = answered = 0
    with live.connect("mallory") as ws:
        try:
            for i in range(PINGS):
                ws.send('{"type":"ping","body":' + str(i) + "}")
                ws.ping(f"p{i}".encode())  # a control ping, its pong awaited by nobody
                sent += 2
            with contextlib.suppress(TimeoutError):
                while True:
                    ws.recv(timeout=2)
                    answered += 1
        except ConnectionClosed as exc:
            return f"{sent} pings sent, {answered} text pongs read, then closed by the server ({exc.rcvd})"
    return f"{sent} pings sent, {answered} text pongs read"
