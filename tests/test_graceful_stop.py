"""Graceful stop: SIGTERM during REST and WebSocket sends — requests in flight are answered, connections drained,
the process exits 0, and after a restart every acknowledged message is stored with gapless seqs."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from tests.process import ServerProcess, start_server
from tests.wsclient import send_text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

REST_SENDERS = 12
PAIRS = [("alice", "bob"), ("carol", "dave")]
WS_SENDER = ("erin", "frank")


class Acks:
    """What the clients were told: acknowledged message texts per conversation, and when the stop was asked."""

    def __init__(self) -> None:
        self.by_conversation: dict[str, list[str]] = {}
        self.attempted: set[str] = set()
        self.after_sigterm = 0
        self.sigterm_at: float | None = None

    def ack(self, conversation_id: str, client_msg_id: str) -> None:
        self.by_conversation.setdefault(conversation_id, []).append(client_msg_id)
        if self.sigterm_at is not None:
            self.after_sigterm += 1

    @property
    def count(self) -> int:
        return sum(len(ids) for ids in self.by_conversation.values())


async def _rest_sender(server: ServerProcess, token: str, index: int, acks: Acks) -> None:
    a, b = PAIRS[index % len(PAIRS)]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.api}", timeout=30) as http:
        n = 0
        while True:
            text = f"r{index}-{n}"  # the message's identity: the server picks REST clientMsgIDs
            n += 1
            body = {"sendID": a, "recvID": b, "contentType": 101, "sessionType": 1, "content": {"content": text}}
            acks.attempted.add(text)
            try:
                resp = await http.post("/msg/send_msg", json=body, headers={"operationID": text, "token": token})
            except httpx.HTTPError:
                return  # the server stopped listening: this send was never acknowledged
            result = resp.json()
            assert result["errCode"] == 0, result
            acks.ack(f"si_{a}_{b}", text)


async def _ws_sender(server: ServerProcess, token: str, acks: Acks, closed: list[bool]) -> None:
    """A JS-SDK-like client sending 1003s one after another until the server drains its connection."""
    a, b = WS_SENDER
    query = f"sendID={a}&token={token}&platformID=5&operationID=ws-{a}&isMsgResp=true&sdkType=js&isBackground=false"
    async with connect(f"ws://127.0.0.1:{server.gateway}/?{query}", compression=None) as ws:
        assert json.loads(await ws.recv())["errCode"] == 0
        n = 0
        try:
            while True:
                client_msg_id = f"w-{n}"
                n += 1
                acks.attempted.add(client_msg_id)
                resp = await send_text(ws, a, b, client_msg_id, timeout_s=30)
                assert resp.err_code == 0, resp
                acks.ack(f"si_{a}_{b}", client_msg_id)
        except ConnectionClosed:
            closed.append(True)


async def _send_and_stop(server: ServerProcess, admin: str, user_tokens: dict[str, str]) -> Acks:
    acks = Acks()
    closed: list[bool] = []
    senders = [asyncio.create_task(_rest_sender(server, admin, i, acks)) for i in range(REST_SENDERS)]
    senders.append(asyncio.create_task(_ws_sender(server, user_tokens[WS_SENDER[0]], acks, closed)))
    async with asyncio.timeout(30):
        while acks.count < 150:  # noqa: ASYNC110 - waits for traffic the senders produce
            await asyncio.sleep(0.01)
    acks.sigterm_at = time.monotonic()
    os.kill(server.proc.pid, signal.SIGTERM)
    await asyncio.wait_for(asyncio.gather(*senders), 60)
    assert closed == [True], "the gateway connection was not closed by the stop"
    return acks


def _pull_all(server: ServerProcess, token: str, user: str, conversation_id: str) -> list[dict[str, object]]:
    ranges = [{"conversationID": conversation_id, "begin": 1, "end": 100_000, "num": 100_000}]
    data = server.post("/msg/pull_msg_by_seq", {"userID": user, "seqRanges": ranges, "order": 0}, token)["data"]
    pulled = (data["msgs"] or {}).get(conversation_id)
    return list(pulled["Msgs"] or []) if pulled else []


def _text(msg: dict[str, object]) -> str:
    """The `content.content` text of a pulled message (MsgData.content is bytes: base64 in JSON)."""
    return str(json.loads(base64.b64decode(str(msg["content"])))["content"])


@pytest.mark.slow
async def test_sigterm_during_sends_keeps_every_acknowledged_message(tmp_path: Path, db_url: str) -> None:
    """SIGTERM mid-traffic: answered in-flight sends, drained WS, exit 0; after restart all acked messages are there."""
    env = {"OPENIM_DATABASE_URL": db_url}
    server = start_server(tmp_path, **env)
    try:
        admin = server.admin_token()
        users = [{"userID": u, "nickname": u} for pair in [*PAIRS, WS_SENDER] for u in pair]
        assert server.post("/user/user_register", {"users": users}, admin)["errCode"] == 0
        ws_token = server.post("/auth/get_user_token", {"userID": WS_SENDER[0], "platformID": 5}, admin)["data"]
        acks = await _send_and_stop(server, admin, {WS_SENDER[0]: ws_token["token"]})
        assert await asyncio.to_thread(server.proc.wait, 30) == 0
    finally:
        server.stop()
    assert acks.after_sigterm >= 1, "no request in flight at SIGTERM was answered"
    logs = tmp_path / "logs"
    assert "stopped" in (logs / "openim.log").read_text()
    assert "draining 1 connection(s)" in (logs / "msggateway.log").read_text()

    restarted = start_server(tmp_path, **env)  # fresh ports: the old process's may be taken meanwhile
    try:
        admin = restarted.admin_token()
        for conversation_id, acked in acks.by_conversation.items():
            owner = conversation_id.split("_")[1]
            msgs = _pull_all(restarted, admin, owner, conversation_id)
            stored = [_text(m) for m in msgs]
            assert [m["seq"] for m in msgs] == list(range(1, len(msgs) + 1)), conversation_id
            assert set(acked) <= set(stored), f"{conversation_id}: acknowledged but lost: {set(acked) - set(stored)}"
            assert set(stored) <= acks.attempted  # nothing stored that no client sent
    finally:
        restarted.stop()
