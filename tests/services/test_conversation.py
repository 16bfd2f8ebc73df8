"""Tests for openim.services.conversation: reads, set_conversations, incremental sync, /jssdk, authorization."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.services.msgkit import ADMIN, MsgKit, caller, msg_kit

from openim.protocol.errors import ArgsError, NoPermissionError, RecordNotFoundError
from openim.protocol.idhash import id_hash
from openim.protocol.pb import conversation_pb2 as pb
from openim.protocol.pb import jssdk_pb2, msg_pb2, sdkws_pb2, wrapperspb_pb2
from openim.services.conversation import ConversationService
from openim.storage import Storage


@pytest.fixture
async def kit(storage: Storage) -> AsyncIterator[MsgKit]:
    """The msg kit with users a, b and c."""
    async with msg_kit(storage) as k:
        await k.users("a", "b", "c")
        yield k


@pytest.fixture
def svc(kit: MsgKit) -> ConversationService:
    """The conversation service over the kit's storage and notification sender."""
    return ConversationService(kit.storage, kit.notifications, kit.clock)


def pin(conversation_id: str, peer: str, value: bool = True, **more: object) -> pb.ConversationReq:
    """A ConversationReq for a single chat setting isPinned (and any other wrapper given)."""
    req = pb.ConversationReq(conversationID=conversation_id, conversationType=1, userID=peer)
    req.isPinned.CopyFrom(wrapperspb_pb2.BoolValue(value=value))
    for name, wrapper in more.items():
        getattr(req, name).CopyFrom(wrapper)
    return req


async def incremental(
    svc: ConversationService, user: str, version_id: str, version: int
) -> pb.GetIncrementalConversationResp:
    """get_incremental_conversations as `user`."""
    return await svc.get_incremental_conversations(
        caller(user), pb.GetIncrementalConversationReq(userID=user, versionID=version_id, version=version)
    )


async def test_reads_return_own_rows(kit: MsgKit, svc: ConversationService) -> None:
    """get_all/get_conversations/get_conversation return the owner's rows; a missing one is 1004."""
    await kit.send("a", "b")
    await kit.send("c", "a")
    everything = await svc.get_all_conversations(caller("a"), pb.GetAllConversationsReq(ownerUserID="a"))
    assert [c.conversationID for c in everything.conversations] == ["si_a_b", "si_a_c"]
    assert everything.conversations[0].userID == "b" and everything.conversations[0].conversationType == 1
    some = await svc.get_conversations(
        caller("a"), pb.GetConversationsReq(ownerUserID="a", conversationIDs=["si_a_c", "si_x_y"])
    )
    assert [c.conversationID for c in some.conversations] == ["si_a_c"]
    one = await svc.get_conversation(caller("a"), pb.GetConversationReq(ownerUserID="a", conversationID="si_a_b"))
    assert one.conversation.ownerUserID == "a"
    with pytest.raises(RecordNotFoundError):
        await svc.get_conversation(caller("b"), pb.GetConversationReq(ownerUserID="b", conversationID="si_a_c"))
    page = await svc.get_owner_conversation(
        caller("a"),
        pb.GetOwnerConversationReq(userID="a", pagination=sdkws_pb2.RequestPagination(pageNumber=2, showNumber=1)),
    )
    assert page.total == 2 and [c.conversationID for c in page.conversations] == ["si_a_c"]


