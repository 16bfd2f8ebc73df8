"""The group webhooks (docs/integrations.md "Groups"): OpenIM's request bodies (open-im-server's
`pkg/callbackstruct/group.go`) built from the group service's objects, and the before-hooks' answers read as
OpenIM's response structs are.

Only the bodies and the answers live here; the service parts fire the hooks (`self.hooks.<name>.enable` first,
so a hook that is off builds nothing). Field names, order and Go's encoding are OpenIM's: every field present,
nil slices and unset pointers `null`. `callbackCommand` is filled in by `BeforeHook.call` / `AfterHook.fire`.

An answer field of the wrong JSON type makes the answer undecodable (`DataError`, 90007), which the hook treats as
a failed call (failedContinue decides), as Go's decoder would; a field absent or `null` changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from openim.protocol.constants import GroupRole
from openim.protocol.errors import ArgsError, DataError
from openim.protocol.gojson import to_go
from openim.protocol.pb import sdkws_pb2 as pb
from openim.storage.rows import GroupMember

__all__ = [
    "CREATE_ANSWER",
    "MEMBER_INFO_ANSWER",
    "SET_INFO_ANSWER",
    "apply_join_changes",
    "create_body",
    "go_rune",
    "join_answer",
    "join_body",
    "parse_fields",
]

STR, INT32, INT64 = "a string", "an int32", "an int64"
_LIMITS: Final = {INT32: 1 << 31, INT64: 1 << 63}

# CallbackBeforeCreateGroupResp: every GroupInfo field a hook may answer (ownerUserID is read and, as in OpenIM,
# has no effect: the owner is the request's ownerUserID, outside GroupInfo).
CREATE_ANSWER: Final = {
    "groupID": STR,
    "groupName": STR,
    "notification": STR,
    "introduction": STR,
    "faceURL": STR,
    "ownerUserID": STR,
    "ex": STR,
    "status": INT32,
    "creatorUserID": STR,
    "groupType": INT32,
    "needVerification": INT32,
    "lookMemberInfo": INT32,
    "applyMemberFriend": INT32,
}
# CallbackBeforeSetGroupInfoResp and CallbackBeforeSetGroupInfoExResp (the wrappers are bare scalars in JSON).
SET_INFO_ANSWER: Final = {
    "groupID": STR,
    "groupName": STR,
    "notification": STR,
    "introduction": STR,
    "faceURL": STR,
    "ex": STR,
    "needVerification": INT32,
    "lookMemberInfo": INT32,
    "applyMemberFriend": INT32,
}
# CallbackBeforeSetGroupMemberInfoResp.
MEMBER_INFO_ANSWER: Final = {"ex": STR, "nickName": STR, "faceURL": STR, "roleLevel": INT32}
# MemberJoinGroupCallBack, one entry of memberCallbackList.
_JOIN_MEMBER: Final = {
    "userID": STR,
    "nickname": STR,
    "faceURL": STR,
    "roleLevel": INT32,
    "muteEndTime": INT64,
    "ex": STR,
}


def _wrong(key: str, go_type: str, value: Any) -> DataError:
    return DataError(f"response format error: {key} must be {go_type}, not {type(value).__name__}")


def _checked(key: str, go_type: str, value: Any) -> str | int:
    if go_type == STR:
        if not isinstance(value, str):
            raise _wrong(key, go_type, value)
        return value
    limit = _LIMITS[go_type]
    if isinstance(value, bool) or not isinstance(value, int) or not -limit <= value < limit:
        raise _wrong(key, go_type, value)
    return value


def parse_fields(answer: Mapping[str, Any], spec: Mapping[str, str]) -> dict[str, Any]:
    """The fields of `spec` (answer key → Go type) the answer sets, type-checked; absent or null ones left out."""
    return {key: _checked(key, go_type, answer[key]) for key, go_type in spec.items() if answer.get(key) is not None}


def go_rune(value: int) -> str:
    """Go's `string(int32)`: the character of that code point. OpenIM builds the `groupType` of the dismiss and
    join-request bodies this way, so a working group (2) is sent as "\\u0002"; openim-py sends the same."""
    return chr(value) if 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF else "\ufffd"


# ---- beforeCreateGroup / afterCreateGroup ---------------------------------------------------------------------


def create_body(info: pb.GroupInfo, roles: Sequence[tuple[str, int]], *, operation_id: str | None) -> dict[str, Any]:
    """CallbackBeforeCreateGroupReq (with `operation_id`) or CallbackAfterCreateGroupReq (None): the GroupInfo's
    fields inline, then `initMemberList` [{userID, roleLevel}] (apistruct.GroupAddMemberInfo)."""
    head: dict[str, Any] = {} if operation_id is None else {"operationID": operation_id}
    members = [{"userID": user_id, "roleLevel": role} for user_id, role in roles]
    return {**head, "callbackCommand": "", **to_go(info), "initMemberList": members or None}


# ---- beforeMemberJoinGroup ------------------------------------------------------------------------------------


def join_body(group_id: str, group_ex: str, members: Sequence[GroupMember]) -> dict[str, Any]:
    """CallbackBeforeMembersJoinGroupReq: the group, its ex and the joining members' userID and ex."""
    listed = [{"userID": m.user_id, "ex": m.ex} for m in members]
    return {"callbackCommand": "", "groupID": group_id, "memberList": listed or None, "groupEx": group_ex}


def join_answer(answer: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`memberCallbackList` of a beforeMemberJoinGroup answer: userID → the fields set for that member. An entry
    without userID names nobody (OpenIM would crash on it) and is skipped; a later entry for the same user wins."""
    entries = answer.get("memberCallbackList")
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise _wrong("memberCallbackList", "a list of members", entries)
    changes: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise _wrong("memberCallbackList[]", "an object", entry)
        fields = parse_fields(entry, _JOIN_MEMBER)
        user_id = fields.pop("userID", None)
        if user_id is not None:
            changes[user_id] = fields
    return changes


def apply_join_changes(members: list[GroupMember], changes: Mapping[str, Mapping[str, Any]]) -> list[GroupMember]:
    """The joining members with the answer's nickname, faceURL, roleLevel, muteEndTime and ex. A roleLevel must
    keep the group's one owner: the owner (at creation) stays 100, anyone else becomes 60 or 20 (else 1001;
    OpenIM takes any number)."""
    if not changes:
        return members
    out = []
    for m in members:
        change = changes.get(m.user_id)
        if change:
            role = change.get("roleLevel", m.role_level)
            if role != m.role_level and (
                m.role_level == GroupRole.OWNER or role not in (GroupRole.ADMIN, GroupRole.ORDINARY)
            ):
                raise ArgsError(f"webhook beforeMemberJoinGroup: roleLevel {role} for {m.user_id} is not allowed")
            m = replace(
                m,
                nickname=change.get("nickname", m.nickname),
                face_url=change.get("faceURL", m.face_url),
                role_level=int(role),
                mute_end_time=change.get("muteEndTime", m.mute_end_time),
                ex=change.get("ex", m.ex),
            )
        out.append(m)
    return out
