"""/msg/search_msg: OpenIM's filters and ChatLog fields, admin only (OpenIM lets anyone search everything)."""

from __future__ import annotations

from typing import Any

from tests.api.chat import Chat, open_chat
from tests.api.conftest import Api
from tests.factories import add_member, make_group

SEARCH = "/msg/search_msg"
PAGE = {"pageNumber": 1, "showNumber": 100}
DAY1, DAY2 = 1_767_225_600_000, 1_767_225_600_000 + 86_400_000  # 2026-01-01 and 2026-01-02, 00:00 UTC


async def _world(api: Api) -> Chat:
    """alice→bob text (day 1), bob→alice custom (day 2), carol in group g1 (day 2), a notification to bob."""
    chat = await open_chat(api, "alice", "bob", "carol")
    now = api.runtime.clock.now_ms()
    await make_group(api.runtime.storage, "g1", "alice", [], now=now, name="Group One")
    await add_member(api.runtime.storage, "g1", "carol", now=now)
    base: dict[str, Any] = {"contentType": 101, "sessionType": 1}
    await chat.ok(
        "/msg/send_msg",
        {**base, "sendID": "alice", "recvID": "bob", "content": {"content": "t1"}, "sendTime": DAY1 + 5},
        as_="admin",
    )
    custom = {"data": "d", "description": "", "extension": ""}
    await chat.ok(
        "/msg/send_msg",
        {
            "sendID": "bob",
            "recvID": "alice",
            "contentType": 110,
            "sessionType": 1,
            "content": custom,
            "sendTime": DAY2 + 5,
        },
        as_="admin",
    )
    await chat.ok(
        "/msg/send_msg",
        {
            **base,
            "sessionType": 3,
            "sendID": "carol",
            "groupID": "g1",
            "content": {"content": "t3"},
            "sendTime": DAY2 + 9,
        },
        as_="admin",
    )
    note = {"key": "k", "data": "d", "sendUserID": "alice", "recvUserID": "bob", "reliabilityLevel": 2}
    await chat.ok("/msg/send_business_notification", note, as_="admin")  # stored in n_: never searched
    return chat


async def _search(chat: Chat, **filters: Any) -> dict[str, Any]:
    body = {"sendID": "", "recvID": "", "contentType": 0, "sendTime": "", "sessionType": 0, "pagination": PAGE}
    data: dict[str, Any] = await chat.ok(SEARCH, {**body, **filters}, as_="admin")
    return data


def _texts(data: dict[str, Any]) -> list[str]:
    return [log["chatLog"]["content"] for log in data["chatLogs"] or []]


async def test_chat_log_fields(api: Api) -> None:
    """A single-chat match carries OpenIM's ChatLog fields, nicknames filled, content as a string."""
    chat = await _world(api)
    data = await _search(chat, sendID="alice")
    assert data["chatLogsNum"] == 1
    (found,) = data["chatLogs"]
    log = found["chatLog"]
    assert found["isRevoked"] is False
    assert set(log) == {
        "serverMsgID", "clientMsgID", "sendID", "recvID", "groupID", "recvNickname", "senderPlatformID",
        "senderNickname", "senderFaceURL", "groupName", "sessionType", "msgFrom", "contentType", "content", "status",
        "sendTime", "createTime", "ex", "groupFaceURL", "groupMemberCount", "seq", "groupOwner", "groupType",
    }  # fmt: skip
    assert (log["sendID"], log["recvID"], log["senderNickname"], log["recvNickname"]) == (
        "alice", "bob", "nick-alice", "nick-bob"
    )  # fmt: skip
    assert (log["content"], log["contentType"], log["sendTime"], log["seq"]) == ('{"content":"t1"}', 101, DAY1 + 5, 1)


async def test_group_chat_log(api: Api) -> None:
    """recvID matches a group; the log names the group, its owner, member count (and its face, as OpenIM)."""
    chat = await _world(api)
    (found,) = (await _search(chat, recvID="g1"))["chatLogs"]
    log = found["chatLog"]
    assert (log["groupID"], log["recvID"], log["groupName"], log["groupOwner"]) == ("g1", "g1", "Group One", "alice")
    assert (log["groupMemberCount"], log["sessionType"], log["senderNickname"]) == (2, 3, "nick-carol")


async def test_filters_combine(api: Api) -> None:
    """Sender, receiver, content type, session type and day each narrow; notification conversations never match."""
    chat = await _world(api)
    assert _texts(await _search(chat)) == [
        '{"content":"t1"}',
        '{"data":"d","description":"","extension":""}',
        '{"content":"t3"}',
    ]
    assert len(_texts(await _search(chat, recvID="alice"))) == 1
    assert _texts(await _search(chat, recvID="bob")) == ['{"content":"t1"}']
    assert _texts(await _search(chat, contentType=110))[0].startswith('{"data"')
    assert _texts(await _search(chat, sessionType=3)) == ['{"content":"t3"}']
    assert _texts(await _search(chat, sendTime="2026-01-01")) == ['{"content":"t1"}']
    assert len(_texts(await _search(chat, sendTime="2026-01-02"))) == 2
    assert (await _search(chat, sendTime="2026-01-02", sendID="alice"))["chatLogsNum"] == 0
    assert (await _search(chat, sendTime="2026-01-03")) == {"chatLogs": None, "chatLogsNum": 0}


async def test_paging_and_revoked(api: Api) -> None:
    """chatLogsNum counts every match, the page holds showNumber of them; a revoked message says so."""
    chat = await _world(api)
    await chat.ok("/msg/revoke_msg", {"conversationID": "si_alice_bob", "seq": 1, "userID": "alice"}, as_="alice")
    page = await _search(chat, pagination={"pageNumber": 2, "showNumber": 2})
    assert page["chatLogsNum"] == 3 and _texts(page) == ['{"content":"t3"}']
    first = await _search(chat, pagination={"pageNumber": 1, "showNumber": 1})
    assert first["chatLogs"][0]["isRevoked"] is True


async def test_bad_args_1001_and_admin_only_1002(api: Api) -> None:
    """A malformed day, no or bad pagination, an oversized page: 1001; a user (even searching itself): 1002."""
    chat = await _world(api)
    for body in [
        {"sendTime": "01/02/2026", "pagination": PAGE},
        {"sendTime": "2026-13-01", "pagination": PAGE},
        {},
        {"pagination": {"pageNumber": 0, "showNumber": 10}},
        {"pagination": {"pageNumber": 1, "showNumber": 1001}},
        {"contentType": "101", "pagination": PAGE},
    ]:
        assert (await chat.post(SEARCH, body, as_="admin"))["errCode"] == 1001, body
    assert (await chat.post(SEARCH, {"sendID": "alice", "pagination": PAGE}, as_="alice"))["errCode"] == 1002
