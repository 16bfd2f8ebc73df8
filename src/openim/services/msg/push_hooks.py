"""The online-push webhooks, beforeOnlinePush and beforeGroupOnlinePush (docs/integrations.md "Pushes"), as OpenIM's
push service fires them (`internal/push/callback.go`, `push_handler.go` in open-im-server):

- beforeOnlinePush: single and notification chats, with the users the message is pushed to (the receiver, and the
  sender's own devices with senderSync). OpenIM reads nothing of its answer but the refusal.
- beforeGroupOnlinePush: groups, with no user list; a non-empty `userIDList` in the answer replaces the members
  the message is pushed to (online, and so the candidates of its offline push).
- Both skip typing (113). A refusal — or a failed call when failedContinue is false — cancels the push, online
  and offline (OpenIM's Push2User / Push2Group return before either); the message itself is stored all the same.

As in OpenIM, they are asked after the message is stored, and the sender does not wait: `MsgCore.on_commit` hands
each new message whose hook is on (`hooked`, decided once when the message is routed) to a `PushOrder`
(services/msg/push_order.py), which asks the hook at once and publishes the push once the answer is in and the
conversation's earlier pushes left, so pushes keep their seq order; the bodies carry the stored message (its
seq in the group body). The offline-push job of such a message is enqueued after the answer, from the users it
leaves (docs/integrations.md "Pushes" says what that costs in durability). An online-only message (`history` off,
not stored: seq 0) is asked the same way from `MsgCore.deliver`. With both hooks off nothing here runs.
"""

from __future__ import annotations

import logging

from openim.protocol.constants import ContentType, SessionType
from openim.protocol.errors import OpenIMError
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.webhooks import Webhooks
from openim.webhooks.bodies import group_push_body, push_answer, push_body

__all__ = ["hooked", "online_push_to"]

logger = logging.getLogger("openim.services")

_GROUPS = (SessionType.READ_GROUP_CHAT, SessionType.WRITE_GROUP_CHAT)


def hooked(hooks: Webhooks, msg: MsgData) -> bool:
    """Whether the push of `msg` waits for an online-push hook's answer."""
    if msg.contentType == ContentType.TYPING:
        return False
    hook = hooks.before_group_online_push if msg.sessionType in _GROUPS else hooks.before_online_push
    return hook.enable


async def online_push_to(
    hooks: Webhooks, msg: MsgData, recipients: tuple[str, ...], *, operation_id: str
) -> tuple[str, ...]:
    """Who the message is pushed to once its push hook answered: `recipients`, the group hook's user list, or ()
    when the hook refused (or failed with failedContinue false)."""
    if msg.contentType == ContentType.TYPING:
        return recipients
    group = msg.sessionType in _GROUPS
    hook = hooks.before_group_online_push if group else hooks.before_online_push
    if not hook.enable:
        return recipients
    body = (
        group_push_body(msg, operation_id=operation_id)
        if group
        else push_body(msg, recipients, operation_id=operation_id)
    )
    try:
        answer = await hook.ask(body, push_answer, operation_id=operation_id)
    except OpenIMError as exc:
        logger.info(
            "%s stopped the push of %s: %s", hook.name, msg.clientMsgID, exc, extra={"operationID": operation_id}
        )
        return ()
    if group and answer is not None and answer.user_ids is not None:
        return answer.user_ids
    return recipients
