"""Friend service, read side: friend lists, friend requests, blacklists and their incremental sync (spec §3.2).

Every route here answers for one user, and only that user or an imAdmin may ask (OpenIM's CheckAccess;
`is_friend` and `get_designated_friend_apply` accept either of the two users). Results carry the users'
public profiles, read from the user table, as OpenIM's converters add them. The write side (applications,
responses, blacklist changes) comes with the next issue and must record every change in the version logs
`friend` (owner → friendUserID) and `black` (owner → blockUserID) in the same transaction.

Differences from OpenIM: `get_incremental_blacks` is answered (OpenIM returns 500 Unimplemented) from the
`black` version log; a blocked user without a profile is reported with empty profile fields instead of
crashing the Go converter.
"""

from __future__ import annotations

from dataclasses import dataclass

from openim.protocol.errors import ArgsError, NoPermissionError
from openim.services.auth import Caller
from openim.services.incremental import Delta, FullIDs, delta_of, full_ids
from openim.services.paging import Page
from openim.storage import Storage
from openim.storage.friend import KIND_BLACK
from openim.storage.rows import Black, Friend, FriendRequest, User
from openim.storage.version import KIND_FRIEND

__all__ = ["BlackEntry", "FriendEntry", "FriendService", "RequestEntry"]


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


def _no_repeats(ids: list[str], what: str) -> None:
    if len(set(ids)) != len(ids):
        raise ArgsError(f"{what} repeated")


class FriendService:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

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