async def test_users_see_only_their_own_conversations(kit: MsgKit, svc: ConversationService) -> None:
    """Every route with an owner/user ID other than the caller is 1002 (admins excepted)."""
    calls = [
        svc.get_all_conversations(caller("b"), pb.GetAllConversationsReq(ownerUserID="a")),
        svc.get_conversations(caller("b"), pb.GetConversationsReq(ownerUserID="a", conversationIDs=["si_a_c"])),
        svc.get_incremental_conversations(caller("b"), pb.GetIncrementalConversationReq(userID="a")),
        svc.get_full_conversation_ids(caller("b"), pb.GetFullOwnerConversationIDsReq(userID="a")),
        svc.get_not_notify_conversation_ids(caller("b"), pb.GetNotNotifyConversationIDsReq(userID="a")),
        svc.set_conversations(caller("b"), pb.SetConversationsReq(userIDs=["a"], conversation=pin("si_a_c", "c"))),
    ]
    for call in calls:
        with pytest.raises(NoPermissionError):
            await call
    await kit.users(ADMIN)
    await svc.get_all_conversations(caller(ADMIN), pb.GetAllConversationsReq(ownerUserID="a"))


async def test_set_conversations_cannot_join_a_strangers_conversation(kit: MsgKit, svc: ConversationService) -> None:
    """B cannot create a row for A–C's conversation through set_conversations (it would let B pull it)."""
    await kit.send("a", "c", "private")
    with pytest.raises(NoPermissionError):
        await svc.set_conversations(caller("b"), pb.SetConversationsReq(userIDs=["b"], conversation=pin("si_a_c", "c")))
    assert await kit.storage.conversation.get("b", "si_a_c") is None
    # its own single chat with someone it never wrote to is fine
    await svc.set_conversations(caller("b"), pb.SetConversationsReq(userIDs=["b"], conversation=pin("si_b_c", "c")))
    assert (await kit.storage.conversation.get("b", "si_b_c")) is not None


async def test_set_conversations_checks_its_request(kit: MsgKit, svc: ConversationService) -> None:
    """Missing userIDs/conversation/type, a single chat without userID and a bad recvMsgOpt are 1001."""
    bad = [
        pb.SetConversationsReq(conversation=pin("si_a_b", "b")),
        pb.SetConversationsReq(userIDs=["a"]),
        pb.SetConversationsReq(userIDs=["a"], conversation=pb.ConversationReq(conversationID="si_a_b")),
        pb.SetConversationsReq(
            userIDs=["a"], conversation=pb.ConversationReq(conversationID="si_a_b", conversationType=1)
        ),
        pb.SetConversationsReq(
            userIDs=["a"], conversation=pin("si_a_b", "b", recvMsgOpt=wrapperspb_pb2.Int32Value(value=7))
        ),
    ]
    for req in bad:
        with pytest.raises(ArgsError):
            await svc.set_conversations(caller("a"), req)


async def test_incremental_same_version_changes_and_wrong_id(kit: MsgKit, svc: ConversationService) -> None:
    """Same version → empty delta; after changes exactly those; a wrong versionID → full."""
    first = await incremental(svc, "a", "", 0)
    assert first.full and len(first.versionID) == 24
    same = await incremental(svc, "a", first.versionID, first.version)
    assert not same.full and not same.insert and not same.update and not same.delete
    await kit.send("a", "b")  # creates si_a_b for a
    await svc.set_conversations(caller("a"), pb.SetConversationsReq(userIDs=["a"], conversation=pin("si_a_c", "c")))
    after = await incremental(svc, "a", first.versionID, first.version)
    assert not after.full
    assert sorted(c.conversationID for c in after.insert) == ["si_a_b", "si_a_c"]
    assert after.version == first.version + 2
    await svc.set_conversations(caller("a"), pb.SetConversationsReq(userIDs=["a"], conversation=pin("si_a_b", "b")))
    await svc.delete_conversations(caller("a"), pb.DeleteConversationsReq(ownerUserID="a", conversationIDs=["si_a_c"]))
    later = await incremental(svc, "a", after.versionID, after.version)
    assert [c.conversationID for c in later.update] == ["si_a_b"] and later.update[0].isPinned
    assert list(later.delete) == ["si_a_c"] and not later.insert
    wrong = await incremental(svc, "a", "0123456789abcdef01234567", later.version)
    assert wrong.full and wrong.versionID == later.versionID and not wrong.insert


