"""User commands (OpenIM's `process_user_command_*`): each user's typed lists of items, e.g. favourites.

Who: the user itself or an admin (OpenIM's CheckAccess). After a change the user's devices get 1305 (add),
1306 (delete) or 1307 (update) with `{fromUserID, toUserID}` = the user, online only, as OpenIM sends them.
Differences from OpenIM, each on purpose: an add stores `value` and `ex` as given (OpenIM writes `ex` into
`value` and stores "" as ex); (type, uuid) is a key, so adding an existing one replaces it instead of storing a
second copy; uuid is at most 64 characters, value and ex at most MAX_COMMAND_TEXT, and a user holds at most
MAX_COMMANDS_PER_USER commands (1001 beyond).
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message

from openim.infra.clock import Clock
from openim.protocol.constants import ContentType
from openim.protocol.errors import ArgsError, RecordNotFoundError
from openim.protocol.pb import sdkws_pb2
from openim.services.auth import Caller
from openim.services.notification import NotificationSender
from openim.storage import Storage
from openim.storage.rows import UserCommand

__all__ = ["MAX_COMMANDS_PER_USER", "MAX_COMMAND_TEXT", "UserCommandMixin"]

MAX_COMMAND_TEXT = 65_536
MAX_COMMANDS_PER_USER = 10_000
_MAX_UUID = 64
_TIPS: dict[int, Callable[..., Message]] = {
    ContentType.USER_COMMAND_ADD_NOTIFICATION: sdkws_pb2.UserCommandAddTips,
    ContentType.USER_COMMAND_DELETE_NOTIFICATION: sdkws_pb2.UserCommandDeleteTips,
    ContentType.USER_COMMAND_UPDATE_NOTIFICATION: sdkws_pb2.UserCommandUpdateTips,
}


class UserCommandMixin:
    """The user-command part of UserService."""

    storage: Storage
    clock: Clock
    notifications: NotificationSender | None

    async def add_command(
        self, caller: Caller, user_id: str, type_: int, uuid: str, *, value: str, ex: str, operation_id: str = ""
    ) -> None:
        _check_key(user_id, type_, uuid)
        caller.require_self_or_admin(user_id)
        _check_text(value, ex)
        command = UserCommand(user_id, type_, uuid, value, ex, self.clock.now_ms() // 1000)
        if not await self.storage.user_command.add(command, max_per_user=MAX_COMMANDS_PER_USER):
            raise ArgsError(f"user {user_id} holds {MAX_COMMANDS_PER_USER} commands already")
        await self._command_tips(caller, user_id, ContentType.USER_COMMAND_ADD_NOTIFICATION, operation_id)

    async def delete_command(
        self, caller: Caller, user_id: str, type_: int, uuid: str, *, operation_id: str = ""
    ) -> None:
        _check_key(user_id, type_, uuid)
        caller.require_self_or_admin(user_id)
        if not await self.storage.user_command.delete(user_id, type_, uuid):
            raise RecordNotFoundError(f"command type {type_} uuid {uuid} not found")
        await self._command_tips(caller, user_id, ContentType.USER_COMMAND_DELETE_NOTIFICATION, operation_id)

    async def update_command(
        self,
        caller: Caller,
        user_id: str,
        type_: int,
        uuid: str,
        *,
        value: str | None,
        ex: str | None,
        operation_id: str = "",
    ) -> None:
        """Set value and/or ex (None = unchanged) of an existing command; 1004 when there is none."""
        _check_key(user_id, type_, uuid)
        caller.require_self_or_admin(user_id)
        _check_text(value or "", ex or "")
        if not await self.storage.user_command.update(user_id, type_, uuid, value=value, ex=ex):
            raise RecordNotFoundError(f"command type {type_} uuid {uuid} not found")
        await self._command_tips(caller, user_id, ContentType.USER_COMMAND_UPDATE_NOTIFICATION, operation_id)

    async def get_commands(self, caller: Caller, user_id: str, type_: int | None) -> list[UserCommand]:
        """The user's commands of `type_` (None: every type), oldest first."""
        if not user_id:
            raise ArgsError("userID is empty")
        if type_ is not None and type_ == 0:
            raise ArgsError("type is not specified")
        caller.require_self_or_admin(user_id)
        return await self.storage.user_command.list_commands(user_id, type_)

    async def _command_tips(self, caller: Caller, user_id: str, content_type: int, operation_id: str) -> None:
        if self.notifications is None:
            return
        tips_type = _TIPS[content_type]
        del caller  # OpenIM sends from the user to the user, whoever made the change
        await self.notifications.notify(
            user_id, user_id, content_type, tips_type(fromUserID=user_id, toUserID=user_id), operation_id=operation_id
        )


def _check_key(user_id: str, type_: int, uuid: str) -> None:
    """OpenIM's Check(): userID, type and uuid given (1001); plus the uuid's length."""
    if not user_id:
        raise ArgsError("userID is empty")
    if type_ == 0:
        raise ArgsError("type is not specified")
    if not uuid:
        raise ArgsError("UUID is empty")
    if len(uuid) > _MAX_UUID:
        raise ArgsError(f"uuid longer than {_MAX_UUID} characters")


def _check_text(value: str, ex: str) -> None:
    if len(value) > MAX_COMMAND_TEXT or len(ex) > MAX_COMMAND_TEXT:
        raise ArgsError(f"value and ex are at most {MAX_COMMAND_TEXT} characters")
