"""/conversation routes over HTTP: lists in Go's shape, settings with wrapper fields, incremental sync, access."""

from __future__ import annotations

from typing import Any

from tests.api.chat import SI_AB, Chat, open_chat
from tests.api.conftest import Api
from tests.factories import make_group

from openim.infra.clock import FakeClock
from openim.protocol.idhash import id_hash
from openim.protocol.pb import conversation_pb2

CONVERSATION_FIELDS = {f.name for f in conversation_pb2.Conversation.DESCRIPTOR.fields}


def _set(user_ids: list[str], conversation_id: str, peer: str, **fields: Any) -> dict[str, Any]:
    """A set_conversations body for a single chat with `peer`, fields as bare wrapper scalars."""
    conversation = {"conversationID": conversation_id, "conversationType": 1, "userID": peer, "groupID": "", **fields}
    return {"userIDs": user_ids, "conversation": conversation}


async def _two_chats(api: Api) -> Chat:
    """alice, bob, carol; alice↔bob and carol→bob have one message each (bob owns both conversations)."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob", "ab")
    await chat.send("carol", "bob", "cb")
    return chat


async def test_get_all_conversations_in_go_shape(api: Api) -> None:
    """Every conversation row prints with all Conversation fields; the peer is userID."""
    chat = await _two_chats(api)
    data = await chat.ok("/conversation/get_all_conversations", {"ownerUserID": "bob"}, as_="bob")
    convs = {c["conversationID"]: c for c in data["conversations"]}
    assert set(convs) == {SI_AB, "si_bob_carol"}
    ab = convs[SI_AB]
    assert set(ab) == CONVERSATION_FIELDS
    assert ab["ownerUserID"] == "bob" and ab["userID"] == "alice" and ab["conversationType"] == 1
    assert ab["groupID"] == "" and ab["isPinned"] is False and ab["recvMsgOpt"] == 0 and ab["ex"] == ""


async def test_get_all_conversations_of_nobody_is_null(api: Api) -> None:
    """A user without conversations gets `conversations: null`, Go's nil slice."""
    chat = await open_chat(api, "alice")
    data = await chat.ok("/conversation/get_all_conversations", {"ownerUserID": "alice"}, as_="alice")
    assert data == {"conversations": None}


async def test_get_conversation_and_conversations(api: Api) -> None:
    """One conversation by ID (1004 when missing); several by ID, missing ones left out."""
    chat = await _two_chats(api)
    one = await chat.ok(
        "/conversation/get_conversation", {"ownerUserID": "alice", "conversationID": SI_AB}, as_="alice"
    )
    assert one["conversation"]["conversationID"] == SI_AB and one["conversation"]["userID"] == "bob"
    missing = await chat.post(
        "/conversation/get_conversation", {"ownerUserID": "alice", "conversationID": "si_alice_carol"}, as_="alice"
    )
    assert missing["errCode"] == 1004
    body = {"ownerUserID": "bob", "conversationIDs": ["si_bob_carol", "si_nobody_x", SI_AB]}
    many = await chat.ok("/conversation/get_conversations", body, as_="bob")
    assert [c["conversationID"] for c in many["conversations"]] == ["si_bob_carol", SI_AB]


