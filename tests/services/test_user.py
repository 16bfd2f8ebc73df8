"""Tests for openim.services.user: a profile change is announced as OpenIM does (1303, 1209, 1516)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.factories import add_member, make_friend, make_group
from tests.services.msgkit import MsgKit, caller, msg_kit

from openim.infra.bus import Push
from openim.infra.presence import MemoryPresence
from openim.protocol.constants import ContentType
from openim.protocol.errors import NoPermissionError
from openim.services.friend import FriendService
from openim.services.group import GroupService
from openim.services.user import UserService
from openim.storage import Storage
from openim.storage.version import KIND_FRIEND, KIND_GROUP_MEMBER


@pytest.fixture
async def kit(storage: Storage) -> AsyncIterator[MsgKit]:
    """The msg kit with users a (the one who changes), b (a's friend) and c."""
    async with msg_kit(storage) as k:
        await k.users("a", "b", "c")
        yield k


@pytest.fixture
def svc(kit: MsgKit) -> UserService:
    """The user service wired as runtime.py wires it: friends and groups listen to profile changes."""
    friend = FriendService(kit.storage, kit.notifications, kit.clock)
    group = GroupService(kit.storage, kit.notifications, kit.clock)
    return UserService(
        kit.storage,
        kit.clock,
        MemoryPresence(),
        kit.notifications,
        profile_listeners=[friend.friend_info_changed, group.member_profile_changed],
    )


def tips_of(push: Push) -> dict[str, Any]:
    tips: dict[str, Any] = json.loads(json.loads(push.msg.content)["detail"])
    return tips


async def test_nickname_change_reaches_self_friends_and_groups(kit: MsgKit, svc: UserService) -> None:
    """A new nickname: 1303 to the user, 1209 to each friend, 1516 in groups showing the user's own profile."""
    now = kit.clock.now_ms()
    await make_friend(kit.storage, "b", "a", now=now)
    await make_group(kit.storage, "g1", "c", ["a"], now=now)  # a's member row has no group nickname
    await make_group(kit.storage, "g2", "c", now=now)
    await add_member(kit.storage, "g2", "a", now=now, nickname="A in g2", face_url="f")  # its own group profile
    friend_before = await kit.storage.version.current(KIND_FRIEND, "b")
    g1_before = await kit.storage.version.current(KIND_GROUP_MEMBER, "g1")
    g2_before = await kit.storage.version.current(KIND_GROUP_MEMBER, "g2")
    kit.clock.advance(1)
    await kit.drained()
    kit.pushes.clear()

    await svc.update_info(caller("a"), "a", nickname="Alice", operation_id="op-nick")

    pushes = await kit.drained()
    by_type = {p.msg.contentType: p for p in pushes}
    assert tips_of(by_type[ContentType.USER_INFO_UPDATED_NOTIFICATION]) == {"userID": "a"}
    assert by_type[ContentType.USER_INFO_UPDATED_NOTIFICATION].user_ids == ("a",)
    friend_note = by_type[ContentType.FRIEND_INFO_UPDATED_NOTIFICATION]
    assert "b" in friend_note.user_ids
    member_notes = [p for p in pushes if p.msg.contentType == ContentType.GROUP_MEMBER_INFO_SET_NOTIFICATION]
    assert [p.msg.groupID for p in member_notes] == ["g1"]
    assert tips_of(member_notes[0])["changedUser"]["nickname"] == "Alice"
    assert all(p.operation_id == "op-nick" for p in pushes)

    friend_delta = await kit.storage.version.incremental(
        KIND_FRIEND, "b", friend_before.version_id, friend_before.version
    )
    assert friend_delta.updated == ["a"] and not friend_delta.full
    g1_delta = await kit.storage.version.incremental(KIND_GROUP_MEMBER, "g1", g1_before.version_id, g1_before.version)
    g2_delta = await kit.storage.version.incremental(KIND_GROUP_MEMBER, "g2", g2_before.version_id, g2_before.version)
    assert g1_delta.updated == ["a"]
    assert g2_delta.updated == [] and g2_delta.version == g2_before.version


async def test_ex_change_only_tells_the_user(kit: MsgKit, svc: UserService) -> None:
    """Changing ex alone sends 1303 to the user and nothing to friends or groups."""
    now = kit.clock.now_ms()
    await make_friend(kit.storage, "b", "a", now=now)
    await kit.drained()
    kit.pushes.clear()
    await svc.update_info(caller("a"), "a", ex="{}")
    types = [p.msg.contentType for p in await kit.drained()]
    assert types == [ContentType.USER_INFO_UPDATED_NOTIFICATION]


async def test_another_user_cannot_change_a_profile(kit: MsgKit, svc: UserService) -> None:
    """c cannot rename a (1002), and nothing is announced."""
    await kit.drained()
    kit.pushes.clear()
    with pytest.raises(NoPermissionError):
        await svc.update_info(caller("c"), "a", nickname="pwned")
    assert await kit.drained() == []
    user = await kit.storage.user.get_user("a")
    assert user is not None and user.nickname == "A"