async def test_unchanged_setting_bumps_nothing(kit: MsgKit, svc: ConversationService) -> None:
    """Setting a value the row already has writes nothing and sends no 1300."""
    await kit.send("a", "b")
    await svc.set_conversations(caller("a"), pb.SetConversationsReq(userIDs=["a"], conversation=pin("si_a_b", "b")))
    before = await incremental(svc, "a", "", 0)
    pushes = len(await kit.drained())
    await svc.set_conversations(caller("a"), pb.SetConversationsReq(userIDs=["a"], conversation=pin("si_a_b", "b")))
    assert (await incremental(svc, "a", before.versionID, before.version)).insert == []
    assert (await incremental(svc, "a", "", 0)).version == before.version
    assert len(await kit.drained()) == pushes


async def test_set_conversations_notifies_1300_online_only(kit: MsgKit, svc: ConversationService) -> None:
    """A changed setting pushes ConversationChangeNotification (1300) to the user, not stored (seq 0)."""
    await kit.send("a", "b")
    await svc.set_conversations(caller("a"), pb.SetConversationsReq(userIDs=["a"], conversation=pin("si_a_b", "b")))
    push = (await kit.drained())[-1]
    assert (push.msg.contentType, push.msg.seq, push.user_ids, push.conversation_id) == (1300, 0, ("a",), "n_a_a")


async def test_private_chat_is_mirrored(kit: MsgKit, svc: ConversationService) -> None:
    """isPrivateChat is written for the user and its peer, with 1701 to the peer."""
    await kit.send("a", "b")
    req = pb.ConversationReq(conversationID="si_a_b", conversationType=1, userID="b")
    req.isPrivateChat.CopyFrom(wrapperspb_pb2.BoolValue(value=True))
    await svc.set_conversations(caller("a"), pb.SetConversationsReq(userIDs=["a"], conversation=req))
    rows = [await kit.storage.conversation.get(u, "si_a_b") for u in ("a", "b")]
    assert all(r is not None and r.is_private_chat for r in rows)
    assert any(p.msg.contentType == 1701 for p in await kit.drained())


async def test_full_conversation_ids_and_hash(kit: MsgKit, svc: ConversationService) -> None:
    """get_full_conversation_ids lists the IDs with the log's version; a matching idHash answers equal."""
    await kit.send("a", "b")
    await kit.send("a", "c")
    full = await svc.get_full_conversation_ids(caller("a"), pb.GetFullOwnerConversationIDsReq(userID="a"))
    assert list(full.conversationIDs) == ["si_a_b", "si_a_c"] and not full.equal
    assert full.version == (await incremental(svc, "a", "", 0)).version
    same = await svc.get_full_conversation_ids(
        caller("a"), pb.GetFullOwnerConversationIDsReq(userID="a", idHash=id_hash(["si_a_b", "si_a_c"]))
    )
    assert same.equal and not same.conversationIDs


async def test_not_notify_and_pinned_ids(kit: MsgKit, svc: ConversationService) -> None:
    """recvMsgOpt 2 conversations are "not notify"; pinned ones are listed as pinned."""
    await kit.send("a", "b")
    await kit.send("a", "c")
    await svc.set_conversations(
        caller("a"),
        pb.SetConversationsReq(
            userIDs=["a"], conversation=pin("si_a_b", "b", recvMsgOpt=wrapperspb_pb2.Int32Value(value=2))
        ),
    )
    nn = await svc.get_not_notify_conversation_ids(caller("a"), pb.GetNotNotifyConversationIDsReq(userID="a"))
    pinned = await svc.get_pinned_conversation_ids(caller("a"), pb.GetPinnedConversationIDsReq(userID="a"))
    assert list(nn.conversationIDs) == ["si_a_b"] and list(pinned.conversationIDs) == ["si_a_b"]