async def test_get_sorted_conversation_list(api: Api, clock: FakeClock) -> None:
    """Pinned first, then newest message first; unread counts, totals and MsgInfo with content as a string."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob", "older")
    clock.advance(1)
    await chat.send("carol", "bob", "newer")
    await chat.send("carol", "bob", "newest")
    body = {"userID": "bob", "conversationIDs": [], "pagination": {"pageNumber": 1, "showNumber": 10}}
    data = await chat.ok("/conversation/get_sorted_conversation_list", body, as_="bob")
    assert data["conversationTotal"] == 2 and data["unreadTotal"] == 3
    first, second = data["conversationElems"]
    assert set(first) == {"conversationID", "recvMsgOpt", "unreadCount", "IsPinned", "msgInfo"}
    assert first["conversationID"] == "si_bob_carol" and first["unreadCount"] == 2 and first["IsPinned"] is False
    info = first["msgInfo"]
    assert info["content"] == '{"content":"newest"}' and info["LatestMsgRecvTime"] == clock.now_ms()
    assert info["senderName"] == "nick-carol"
    assert second["conversationID"] == SI_AB
    await chat.ok("/conversation/set_conversations", _set(["bob"], SI_AB, "alice", isPinned=True), as_="bob")
    data = await chat.ok("/conversation/get_sorted_conversation_list", body, as_="bob")
    assert [e["conversationID"] for e in data["conversationElems"]] == [SI_AB, "si_bob_carol"]
    assert data["conversationElems"][0]["IsPinned"] is True


async def test_get_sorted_conversation_list_needs_a_page_and_conversations(api: Api) -> None:
    """Without pagination it is 1001; a user with no conversations gets 1004."""
    chat = await _two_chats(api)
    no_page = await chat.post("/conversation/get_sorted_conversation_list", {"userID": "bob"}, as_="bob")
    assert no_page["errCode"] == 1001
    await api.register("dave")
    chat.tokens["dave"] = await api.user_token("dave")
    body = {"userID": "dave", "pagination": {"pageNumber": 1, "showNumber": 10}}
    assert (await chat.post("/conversation/get_sorted_conversation_list", body, as_="dave"))["errCode"] == 1004


async def test_set_conversations_wrapper_semantics(api: Api) -> None:
    """Present wrapper fields are set (even to "" or false); absent or null ones are left as they are."""
    chat = await _two_chats(api)
    path = "/conversation/set_conversations"
    await chat.ok(path, _set(["bob"], SI_AB, "alice", isPinned=True, ex="x", recvMsgOpt=2, burnDuration=30), as_="bob")
    await chat.ok(path, _set(["bob"], SI_AB, "alice", ex="", attachedInfo=None), as_="bob")
    conv = (
        await chat.ok("/conversation/get_conversation", {"ownerUserID": "bob", "conversationID": SI_AB}, as_="bob")
    )["conversation"]
    assert conv["isPinned"] is True and conv["ex"] == "" and conv["recvMsgOpt"] == 2 and conv["burnDuration"] == 30
    pinned = await chat.ok("/conversation/get_pinned_conversation_ids", {"userID": "bob"}, as_="bob")
    assert pinned == {"conversationIDs": [SI_AB]}
    quiet = await chat.ok("/conversation/get_not_notify_conversation_ids", {"userID": "bob"}, as_="bob")
    assert quiet == {"conversationIDs": [SI_AB]}
    alice = await chat.ok("/conversation/get_pinned_conversation_ids", {"userID": "alice"}, as_="alice")
    assert alice == {"conversationIDs": None}


async def test_set_conversations_bad_bodies_are_1001(api: Api) -> None:
    """A quoted boolean in a wrapper, a {"value": …} object, a missing type or peer and no userIDs are 1001."""
    chat = await _two_chats(api)
    path = "/conversation/set_conversations"
    bodies = [
        _set(["bob"], SI_AB, "alice", isPinned="true"),
        _set(["bob"], SI_AB, "alice", recvMsgOpt={"value": 1}),
        _set(["bob"], SI_AB, "alice", recvMsgOpt=7),
        _set(["bob"], SI_AB, "", isPinned=True),
        {**_set(["bob"], SI_AB, "alice"), "conversation": {"conversationID": SI_AB, "isPinned": True}},
        _set([], SI_AB, "alice", isPinned=True),
    ]
    for body in bodies:
        result = await chat.post(path, body, as_="bob")
        assert result["errCode"] == 1001, body
    conv = (
        await chat.ok("/conversation/get_conversation", {"ownerUserID": "bob", "conversationID": SI_AB}, as_="bob")
    )["conversation"]
    assert conv["isPinned"] is False and conv["recvMsgOpt"] == 0


async def test_set_conversations_is_self_or_admin(api: Api) -> None:
    """Carol cannot change bob's settings nor give herself a row in A–B (1002); the admin may set bob's."""
    chat = await _two_chats(api)
    path = "/conversation/set_conversations"
    assert (await chat.post(path, _set(["bob"], SI_AB, "alice", isPinned=True), as_="carol"))["errCode"] == 1002
    assert (await chat.post(path, _set(["carol"], SI_AB, "alice", isPinned=True), as_="carol"))["errCode"] == 1002
    own = await chat.ok("/conversation/get_all_conversations", {"ownerUserID": "carol"}, as_="carol")
    assert [c["conversationID"] for c in own["conversations"]] == ["si_bob_carol"]
    await chat.ok(path, _set(["bob"], SI_AB, "alice", ex="by-admin"), as_="admin")
    conv = (
        await chat.ok("/conversation/get_conversation", {"ownerUserID": "bob", "conversationID": SI_AB}, as_="bob")
    )["conversation"]
    assert conv["ex"] == "by-admin" and conv["isPinned"] is False


async def test_set_conversations_creates_a_group_row_for_members_only(api: Api) -> None:
    """A member gets a row for its group conversation; a non-member gets 1002."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await make_group(api.runtime.storage, "g1", "alice", ["bob"], now=api.runtime.clock.now_ms())
    conversation = {"conversationID": "sg_g1", "conversationType": 3, "groupID": "g1", "isPinned": True}
    await chat.ok("/conversation/set_conversations", {"userIDs": ["bob"], "conversation": conversation}, as_="bob")
    pinned = await chat.ok("/conversation/get_pinned_conversation_ids", {"userID": "bob"}, as_="bob")
    assert pinned == {"conversationIDs": ["sg_g1"]}
    body = {"userIDs": ["carol"], "conversation": conversation}
    assert (await chat.post("/conversation/set_conversations", body, as_="carol"))["errCode"] == 1002


