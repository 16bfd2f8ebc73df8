"""OpenIM error codes as exceptions; each class carries its wire errCode and errMsg.

Numbers and names are OpenIM's (tools `errs/predefine.go`, server `servererrs/code.go`), kept identical so
SDKs and app servers that switch on errCode keep working. Raise where the rule lives; the transports
(`api/app.py`, `gateway/dispatch.py`) are the only places that turn them into wire errors.

    OpenIMError
    ├── TooManyRequests            429
    ├── ServerInternalError        500
    ├── ArgsError                  1001
    ├── NoPermissionError          1002
    ├── DuplicateKeyError          1003
    │   └── GroupIDExisted         1202
    ├── RecordNotFoundError        1004
    │   ├── UserIDNotFoundError    1101
    │   └── GroupIDNotFoundError   1201
    ├── RegisteredAlreadyError     1102
    ├── NotInGroupYetError         1203
    ├── DismissedAlreadyError      1204
    ├── GroupRequestHandled        1206
    ├── CanNotAddYourselfError     1301
    ├── BlockedByPeer              1302
    ├── NotPeersFriend             1303
    ├── RelationshipAlreadyError   1304
    ├── FriendRequestHandled       1305
    ├── MutedInGroup               1402
    ├── MutedGroup                 1403
    ├── MsgAlreadyRevoke           1404
    ├── TokenError (base of 15xx)
    │   ├── TokenExpiredError      1501
    │   ├── TokenInvalidError      1502
    │   ├── TokenMalformedError    1503
    │   ├── TokenNotValidYetError  1504
    │   ├── TokenUnknownError      1505
    │   ├── TokenKickedError       1506
    │   └── TokenNotExistError     1507
    ├── ConnOverMaxNumLimit        1601
    ├── ConnArgsError              1602
    ├── PushMsgError               1603
    ├── FileUploadedExpiredError   1701
    ├── CallbackError              80000
    │   └── WebhookRefusal         the app server's own errCode (a before-hook refused)
    ├── NetworkError               90004
    └── DataError                  90007
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ArgsError",
    "BlockedByPeer",
    "CallbackError",
    "CanNotAddYourselfError",
    "ConnArgsError",
    "ConnOverMaxNumLimit",
    "DataError",
    "DismissedAlreadyError",
    "DuplicateKeyError",
    "FileUploadedExpiredError",
    "FriendRequestHandled",
    "GroupIDExisted",
    "GroupIDNotFoundError",
    "GroupRequestHandled",
    "MsgAlreadyRevoke",
    "MutedGroup",
    "MutedInGroup",
    "NetworkError",
    "NoPermissionError",
    "NotInGroupYetError",
    "NotPeersFriend",
    "OpenIMError",
    "PushMsgError",
    "RecordNotFoundError",
    "RegisteredAlreadyError",
    "RelationshipAlreadyError",
    "ServerInternalError",
    "TokenError",
    "TokenExpiredError",
    "TokenInvalidError",
    "TokenKickedError",
    "TokenMalformedError",
    "TokenNotExistError",
    "TokenNotValidYetError",
    "TokenUnknownError",
    "TooManyRequests",
    "UserIDNotFoundError",
    "WebhookRefusal",
    "by_code",
    "unreachable",
]


class OpenIMError(Exception):
    """An error with OpenIM's wire code; `detail` becomes errDlt and never holds a stack trace."""

    code: ClassVar[int] = 500
    msg: ClassVar[str] = "ServerInternalError"

    def __init__(self, detail: str = "", *, msg: str | None = None) -> None:
        self.detail = detail
        # A few codes carry free text in errMsg (OpenIM puts the JWT library text there for 1505).
        self.message = msg if msg is not None else self.msg
        super().__init__(f"{self.code} {self.message}: {detail}" if detail else f"{self.code} {self.message}")

    def to_wire(self) -> dict[str, object]:
        """The envelope fields OpenIM sends for this error: errDlt falls back to errMsg, as OpenIM's RPC errors do."""
        return {"errCode": self.code, "errMsg": self.message, "errDlt": self.detail or self.message}


class TooManyRequests(OpenIMError):
    # OpenIM's rate limiter (internal/api/ratelimit.go): errs.NewCodeError(429, this text), HTTP status 429.
    code, msg = 429, "too many requests, please try again later"


class ServerInternalError(OpenIMError):
    code, msg = 500, "ServerInternalError"


class ArgsError(OpenIMError):
    code, msg = 1001, "ArgsError"


class NoPermissionError(OpenIMError):
    code, msg = 1002, "NoPermissionError"


class DuplicateKeyError(OpenIMError):
    code, msg = 1003, "DuplicateKeyError"


class RecordNotFoundError(OpenIMError):
    code, msg = 1004, "RecordNotFoundError"


class UserIDNotFoundError(RecordNotFoundError):
    code, msg = 1101, "UserIDNotFoundError"