async def test_sorted_list_unread_and_order(kit: MsgKit, svc: ConversationService) -> None:
    """Pinned first, then newest message first; unread = maxSeq − hasReadSeq per conversation and in total."""
    await kit.send("b", "a", "from b")
    await kit.send("b", "a", "again")
    kit.clock.advance(1)
    await kit.send("c", "a", "from c")
    resp = await svc.get_sorted_conversation_list(
        caller("a"),
        pb.GetSortedConversationListReq(
            userID="a", pagination=sdkws_pb2.RequestPagination(pageNumber=1, showNumber=10)
        ),
    )
    assert [(e.conversationID, e.unreadCount) for e in resp.conversationElems] == [("si_a_c", 1), ("si_a_b", 2)]
    assert resp.unreadTotal == 3 and resp.conversationElems[0].msgInfo.senderName == "C"
    await svc.set_conversations(caller("a"), pb.SetConversationsReq(userIDs=["a"], conversation=pin("si_a_b", "b")))
    resp = await svc.get_sorted_conversation_list(
        caller("a"),
        pb.GetSortedConversationListReq(
            userID="a", pagination=sdkws_pb2.RequestPagination(pageNumber=1, showNumber=10)
        ),
    )
    assert resp.conversationElems[0].conversationID == "si_a_b" and resp.conversationElems[0].IsPinned


async def test_jssdk_active_conversations(kit: MsgKit, svc: ConversationService) -> None:
    """get_active_conversations: conversations with messages, last message, seqs, peer info; unread summed."""
    await kit.send("b", "a", "one")
    kit.clock.advance(1)
    await kit.send("c", "a", "two")
    await kit.send("c", "a", "three")
    await kit.service.mark_conversation_as_read(
        caller("a"),
        msg_pb2.MarkConversationAsReadReq(conversationID="si_a_c", userID="a", hasReadSeq=1),
        operation_id="",
    )
    resp = await svc.get_active_conversations(
        caller("a"), jssdk_pb2.GetActiveConversationsReq(ownerUserID="zzz", count=1)
    )
    assert resp.unreadCount == 2  # b: 1, c: 2 − 1
    assert len(resp.conversations) == 1
    top = resp.conversations[0]
    assert top.conversation.conversationID == "si_a_c" and top.conversation.ownerUserID == "a"
    assert (top.maxSeq, top.readSeq, top.lastMsg.seq) == (2, 1, 2)
    assert top.user.userID == "c" and top.user.nickname == "C"
    assert not top.HasField("group")
    by_id = await svc.jssdk_get_conversations(
        caller("a"), jssdk_pb2.GetConversationsReq(conversationIDs=["si_a_b", "si_nope"])
    )
    assert [c.conversation.conversationID for c in by_id.conversations] == ["si_a_b"]
    assert by_id.unreadCount == 1


async def test_delete_conversations_needs_exactly_one_selector(kit: MsgKit, svc: ConversationService) -> None:
    """delete_conversations wants conversationIDs xor needDeleteTime; by time it removes stale conversations."""
    with pytest.raises(ArgsError):
        await svc.delete_conversations(caller("a"), pb.DeleteConversationsReq(ownerUserID="a"))
    await kit.send("a", "b")
    kit.clock.advance(3 * 86400)
    await kit.send("a", "c")
    await svc.delete_conversations(caller("a"), pb.DeleteConversationsReq(ownerUserID="a", needDeleteTime=2))
    assert await kit.storage.conversation.list_ids("a") == ["si_a_c"]


async def test_update_conversations_by_user_sets_ex(kit: MsgKit, svc: ConversationService) -> None:
    """update_conversations_by_user sets ex everywhere when present."""
    await kit.send("a", "b")
    req = pb.UpdateConversationsByUserReq(userID="a")
    req.ex.CopyFrom(wrapperspb_pb2.StringValue(value="E"))
    await svc.update_conversations_by_user(caller("a"), req)
    row = await kit.storage.conversation.get("a", "si_a_b")
    assert row is not None and row.ex == "E"
