"""The friend notifications (1201-1210): their tips messages, built as OpenIM's relation/notification.go does,
and who sends them to whom.

Each `*_tips` function returns the `openim.sdkws` tips message (the content becomes its Go JSON through
`NotificationSender`); `FriendNotifier` sends them with OpenIM's sender, receiver and per-type options
(online-only; 1201 also copies into the chat conversation). Tips that describe a change of a friend list carry
`friendVersion`/`friendVersionID` of the log the same request wrote — the list of `fromToUserID.fromUserID`,
whose client is the one that applies it (OpenIM looks the state up under the wrong user for 1206 and leaves it
0; we fill it from the write). Nothing here reads or writes storage; the friend service calls in after its write.

1204 FriendAdded is not sent: OpenIM defines it but no route sends it (its sender is commented out).
"""

from __future__ import annotations

from collections.abc import Sequence

from openim.protocol.constants import ContentType
from openim.protocol.pb import sdkws_pb2
from openim.services.notification import NotificationSender
from openim.storage.rows import FriendRequest, User
from openim.storage.version import VersionState

__all__ = [
    "FriendNotifier",
    "application_approved_tips",
    "application_rejected_tips",
    "application_tips",
    "black_added_tips",
    "black_deleted_tips",
    "friend_deleted_tips",
    "friend_info_changed_tips",
    "friends_info_update_tips",
    "request_pb",
]

C = ContentType
_NO_VERSION = VersionState("", 0)


def request_pb(request: FriendRequest, from_user: User | None, to_user: User | None) -> sdkws_pb2.FriendRequest:
    """The wire FriendRequest (times in ms) with both users' nicknames and faces (empty when unregistered)."""
    return sdkws_pb2.FriendRequest(
        fromUserID=request.from_user_id,
        fromNickname=from_user.nickname if from_user else "",
        fromFaceURL=from_user.face_url if from_user else "",
        toUserID=request.to_user_id,
        toNickname=to_user.nickname if to_user else "",
        toFaceURL=to_user.face_url if to_user else "",
        handleResult=request.handle_result,
        reqMsg=request.req_msg,
        createTime=request.create_time,
        handlerUserID=request.handler_user_id,
        handleMsg=request.handle_msg,
        handleTime=request.handle_time,
        ex=request.ex,
    )


def _pair(from_user_id: str, to_user_id: str) -> sdkws_pb2.FromToUserID:
    return sdkws_pb2.FromToUserID(fromUserID=from_user_id, toUserID=to_user_id)


def application_tips(
    from_user_id: str, to_user_id: str, request: sdkws_pb2.FriendRequest
) -> sdkws_pb2.FriendApplicationTips:
    """1203: `from` applied to `to`."""
    return sdkws_pb2.FriendApplicationTips(fromToUserID=_pair(from_user_id, to_user_id), request=request)


def application_approved_tips(
    from_user_id: str,
    to_user_id: str,
    *,
    handle_msg: str,
    request: sdkws_pb2.FriendRequest | None,
    version: VersionState | None,
) -> sdkws_pb2.FriendApplicationApprovedTips:
    """1201: `to` agreed to `from`'s request (or an admin imported `to` as `from`'s friend: no request)."""
    v = version or _NO_VERSION
    tips = sdkws_pb2.FriendApplicationApprovedTips(
        fromToUserID=_pair(from_user_id, to_user_id),
        handleMsg=handle_msg,
        friendVersion=v.version,
        friendVersionID=v.version_id,
    )
    if request is not None:
        tips.request.CopyFrom(request)
    return tips


def application_rejected_tips(
    from_user_id: str, to_user_id: str, *, handle_msg: str, request: sdkws_pb2.FriendRequest
) -> sdkws_pb2.FriendApplicationRejectedTips:
    """1202: `to` refused `from`'s request."""
    return sdkws_pb2.FriendApplicationRejectedTips(
        fromToUserID=_pair(from_user_id, to_user_id), handleMsg=handle_msg, request=request
    )


def friend_deleted_tips(owner_user_id: str, friend_user_id: str, version: VersionState) -> sdkws_pb2.FriendDeletedTips:
    """1205: the owner removed the friend from its list."""
    return sdkws_pb2.FriendDeletedTips(
        fromToUserID=_pair(owner_user_id, friend_user_id),
        friendVersion=version.version,
        friendVersionID=version.version_id,
    )


def friend_info_changed_tips(
    owner_user_id: str, friend_user_id: str, version: VersionState, *, sort_version: int = 0
) -> sdkws_pb2.FriendInfoChangedTips:
    """1206: the owner changed its row of the friend (remark)."""
    return sdkws_pb2.FriendInfoChangedTips(
        fromToUserID=_pair(owner_user_id, friend_user_id),
        friendVersion=version.version,
        friendVersionID=version.version_id,
        friendSortVersion=sort_version,
    )


def friends_info_update_tips(
    owner_user_id: str, friend_user_ids: Sequence[str], version: VersionState | None
) -> sdkws_pb2.FriendsInfoUpdateTips:
    """1210: the owner changed its rows of several friends (fromUserID left empty, as OpenIM)."""
    v = version or _NO_VERSION
    return sdkws_pb2.FriendsInfoUpdateTips(
        fromToUserID=_pair("", owner_user_id),
        friendIDs=list(friend_user_ids),
        friendVersion=v.version,
        friendVersionID=v.version_id,
    )