class RegisteredAlreadyError(OpenIMError):
    code, msg = 1102, "RegisteredAlreadyError"


class GroupIDNotFoundError(RecordNotFoundError):
    code, msg = 1201, "GroupIDNotFoundError"


class GroupIDExisted(DuplicateKeyError):
    code, msg = 1202, "GroupIDExisted"


class NotInGroupYetError(OpenIMError):
    code, msg = 1203, "NotInGroupYetError"


class DismissedAlreadyError(OpenIMError):
    code, msg = 1204, "DismissedAlreadyError"


class GroupRequestHandled(OpenIMError):
    code, msg = 1206, "GroupRequestHandled"


class CanNotAddYourselfError(OpenIMError):
    code, msg = 1301, "CanNotAddYourselfError"


class BlockedByPeer(OpenIMError):
    code, msg = 1302, "BlockedByPeer"


class NotPeersFriend(OpenIMError):
    code, msg = 1303, "NotPeersFriend"


class RelationshipAlreadyError(OpenIMError):
    code, msg = 1304, "RelationshipAlreadyError"


class FriendRequestHandled(OpenIMError):
    code, msg = 1305, "FriendRequestHandled"


class MutedInGroup(OpenIMError):
    code, msg = 1402, "MutedInGroup"


class MutedGroup(OpenIMError):
    code, msg = 1403, "MutedGroup"


class MsgAlreadyRevoke(OpenIMError):
    code, msg = 1404, "MsgAlreadyRevoke"


class TokenError(OpenIMError):
    """Base of the 15xx token errors; never raised itself."""


class TokenExpiredError(TokenError):
    code, msg = 1501, "TokenExpiredError"


class TokenInvalidError(TokenError):
    code, msg = 1502, "TokenInvalidError"


class TokenMalformedError(TokenError):
    code, msg = 1503, "TokenMalformedError"


class TokenNotValidYetError(TokenError):
    code, msg = 1504, "TokenNotValidYetError"


class TokenUnknownError(TokenError):
    code, msg = 1505, "TokenUnknownError"


class TokenKickedError(TokenError):
    code, msg = 1506, "TokenKickedError"


class TokenNotExistError(TokenError):
    code, msg = 1507, "TokenNotExistError"


class ConnOverMaxNumLimit(OpenIMError):
    code, msg = 1601, "ConnOverMaxNumLimit"


class ConnArgsError(OpenIMError):
    code, msg = 1602, "args err, need token, sendID, platformID"


class PushMsgError(OpenIMError):
    code, msg = 1603, "push msg err"


class FileUploadedExpiredError(OpenIMError):
    code, msg = 1701, "FileUploadedExpiredError"


class CallbackError(OpenIMError):
    code, msg = 80000, "CallbackError"


class WebhookRefusal(CallbackError):
    """A before-hook answered actionCode 0 and nextCode 1: the caller gets the app server's errCode, errMsg and
    errDlt exactly as it sent them (OpenIM's `CommonCallbackResp.Parse`). An errCode of 0 would read as success to
    the SDKs, so it becomes 80000 (CallbackError)."""

    def __init__(self, code: int, msg: str, detail: str) -> None:
        super().__init__(detail, msg=msg)
        vars(self)["code"] = code or CallbackError.code  # per instance: the code is the app server's

    def to_wire(self) -> dict[str, object]:
        """errCode, errMsg and errDlt as the hook answered them (no fallback of errDlt to errMsg)."""
        return {"errCode": self.code, "errMsg": self.message, "errDlt": self.detail}


class NetworkError(OpenIMError):
    code, msg = 90004, "NetworkError"


class DataError(OpenIMError):
    code, msg = 90007, "DataError"


def _all_codes() -> dict[int, type[OpenIMError]]:
    table: dict[int, type[OpenIMError]] = {}
    pending: list[type[OpenIMError]] = [OpenIMError]
    while pending:
        cls = pending.pop()
        if cls not in (OpenIMError, TokenError):
            table.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return table


_BY_CODE = _all_codes()


def by_code(code: int) -> type[OpenIMError]:
    """The error class for a wire code (used when a peer's error must be re-raised); unknown codes map to 500."""
    return _BY_CODE.get(code, ServerInternalError)


# Driver exceptions that mean "the connection to the database is gone", by name: this module imports no driver.
_LOST_CONNECTION = frozenset({"ConnectionDoesNotExistError", "CannotConnectNowError", "ConnectionFailureError"})


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is a backing service out of reach — a refused or reset connection to
    PostgreSQL or Redis — rather than a bug: the envelope then says NetworkError (90004), and a retry may succeed."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError) or type(current).__name__ in _LOST_CONNECTION:
            return True
        if type(current).__name__ == "ConnectionError" and type(current).__module__.startswith("redis"):
            return True
        if type(current).__name__ == "InterfaceError" and "connection is closed" in str(current):  # asyncpg
            return True
        current = current.__cause__ or current.__context__
    return False
