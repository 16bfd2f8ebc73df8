"""OpenIM's webhook request bodies (`pkg/callbackstruct/*.go` in open-im-server), built from our objects, and
the modification answers of the message, user, friend, push and conversation hooks, read back as OpenIM's
response structs are.

Field names, order and Go's encoding are OpenIM's: nil slices are `null`, every field is present. Each body
carries `callbackCommand`; `BeforeHook.call` / `AfterHook.fire` fill it in.

Answers are checked as Go's decoder would check the response struct: a field of the wrong JSON type makes the
answer undecodable — `DataError` (90007), which the hook treats as a failed call (failedContinue decides). A
field absent or `null` changes nothing (OpenIM's pointer fields and `datautil.NotNilReplace`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from openim.protocol.constants import PLATFORM_NAMES
from openim.protocol.errors import ArgsError, DataError
from openim.protocol.gojson import from_go, to_go
from openim.protocol.pb.sdkws_pb2 import MsgData, OfflinePushInfo, TipsComm, UserInfo

__all__ = [
    "PushAnswer",
    "add_friend_agree_body",
    "add_friend_body",
    "after_add_friend_body",
    "apply_msg_modification",
    "black_body",
    "conversation_answer",
    "conversation_body",
    "friend_body",
    "friend_remark_body",
    "friend_user_ids_answer",
    "group_push_body",
    "import_friends_body",
    "key_query",
    "modified_fields",
    "msg_body",
    "msg_content",
    "msg_modification",
    "push_answer",
    "push_body",
    "push_content",
    "user_info_body",
    "users_answer",
    "wrapped_strings_answer",
]

NOTIFICATION_BEGIN, NOTIFICATION_END = 1000, 5000


def msg_content(msg: MsgData) -> str:
    """`content` of a message body: the raw content, or for a notification its TipsComm's jsonDetail."""
    if NOTIFICATION_BEGIN <= msg.contentType <= NOTIFICATION_END:
        tips = TipsComm()
        try:
            tips.ParseFromString(msg.content)
        except Exception:
            return ""
        return tips.jsonDetail
    return msg.content.decode("utf-8", errors="replace")


def msg_body(msg: MsgData, *, operation_id: str, **extra: Any) -> dict[str, Any]:
    """`CommonCallbackReq` of `msg` (OpenIM's `toCommonCallback`), then `extra` (recvID, groupID)."""
    return {
        "sendID": msg.sendID,
        "callbackCommand": "",
        "serverMsgID": msg.serverMsgID,
        "clientMsgID": msg.clientMsgID,
        "operationID": operation_id,
        "senderPlatformID": msg.senderPlatformID,
        "senderNickname": msg.senderNickname,
        "sessionType": msg.sessionType,
        "msgFrom": msg.msgFrom,
        "contentType": msg.contentType,
        "status": msg.status,
        "sendTime": msg.sendTime,
        "createTime": msg.createTime,
        "content": msg_content(msg),
        "seq": msg.seq & 0xFFFFFFFF,  # uint32 in OpenIM's struct
        "atUserList": list(msg.atUserIDList) or None,
        "faceURL": msg.senderFaceURL,
        "ex": msg.ex,
        **extra,
    }


def key_query(msg: MsgData) -> dict[str, str]:
    """`?key=` of the after-send hooks: base64 of `{"sendID","recvID","groupID"}` (`/msg/send_simple_msg` reads it)."""
    key = orjson.dumps({"sendID": msg.sendID, "recvID": msg.recvID, "groupID": msg.groupID})
    return {"key": base64.b64encode(key).decode()}


# ---- beforeMsgModify ------------------------------------------------------------------------------------------

_STR, _INT = "string", "int32"
_MSG_FIELDS: dict[str, tuple[str, str]] = {  # answer key → (MsgData field, Go type)
    "content": ("content", _STR),
    "recvID": ("recvID", _STR),
    "groupID": ("groupID", _STR),
    "clientMsgID": ("clientMsgID", _STR),
    "serverMsgID": ("serverMsgID", _STR),
    "senderPlatformID": ("senderPlatformID", _INT),
    "senderNickname": ("senderNickname", _STR),
    "senderFaceURL": ("senderFaceURL", _STR),
    "sessionType": ("sessionType", _INT),
    "msgFrom": ("msgFrom", _INT),
    "contentType": ("contentType", _INT),
    "status": ("status", _INT),
    "attachedInfo": ("attachedInfo", _STR),
    "ex": ("ex", _STR),
}


