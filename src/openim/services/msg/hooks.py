"""The message webhooks (docs/integrations.md), where OpenIM fires them (`internal/rpc/msg/callback.go`,
`internal/msgtransfer/callback.go` in open-im-server):

- beforeSendSingleMsg: single chat, unless the sender is an admin or the content a notification; before the
  blacklist and friendship checks. Body: common + recvID.
- beforeSendGroupMsg: group, after the group checks. Body: common + groupID.
- beforeMsgModify: single (after the receive options) and group (after beforeSendGroupMsg), before storing; its
  answer may rewrite the message. Body: common.
- afterSendSingleMsg / afterSendGroupMsg: after the message is stored, with `?key=` for /msg/send_simple_msg.
  Body: common + recvID / groupID.
- afterMsgSaveDB: every stored message (single, group, notification chat), `?key=`; fired by `core.py`'s
  `on_commit`. Body: common + recvID or groupID.

The callers read `enable` before calling these methods, so a hook that is off costs one attribute read: no
coroutine, no body. Message hooks skip notifications (1000–5000)
and typing (113), then `allowedTypes`/`deniedTypes`; the after hooks also `attentionIds` (recvID of a single
chat, groupID of a group — OpenIM compares the content type there, a bug that makes the key ignore everything).
Unlike OpenIM (whose after-send bodies go out before storage, with seq 0), the after bodies carry the stored seq.
"""

from __future__ import annotations

import logging

from openim.protocol.constants import SessionType
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.services.msg.core import MsgCore
from openim.webhooks.bodies import apply_msg_modification, key_query, msg_body, msg_modification

__all__ = ["MsgHooksMixin"]

logger = logging.getLogger("openim.services")

_GROUPS = (SessionType.READ_GROUP_CHAT, SessionType.WRITE_GROUP_CHAT)


class MsgHooksMixin(MsgCore):
    """Fire the message hooks; callers check the hook's `enable` first (each method checks it again)."""

    async def _before_send_single(self, msg: MsgData, operation_id: str) -> None:
        hook = self.hooks.before_send_single_msg
        if hook.enable and hook.accepts(msg.contentType):
            await hook.call(msg_body(msg, operation_id=operation_id, recvID=msg.recvID), operation_id=operation_id)

    async def _before_send_group(self, msg: MsgData, operation_id: str) -> None:
        hook = self.hooks.before_send_group_msg
        if hook.enable and hook.accepts(msg.contentType):
            await hook.call(msg_body(msg, operation_id=operation_id, groupID=msg.groupID), operation_id=operation_id)

    async def _before_msg_modify(self, msg: MsgData, operation_id: str) -> bool:
        """Ask beforeMsgModify and apply its answer; True when the answer changed a field."""
        hook = self.hooks.before_msg_modify
        if not (hook.enable and hook.accepts(msg.contentType)):
            return False
        changes = await hook.ask(msg_body(msg, operation_id=operation_id), msg_modification, operation_id=operation_id)
        if not changes:
            return False
        before = MsgData()
        before.CopyFrom(msg)
        apply_msg_modification(msg, changes)
        return before != msg

    async def _after_send(self, msg: MsgData, operation_id: str) -> None:
        """afterSendSingleMsg or afterSendGroupMsg of a message the sender was answered for."""
        if msg.sessionType == SessionType.SINGLE_CHAT:
            hook, target, extra = self.hooks.after_send_single_msg, msg.recvID, "recvID"
        elif msg.sessionType in _GROUPS:
            hook, target, extra = self.hooks.after_send_group_msg, msg.groupID, "groupID"
        else:
            return
        if hook.enable and hook.accepts(msg.contentType) and hook.attends(target):
            body = msg_body(msg, operation_id=operation_id, **{extra: target})
            await hook.fire(body, operation_id=operation_id, query=key_query(msg))
