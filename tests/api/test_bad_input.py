"""Every REST answer is the envelope: bodies that are not UTF-8, nest too deep, hold NUL or lone surrogates, or
numbers past int32/int64 get 1001 ArgsError with a readable errDlt, never HTTP 400 text/plain or errCode 500, on
SQLite and PostgreSQL (docs/security.md, "Input limits")."""

from __future__ import annotations

import base64
import json

import pytest

from openim.protocol.pb import jssdk_pb2

from .conftest import Api

HUGE = 2**63 - 1
# (route, raw body, what errDlt must say); the caller is the admin, so only the body can be wrong.
CASES = [
    ("/user/get_users_info", b'{"userIDs":["\xff\xfe"]}', "not valid UTF-8"),
    ("/msg/newest_seq", b'{"userID":"\xc3"}', "not valid UTF-8"),
    ("/user/get_users_info", b'{"userIDs":' + b"[" * 2000 + b"]" * 2000 + b"}", "depth limit"),
    ("/msg/newest_seq", b'{"userID":' + b"[" * 2000 + b"]" * 2000 + b"}", "depth limit"),
    ("/user/get_users_info", b'{"userIDs":' + b"[" * 100 + b"]" * 100 + b"}", "nested more than 64 levels"),
    ("/msg/send_msg", b'{"content":' + b'{"a":' * 900 + b"1" + b"}" * 900 + b"}", "nested more than 64 levels"),
    ("/user/get_users_info", json.dumps({"userIDs": ["u\u0000x"]}).encode(), "userIDs[0]: the NUL character"),
    ("/user/get_users_info", json.dumps({"userIDs": ["u"], "k\u0000": 1}).encode(), "NUL character"),
    ("/friend/get_friend_list", json.dumps({"userID": "a\u0000", "pagination": {}}).encode(), "userID: the NUL"),
    (
        "/msg/pull_msg_by_seq",
        json.dumps({"userID": "u1", "seqRanges": [{"conversationID": "si_\u0000", "begin": 1, "end": 2}]}).encode(),
        "seqRanges[0].conversationID: the NUL character",
    ),
    ("/user/update_user_info", b'{"userInfo":{"userID":"u1","nickname":"\\ud800x"}}', "surrogate"),
    ("/user/get_users_info", b'{"userIDs":["\\udc00"]}', "surrogate"),
    ("/user/get_users", b'{"pagination":{"pageNumber":%d,"showNumber":10}}' % HUGE, "pagination.pageNumber"),
    ("/user/get_users", b'{"pagination":{"pageNumber":1,"showNumber":%d}}' % -(HUGE + 1), "showNumber"),
    ("/user/get_users", b'{"pagination":{"pageNumber":%d,"showNumber":10}}' % (2**64), "pageNumber"),
    ("/user/get_users", b'{"pagination":{"pageNumber":18446744073709551615}}', "pagination.pageNumber"),
    ("/friend/get_self_unhandled_apply_count", b'{"userID":"u1","time":%d}' % (HUGE + 1), "time"),
    ("/statistics/user/register", b'{"start":0,"end":18446744073709551615}', "end"),
    ("/user/process_user_command_add", b'{"userID":"u1","type":2147483648,"uuid":"x"}', "type"),
    ("/third/set_app_badge", b'{"userID":"u1","appUnreadCount":%d}' % HUGE, "appUnreadCount"),
    (
        "/msg/pull_msg_by_seq",
        b'{"userID":"u1","seqRanges":[{"conversationID":"si_u1_u2","begin":9223372036854775808,"end":1}]}',
        "int64",
    ),
    ("/msg/get_server_time", b"\x00", "not valid JSON"),
    (  # send_simple_msg's key is a query parameter holding JSON: the same rules
        "/msg/send_simple_msg?key=" + base64.b64encode(b'{"sendID":"u1","recvID":"u1\\u0000"}').decode(),
        b'{"sendID":"u1","content":"x"}',
        "key.recvID: the NUL character",
    ),
    (
        "/msg/send_simple_msg?key=" + base64.b64encode(b"[" * 1200 + b"]" * 1200).decode(),
        b'{"sendID":"u1","content":"x"}',
        "key: depth limit exceeded",
    ),
]


@pytest.mark.parametrize(("path", "raw", "detail"), CASES, ids=[f"{p}:{d}" for p, _, d in CASES])
async def test_bad_bodies_are_1001_in_the_envelope(api: Api, path: str, raw: bytes, detail: str) -> None:
    """HTTP 200, JSON, errCode 1001 with errDlt naming the problem (and where), on both databases."""
    await api.register("u1")
    admin = await api.admin_token()
    resp = await api.http.post(path, content=raw, headers={"operationID": "op", "token": admin})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert (body["errCode"], body["errMsg"]) == (1001, "ArgsError"), body
    assert detail in body["errDlt"], body


async def test_refused_bodies_write_nothing(api: Api) -> None:
    """A nickname with a lone surrogate or a NUL changes nothing; a normal one still goes through."""
    await api.register("u1")
    token = await api.user_token("u1")
    for nickname in (b'"\\udfff"', b'"a\\u0000b"'):
        body = b'{"userInfo":{"userID":"u1","nickname":' + nickname + b"}}"
        result = await api.post("/user/update_user_info", token=token, raw=body)
        assert result["errCode"] == 1001, result
    users = await api.ok("/user/get_users_info", {"userIDs": ["u1"]}, token=token)
    assert users["usersInfo"][0]["nickname"] == "nick-u1"
    await api.ok("/user/update_user_info", {"userInfo": {"userID": "u1", "nickname": "\U0001f600 ok"}}, token=token)
    users = await api.ok("/user/get_users_info", {"userIDs": ["u1"]}, token=token)
    assert users["usersInfo"][0]["nickname"] == "\U0001f600 ok"


async def test_protobuf_bodies_with_nul_are_1001(api: Api) -> None:
    """/jssdk accepts protobuf bodies: a NUL in one of their strings is refused the same way."""
    await api.register("u1")
    token = await api.user_token("u1")
    body = jssdk_pb2.GetActiveConversationsReq(ownerUserID="u1\x00", count=10).SerializeToString()
    resp = await api.http.post(
        "/jssdk/get_active_conversations",
        content=body,
        headers={"operationID": "op", "token": token, "content-type": "application/x-protobuf"},
    )
    result = resp.json()
    assert result["errCode"] == 1001, result
    assert "ownerUserID: the NUL character" in result["errDlt"]


async def test_text_is_kept_whole(api: Api) -> None:
    """What is refused is only NUL and broken text: emoji (surrogate pairs in JSON), CJK and escapes are kept."""
    await api.register("u1")
    token = await api.user_token("u1")
    raw = '{"userInfo":{"userID":"u1","nickname":"\\ud83d\\ude00 \u4e2d\\n\\u0001"}}'.encode()
    assert (await api.post("/user/update_user_info", token=token, raw=raw))["errCode"] == 0
    users = await api.ok("/user/get_users_info", {"userIDs": ["u1"]}, token=token)
    assert users["usersInfo"][0]["nickname"] == "\U0001f600 \u4e2d\n\x01"
