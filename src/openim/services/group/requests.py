"""Group service, joining by request: join_group, group_application_response, a manager's view of requests
(docs/protocol/rest.md §4).

needVerification 2 lets an applicant in at once (1510); otherwise its request (replacing any earlier one) waits
for the owner or an admin (1503 to them, the applicant and the caller), whose answer sends 1505 or 1506 and,
on agreement, 1510 — or 1509 when the request was an ordinary member's invitation. As the SDKs send it, the
applicant of join_group is `inviterUserID`; unlike OpenIM it must be the caller (or the caller an imAdmin),
so nobody files requests in someone else's name. A response to a dismissed group is 1204 and a request's
handler and time are recorded (OpenIM writes only the result and the message).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from openim.protocol.constants import GroupRole
from openim.protocol.errors import ArgsError, GroupRequestHandled, RecordNotFoundError, UserIDNotFoundError
from openim.services.auth import Caller
from openim.services.group.core import GroupCore, GroupRequestEntry
from openim.services.group.hooks import go_rune
from openim.services.group.manage import MAX_IDS, require
from openim.storage.rows import GroupMember, GroupRequest

__all__ = ["RequestsMixin"]

JOIN_DIRECTLY = 2  # needVerification: applications are accepted at once
JOIN_SOURCES = range(1, 5)  # 1 by admin, 2 invitation, 3 search, 4 QR code
GROUP_RESPONSE_AGREE, GROUP_RESPONSE_REFUSE = 1, -1


class RequestsMixin(GroupCore):
    """The routes of the request flow."""

    async def join_group(
        self,
        caller: Caller,
        group_id: str,
        *,
        req_message: str = "",
        join_source: int = 0,
        inviter_user_id: str = "",
        ex: str = "",
        operation_id: str = "",
    ) -> None:
        """Apply to join (the applicant is `inviter_user_id`, the caller when empty): straight in with
        needVerification 2, else a pending request. 1001 for a member, 1101 for an unknown applicant."""
        require(group_id, "groupID")
        if join_source not in JOIN_SOURCES:
            raise ArgsError("joinSource is invalid")
        if join_source == 2 and not inviter_user_id:
            raise ArgsError("inviterUserID is empty")
        applicant_id = inviter_user_id or caller.user_id
        caller.require_self_or_admin(applicant_id)
        applicant = await self.storage.user.get_user(applicant_id)
        if applicant is None:
            raise UserIDNotFoundError(f"user {applicant_id} not found")
        group = await self._live_group(group_id)
        if self.hooks.before_apply_join_group.enable:
            body = {
                "callbackCommand": "",
                "groupID": group_id,
                "groupType": go_rune(group.group_type),
                "applyID": applicant_id,
                "reqMessage": req_message,
                "ex": ex,
            }
            await self.hooks.before_apply_join_group.call(body, operation_id=self._op(operation_id))
        if await self.storage.group.get_member(group_id, applicant_id) is not None:
            raise ArgsError(f"{applicant_id} is already a member of group {group_id}")
        now = self.now()
        if group.need_verification == JOIN_DIRECTLY:
            member = GroupMember(
                group_id,
                applicant_id,
                "",
                "",
                int(GroupRole.ORDINARY),
                now,
                join_source,
                applicant_id,
                caller.user_id,
                0,
                "",
            )
            (member,) = await self._before_members_join(group, [member], operation_id=operation_id)
            state = await self.storage.group.add_members(
                group_id, [member], now=now, hide_history=not self.enable_history_for_new_members
            )
            summary = await self._summary(group_id)
            await self.notes.members_joined(
                caller,
                summary,
                await self._populate([member]),
                state,
                inviter_user_id="",
                operation_id=operation_id,
                now=now,
            )
            if self.hooks.after_join_group.enable:
                op_id = self._op(operation_id)
                joined: dict[str, Any] = {
                    "callbackCommand": "",
                    "operationID": op_id,
                    "groupID": group_id,
                    "reqMessage": req_message,
                    "joinSource": join_source,
                    "inviterUserID": inviter_user_id,
                }
                await self.hooks.after_join_group.fire(joined, operation_id=op_id)
            return
        request = GroupRequest(group_id, applicant_id, 0, req_message, "", now, "", 0, join_source, "", ex)
        await self.storage.group.put_requests([request])
        summary = await self._summary(group_id)
        managers = await self.storage.group.manager_ids(group_id)
        await self.notes.join_application(
            caller, summary, request, applicant, [*managers, applicant_id, caller.user_id], operation_id=operation_id
        )

    async def group_application_response(
        self,
        caller: Caller,
        group_id: str,
        from_user_id: str,
        handle_result: int,
        *,
        handled_msg: str = "",
        operation_id: str = "",
    ) -> None:
        """Agree (1) or refuse (-1) a pending request; G-ADMIN. 1004 without a request, 1206 once handled."""
        require(group_id, "groupID")
        require(from_user_id, "fromUserID")
        if handle_result not in (GROUP_RESPONSE_AGREE, GROUP_RESPONSE_REFUSE):
            raise ArgsError("HandleResult unknown")
        group = await self._live_group(group_id)
        await self._require_manager(caller, group_id)
        found = await self.storage.group.get_requests(group_id, [from_user_id])
        if not found:
            raise RecordNotFoundError(f"no request of {from_user_id} to group {group_id}")
        request = found[0]
        if request.handle_result != 0:
            raise GroupRequestHandled("group request already processed")
        applicant = await self.storage.user.get_user(from_user_id)
        if applicant is None:
            raise UserIDNotFoundError(f"user {from_user_id} not found")
        in_group = await self.storage.group.get_member(group_id, from_user_id) is not None
        now = self.now()
        member = None
        if handle_result == GROUP_RESPONSE_AGREE and not in_group:
            member = GroupMember(
                group_id,
                from_user_id,
                "",
                "",
                int(GroupRole.ORDINARY),
                now,
                request.join_source,
                request.inviter_user_id,
                caller.user_id,
                0,
                "",
            )
            (member,) = await self._before_members_join(group, [member], operation_id=operation_id)
        state = await self.storage.group.respond_request(
            group_id,
            from_user_id,
            handle_result=handle_result,
            handled_msg=handled_msg,
            handler=caller.user_id,
            now=now,
            member=member,
            hide_history=not self.enable_history_for_new_members,
        )
        handled = replace(
            request,
            handle_result=handle_result,
            handled_msg=handled_msg,
            handle_user_id=caller.user_id,
            handled_time=now,
        )
        summary = await self._summary(group_id)
        managers = await self.storage.group.manager_ids(group_id)
        await self.notes.application_answered(
            caller,
            summary,
            handled,
            applicant,
            managers,
            accepted=handle_result == GROUP_RESPONSE_AGREE,
            operation_id=operation_id,
        )
        if member is not None and state is not None:
            await self.notes.members_joined(
                caller,
                summary,
                await self._populate([member]),
                state,
                inviter_user_id=request.inviter_user_id,
                operation_id=operation_id,
                now=now,
            )

    async def get_group_users_req_application_list(
        self, caller: Caller, group_id: str, user_ids: list[str] | None
    ) -> list[GroupRequestEntry]:
        """The requests of `user_ids` to the group, newest first; G-ADMIN."""
        require(group_id, "groupID")
        if not user_ids:
            raise ArgsError("userIDs is empty")
        if len(user_ids) > MAX_IDS:
            raise ArgsError(f"too many userIDs, need to be less than {MAX_IDS}")
        await self._group(group_id)
        await self._require_manager(caller, group_id)
        return await self._request_entries(await self.storage.group.get_requests(group_id, user_ids))