def _wrong(key: str, go_type: str, value: Any) -> DataError:
    return DataError(f"response format error: {key} must be {go_type}, not {type(value).__name__}")


def _int32(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -(1 << 31) <= value < (1 << 31):
        raise _wrong(key, "an int32", value)
    return value


def msg_modification(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a beforeMsgModify answer sets (`CallbackMsgModifyCommandResp`), type-checked; {} = none."""
    changes: dict[str, Any] = {}
    for key, (_, go_type) in _MSG_FIELDS.items():
        value = answer.get(key)
        if value is None:
            continue
        if go_type == _STR and not isinstance(value, str):
            raise _wrong(key, "a string", value)
        changes[key] = _int32(key, value) if go_type == _INT else value
    options = answer.get("options")
    if options is not None:
        if not isinstance(options, dict) or not all(isinstance(v, bool) for v in options.values()):
            raise _wrong("options", "an object of booleans", options)
        changes["options"] = dict(options)
    at_users = answer.get("atUserIDList")
    if at_users is not None:
        if not isinstance(at_users, list) or not all(isinstance(u, str) for u in at_users):
            raise _wrong("atUserIDList", "a list of strings", at_users)
        changes["atUserIDList"] = list(at_users)
    push = answer.get("offlinePushInfo")
    if push is not None:
        try:
            changes["offlinePushInfo"] = from_go(OfflinePushInfo, push)
        except ArgsError as exc:
            raise DataError(f"response format error: offlinePushInfo: {exc.detail}") from None
    return changes


def apply_msg_modification(msg: MsgData, changes: Mapping[str, Any]) -> None:
    """Write a beforeMsgModify answer's fields into `msg`; new content must be JSON (ArgsError, as OpenIM)."""
    for key, value in changes.items():
        if key == "content":
            try:
                orjson.loads(value)
            except orjson.JSONDecodeError:
                raise ArgsError(f"webhook msg modify content is not json: {value[:200]!r}") from None
            msg.content = value.encode()
        elif key == "options":
            msg.options.clear()
            msg.options.update(value)
        elif key == "atUserIDList":
            del msg.atUserIDList[:]
            msg.atUserIDList.extend(value)
        elif key == "offlinePushInfo":
            msg.offlinePushInfo.CopyFrom(value)
        else:
            setattr(msg, _MSG_FIELDS[key][0], value)


def modified_fields(sent: MsgData, final: MsgData) -> dict[str, object] | None:
    """REST send_msg's `modify`: the fields of the stored message that differ from the message as sent
    (OpenIM's `getModifyFields`, protobuf JSON names, content as a string); None when nothing differs."""
    fields: dict[str, object] = {}
    for descriptor in MsgData.DESCRIPTOR.fields:
        name = descriptor.name
        before, after = getattr(sent, name), getattr(final, name)
        if before == after:
            continue
        if name == "content":
            fields[descriptor.json_name] = msg_content(final)
        elif name == "offlinePushInfo":
            fields[descriptor.json_name] = to_go(final.offlinePushInfo)
        elif name == "options":
            fields[descriptor.json_name] = dict(final.options)
        elif name == "atUserIDList":
            fields[descriptor.json_name] = list(final.atUserIDList)
        else:
            fields[descriptor.json_name] = after
    return fields or None


# ---- users ----------------------------------------------------------------------------------------------------


def user_info_body(user: UserInfo) -> dict[str, Any]:
    """sdkws.UserInfo in Go's JSON (every field)."""
    return to_go(user)


def users_answer(answer: Mapping[str, Any]) -> list[UserInfo] | None:
    """`users` of a beforeUserRegister answer: the new list when non-empty, else None (OpenIM: len != 0)."""
    users = answer.get("users")
    if users is None:
        return None
    if not isinstance(users, list):
        raise _wrong("users", "a list of users", users)
    try:
        decoded = [from_go(UserInfo, u) for u in users if u is not None]
    except ArgsError as exc:
        raise DataError(f"response format error: users: {exc.detail}") from None
    return decoded or None


def wrapped_strings_answer(*keys: str) -> Callable[[Mapping[str, Any]], dict[str, str]]:
    """A parser of answers whose `keys` are optional strings (nickName, faceURL, ex): the ones set."""

    def parse(answer: Mapping[str, Any]) -> dict[str, str]:
        found: dict[str, str] = {}
        for key in keys:
            value = answer.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise _wrong(key, "a string", value)
            found[key] = value
        return found

    return parse


# ---- friends (OpenIM's callbackstruct/friend.go) ---------------------------------------------------------------


def add_friend_body(from_user_id: str, to_user_id: str, req_msg: str, ex: str) -> dict[str, Any]:
    """beforeAddFriend (`CallbackBeforeAddFriendReq`)."""
    return {"callbackCommand": "", "fromUserID": from_user_id, "toUserID": to_user_id, "reqMsg": req_msg, "ex": ex}


def after_add_friend_body(from_user_id: str, to_user_id: str, req_msg: str) -> dict[str, Any]:
    """afterAddFriend (`CallbackAfterAddFriendReq`: no ex)."""
    return {"callbackCommand": "", "fromUserID": from_user_id, "toUserID": to_user_id, "reqMsg": req_msg}


def add_friend_agree_body(from_user_id: str, to_user_id: str, handle_result: int, handle_msg: str) -> dict[str, Any]:
    """before/afterAddFriendAgree (`CallbackBeforeAddFriendAgreeReq`): OpenIM's keys, sic — the user who agrees
    is `blackUserID`, and `HandleResult`/`HandleMsg` are capitalised."""
    return {
        "callbackCommand": "",
        "fromUserID": from_user_id,
        "blackUserID": to_user_id,
        "HandleResult": handle_result,
        "HandleMsg": handle_msg,
    }


def friend_body(owner_user_id: str, friend_user_id: str) -> dict[str, Any]:
    """afterDeleteFriend (`CallbackAfterDeleteFriendReq`)."""
    return {"callbackCommand": "", "ownerUserID": owner_user_id, "friendUserID": friend_user_id}


def import_friends_body(owner_user_id: str, friend_user_ids: list[str]) -> dict[str, Any]:
    """before/afterImportFriends (`CallbackBeforeImportFriendsReq`)."""
    return {"callbackCommand": "", "ownerUserID": owner_user_id, "friendUserIDs": list(friend_user_ids)}


def friend_remark_body(owner_user_id: str, friend_user_id: str, remark: str) -> dict[str, Any]:
    """before/afterSetFriendRemark (`CallbackBeforeSetFriendRemarkReq`)."""
    return {"callbackCommand": "", "ownerUserID": owner_user_id, "friendUserID": friend_user_id, "remark": remark}


def black_body(owner_user_id: str, black_user_id: str) -> dict[str, Any]:
    """beforeAddBlack and afterRemoveBlack (`CallbackBeforeAddBlackReq`, `CallbackAfterRemoveBlackReq`)."""
    return {"callbackCommand": "", "ownerUserID": owner_user_id, "blackUserID": black_user_id}


def friend_user_ids_answer(answer: Mapping[str, Any]) -> list[str] | None:
    """`friendUserIDs` of a beforeImportFriends answer: the new list when non-empty, else None (OpenIM: len > 0)."""
    ids = answer.get("friendUserIDs")
    if ids is None:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise _wrong("friendUserIDs", "a list of strings", ids)
    return list(ids) or None


# ---- pushes (OpenIM's pkg/callbackstruct/push.go, internal/push/callback.go) ------------------------------------


def push_content(msg: MsgData) -> str:
    """`content` of a push body (OpenIM's push `GetContent`): a notification's `detail` (its content is the JSON
    `{"detail": …}`), "" when that does not parse; any other message's content as text."""
    if NOTIFICATION_BEGIN <= msg.contentType <= NOTIFICATION_END:
        try:
            elem = orjson.loads(msg.content)
        except orjson.JSONDecodeError:
            return ""
        detail = elem.get("detail", "") if isinstance(elem, dict) else ""
        return detail if isinstance(detail, str) else ""
    return msg.content.decode("utf-8", errors="replace")


def _status_base(msg: MsgData, operation_id: str) -> dict[str, Any]:
    """`UserStatusBaseCallback` of a push body: the sender's platform (callbackCommand filled in by the hook)."""
    return {
        "callbackCommand": "",
        "operationID": operation_id,
        "platformID": msg.senderPlatformID,
        "platform": PLATFORM_NAMES.get(msg.senderPlatformID, ""),
    }


def push_body(msg: MsgData, user_ids: Sequence[str], *, operation_id: str, offline: bool = False) -> dict[str, Any]:
    """`CallbackBeforePushReq` (beforeOnlinePush, beforeOfflinePush): the users, then — offline push only, and only
    when the message has one, as Go flattens the embedded `*OfflinePushInfo` and omits it when nil — the
    offlinePushInfo fields, then the message's."""
    body = _status_base(msg, operation_id)
    body["userIDList"] = list(user_ids) or None
    if offline and msg.HasField("offlinePushInfo"):
        body.update(to_go(msg.offlinePushInfo))
    body.update(_push_msg_fields(msg))
    return body


def group_push_body(msg: MsgData, *, operation_id: str) -> dict[str, Any]:
    """`CallbackBeforeSuperGroupOnlinePushReq` (beforeGroupOnlinePush): no user list; the message's seq."""
    return _status_base(msg, operation_id) | _push_msg_fields(msg) | {"seq": msg.seq}


def _push_msg_fields(msg: MsgData) -> dict[str, Any]:
    """The message's fields every push hook's body ends with, in OpenIM's order."""
    return {
        "clientMsgID": msg.clientMsgID,
        "sendID": msg.sendID,
        "groupID": msg.groupID,
        "contentType": msg.contentType,
        "sessionType": msg.sessionType,
        "atUserIDList": list(msg.atUserIDList) or None,
        "content": push_content(msg),
    }


@dataclass(frozen=True, slots=True)
class PushAnswer:
    """What a before-push answer changes (`CallbackBeforePushResp`): the users when the list is non-empty (OpenIM:
    `len != 0`), the offlinePushInfo when present and not null."""

    user_ids: tuple[str, ...] | None = None
    offline_push_info: OfflinePushInfo | None = None


def push_answer(answer: Mapping[str, Any]) -> PushAnswer:
    """The `userIDList` and `offlinePushInfo` of a before-push answer, type-checked."""
    users = answer.get("userIDList")
    if users is not None and (not isinstance(users, list) or not all(isinstance(u, str) for u in users)):
        raise _wrong("userIDList", "a list of strings", users)
    info = answer.get("offlinePushInfo")
    decoded: OfflinePushInfo | None = None
    if info is not None:
        try:
            decoded = from_go(OfflinePushInfo, info)
        except ArgsError as exc:
            raise DataError(f"response format error: offlinePushInfo: {exc.detail}") from None
    return PushAnswer(tuple(users) if users else None, decoded)


# ---- conversations (OpenIM's pkg/callbackstruct/conversation.go, internal/rpc/conversation/callback.go) -------

# answer key → (conversation column, Go type) of the fields a before-create answer may set, in OpenIM's order
_CONVERSATION_FIELDS: dict[str, tuple[str, str]] = {
    "recvMsgOpt": ("recv_msg_opt", _INT),
    "isPinned": ("is_pinned", "bool"),
    "isPrivateChat": ("is_private_chat", "bool"),
    "burnDuration": ("burn_duration", _INT),
    "groupAtType": ("group_at_type", _INT),
    "attachedInfo": ("attached_info", _STR),
    "ex": ("ex", _STR),
}


def conversation_body(
    *,
    owner_user_id: str,
    conversation_id: str,
    conversation_type: int,
    user_id: str | None = None,
    group_id: str | None = None,
    values: Mapping[str, Any],
) -> dict[str, Any]:
    """The request of the create-conversations hooks: single (`userId`) or group (`groupId`), then the row's
    settings from `values` (conversation columns: recv_msg_opt, is_pinned, …). OpenIM spells these keys `…Id`."""
    body: dict[str, Any] = {
        "callbackCommand": "",
        "ownerUserId": owner_user_id,
        "conversationId": conversation_id,
        "conversationType": conversation_type,
    }
    if group_id is None:
        body["userId"] = user_id or ""
    else:
        body["groupId"] = group_id
    for key, (column, _) in _CONVERSATION_FIELDS.items():
        body[key] = values[column]
    return body


def conversation_answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a before-create answer sets, as conversation columns, type-checked; {} = none (absent or null
    fields change nothing, OpenIM's `NotNilReplace`)."""
    changes: dict[str, Any] = {}
    for key, (column, go_type) in _CONVERSATION_FIELDS.items():
        value = answer.get(key)
        if value is None:
            continue
        if go_type == _STR and not isinstance(value, str):
            raise _wrong(key, "a string", value)
        if go_type == "bool" and not isinstance(value, bool):
            raise _wrong(key, "a bool", value)
        changes[column] = _int32(key, value) if go_type == _INT else value
    return changes
