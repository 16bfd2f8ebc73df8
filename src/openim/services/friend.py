"""Friend service: friend requests, friends, remarks, blacklists, import and incremental sync (OpenIM's
internal/rpc/relation/).

Every route answers for or acts on one user, and only that user or an imAdmin may call it (OpenIM's
CheckAccess, else 1002); `is_friend` and `get_designated_friend_apply` accept either of the two users,
`import_friend` only admins. Reads carry the users' public profiles, as OpenIM's converters add them. Each write
checks first, then makes one repository call (one transaction that also records the change in the `friend` or
`black` version log), then sends its notification (`services/friend_notify.py`) with the version it wrote.

Differences from OpenIM, on purpose: `get_incremental_blacks` is answered from the `black` version log (OpenIM:
500 Unimplemented); `update_friends` and `get_specified_friends_info` check access (OpenIM's current code checks
neither — any user could change or read another's friends, #3314), and the latter reports only users the owner
has as a friend or has blocked; blocking an already blocked user, or unblocking one that is not blocked,
succeeds without change or notification (OpenIM: a duplicate-key 500, a notification about nothing); blocking
oneself is 1001; a re-application also clears the previous handler and handle time; the operator of an import
is the admin (OpenIM writes the operationID there). As OpenIM's code does (`internal/rpc/relation/friend.go`),
deleting or re-marking someone who is not in the list is 1004.

Webhooks (docs/integrations.md, "Friends"): each write fires OpenIM's friend hooks at OpenIM's place — the
before-hook after the access and argument checks and before the write (beforeAddFriend and beforeAddBlack
before the users are looked up, beforeAddFriendAgree before the request is, as OpenIM), the after-hook last.
What differs: beforeSetFriendRemark is asked after the access check (OpenIM asks first, so anyone could make it
post), a friend list that beforeImportFriends returns is checked again as a request would be, and
afterRemoveBlack fires only when a block was removed. `update_friends` fires no hook, as OpenIM.
"""

from __future__ import annotations

from dataclasses import dataclass

from openim.infra.clock import Clock
from openim.protocol.errors import (
    ArgsError,
    CanNotAddYourselfError,
    FriendRequestHandled,
    NoPermissionError,
    RecordNotFoundError,
    RelationshipAlreadyError,
)
from openim.protocol.pb import sdkws_pb2
from openim.services.auth import Caller
from openim.services.friend_notify import FriendNotifier, request_pb
from openim.services.incremental import Delta, FullIDs, delta_of, full_ids
from openim.services.notification import NotificationSender
from openim.services.paging import Page
from openim.storage import Storage
from openim.storage.friend import HANDLE_AGREED, HANDLE_PENDING, HANDLE_REFUSED, KIND_BLACK
from openim.storage.rows import Black, Friend, FriendRequest, User
from openim.storage.version import KIND_FRIEND
from openim.webhooks import Webhooks
from openim.webhooks.bodies import (
    add_friend_agree_body,
    add_friend_body,
    after_add_friend_body,
    black_body,
    friend_body,
    friend_remark_body,
    friend_user_ids_answer,
    import_friends_body,
    wrapped_strings_answer,
)

__all__ = [
    "ADD_SOURCE_APPLY",
    "ADD_SOURCE_IMPORT",
    "BlackEntry",
    "FriendEntry",
    "FriendService",
    "RequestEntry",
    "SpecifiedInfo",
]

# friend.add_source: OpenIM's BecomeFriendByImport / BecomeFriendByApply
ADD_SOURCE_IMPORT, ADD_SOURCE_APPLY = 1, 2
MAX_IDS = 1000  # OpenIM's limit on the ID lists of import_friend, update_friends, get_specified_friends_info


@dataclass(frozen=True, slots=True)
class FriendEntry:
    """A friend row with the friend's profile (None when that user is not registered)."""

    friend: Friend
    user: User | None