def black_added_tips(owner_user_id: str, black_user_id: str) -> sdkws_pb2.BlackAddedTips:
    """1207: the owner blocked the user."""
    return sdkws_pb2.BlackAddedTips(fromToUserID=_pair(owner_user_id, black_user_id))


def black_deleted_tips(owner_user_id: str, black_user_id: str) -> sdkws_pb2.BlackDeletedTips:
    """1208: the owner unblocked the user."""
    return sdkws_pb2.BlackDeletedTips(fromToUserID=_pair(owner_user_id, black_user_id))


class FriendNotifier:
    """Sends the friend notifications through the shared NotificationSender (failures are logged there)."""

    def __init__(self, sender: NotificationSender) -> None:
        self.sender = sender

    async def application_added(
        self, from_user_id: str, to_user_id: str, request: sdkws_pb2.FriendRequest, *, operation_id: str
    ) -> None:
        """1203 applicant → the user applied to."""
        tips = application_tips(from_user_id, to_user_id, request)
        await self.sender.notify(
            from_user_id, to_user_id, C.FRIEND_APPLICATION_NOTIFICATION, tips, operation_id=operation_id
        )

    async def application_approved(
        self,
        from_user_id: str,
        to_user_id: str,
        *,
        handle_msg: str,
        request: sdkws_pb2.FriendRequest | None,
        version: VersionState | None,
        operation_id: str,
    ) -> None:
        """1201 responder → applicant; also stored as a message in their chat (isSendMsg)."""
        tips = application_approved_tips(
            from_user_id, to_user_id, handle_msg=handle_msg, request=request, version=version
        )
        await self.sender.notify(
            to_user_id, from_user_id, C.FRIEND_APPLICATION_APPROVED_NOTIFICATION, tips, operation_id=operation_id
        )

    async def application_rejected(
        self,
        from_user_id: str,
        to_user_id: str,
        *,
        handle_msg: str,
        request: sdkws_pb2.FriendRequest,
        operation_id: str,
    ) -> None:
        """1202 responder → applicant."""
        tips = application_rejected_tips(from_user_id, to_user_id, handle_msg=handle_msg, request=request)
        await self.sender.notify(
            to_user_id, from_user_id, C.FRIEND_APPLICATION_REJECTED_NOTIFICATION, tips, operation_id=operation_id
        )

    async def friend_deleted(
        self, owner_user_id: str, friend_user_id: str, version: VersionState, *, operation_id: str
    ) -> None:
        """1205 owner → the removed friend."""
        tips = friend_deleted_tips(owner_user_id, friend_user_id, version)
        await self.sender.notify(
            owner_user_id, friend_user_id, C.FRIEND_DELETED_NOTIFICATION, tips, operation_id=operation_id
        )

    async def remark_set(
        self, owner_user_id: str, friend_user_id: str, version: VersionState, *, operation_id: str
    ) -> None:
        """1206 owner → the friend (the owner's devices act on it; OpenIM sends it to the friend)."""
        tips = friend_info_changed_tips(owner_user_id, friend_user_id, version)
        await self.sender.notify(
            owner_user_id, friend_user_id, C.FRIEND_REMARK_SET_NOTIFICATION, tips, operation_id=operation_id
        )

    async def friends_info_updated(
        self, owner_user_id: str, friend_user_ids: Sequence[str], version: VersionState | None, *, operation_id: str
    ) -> None:
        """1210 owner → owner."""
        tips = friends_info_update_tips(owner_user_id, friend_user_ids, version)
        await self.sender.notify(
            owner_user_id, owner_user_id, C.FRIENDS_INFO_UPDATE_NOTIFICATION, tips, operation_id=operation_id
        )

    async def black_added(self, owner_user_id: str, black_user_id: str, *, operation_id: str) -> None:
        """1207 owner → the blocked user."""
        tips = black_added_tips(owner_user_id, black_user_id)
        await self.sender.notify(
            owner_user_id, black_user_id, C.BLACK_ADDED_NOTIFICATION, tips, operation_id=operation_id
        )

    async def black_deleted(self, owner_user_id: str, black_user_id: str, *, operation_id: str) -> None:
        """1208 owner → the unblocked user."""
        tips = black_deleted_tips(owner_user_id, black_user_id)
        await self.sender.notify(
            owner_user_id, black_user_id, C.BLACK_DELETED_NOTIFICATION, tips, operation_id=operation_id
        )

    async def friend_info_updated(
        self, op_user_id: str, changed_user_id: str, owner_user_id: str, *, operation_id: str
    ) -> None:
        """1209 operator → someone who has `changed_user_id` as a friend (its profile changed)."""
        tips = sdkws_pb2.UserInfoUpdatedTips(userID=changed_user_id)
        await self.sender.notify(
            op_user_id, owner_user_id, C.FRIEND_INFO_UPDATED_NOTIFICATION, tips, operation_id=operation_id
        )
