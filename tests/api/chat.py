"""Helpers for the message-path API tests: registered users with tokens, REST sends, pulls and read positions."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from tests.api.conftest import Api

SI_AB = "si_alice_bob"


@dataclass
class Chat:
    """Users registered over REST, each with a token, plus the admin token; posts as any of them."""

    api: Api
    admin: str
    tokens: dict[str, str]

    async def post(self, path: str, body: Any, *, as_: str, op: str | None = None) -> dict[str, Any]:
        """The whole envelope of `path` posted by `as_` ("admin" or a userID), optionally with an operationID."""
        token = self.admin if as_ == "admin" else self.tokens[as_]
        return await self.api.post(path, body, token=token, headers={"operationID": op} if op else None)

    async def ok(self, path: str, body: Any, *, as_: str, op: str | None = None) -> Any:
        """`data` of a post that must succeed."""
        result = await self.post(path, body, as_=as_, op=op)
        assert result["errCode"] == 0, result
        return result.get("data")

    async def send(
        self, send_id: str, recv_id: str = "", text: str = "hi", *, group_id: str = "", op: str | None = None
    ) -> dict[str, Any]:
        """A text message sent by the admin through /msg/send_msg as `send_id` (a group message with group_id)."""
        body = {
            "sendID": send_id,
            "recvID": recv_id,
            "groupID": group_id,
            "contentType": 101,
            "sessionType": 3 if group_id else 1,
            "content": {"content": text},
        }
        data: dict[str, Any] = await self.ok("/msg/send_msg", body, as_="admin", op=op)
        return data

    async def pull(self, user: str, conversation_id: str, begin: int = 1, end: int = 100) -> list[dict[str, Any]]:
        """The messages `user` pulls from a conversation by seq range (chat or notification), [] when none."""
        ranges = [{"conversationID": conversation_id, "begin": begin, "end": end, "num": end - begin + 1}]
        data = await self.ok("/msg/pull_msg_by_seq", {"userID": user, "seqRanges": ranges, "order": 0}, as_=user)
        for key in ("msgs", "notificationMsgs"):
            pulled = (data[key] or {}).get(conversation_id)
            if pulled is not None:
                return list(pulled["Msgs"] or [])
        return []

    async def texts(self, user: str, conversation_id: str) -> list[str]:
        """The `content` texts of the messages `user` pulls from a conversation, in seq order."""
        return [content_of(m).get("content", "") for m in await self.pull(user, conversation_id)]

    async def seqs(self, user: str, conversation_id: str) -> dict[str, Any] | None:
        """{maxSeq, hasReadSeq, maxSeqTime} of a conversation for `user`, None when it is not listed."""
        body = {"userID": user, "conversationIDs": [conversation_id]}
        data = await self.ok("/msg/get_conversations_has_read_and_max_seq", body, as_=user)
        found: dict[str, Any] | None = (data["seqs"] or {}).get(conversation_id)
        return found


async def open_chat(api: Api, *users: str) -> Chat:
    """Register `users` (nickname nick-<id>) and sign each in on platform 5 (Web)."""
    await api.register(*users)
    return Chat(api, await api.admin_token(), {u: await api.user_token(u) for u in users})


def content_of(msg: dict[str, Any]) -> dict[str, Any]:
    """The JSON object a pulled MsgData carries in its base64 `content` ({} for a placeholder without one)."""
    if msg["content"] is None:
        return {}
    value: dict[str, Any] = json.loads(base64.b64decode(msg["content"], validate=True))
    return value