@dataclass(frozen=True, slots=True)
class BlackEntry:
    """A blacklist row with the blocked user's profile (None when that user is not registered)."""

    black: Black
    user: User | None


@dataclass(frozen=True, slots=True)
class RequestEntry:
    """A friend request with both users' profiles."""

    request: FriendRequest
    from_user: User | None
    to_user: User | None


@dataclass(frozen=True, slots=True)
class SpecifiedInfo:
    """One user of get_specified_friends_info: its profile, and the owner's friend and black rows of it if any."""

    user: User
    friend: Friend | None
    black: Black | None


def _no_repeats(ids: list[str], what: str) -> None:
    if len(set(ids)) != len(ids):
        raise ArgsError(f"{what} repeated")


def _id_list(ids: list[str] | None, what: str) -> list[str]:
    """OpenIM's checks of an ID list: present, non-empty, at most MAX_IDS, no repeats (else 1001)."""
    if not ids:
        raise ArgsError(f"{what} is empty")
    if len(ids) > MAX_IDS:
        raise ArgsError(f"{what} has more than {MAX_IDS} IDs")
    _no_repeats(ids, what)
    return ids


def _required(**values: str) -> None:
    for name, value in values.items():
        if not value:
            raise ArgsError(f"{name} is empty")


_REMARK_ANSWER = wrapped_strings_answer("remark")


