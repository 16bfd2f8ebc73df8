"""Group service, read side: joined groups, group info, members, group requests and their incremental sync
(docs/protocol/rest.md §4, §6).

Access as OpenIM checks it, tightened where it leaks (#3314): a user reads only its own joined groups and
requests; a group's members (lists, IDs, info, incremental sync) only by its members or an imAdmin, else
1002; request lists of a group only by its owner or admins. Group info (`get_groups_info`) stays readable
by any signed-in user, as the SDKs need it for groups they are about to join. Member nicknames and faces
left empty in the group fall back to the user's own profile, as OpenIM's PopulateGroupMember does.

Differences from OpenIM: joined groups never include dismissed groups (OpenIM leaves them in when a user has
fewer than two groups, out otherwise); the batch member sync skips groups the caller cannot read instead of
failing the whole batch (OpenIM skips only dismissed ones), and checks its `userID` field; a member-list
keyword matches the nickname as shown (group nickname, else the user's), not only the stored one.
"""

from __future__ import annotations

from dataclasses import dataclass

from openim.protocol.constants import GroupStatus
from openim.protocol.errors import ArgsError, DismissedAlreadyError, NoPermissionError, RecordNotFoundError
from openim.services.auth import Caller
from openim.services.group.core import GroupCore, GroupRequestEntry
from openim.services.incremental import Delta, FullIDs, delta_of, full_ids
from openim.services.paging import Page
from openim.storage.group import GroupSummary
from openim.storage.rows import GroupMember
from openim.storage.version import KIND_GROUP_MEMBER, KIND_JOIN_GROUP

__all__ = ["BATCH_SYNC_LIMIT", "MemberDelta", "MemberSyncReq", "ReadMixin"]

BATCH_SYNC_LIMIT = 500  # OpenIM's versionSyncLimit: the batch stops once this many changed members are answered
MEMBER_LIST_FILTERS = range(0, 6)  # get_group_member_list `filter`: checked 0..5, otherwise ignored (as OpenIM)


@dataclass(frozen=True, slots=True)
class MemberDelta:
    """A group's member changes, and the group itself when it (or its membership) changed or on a full sync."""

    delta: Delta[GroupMember]
    group: GroupSummary | None


@dataclass(frozen=True, slots=True)
class MemberSyncReq:
    """One group of a batch member sync: the client's versionID and version for it."""

    group_id: str
    version_id: str
    version: int


