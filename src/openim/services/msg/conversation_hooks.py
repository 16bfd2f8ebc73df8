"""The conversation webhooks (docs/integrations.md "Conversations"): before/afterCreateSingleChatConversations and
before/afterCreateGroupChatConversations, fired for the conversation rows a message's commit created — as OpenIM's
msgtransfer does for a new conversation (`internal/rpc/conversation/conversation.go` CreateSingleChatConversations
/ CreateGroupChatConversations, `callback.go`):

- Single chat: one before call and one after call per row made — the sender's, then the receiver's (OpenIM's
  second before call posts the sender's row again, a slip not copied). A notification chat (sessionType 4) makes
  only the receiver's row. Body: ownerUserId, conversationId, conversationType, userId (the other party), then the
  row's settings.
- Group (the group's first message makes every member's row): one before and one after call for the whole
  group, with groupId and an empty ownerUserId, as OpenIM's; the answer's settings go to every member's row.
- The before answer may set recvMsgOpt, isPinned, isPrivateChat, burnDuration, groupAtType, attachedInfo and ex
  (absent or null: unchanged). The after call carries the settings the rows ended with.

When: the rows are written with the message, in its transaction, with the default settings (what OpenIM's
request carries), so that the message path never waits for the app server; `MsgCore.on_commit` then starts
`created` in a task, as the offline push, and the answer's settings are written afterwards — a change clients
see through incremental sync like any other. OpenIM, too, asks from msgtransfer after the message is stored.
A refusal (or a failed call with failedContinue false) leaves the rows with their defaults and fires no after
hook: OpenIM creates no row then, but here the message's rows are already there, and a client finds its
conversation either way.

With the four hooks off, `on_commit` reads `Appended.created` (empty but on a conversation's first messages)
and nothing of this module runs.
"""

from __future__ import annotations

import logging
from typing import Any

from openim.protocol.constants import SessionType
from openim.protocol.errors import OpenIMError
from openim.protocol.pb.sdkws_pb2 import MsgData
from openim.storage.conversation import ConversationRepo
from openim.storage.msg.values import Appended
from openim.webhooks import Webhooks
from openim.webhooks.bodies import conversation_answer, conversation_body
from openim.webhooks.hooks import AfterHook, BeforeHook

__all__ = ["DEFAULT_SETTINGS", "created", "hooked"]

logger = logging.getLogger("openim.services")

# The settings of a row the message path creates (storage/schema.py's column defaults), by column.
DEFAULT_SETTINGS: dict[str, Any] = {
    "recv_msg_opt": 0,
    "is_pinned": False,
    "is_private_chat": False,
    "burn_duration": 0,
    "group_at_type": 0,
    "attached_info": "",
    "ex": "",
}


def _group(msg: MsgData) -> bool:
    return msg.sessionType in (SessionType.READ_GROUP_CHAT, SessionType.WRITE_GROUP_CHAT)


def _pair(hooks: Webhooks, msg: MsgData) -> tuple[BeforeHook, AfterHook]:
    if _group(msg):
        return hooks.before_create_group_chat_conversations, hooks.after_create_group_chat_conversations
    return hooks.before_create_single_chat_conversations, hooks.after_create_single_chat_conversations


def hooked(hooks: Webhooks, msg: MsgData) -> bool:
    """Whether the rows made for `msg`'s conversation fire a hook (the group or the single pair is on)."""
    before, after = _pair(hooks, msg)
    return before.enable or after.enable


async def created(
    hooks: Webhooks, conversations: ConversationRepo, appended: Appended, *, operation_id: str, now: int
) -> None:
    """Fire the hooks of the rows `appended` created and write the before answer's settings; never raises (the
    message is stored and pushed already)."""
    try:
        if _group(appended.msg):
            await _rows(hooks, conversations, appended, list(appended.created), operation_id, now)
        else:
            msg = appended.msg
            # the sender's row first, as OpenIM
            for owner in sorted(appended.created, key=lambda o: o != msg.sendID):
                await _rows(hooks, conversations, appended, [owner], operation_id, now)
    except Exception:
        logger.exception(
            "conversation hooks of %s failed", appended.conversation_id, extra={"operationID": operation_id}
        )


async def _rows(
    hooks: Webhooks,
    conversations: ConversationRepo,
    appended: Appended,
    owners: list[str],
    operation_id: str,
    now: int,
) -> None:
    """One before/after pair for `owners`' rows: one single-chat owner, or every member of a group."""
    msg = appended.msg
    before, after = _pair(hooks, msg)

    def body(settings: dict[str, Any]) -> dict[str, Any]:
        if _group(msg):
            return conversation_body(
                owner_user_id="",
                conversation_id=appended.conversation_id,
                conversation_type=msg.sessionType,
                group_id=msg.groupID,
                values=settings,
            )
        owner = owners[0]
        return conversation_body(
            owner_user_id=owner,
            conversation_id=appended.conversation_id,
            conversation_type=msg.sessionType,
            user_id=msg.recvID if owner == msg.sendID else msg.sendID,
            values=settings,
        )

    settings = dict(DEFAULT_SETTINGS)
    if before.enable:
        try:
            changes = await before.ask(body(settings), conversation_answer, operation_id=operation_id)
        except OpenIMError as exc:
            logger.info(
                "%s refused or failed for %s: its rows keep their defaults: %s",
                before.name,
                appended.conversation_id,
                exc,
                extra={"operationID": operation_id},
            )
            return
        if changes:
            await conversations.set_on_rows(owners, appended.conversation_id, changes, now=now)
            settings.update(changes)
    if after.enable:
        await after.fire(body(settings), operation_id=operation_id)