async def test_incremental_conversations(api: Api) -> None:
    """A first call is full with a real versionID; after a change, the next one carries just that update."""
    chat = await _two_chats(api)
    path = "/conversation/get_incremental_conversations"
    first = await chat.ok(path, {"userID": "bob", "versionID": "", "version": 0}, as_="bob")
    assert set(first) == {"version", "versionID", "full", "delete", "insert", "update"}
    assert first["full"] is True and len(first["versionID"]) == 24
    same = await chat.ok(
        path, {"userID": "bob", "versionID": first["versionID"], "version": first["version"]}, as_="bob"
    )
    assert same["full"] is False and same["insert"] is None and same["update"] is None and same["delete"] is None
    await chat.ok("/conversation/set_conversations", _set(["bob"], SI_AB, "alice", ex="e"), as_="bob")
    delta = await chat.ok(
        path, {"userID": "bob", "versionID": first["versionID"], "version": first["version"]}, as_="bob"
    )
    assert delta["full"] is False and delta["version"] > first["version"]
    assert [c["conversationID"] for c in delta["update"]] == [SI_AB] and delta["update"][0]["ex"] == "e"


async def test_full_conversation_ids_and_id_hash(api: Api) -> None:
    """All IDs with the version; a matching idHash answers equal=true and no IDs."""
    chat = await _two_chats(api)
    path = "/conversation/get_full_conversation_ids"
    data = await chat.ok(path, {"userID": "bob", "idHash": 0}, as_="bob")
    assert data["equal"] is False and sorted(data["conversationIDs"]) == [SI_AB, "si_bob_carol"]
    same = await chat.ok(path, {"userID": "bob", "idHash": id_hash(data["conversationIDs"])}, as_="bob")
    assert same["equal"] is True and same["conversationIDs"] is None
    assert same["versionID"] == data["versionID"]


async def test_get_owner_conversation_pages(api: Api) -> None:
    """Pages of the user's conversations with the full total; a page past the end is null."""
    chat = await _two_chats(api)
    path = "/conversation/get_owner_conversation"
    page1 = await chat.ok(path, {"userID": "bob", "pagination": {"pageNumber": 1, "showNumber": 1}}, as_="bob")
    page2 = await chat.ok(path, {"userID": "bob", "pagination": {"pageNumber": 2, "showNumber": 1}}, as_="bob")
    page3 = await chat.ok(path, {"userID": "bob", "pagination": {"pageNumber": 3, "showNumber": 1}}, as_="bob")
    assert page1["total"] == page2["total"] == page3["total"] == 2
    ids = [page1["conversations"][0]["conversationID"], page2["conversations"][0]["conversationID"]]
    assert sorted(ids) == [SI_AB, "si_bob_carol"]
    assert page3["conversations"] is None


async def test_update_conversations_by_user(api: Api) -> None:
    """`ex` is set on every conversation of the user; a null `ex` changes nothing."""
    chat = await _two_chats(api)
    await chat.ok("/conversation/update_conversations_by_user", {"userID": "bob", "ex": "all"}, as_="bob")
    await chat.ok("/conversation/update_conversations_by_user", {"userID": "bob", "ex": None}, as_="bob")
    data = await chat.ok("/conversation/get_all_conversations", {"ownerUserID": "bob"}, as_="bob")
    assert {c["ex"] for c in data["conversations"]} == {"all"}
    alice = await chat.ok("/conversation/get_all_conversations", {"ownerUserID": "alice"}, as_="alice")
    assert {c["ex"] for c in alice["conversations"]} == {""}


