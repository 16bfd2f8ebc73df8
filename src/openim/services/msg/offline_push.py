"""The offline-push job: what the msg service hands the msgtransfer role for each committed message to push.

`on_commit` enqueues one job (topic `TOPIC_OFFLINE_PUSH`) per committed message whose `offlinePush` option is on
(docs/protocol/messages.md §4 step 10), naming its candidate recipients: the receiver of a single or notification chat,
every member but the sender in a group; for a message whose online-push hook is on, once the hook answered, from
the users it left (services/msg/push_hooks.py). Who of them is offline is decided by the worker when it runs
(`jobs/offline_push.py`), from presence at that time. Signaling messages (1602, 1603) are never pushed offline.

Payload (`encode`/`decode`): UTF-8 JSON `{"v": 1, "conversationID", "operationID", "userIDs": [...],
"msg": "<base64 of the MsgData protobuf>"}`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import orjson

from openim.protocol.constants import OPT_OFFLINE_PUSH, SessionType
from openim.protocol.ids import option
from openim.protocol.pb.sdkws_pb2 import MsgData

__all__ = ["NO_OFFLINE_PUSH_CONTENT_TYPES", "TOPIC_OFFLINE_PUSH", "OfflinePushJob", "candidates", "decode", "encode"]

TOPIC_OFFLINE_PUSH = "offline_push"
NO_OFFLINE_PUSH_CONTENT_TYPES = frozenset({1602, 1603})  # signaling (OpenIM skips them in its push handler)


@dataclass(frozen=True, slots=True)
class OfflinePushJob:
    """Push `msg` of `conversation_id` to those of `user_ids` who have no live mobile connection."""

    conversation_id: str
    msg: MsgData
    user_ids: tuple[str, ...]
    operation_id: str = ""


def candidates(msg: MsgData, recipients: tuple[str, ...]) -> tuple[str, ...]:
    """Who may get an offline push of `msg` pushed to `recipients`: () when its offlinePush option is off."""
    if not option(msg, OPT_OFFLINE_PUSH) or msg.contentType in NO_OFFLINE_PUSH_CONTENT_TYPES:
        return ()
    if msg.sessionType in (SessionType.READ_GROUP_CHAT, SessionType.WRITE_GROUP_CHAT):
        return tuple(u for u in recipients if u != msg.sendID)
    # The receiver only if the online push goes to them: a push hook that refused it cancels the offline one too.
    return (msg.recvID,) if msg.recvID and msg.recvID != msg.sendID and msg.recvID in recipients else ()


def encode(job: OfflinePushJob) -> bytes:
    """The queue payload of `job`."""
    body = {
        "v": 1,
        "conversationID": job.conversation_id,
        "operationID": job.operation_id,
        "userIDs": list(job.user_ids),
        "msg": base64.b64encode(job.msg.SerializeToString()).decode(),
    }
    return orjson.dumps(body)


def decode(payload: bytes) -> OfflinePushJob:
    """The job of a queue payload; ValueError for anything else."""
    try:
        body = orjson.loads(payload)
        msg = MsgData()
        msg.ParseFromString(base64.b64decode(body["msg"]))
        return OfflinePushJob(
            str(body["conversationID"]), msg, tuple(str(u) for u in body["userIDs"]), str(body.get("operationID", ""))
        )
    except Exception as exc:
        raise ValueError(f"not an offline-push job: {exc}") from exc
