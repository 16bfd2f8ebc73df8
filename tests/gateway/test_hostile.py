"""The attacks of issue 12 on a live gateway, rerun: decoding bombs while another user talks, storage amplification
through gzip, and pulls that must stay under the SDKs' 1 MiB frame (docs/security.md, "Hostile frames").

Structure is asserted (who got answers, who was closed, what was stored, frame sizes), never wall-clock times; the
latency the other user saw during the attack is printed (`pytest -s`) for the record.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import connect

from openim.bench import hostile
from openim.gateway.frames import FrameCodec, Req, gzip_frame
from openim.protocol.constants import ContentType, ReqIdentifier
from openim.protocol.pb import sdkws_pb2
from openim.services.auth import Caller
from openim.settings import Settings
from openim.storage.schema import msg as msg_table

from .conftest import Gateway, Sdk
from .test_push import new_text

ANDROID, WEB = 2, 5
SDK_READ_LIMIT = 1 << 20  # the Go and wasm SDKs' SetReadLimit


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.model_validate({"database": {"url": db_url}})


def _max_seq_req(user_id: str) -> bytes:
    return sdkws_pb2.GetMaxSeqReq(userID=user_id).SerializeToString()


async def _talk(sdk: Sdk, stop: asyncio.Event, latencies: list[float]) -> None:
    """Ask 1001 again and again until `stop`, noting each round trip (a request that got no answer fails)."""
    while not stop.is_set():
        started = time.perf_counter()
        resp = await sdk.request(ReqIdentifier.GET_NEWEST_SEQ, _max_seq_req(sdk.user_id), within=30)
        assert resp.err_code == 0
        latencies.append((time.perf_counter() - started) * 1000)


def _report(label: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    print(f"\n{label}: {len(ordered)} answers, median {ordered[len(ordered) // 2]:.2f} ms, max {ordered[-1]:.2f} ms")


async def test_bombs_do_not_stall_other_users(gateway: Gateway) -> None:
    """Five of the issue's frames (4 KB of gzip declaring a 4-million-element []int), each from its own connection,
    then every other refused hostile frame: each attacker is closed without a reply, and a user on another
    connection gets an answer to every request it sends meanwhile."""
    victim = await gateway.connect("victim", ANDROID)
    stop = asyncio.Event()
    baseline: list[float] = []
    talker = asyncio.create_task(_talk(victim, stop, baseline))
    await asyncio.sleep(0.3)
    stop.set()
    await talker

    bombs = [hostile.gzip(hostile.int_slice(4_000_000))] * 5
    bombs += [h.build() for h in hostile.HOSTILE if h.expect == "refused" and h.kind == "gob" and h.gzip]
    attackers = [await gateway.connect(f"attacker{i}", ANDROID) for i in range(len(bombs))]
    stop = asyncio.Event()
    during: list[float] = []
    talker = asyncio.create_task(_talk(victim, stop, during))
    await asyncio.sleep(0.05)
    await asyncio.gather(*(a.ws.send(bomb) for a, bomb in zip(attackers, bombs, strict=True)))
    await asyncio.gather(*(a.closed(within=10) for a in attackers))
    answered = len(during)
    await gateway.settled(lambda: len(during) >= answered + 3, within=30)  # still answering after the attack
    stop.set()
    await talker
    _report("1001 round trips before the attack", baseline)
    _report(f"1001 round trips while {len(bombs)} hostile frames were decoded", during)
    assert len(bombs[0]) < 8 << 10
    assert all(a.arrived == [] for a in attackers)  # refused: closed, nothing sent a Go SDK could not decode
    await gateway.settled(lambda: gateway.server.hub.count == 1)
    assert (await victim.request(ReqIdentifier.GET_NEWEST_SEQ, _max_seq_req("victim"))).err_code == 0


async def _stored(gateway: Gateway) -> tuple[int, int]:
    """(messages, bytes of message data) in the database."""
    async with gateway.runtime.storage.db.read("test.stored") as conn:
        row = (
            await conn.execute(select(func.count(), func.coalesce(func.sum(func.length(msg_table.c.data)), 0)))
        ).one()
    return int(row[0]), int(row[1])


def _sqlite_files(db_url: str) -> int:
    path = Path(db_url.removeprefix("sqlite:///"))
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


async def test_a_small_gzip_frame_cannot_store_a_big_message(gateway: Gateway, db_url: str) -> None:
    """The issue's amplification: a 4,370-byte gzip frame carrying a 3 MB text is refused (the connection closes),
    30 of them store nothing and leave the database as it was; a text that inflates within the frame limit but
    past msg.maxContentLen.text is answered 1001 and the connection stays."""
    await gateway.token("bob")
    token = await gateway.token("mallory", ANDROID)  # one login: reconnecting with it writes nothing
    before, sqlite_before = await _stored(gateway), _sqlite_files(db_url) if db_url.startswith("sqlite") else 0
    big = new_text("mallory", "bob", "A" * (3 << 20))
    frame = gzip_frame(FrameCodec("gob").encode_req(Req(1003, send_id="mallory", data=big.SerializeToString())))
    assert len(frame) < 4400
    for _ in range(30):
        mallory = await gateway.connect("mallory", ANDROID, token=token)
        await mallory.ws.send(frame)
        await mallory.closed()
        assert mallory.arrived == []
    mallory = await gateway.connect("mallory", ANDROID, token=token)
    medium = new_text("mallory", "bob", "A" * (150 << 10))  # 150 KB: inflates within 200 KiB, past 32 KiB
    resp = await mallory.request(ReqIdentifier.SEND_MSG, medium.SerializeToString())
    assert (resp.err_code, resp.err_msg) == (1001, "ArgsError")
    assert await _stored(gateway) == before
    if db_url.startswith("sqlite"):
        assert _sqlite_files(db_url) == sqlite_before
    ok = await mallory.request(ReqIdentifier.SEND_MSG, new_text("mallory", "bob", "A" * 1000).SerializeToString())
    assert ok.err_code == 0


@pytest.mark.parametrize("sdk", ["go", "js"])
async def test_a_receivers_pull_stays_under_the_sdk_read_limit(gateway: Gateway, sdk: str) -> None:
    """30 messages of the largest allowed kind (128 KiB quotes, incompressible: 3.9 MB in all) sent to bob; bob's
    1002 for all 30 comes back in one frame under 1 MiB (a client that reads no more stays connected) holding the
    newest that fit, and further pulls fetch the rest."""
    await gateway.token("mallory")
    await gateway.token("bob")
    limit = Settings().msg.maxContentLen.quote
    sender = Caller("mallory", ANDROID)
    for i in range(30):
        payload = base64.b64encode(os.urandom(limit // 4 * 3 - 64)).decode()
        msg = new_text("mallory", "bob", "")
        msg.contentType = ContentType.QUOTE
        msg.content = json.dumps({"text": f"{i:02d}", "quoteMessage": {"content": payload}}).encode()[:limit]
        assert len(msg.content) <= limit
        await gateway.runtime.services.msg.send(sender, msg, operation_id=f"big-{i}")
    token = await gateway.token("bob", WEB if sdk == "js" else ANDROID)
    query = gateway.query("bob", token, WEB if sdk == "js" else ANDROID, sdk="js" if sdk == "js" else "go")
    codec = FrameCodec("json" if sdk == "js" else "gob", gzip=sdk != "js")
    async with connect(f"ws://127.0.0.1:{gateway.port}/?{query}", max_size=SDK_READ_LIMIT, compression=None) as ws:
        if sdk == "js":
            await asyncio.wait_for(ws.recv(), 5)  # the handshake text
        got: set[int] = set()
        end = 30
        sizes = []
        while end >= 1:
            req = sdkws_pb2.PullMessageBySeqsReq(
                userID="bob", seqRanges=[sdkws_pb2.SeqRange(conversationID="si_bob_mallory", begin=1, end=end, num=30)]
            )
            await ws.send(codec.encode_req(Req(1002, send_id="bob", msg_incr=str(end), data=req.SerializeToString())))
            frame = await asyncio.wait_for(ws.recv(), 10)
            assert isinstance(frame, bytes)
            sizes.append(len(frame))
            pulled = sdkws_pb2.PullMessageBySeqsResp.FromString(codec.decode_resp(frame).data)
            seqs = [m.seq for m in pulled.msgs["si_bob_mallory"].Msgs]
            assert seqs and seqs == list(range(seqs[0], end + 1))
            got.update(seqs)
            end = seqs[0] - 1
    print(f"\n{sdk}: {len(sizes)} pulls for 30 messages of {limit} bytes, frames of {sizes} bytes")
    assert got == set(range(1, 31))
    assert max(sizes) < SDK_READ_LIMIT and len(sizes) > 1