class ReadMixin(GroupCore):
    """The read routes of GroupService."""

    # --- joined groups ------------------------------------------------------------------------------------

    async def get_incremental_join_groups(
        self, caller: Caller, user_id: str, version_id: str, version: int
    ) -> Delta[GroupSummary]:
        """The user's joined-group changes since (versionID, version), or full=True."""
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        delta = await self.storage.version.incremental(KIND_JOIN_GROUP, user_id, version_id, version)
        return await delta_of(delta, self.storage.group.get_groups)  # OpenIM: found nothing → [] (not nil)

    async def get_full_join_group_ids(self, caller: Caller, user_id: str, client_hash: int) -> FullIDs:
        """Every joined group's ID (by name, then creation), with the log's version; none when the hash matches."""
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        state = await self.storage.version.current(KIND_JOIN_GROUP, user_id)  # first: IDs read later are never older
        return full_ids(state, await self.storage.group.joined_group_ids(user_id), client_hash)

    async def get_joined_group_list(self, caller: Caller, user_id: str, page: Page) -> tuple[int, list[GroupSummary]]:
        """(number of joined groups, one page of them) in the order of get_full_join_group_ids."""
        if not user_id:
            raise ArgsError("fromUserID is empty")
        caller.require_self_or_admin(user_id)
        return await self.storage.group.page_joined_groups(user_id, page.offset, page.limit)

    async def get_groups_info(self, caller: Caller, group_ids: list[str] | None) -> list[GroupSummary]:
        """The existing groups among `group_ids`; any signed-in user may ask (the SDKs look up groups to join)."""
        del caller
        if not group_ids:
            raise ArgsError("groupIDs is empty")
        return await self.storage.group.get_groups(group_ids)

    # --- members ------------------------------------------------------------------------------------------

    async def get_incremental_group_members(
        self, caller: Caller, group_id: str, version_id: str, version: int
    ) -> MemberDelta:
        """The group's member changes since (versionID, version); members and imAdmins only; dismissed → 1204."""
        if not group_id:
            raise ArgsError("groupID is empty")
        await self._require_member(caller, group_id)
        found = await self.storage.group.get_group(group_id)
        if found is None:
            raise RecordNotFoundError(f"group {group_id} not found")
        if found.status == GroupStatus.DISMISSED:
            raise DismissedAlreadyError(f"group {group_id} is dismissed")
        log = await self.storage.version.incremental(KIND_GROUP_MEMBER, group_id, version_id, version)

        async def load(user_ids: list[str]) -> list[GroupMember]:
            return await self._populate(await self.storage.group.get_members(group_id, user_ids))

        delta = await delta_of(log, load)
        changed = log.full or log.group_changed or bool(log.inserted or log.updated or log.deleted)
        summaries = await self.storage.group.get_groups([group_id]) if changed else []
        return MemberDelta(delta, summaries[0] if summaries else None)

    async def get_incremental_group_members_batch(
        self, caller: Caller, user_id: str, reqs: list[MemberSyncReq]
    ) -> dict[str, MemberDelta]:
        """Member changes of several groups, each answered once, stopping after BATCH_SYNC_LIMIT changed members.

        Groups the caller may not read, unknown or dismissed ones are left out (the client drops them);
        groups left out because of the limit must be asked again.
        """
        if user_id:
            caller.require_self_or_admin(user_id)
        answers: dict[str, MemberDelta] = {}
        changed = 0
        for req in reqs:
            if req.group_id in answers:
                continue
            try:
                answer = await self.get_incremental_group_members(caller, req.group_id, req.version_id, req.version)
            except (NoPermissionError, RecordNotFoundError, DismissedAlreadyError, ArgsError):
                continue
            answers[req.group_id] = answer
            d = answer.delta
            changed += len(d.inserted or ()) + len(d.updated or ()) + len(d.deleted or ())
            if changed >= BATCH_SYNC_LIMIT:
                break
        return answers

    async def get_full_group_member_user_ids(self, caller: Caller, group_id: str, client_hash: int) -> FullIDs:
        """Every member's userID in member order, with the log's version; members and imAdmins only."""
        if not group_id:
            raise ArgsError("groupID is empty")
        await self._require_member(caller, group_id)
        state = await self.storage.version.current(KIND_GROUP_MEMBER, group_id)
        return full_ids(state, await self.storage.group.member_ids(group_id), client_hash)

    async def get_group_member_user_ids(self, caller: Caller, group_id: str) -> list[str]:
        """Every member's userID in member order; members and imAdmins only."""
        if not group_id:
            raise ArgsError("groupID is empty")
        await self._require_member(caller, group_id)
        return await self.storage.group.member_ids(group_id)

    async def get_group_member_list(
        self, caller: Caller, group_id: str, page: Page, *, keyword: str = "", filter: int = 0
    ) -> tuple[int, list[GroupMember]]:
        """(matching members, one page) by role then join time; members and imAdmins only."""
        if not group_id:
            raise ArgsError("groupID is empty")
        if filter not in MEMBER_LIST_FILTERS:
            raise ArgsError("filter is invalid")
        await self._require_member(caller, group_id)
        total, members = await self.storage.group.page_members(group_id, page.offset, page.limit, keyword=keyword)
        return total, await self._populate(members)

    async def get_group_members_info(
        self, caller: Caller, group_id: str, user_ids: list[str] | None
    ) -> list[GroupMember]:
        """The members among `user_ids` (others left out); members and imAdmins only."""
        if not group_id:
            raise ArgsError("groupID is empty")
        if not user_ids:
            raise ArgsError("userIDs is empty")
        await self._require_member(caller, group_id)
        return await self._populate(await self.storage.group.get_members(group_id, user_ids))

    # --- group requests -----------------------------------------------------------------------------------

    async def get_specified_user_group_request_info(
        self, caller: Caller, group_id: str, user_id: str
    ) -> list[GroupRequestEntry]:
        """The user's request to the group; the user itself, the group's owner or admins, or an imAdmin."""
        if caller.user_id != user_id:
            await self._require_manager(caller, group_id)
        return await self._request_entries(await self.storage.group.get_requests(group_id, [user_id]))

    async def get_group_application_list(
        self, caller: Caller, from_user_id: str, group_ids: list[str], handle_results: list[int], page: Page
    ) -> tuple[int, list[GroupRequestEntry]]:
        """Requests to the groups `from_user_id` manages (or to `group_ids`, each of which it must manage)."""
        if not from_user_id:
            raise ArgsError("fromUserID is empty")
        caller.require_self_or_admin(from_user_id)
        if group_ids:
            group_ids = list(dict.fromkeys(group_ids))
            for group_id in group_ids:
                await self._require_manager(caller, group_id)
        else:
            group_ids = await self.storage.group.managed_group_ids(from_user_id)
        total, requests = await self.storage.group.page_group_requests(
            group_ids, handle_results, page.offset, page.limit
        )
        return total, await self._request_entries(requests)

    async def get_user_req_application_list(
        self, caller: Caller, user_id: str, group_ids: list[str], handle_results: list[int], page: Page
    ) -> tuple[int, list[GroupRequestEntry]]:
        """The user's own requests, newest first, optionally only to `group_ids` and with `handle_results`."""
        if not user_id:
            raise ArgsError("userID is empty")
        caller.require_self_or_admin(user_id)
        total, requests = await self.storage.group.page_user_requests(
            user_id, group_ids, handle_results, page.offset, page.limit
        )
        return total, await self._request_entries(requests)

    async def get_group_application_unhandled_count(self, caller: Caller, user_id: str, after: int) -> int:
        """Pending requests made after `after` (ms; 0 = all) to the groups the user owns or administers."""
        _require_user(user_id)
        caller.require_self_or_admin(user_id)
        managed = await self.storage.group.managed_group_ids(user_id)
        return await self.storage.group.count_unhandled_requests(managed, after=after)


def _require_user(user_id: str) -> None:
    if not user_id:
        raise ArgsError("userID is empty")