async def test_delete_conversations(api: Api, clock: FakeClock) -> None:
    """Listed conversations go for the owner only; needDeleteTime removes idle ones; both or neither is 1001."""
    chat = await _two_chats(api)
    path = "/conversation/delete_conversations"
    both = {"ownerUserID": "bob", "conversationIDs": [SI_AB], "needDeleteTime": 1}
    assert (await chat.post(path, both, as_="bob"))["errCode"] == 1001
    assert (await chat.post(path, {"ownerUserID": "bob"}, as_="bob"))["errCode"] == 1001
    await chat.ok(path, {"ownerUserID": "bob", "conversationIDs": [SI_AB]}, as_="bob")
    bob = await chat.ok("/conversation/get_all_conversations", {"ownerUserID": "bob"}, as_="bob")
    assert [c["conversationID"] for c in bob["conversations"]] == ["si_bob_carol"]
    alice = await chat.ok("/conversation/get_all_conversations", {"ownerUserID": "alice"}, as_="alice")
    assert [c["conversationID"] for c in alice["conversations"]] == [SI_AB]
    clock.advance(2 * 86_400)
    await chat.ok(path, {"ownerUserID": "bob", "needDeleteTime": 1}, as_="bob")
    bob = await chat.ok("/conversation/get_all_conversations", {"ownerUserID": "bob"}, as_="bob")
    assert bob == {"conversations": None}


async def test_others_cannot_read_or_change_conversations(api: Api) -> None:
    """Every route naming bob is 1002 for carol, and bob's conversations are unchanged afterwards."""
    chat = await _two_chats(api)
    page = {"pageNumber": 1, "showNumber": 10}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("/conversation/get_all_conversations", {"ownerUserID": "bob"}),
        ("/conversation/get_conversation", {"ownerUserID": "bob", "conversationID": SI_AB}),
        ("/conversation/get_conversations", {"ownerUserID": "bob", "conversationIDs": [SI_AB]}),
        ("/conversation/get_sorted_conversation_list", {"userID": "bob", "pagination": page}),
        ("/conversation/get_full_conversation_ids", {"userID": "bob", "idHash": 0}),
        ("/conversation/get_incremental_conversations", {"userID": "bob", "versionID": "", "version": 0}),
        ("/conversation/get_owner_conversation", {"userID": "bob", "pagination": page}),
        ("/conversation/get_not_notify_conversation_ids", {"userID": "bob"}),
        ("/conversation/get_pinned_conversation_ids", {"userID": "bob"}),
        ("/conversation/set_conversations", _set(["bob"], SI_AB, "alice", isPinned=True)),
        ("/conversation/delete_conversations", {"ownerUserID": "bob", "conversationIDs": [SI_AB]}),
        ("/conversation/update_conversations_by_user", {"userID": "bob", "ex": "hacked"}),
    ]
    for path, body in calls:
        result = await chat.post(path, body, as_="carol")
        assert result["errCode"] == 1002 and "data" not in result, path
    data = await chat.ok("/conversation/get_all_conversations", {"ownerUserID": "bob"}, as_="bob")
    assert len(data["conversations"]) == 2
    assert {(c["ex"], c["isPinned"]) for c in data["conversations"]} == {("", False)}
    mine = await chat.ok(
        "/conversation/get_conversations", {"ownerUserID": "carol", "conversationIDs": [SI_AB]}, as_="carol"
    )
    assert mine == {"conversations": None}


async def test_wrong_types_are_1001(api: Api) -> None:
    """Mistyped fields (a number for a string, a string for a list, a fraction for an int) are 1001."""
    chat = await _two_chats(api)
    for path, body in [
        ("/conversation/get_all_conversations", {"ownerUserID": 5}),
        ("/conversation/get_conversations", {"ownerUserID": "bob", "conversationIDs": SI_AB}),
        ("/conversation/get_incremental_conversations", {"userID": "bob", "versionID": "", "version": 1.5}),
        ("/conversation/get_full_conversation_ids", {"userID": "bob", "idHash": -1}),
    ]:
        result = await chat.post(path, body, as_="bob")
        assert result["errCode"] == 1001, path


async def test_get_conversation_offline_push_user_ids(api: Api) -> None:
    """Admin: of userIDs, those not muting the conversation (recvMsgOpt 1 or 2 drop out); users get 1002."""
    chat = await open_chat(api, "alice", "bob", "carol")
    await chat.send("alice", "bob", "ab")
    await chat.ok("/conversation/set_conversations", _set(["bob"], SI_AB, "alice", recvMsgOpt=2), as_="bob")
    path = "/conversation/get_conversation_offline_push_user_ids"
    body = {"conversationID": SI_AB, "userIDs": ["alice", "bob", "carol"]}
    assert await chat.ok(path, body, as_="admin") == {"userIDs": ["alice", "carol"]}
    await chat.ok("/conversation/set_conversations", _set(["bob"], SI_AB, "alice", recvMsgOpt=0), as_="bob")
    assert await chat.ok(path, body, as_="admin") == {"userIDs": ["alice", "bob", "carol"]}
    assert (await chat.post(path, body, as_="alice"))["errCode"] == 1002
    assert (await chat.post(path, {"userIDs": ["alice"]}, as_="admin"))["errCode"] == 1001