class FriendService:
    def __init__(
        self, storage: Storage, notifications: NotificationSender, clock: Clock, *, hooks: Webhooks | None = None
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.notify = FriendNotifier(notifications)
        self.hooks = hooks or Webhooks.off()

    # --- friends ------------------------------------------------------------------------------------------

    async def get_incremental_friends(
        self, caller: Caller, user_id: str, version_id: str, version: int
    ) -> Delta[FriendEntry]:
        """The user's friend-list changes since (versionID, version), or full=True when they cannot be given."""
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        delta = await self.storage.version.incremental(KIND_FRIEND, user_id, version_id, version)

        async def load(ids: list[str]) -> list[FriendEntry] | None:
            return await self._friend_entries(user_id, ids) or None  # OpenIM: no friends found → nil

        return await delta_of(delta, load)

    async def get_full_friend_user_ids(self, caller: Caller, user_id: str, client_hash: int) -> FullIDs:
        """Every friend's userID in friend order, with the log's version; none when `client_hash` matches."""
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        state = await self.storage.version.current(KIND_FRIEND, user_id)  # first: IDs read later are never older
        return full_ids(state, await self.storage.friend.friend_user_ids(user_id), client_hash)

    async def get_friend_list(self, caller: Caller, user_id: str, page: Page) -> tuple[int, list[FriendEntry]]:
        """(number of friends, one page of them): pinned first, then in the order they were added."""
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        total, friends = await self.storage.friend.page_friends(user_id, page.offset, page.limit)
        return total, await self._with_profiles(friends)

    async def get_designated_friends(
        self, caller: Caller, owner_user_id: str, friend_user_ids: list[str] | None
    ) -> list[FriendEntry]:
        """The owner's friends among `friend_user_ids` (non-friends left out); repeated IDs are 1001."""
        if not owner_user_id:
            raise ArgsError("ownerUserID is empty")
        if friend_user_ids is None:
            raise ArgsError("friendUserIDs is empty")
        caller.require_self_or_admin(owner_user_id)
        _no_repeats(friend_user_ids, "friend userID")
        return await self._friend_entries(owner_user_id, friend_user_ids)

    async def get_friend_ids(self, caller: Caller, user_id: str) -> list[str]:
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        return await self.storage.friend.friend_user_ids(user_id)

    async def is_friend(self, caller: Caller, user_id1: str, user_id2: str) -> tuple[bool, bool]:
        """(user_id2 in user_id1's list, user_id1 in user_id2's list); either of the two users may ask."""
        if not user_id1:
            raise ArgsError("userID1 is empty")
        if not user_id2:
            raise ArgsError("userID2 is empty")
        _require_one_of(caller, user_id1, user_id2)
        return await self.storage.friend.friendship(user_id1, user_id2)

    # --- friend requests ----------------------------------------------------------------------------------

    async def get_friend_apply_list(
        self, caller: Caller, user_id: str, handle_results: list[int], page: Page
    ) -> tuple[int, list[RequestEntry]]:
        """Requests sent to the user, newest first; `handle_results` filters (empty = all)."""
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        total, requests = await self.storage.friend.page_requests_to(user_id, handle_results, page.offset, page.limit)
        return total, await self._request_entries(requests)

    async def get_self_friend_apply_list(
        self, caller: Caller, user_id: str, handle_results: list[int], page: Page
    ) -> tuple[int, list[RequestEntry]]:
        """Requests the user sent, newest first; `handle_results` filters (empty = all)."""
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        total, requests = await self.storage.friend.page_requests_from(user_id, handle_results, page.offset, page.limit)
        return total, await self._request_entries(requests)

    async def get_designated_friend_apply(
        self, caller: Caller, from_user_id: str, to_user_id: str
    ) -> list[RequestEntry]:
        """The requests between the two users, in both directions; either of them may ask."""
        if not from_user_id:
            raise ArgsError("fromUserID is empty")
        if not to_user_id:
            raise ArgsError("toUserID is empty")
        _require_one_of(caller, from_user_id, to_user_id)
        return await self._request_entries(await self.storage.friend.requests_between(from_user_id, to_user_id))

    async def get_self_unhandled_apply_count(self, caller: Caller, user_id: str, after: int) -> int:
        """Pending requests to the user created after `after` (ms; 0 = all)."""
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        return await self.storage.friend.count_unhandled_requests(user_id, after=after)

    # --- blacklist ----------------------------------------------------------------------------------------

    async def get_black_list(self, caller: Caller, user_id: str, page: Page) -> tuple[int, list[BlackEntry]]:
        """(number of blocked users, one page of them, oldest first)."""
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        total, blacks = await self.storage.friend.page_blacks(user_id, page.offset, page.limit)
        return total, await self._black_entries(blacks)

    async def get_specified_blacks(
        self, caller: Caller, owner_user_id: str, user_ids: list[str] | None
    ) -> list[BlackEntry]:
        """The owner's blacklist rows for those of `user_ids` it blocked; empty or repeated IDs are 1001."""
        caller.require_self_or_admin(owner_user_id)
        if not user_ids:
            raise ArgsError("userIDList is empty")
        _no_repeats(user_ids, "userIDList")
        return await self._black_entries(await self.storage.friend.get_blacks(owner_user_id, user_ids))

    async def get_incremental_blacks(
        self, caller: Caller, user_id: str, version_id: str, version: int
    ) -> Delta[BlackEntry]:
        """The user's blacklist changes since (versionID, version), from the `black` version log."""
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        delta = await self.storage.version.incremental(KIND_BLACK, user_id, version_id, version)

        async def load(ids: list[str]) -> list[BlackEntry] | None:
            return await self._black_entries(await self.storage.friend.get_blacks(user_id, ids)) or None

        return await delta_of(delta, load)

    async def get_specified_friends_info(
        self, caller: Caller, owner_user_id: str, user_ids: list[str] | None
    ) -> list[SpecifiedInfo]:
        """For each user of `user_ids` the owner has as a friend or has blocked (request order): its profile and
        the owner's friend and black rows of it; anyone else is left out (OpenIM also lists other registered
        users, with neither row: a stranger's profile belongs to /user/get_users_info, not to a friend route)."""
        _required(ownerUserID=owner_user_id)
        caller.require_self_or_admin(owner_user_id)
        ids = _id_list(user_ids, "userIDList")
        users = await self._users(ids)
        friends = {f.friend_user_id: f for f in await self.storage.friend.get_friends(owner_user_id, ids)}
        blacks = {b.block_user_id: b for b in await self.storage.friend.get_blacks(owner_user_id, ids)}
        related = [i for i in ids if i in users and (i in friends or i in blacks)]
        return [SpecifiedInfo(users[i], friends.get(i), blacks.get(i)) for i in related]

    # --- writes: applications -----------------------------------------------------------------------------

    async def apply(
        self,
        caller: Caller,
        from_user_id: str,
        to_user_id: str,
        *,
        req_msg: str = "",
        ex: str = "",
        operation_id: str = "",
    ) -> None:
        """`from` asks `to` to be friends: a new pending request, or the old one reset (1203 to `to`).

        1301 to oneself, 1004 unless both users exist, 1304 when they are already friends both ways; the
        blacklist does not stop an application (as OpenIM).
        """
        _required(toUserID=to_user_id, fromUserID=from_user_id)
        caller.require_self_or_admin(from_user_id)
        if from_user_id == to_user_id:
            raise CanNotAddYourselfError(f"toUserID={to_user_id}")
        if self.hooks.before_add_friend.enable:  # before the users are looked up, as OpenIM
            body = add_friend_body(from_user_id, to_user_id, req_msg, ex)
            await self.hooks.before_add_friend.call(body, operation_id=operation_id)
        users = await self._require_users([from_user_id, to_user_id])
        if all(await self.storage.friend.friendship(from_user_id, to_user_id)):
            raise RelationshipAlreadyError(f"{from_user_id} and {to_user_id} are already friends")
        request = await self.storage.friend.upsert_request(
            from_user_id, to_user_id, req_msg=req_msg, ex=ex, now=self.clock.now_ms()
        )
        wire = request_pb(request, users[from_user_id], users[to_user_id])
        await self.notify.application_added(from_user_id, to_user_id, wire, operation_id=operation_id)
        if self.hooks.after_add_friend.enable:
            body = after_add_friend_body(from_user_id, to_user_id, req_msg)
            await self.hooks.after_add_friend.fire(body, operation_id=operation_id)

    async def respond(
        self,
        caller: Caller,
        from_user_id: str,
        to_user_id: str,
        handle_result: int,
        *,
        handle_msg: str = "",
        operation_id: str = "",
    ) -> None:
        """`to` answers `from`'s request: 1 agrees (both become friends; 1201 to `from`), -1 refuses (1202).

        Only a pending request can be answered: agreeing to a handled one is 1001, refusing it 1305 (OpenIM's
        codes); a missing request is 1004; another handleResult is 1001.
        """
        _required(toUserID=to_user_id, fromUserID=from_user_id)
        caller.require_self_or_admin(to_user_id)
        if handle_result not in (HANDLE_AGREED, HANDLE_REFUSED):
            raise ArgsError("handleResult must be 1 (agree) or -1 (refuse)")
        if handle_result == HANDLE_AGREED and self.hooks.before_add_friend_agree.enable:
            # before the request is looked up, as OpenIM; a refusal is not hooked (OpenIM has no such hook)
            body = add_friend_agree_body(from_user_id, to_user_id, handle_result, handle_msg)
            await self.hooks.before_add_friend_agree.call(body, operation_id=operation_id)
        request = await self.storage.friend.get_request(from_user_id, to_user_id)
        if request is None:
            raise RecordNotFoundError(f"no friend request from {from_user_id} to {to_user_id}")
        now = self.clock.now_ms()
        if handle_result == HANDLE_AGREED:
            accepted = None
            if request.handle_result == HANDLE_PENDING:
                accepted = await self.storage.friend.accept_request(
                    from_user_id,
                    to_user_id,
                    handler_user_id=caller.user_id,
                    handle_msg=handle_msg,
                    add_source=ADD_SOURCE_APPLY,
                    now=now,
                )
            if accepted is None:  # handled before, or by a concurrent answer
                raise ArgsError("the friend request has been processed")
            wire = await self._request_pb(accepted.request)
            await self.notify.application_approved(
                from_user_id,
                to_user_id,
                handle_msg=handle_msg,
                request=wire,
                version=accepted.versions.get(from_user_id),
                operation_id=operation_id,
            )
            if self.hooks.after_add_friend_agree.enable:
                body = add_friend_agree_body(from_user_id, to_user_id, handle_result, handle_msg)
                await self.hooks.after_add_friend_agree.fire(body, operation_id=operation_id)
            return
        refused = None
        if request.handle_result == HANDLE_PENDING:
            refused = await self.storage.friend.refuse_request(
                from_user_id, to_user_id, handler_user_id=caller.user_id, handle_msg=handle_msg, now=now
            )
        if refused is None:
            raise FriendRequestHandled(f"the request from {from_user_id} to {to_user_id} was handled before")
        await self.notify.application_rejected(
            from_user_id,
            to_user_id,
            handle_msg=handle_msg,
            request=await self._request_pb(refused),
            operation_id=operation_id,
        )

    # --- writes: friends ----------------------------------------------------------------------------------

    async def import_friends(
        self, caller: Caller, owner_user_id: str, friend_user_ids: list[str] | None, *, operation_id: str = ""
    ) -> None:
        """Admin: make the owner and each listed user friends both ways at once, no requests (1201 per friend).

        Every user must exist (1004); the owner in the list is 1301, a repeated ID 1001. beforeImportFriends may
        refuse, or replace the list (checked again the same way; OpenIM does not).
        """
        _required(ownerUserID=owner_user_id)
        caller.require_admin()
        if friend_user_ids is None:
            raise ArgsError("friendUserIDs is empty")
        await self._check_import(owner_user_id, friend_user_ids)
        if self.hooks.before_import_friends.enable:
            body = import_friends_body(owner_user_id, friend_user_ids)
            replaced = await self.hooks.before_import_friends.ask(
                body, friend_user_ids_answer, operation_id=operation_id
            )
            if replaced:  # checked again, as a request would be (OpenIM does not)
                friend_user_ids = replaced
                await self._check_import(owner_user_id, friend_user_ids)
        versions = await self.storage.friend.become_friends(
            owner_user_id,
            friend_user_ids,
            add_source=ADD_SOURCE_IMPORT,
            operator=caller.user_id,
            now=self.clock.now_ms(),
        )
        for friend_user_id in friend_user_ids:
            await self.notify.application_approved(
                owner_user_id,
                friend_user_id,
                handle_msg="",
                request=None,
                version=versions.get(owner_user_id),
                operation_id=operation_id,
            )
        if self.hooks.after_import_friends.enable:
            body = import_friends_body(owner_user_id, friend_user_ids)
            await self.hooks.after_import_friends.fire(body, operation_id=operation_id)

    async def _check_import(self, owner_user_id: str, friend_user_ids: list[str]) -> None:
        """OpenIM's checks of an import list: at most MAX_IDS, every user exists (1004), not the owner (1301),
        no repeats (1001)."""
        if len(friend_user_ids) > MAX_IDS:
            raise ArgsError(f"friendUserIDs has more than {MAX_IDS} IDs")
        await self._require_users([owner_user_id, *friend_user_ids])
        if owner_user_id in friend_user_ids:
            raise CanNotAddYourselfError("can not add yourself")
        _no_repeats(friend_user_ids, "friend userID")

    async def delete_friend(
        self, caller: Caller, owner_user_id: str, friend_user_id: str, *, operation_id: str = ""
    ) -> None:
        """Remove the friend from the owner's list only — the friend keeps the owner (1205 to the friend).

        Someone not in the list is 1004, as OpenIM.
        """
        _required(ownerUserID=owner_user_id, friendUserID=friend_user_id)
        caller.require_self_or_admin(owner_user_id)
        version = await self.storage.friend.delete_friend(owner_user_id, friend_user_id, now=self.clock.now_ms())
        if version is None:
            raise RecordNotFoundError(f"{friend_user_id} is not a friend of {owner_user_id}")
        await self.notify.friend_deleted(owner_user_id, friend_user_id, version, operation_id=operation_id)
        if self.hooks.after_delete_friend.enable:
            body = friend_body(owner_user_id, friend_user_id)
            await self.hooks.after_delete_friend.fire(body, operation_id=operation_id)

    async def set_friend_remark(
        self, caller: Caller, owner_user_id: str, friend_user_id: str, remark: str, *, operation_id: str = ""
    ) -> None:
        """Set the owner's remark of a friend ("" clears it); 1004 when not a friend (1206 to the friend).

        beforeSetFriendRemark may refuse, or replace the remark with a non-empty one (OpenIM's rule: its answer
        cannot clear a remark); it is asked after the access check (OpenIM asks before it).
        """
        _required(ownerUserID=owner_user_id, friendUserID=friend_user_id)
        caller.require_self_or_admin(owner_user_id)
        if self.hooks.before_set_friend_remark.enable:
            body = friend_remark_body(owner_user_id, friend_user_id, remark)
            answer = await self.hooks.before_set_friend_remark.ask(body, _REMARK_ANSWER, operation_id=operation_id)
            remark = (answer or {}).get("remark") or remark
        version = await self.storage.friend.update_friends(
            owner_user_id, [friend_user_id], remark=remark, now=self.clock.now_ms()
        )
        if version is None:
            raise RecordNotFoundError(f"{friend_user_id} is not a friend of {owner_user_id}")
        await self.notify.remark_set(owner_user_id, friend_user_id, version, operation_id=operation_id)
        if self.hooks.after_set_friend_remark.enable:
            body = friend_remark_body(owner_user_id, friend_user_id, remark)
            await self.hooks.after_set_friend_remark.fire(body, operation_id=operation_id)

    async def update_friends(
        self,
        caller: Caller,
        owner_user_id: str,
        friend_user_ids: list[str] | None,
        *,
        is_pinned: bool | None = None,
        remark: str | None = None,
        ex: str | None = None,
        operation_id: str = "",
    ) -> None:
        """Set pin, remark and/or ex (None = unchanged) on several friends; all must be friends (else 1004).

        A pin change also moves the friend order's sort version. 1210 to the owner.
        """
        _required(ownerUserID=owner_user_id)
        caller.require_self_or_admin(owner_user_id)
        ids = _id_list(friend_user_ids, "friendUserIDs")
        found = {f.friend_user_id for f in await self.storage.friend.get_friends(owner_user_id, ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise RecordNotFoundError(f"not friends of {owner_user_id}: {missing}")
        version = await self.storage.friend.update_friends(
            owner_user_id, ids, remark=remark, ex=ex, is_pinned=is_pinned, now=self.clock.now_ms()
        )
        await self.notify.friends_info_updated(owner_user_id, ids, version, operation_id=operation_id)

    async def friend_info_changed(self, caller: Caller, user_id: str, *, operation_id: str = "") -> None:
        """The user's nickname or face changed: log an update of it in the friend log of everyone who has it as a
        friend and send each of them 1209 — the friend part of update_user_info, for whoever changes profiles."""
        versions = await self.storage.friend.touch_friend(user_id, now=self.clock.now_ms())
        for owner_user_id in sorted(versions):
            await self.notify.friend_info_updated(caller.user_id, user_id, owner_user_id, operation_id=operation_id)

    # --- writes: blacklist --------------------------------------------------------------------------------

    async def add_black(
        self, caller: Caller, owner_user_id: str, black_user_id: str, *, ex: str = "", operation_id: str = ""
    ) -> None:
        """The owner blocks a user (its single-chat messages to the owner then fail with 1302); friendship stays.

        Both users must exist (1004); blocking oneself is 1001; blocking again changes nothing. 1207.
        """
        _required(ownerUserID=owner_user_id, blackUserID=black_user_id)
        caller.require_self_or_admin(owner_user_id)
        if owner_user_id == black_user_id:
            raise ArgsError("a user cannot block itself")
        if self.hooks.before_add_black.enable:  # before the users are looked up, as OpenIM
            body = black_body(owner_user_id, black_user_id)
            await self.hooks.before_add_black.call(body, operation_id=operation_id)
        await self._require_users([owner_user_id, black_user_id])
        version = await self.storage.friend.add_black(
            owner_user_id, black_user_id, ex=ex, operator=caller.user_id, now=self.clock.now_ms()
        )
        if version is not None:
            await self.notify.black_added(owner_user_id, black_user_id, operation_id=operation_id)

    async def remove_black(
        self, caller: Caller, owner_user_id: str, black_user_id: str, *, operation_id: str = ""
    ) -> None:
        """The owner unblocks a user (1208, then afterRemoveBlack); unblocking one that is not blocked changes
        nothing and sends neither (OpenIM sends both)."""
        _required(ownerUserID=owner_user_id, blackUserID=black_user_id)
        caller.require_self_or_admin(owner_user_id)
        version = await self.storage.friend.remove_black(owner_user_id, black_user_id, now=self.clock.now_ms())
        if version is None:
            return
        await self.notify.black_deleted(owner_user_id, black_user_id, operation_id=operation_id)
        if self.hooks.after_remove_black.enable:
            body = black_body(owner_user_id, black_user_id)
            await self.hooks.after_remove_black.fire(body, operation_id=operation_id)

    # --- helpers ------------------------------------------------------------------------------------------

    async def _friend_entries(self, owner_user_id: str, friend_user_ids: list[str]) -> list[FriendEntry]:
        if not friend_user_ids:
            return []
        return await self._with_profiles(await self.storage.friend.get_friends(owner_user_id, friend_user_ids))

    async def _with_profiles(self, friends: list[Friend]) -> list[FriendEntry]:
        users = await self._users([f.friend_user_id for f in friends])
        return [FriendEntry(f, users.get(f.friend_user_id)) for f in friends]

    async def _black_entries(self, blacks: list[Black]) -> list[BlackEntry]:
        users = await self._users([b.block_user_id for b in blacks])
        return [BlackEntry(b, users.get(b.block_user_id)) for b in blacks]

    async def _request_entries(self, requests: list[FriendRequest]) -> list[RequestEntry]:
        users = await self._users([uid for r in requests for uid in (r.from_user_id, r.to_user_id)])
        return [RequestEntry(r, users.get(r.from_user_id), users.get(r.to_user_id)) for r in requests]

    async def _request_pb(self, request: FriendRequest) -> sdkws_pb2.FriendRequest:
        users = await self._users([request.from_user_id, request.to_user_id])
        return request_pb(request, users.get(request.from_user_id), users.get(request.to_user_id))

    async def _require_users(self, user_ids: list[str]) -> dict[str, User]:
        """The users by ID; RecordNotFoundError (1004) naming those that are not registered."""
        users = await self._users(user_ids)
        missing = [u for u in dict.fromkeys(user_ids) if u not in users]
        if missing:
            raise RecordNotFoundError(f"users not found: {missing}")
        return users

    async def _users(self, user_ids: list[str]) -> dict[str, User]:
        if not user_ids:
            return {}
        return {u.user_id: u for u in await self.storage.user.get_users(user_ids)}


def _require_user(user_id: str) -> None:
    if not user_id:
        raise ArgsError("userID is empty")


def _require_one_of(caller: Caller, user_id1: str, user_id2: str) -> None:
    """OpenIM's CheckAccessIn: the caller is one of the two users, or an imAdmin (else 1002)."""
    if caller.user_id not in (user_id1, user_id2) and not caller.is_admin:
        raise NoPermissionError(f"user {caller.user_id} is neither {user_id1} nor {user_id2}")
