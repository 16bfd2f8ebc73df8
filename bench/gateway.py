"""Load on the WebSocket gateway: connections, request/reply frames/s, push fan-out frames/s, library comparison.

The server runs in a child process (this script with --serve-…), the load in this one, over 127.0.0.1, so each
side gets one of the two cores. Every loop is bounded in count and time and stops by itself.

Run: .venv/bin/python bench/gateway.py [--conns 2000] [--seconds 3] [--skip-libs]

1. gateway: the real GatewayServer on a Runtime (temporary SQLite, memory infra). `--conns` Go-SDK-style
   connections (gob+gzip, platform Android) → handshakes/s and server RSS per connection; then 2004 requests,
   one (then eight) outstanding per connection → replies/s; then pushes published on the bus to every connected
   user → 2001 frames delivered/s; then 1003 sends in a ring of users (stored in SQLite through the group commit,
   pushed back to the sender and to the receiver) → messages/s.
2. libs: a bare echo server on `websockets` and on `picows` (if installed; it is not a dependency), the same
   websockets client load → echoed frames/s, to see what the library alone costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ANDROID = 2


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ---- server side (child process) ----------------------------------------------------------------------------


async def serve_gateway(users: int, out: Path) -> None:
    """Child: a Runtime and GatewayServer; tokens of `users` users → `out`; SIGUSR1 publishes a push round."""
    from openim.gateway.server import GatewayServer
    from openim.infra.bus import Push
    from openim.protocol.pb import sdkws_pb2
    from openim.runtime import Runtime
    from openim.services.auth import Caller
    from openim.services.user import UserDraft
    from openim.settings import Settings

    logging.basicConfig(level=logging.WARNING, format="server: %(levelname)s %(name)s %(message)s")
    logging.getLogger("openim.gateway").setLevel(logging.INFO if os.environ.get("BENCH_DEBUG") else logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="openim-bench-"))
    settings = Settings.model_validate(
        {"database": {"url": f"sqlite:///{tmp / 'openim.db'}"}, "msggateway": {"websocketMaxConnNum": users + 10}}
    )
    runtime = await Runtime.build(settings)
    admin = Caller("imAdmin", 10, is_admin=True)
    ids = [f"u{i}" for i in range(users)]
    for start in range(0, users, 500):
        await runtime.services.user.register(admin, [UserDraft(u, nickname=u) for u in ids[start : start + 500]])
    tokens = {u: (await runtime.services.auth.create_token(u, ANDROID)).token for u in ids}
    out.write_text(json.dumps(tokens))  # noqa: ASYNC240 - once, before serving
    bus = runtime.bus
    server = GatewayServer(
        settings.msggateway,
        auth=runtime.services.auth,
        msg=runtime.services.msg,
        third=runtime.services.third,
        bus=bus,
        presence=runtime.presence,
        clock=runtime.clock,
        multi_login_policy=settings.multiLogin.policy,
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    rounds = 0

    def push_round() -> None:
        nonlocal rounds
        rounds += 1
        msg = sdkws_pb2.MsgData(sendID="u0", recvID="x", seq=rounds, sessionType=1, contentType=101, content=b"x" * 200)
        for user_id in ids:
            bus.publish("push", Push(f"si_u0_{user_id}", msg, (user_id,), f"bench-{rounds}"))

    loop.add_signal_handler(signal.SIGUSR1, push_round)
    loop.add_signal_handler(signal.SIGTERM, server.close)
    task = asyncio.ensure_future(server.serve(sock))
    await server.ready.wait()
    print(sock.getsockname()[1], flush=True)
    await task
    await runtime.close()


async def serve_echo(lib: str) -> None:
    """Child: a bare echo server on `lib` (binary frames back as they came), port on stdout."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if lib == "websockets":
        from websockets.asyncio.server import ServerConnection, serve

        async def echo(ws: ServerConnection) -> None:
            async for message in ws:
                await ws.send(message)

        async with serve(echo, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
            print(next(iter(server.sockets)).getsockname()[1], flush=True)
            await stop.wait()
    else:
        from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server

        class Echo(WSListener):  # type: ignore[misc]
            def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
                if frame.msg_type == WSMsgType.CLOSE:
                    transport.send_close(frame.get_close_code(), frame.get_close_message())
                    transport.disconnect()
                else:
                    transport.send(frame.msg_type, frame.get_payload_as_bytes())

        server = await ws_create_server(lambda _request: Echo(), "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await stop.wait()
        server.close()


# ---- client side ---------------------------------------------------------------------------------------------


def start_child(*args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, str(HERE), *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"child {args} did not start")
    return proc, int(line)


def stop_child(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


class RawClient(asyncio.Protocol):
    """A minimal WebSocket client for load: frames prebuilt (zero mask key), replies only counted, not decoded.

    Much cheaper per frame than a full client, so with one core each the server, not the load, is measured.
    """

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.buf = bytearray()
        self.handshaken = False
        self.received = 0
        self.frame = b""  # sent once per frame received while `echoing`
        self.echoing = False
        self.waiter: asyncio.Future[None] | None = None
        self.want = 0
        self.transport: asyncio.Transport | None = None

    @staticmethod
    def frame_of(payload: bytes, opcode: int = 0x2) -> bytes:
        n = len(payload)
        if n < 126:
            head = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        return head + b"\0\0\0\0" + payload

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.handshaken:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(bytes(buf[:200]).decode(errors="replace")))
                return
            del buf[: end + 4]
            self.handshaken = True
            self.opened.set_result(None)
        pos, count, size = 0, 0, len(buf)
        while size - pos >= 2:
            n = buf[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif n == 127:
                if size - pos < 10:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if size - pos < head + n:
                break
            pos += head + n
            count += 1
        del buf[:pos]
        if count:
            self.received += count
            if self.echoing and self.transport is not None:
                self.transport.write(self.frame * count)
            if self.waiter is not None and self.received >= self.want and not self.waiter.done():
                self.waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during handshake"))
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection lost"))


async def raw_connect(port: int, query: str) -> RawClient:
    loop = asyncio.get_running_loop()
    request = (
        f"GET /?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    _, client = await loop.create_connection(lambda: RawClient(request), "127.0.0.1", port)
    await client.opened
    return client


async def raw_echo_load(clients: list[RawClient], frames: list[bytes], seconds: float, window: int) -> int:
    """Keep `window` frames in flight per client for `seconds`; returns the frames the server sent back."""
    for c, f in zip(clients, frames, strict=True):
        c.frame, c.echoing, c.received = f, True, 0
        assert c.transport is not None
        c.transport.write(f * window)
    await asyncio.sleep(seconds)
    total = sum(c.received for c in clients)
    for c in clients:
        c.echoing = False
    await asyncio.sleep(0.5)  # let in-flight replies land before the next measurement
    return total


async def open_conns(port: int, tokens: dict[str, str], concurrency: int) -> list[RawClient]:
    """One Go-SDK-style connection per user (gob+gzip envelope, platform Android), `concurrency` handshakes at once."""
    sem = asyncio.Semaphore(concurrency)

    async def one(user_id: str, token: str) -> RawClient:
        query = (
            f"sendID={user_id}&token={token}&platformID={ANDROID}&operationID=bench-{user_id}"
            f"&isBackground=false&sdkVersion=3.8.0&compression=gzip"
        )
        async with sem:
            return await raw_connect(port, query)

    return list(await asyncio.gather(*(one(u, t) for u, t in tokens.items())))


async def bench_gateway(args: argparse.Namespace) -> None:
    from openim.gateway.frames import FrameCodec, Req
    from openim.protocol.constants import ReqIdentifier
    from openim.protocol.pb import sdkws_pb2

    tokens_file = Path(tempfile.mkstemp(prefix="openim-bench-tokens-")[1])
    proc, port = start_child("--serve-gateway", str(args.conns), str(tokens_file))
    try:
        tokens = json.loads(tokens_file.read_text())  # noqa: ASYNC240 - setup, not measured
        base = rss_kib(proc.pid)
        t0 = time.perf_counter()
        conns = await open_conns(port, tokens, 100)
        dt = time.perf_counter() - t0
        await asyncio.sleep(0.5)
        per_conn = (rss_kib(proc.pid) - base) / len(conns)
        print(
            f"gateway connections {len(conns):>6}   handshakes/s {len(conns) / dt:>8,.0f}   RSS/conn {per_conn:.1f} KiB"
        )

        codec = FrameCodec("gob", gzip=True)
        data = sdkws_pb2.SetAppBackgroundStatusReq(userID="x", isBackground=False).SerializeToString()
        users = list(tokens)
        for active, window in ((args.active, 1), (args.active, 8)):
            frames = [
                RawClient.frame_of(
                    codec.encode_req(Req(ReqIdentifier.SET_BACKGROUND_STATUS, "", u, "op", f"{u}_1", data))
                )
                for u in users[:active]
            ]
            n = await raw_echo_load(conns[:active], frames, args.seconds, window)
            print(
                f"gateway 2004 req/reply (gob+gzip)  conns {active:>5}  in flight/conn {window}"
                f"   replies/s {n / args.seconds:>8,.0f}"
            )

        rounds = 5
        for c in conns:
            c.received, c.want = 0, rounds
            c.waiter = asyncio.get_running_loop().create_future()
        t0 = time.perf_counter()
        for _ in range(rounds):
            proc.send_signal(signal.SIGUSR1)
            await asyncio.sleep(0.005)
        await asyncio.wait_for(asyncio.gather(*(c.waiter for c in conns if c.waiter is not None)), 120)
        dt = time.perf_counter() - t0
        received = sum(c.received for c in conns)
        print(
            f"gateway 2001 push fan-out (gob+gzip, 200-byte content)  {rounds} x {len(conns)} conns"
            f"   frames/s {received / dt:>8,.0f}"
        )
        await asyncio.sleep(0.5)
        n_msgs = args.messages
        senders = conns[: args.active]
        ring = users[: len(senders)]
        frames = []
        for i, sender in enumerate(ring):
            recv = ring[(i + 1) % len(ring)]
            batch = b""
            for k in range(n_msgs):
                msg = sdkws_pb2.MsgData(
                    sendID=sender,
                    recvID=recv,
                    clientMsgID=f"{sender}-{k}",
                    senderPlatformID=ANDROID,
                    sessionType=1,
                    msgFrom=100,
                    contentType=101,
                    content=b'{"content":"hello"}',
                    createTime=1,
                    status=1,
                )
                req = Req(
                    ReqIdentifier.SEND_MSG, "", sender, f"op-{sender}-{k}", f"{sender}_{k}", msg.SerializeToString()
                )
                batch += RawClient.frame_of(codec.encode_req(req))
            frames.append(batch)
        for c in senders:  # per sender: its replies, its own messages pushed back, the messages it receives
            c.received, c.want = 0, 3 * n_msgs
            c.waiter = asyncio.get_running_loop().create_future()
        t0 = time.perf_counter()
        for c, batch in zip(senders, frames, strict=True):
            assert c.transport is not None
            c.transport.write(batch)
        await asyncio.wait_for(asyncio.gather(*(c.waiter for c in senders if c.waiter is not None)), 300)
        dt = time.perf_counter() - t0
        total = len(senders) * n_msgs
        print(
            f"gateway 1003 send → store → 2001 to sender and receiver  {len(senders)} senders x {n_msgs}"
            f"   messages/s {total / dt:>8,.0f}   frames out/s {3 * total / dt:>8,.0f}"
        )
        for c in conns:
            assert c.transport is not None
            c.transport.close()
    finally:
        stop_child(proc)
        tokens_file.unlink(missing_ok=True)  # noqa: ASYNC240


async def bench_libs(args: argparse.Namespace) -> None:
    libs = ["websockets"]
    try:
        import picows  # noqa: F401

        libs.append("picows")
    except ImportError:
        print("libs: picows is not installed here (it is no dependency; pip install picows to compare)")
    for lib in libs:
        proc, port = start_child("--serve-echo", lib)
        try:
            conns = [await raw_connect(port, "x=1") for _ in range(args.active)]
            frame = RawClient.frame_of(b"x" * 300)
            for window in (1, 8):
                n = await raw_echo_load(conns, [frame] * len(conns), args.seconds, window)
                print(
                    f"bare echo on {lib:<10}  conns {len(conns):>5}  in flight/conn {window}"
                    f"   frames/s {n / args.seconds:>8,.0f}"
                )
            for c in conns:
                assert c.transport is not None
                c.transport.close()
        finally:
            stop_child(proc)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-gateway":
        asyncio.run(serve_gateway(int(sys.argv[2]), Path(sys.argv[3])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-echo":
        asyncio.run(serve_echo(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conns", type=int, default=2000, help="connections to open (one user each)")
    parser.add_argument("--active", type=int, default=200, help="connections sending requests")
    parser.add_argument("--messages", type=int, default=50, help="1003 sends per sending connection")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per throughput measurement")
    parser.add_argument("--skip-libs", action="store_true", help="skip the websockets/picows echo comparison")
    parser.add_argument("--skip-gateway", action="store_true", help="only the library comparison")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; server in a child process, load in this one")
    if not args.skip_gateway:
        asyncio.run(bench_gateway(args))
    if not args.skip_libs:
        asyncio.run(bench_libs(args))


if __name__ == "__main__":
    main()
