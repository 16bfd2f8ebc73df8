"""No acknowledged message is lost: `kill -9` right after the acks, restart, every message is there, seqs gapless."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
from tests.process import ServerProcess, start_server

SENDERS = 16
PER_SENDER = 25
CONVERSATIONS = [("alice", "bob"), ("carol", "dave")]


async def _send_all(server: ServerProcess, token: str) -> dict[str, list[str]]:
    """Send concurrently over REST; return the acknowledged clientMsgIDs per conversation."""
    acked: dict[str, list[str]] = {f"si_{a}_{b}": [] for a, b in CONVERSATIONS}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.api}", timeout=30) as http:

        async def sender(index: int) -> None:
            a, b = CONVERSATIONS[index % len(CONVERSATIONS)]
            for n in range(PER_SENDER):
                body = {
                    "sendID": a,
                    "recvID": b,
                    "contentType": 101,
                    "sessionType": 1,
                    "content": {"content": f"{index}-{n}"},
                }
                resp = await http.post(
                    "/msg/send_msg", json=body, headers={"operationID": f"d{index}-{n}", "token": token}
                )
                result = resp.json()
                assert result["errCode"] == 0, result
                acked[f"si_{a}_{b}"].append(result["data"]["clientMsgID"])

        await asyncio.gather(*(sender(i) for i in range(SENDERS)))
    return acked


def _pull_all(server: ServerProcess, token: str, user: str, conversation_id: str) -> list[dict[str, object]]:
    ranges = [{"conversationID": conversation_id, "begin": 1, "end": 10_000, "num": 10_000}]
    data = server.post("/msg/pull_msg_by_seq", {"userID": user, "seqRanges": ranges, "order": 0}, token)["data"]
    pulled = (data["msgs"] or {}).get(conversation_id)
    return list(pulled["Msgs"] or []) if pulled else []


@pytest.mark.slow
async def test_kill_9_after_acks_loses_nothing(tmp_path: Path, db_url: str) -> None:
    """Acked sends survive SIGKILL of the server; after restart each conversation holds them with seqs 1..N."""
    env = {"OPENIM_DATABASE_URL": db_url}
    server = start_server(tmp_path, **env)
    try:
        admin = server.admin_token()
        users = [{"userID": u, "nickname": u} for pair in CONVERSATIONS for u in pair]
        assert server.post("/user/user_register", {"users": users}, admin)["errCode"] == 0
        acked = await _send_all(server, admin)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
    finally:
        server.stop()

    restarted = start_server(tmp_path, **env)  # fresh ports: the old process's may be taken meanwhile
    try:
        admin = restarted.admin_token()
        for (a, _), (conversation_id, ids) in zip(CONVERSATIONS, acked.items(), strict=True):
            msgs = _pull_all(restarted, admin, a, conversation_id)
            assert [m["seq"] for m in msgs] == list(range(1, len(ids) + 1))
            assert sorted(str(m["clientMsgID"]) for m in msgs) == sorted(ids)
    finally:
        restarted.stop()
