"""Size limits on what a REST caller sends: the body, the operationID header, and the string fields of bodies.

OpenIM's own tables declared these sizes (its SQL models: IDs 64, names and URLs 255, `ex` 1024); its current
storage enforces none, and a user could set a 10 MB nickname on herself that every get_users_info then served.
Here a string field longer than its limit is refused with 1001 ArgsError naming the field, before any service
runs; the limits come from `api.fieldLimits` (config.yaml documents each; faceURL allows 1024 characters where
OpenIM's table had 255, because signed object URLs are longer).

Fields are matched by their JSON name in any request model (nested models too, lists of IDs element by element):
- `id`: userID, groupID, sendID, recvID, clientMsgID and every `...UserID` / `...UserIDs` / `...IDs` of those;
- `conversationID`: conversationID(s), which join two IDs and a prefix;
- `name`: nickname, groupName, remark, groupMemberNickname (OpenIM's 255);
- `url`: faceURL, groupFaceURL;
- `ex`: ex, attachedInfo;
- `text`: notification, introduction, reqMsg, handleMsg.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from openim.protocol.errors import ArgsError
from openim.settings import Api, FieldLimits

__all__ = [
    "DEFAULT_FIELD_LIMITS",
    "BodyTooLarge",
    "RestLimits",
    "check_fields",
    "configure",
    "kind_of",
]

DEFAULT_FIELD_LIMITS: Mapping[str, int] = FieldLimits().model_dump()

_KINDS: dict[str, str] = {
    "userID": "id",
    "userIDs": "id",
    "groupID": "id",
    "groupIDs": "id",
    "sendID": "id",
    "recvID": "id",
    "recvIDs": "id",
    "clientMsgID": "id",
    "clientMsgIDs": "id",
    "conversationID": "conversationID",
    "conversationIDs": "conversationID",
    "nickname": "name",
    "groupName": "name",
    "remark": "name",
    "groupMemberNickname": "name",
    "faceURL": "url",
    "groupFaceURL": "url",
    "ex": "ex",
    "attachedInfo": "ex",
    "notification": "text",
    "introduction": "text",
    "reqMsg": "text",
    "handleMsg": "text",
}


def kind_of(name: str) -> str | None:
    """The limit kind of a request field (a key of DEFAULT_FIELD_LIMITS), None for fields without a limit."""
    kind = _KINDS.get(name)
    if kind is None and (name.endswith("UserID") or name.endswith("UserIDs")):
        kind = "id"
    return kind


@dataclass(frozen=True, slots=True)
class RestLimits:
    """What `create_app` enforces; the defaults are config.yaml's."""

    max_body_bytes: int = Api.model_fields["maxBodyBytes"].default
    max_operation_id: int = Api.model_fields["maxOperationIDLen"].default
    fields: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_FIELD_LIMITS))

    @classmethod
    def of(cls, api: Api) -> RestLimits:
        return cls(api.maxBodyBytes, api.maxOperationIDLen, api.fieldLimits.model_dump())


class BodyTooLarge(ArgsError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes (api.maxBodyBytes)")


_limits: dict[str, int] = dict(DEFAULT_FIELD_LIMITS)


def configure(fields: Mapping[str, int]) -> None:
    """Set the process's field limits (create_app does, from config); kinds not given keep their default."""
    _limits.clear()
    _limits.update(DEFAULT_FIELD_LIMITS)
    _limits.update(fields)


def check_fields(data: Mapping[str, object], kinds: Mapping[str, str]) -> None:
    """ValueError (pydantic makes it 1001 with the field's path) for a string of `data` longer than its field's limit;
    `kinds` maps field name → limit kind."""
    for name, kind in kinds.items():
        value = data.get(name)
        if value is None:
            continue
        limit = _limits[kind]
        if isinstance(value, str):
            if len(value) > limit:
                raise ValueError(f"{name}: longer than {limit} characters")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str) and len(item) > limit:
                    raise ValueError(f"{name}[{i}]: longer than {limit} characters")
