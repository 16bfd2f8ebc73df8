"""Authorization sweep (issue 4 item 6; OpenIM #3314, #3310, #3778): no read route shows one user's data to another.

Every read route of /user, /friend, /group, /conversation, /msg, /jssdk, /third, /statistics and /config is taken
from the app itself, so a route added later is swept without anyone remembering to. Its request body is built from the
route's OpenAPI schema by field name (`userID` → the victim, `groupID` → the victim's group, `idHash` → the hash
of the victim's real list, `versionID` → a position in the victim's version log taken before the data was made,
…), with a small table of overrides where a name alone does not reach the data. Each route is then called:

* by the victim (or, for admin-only routes, the admin): the answer must show the victim's private data — the
  positive control that proves the body reaches it (otherwise the table needs an entry);
* by a second user with the same body, and again with the caller's own userID in the user fields (the victim's
  group, conversation and friends stay): the answer must be 1002/1004, or an answer in which none of the
  victim's private data appears.

"Private data" is found two ways: marker strings that only the victim's private data contains (the friend,
blocked user, requesters, hidden groups, message texts, remark, request messages, config — also inside
base64 message contents and in map keys), and counters or flags that must be zero/false for a user who has
nothing (`total`, `count`, `unreadCount`, `maxSeq`, `inUser1Friends`, `equal`, …).

A route whose name does not look like a read (get_*, is_*, pull_*, …) must be listed in WRITES, so that a new
route is classified on purpose.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.api.chat import Chat, open_chat
from tests.api.conftest import Api
from tests.factories import add_member, make_black, make_friend, make_friend_request, make_group, make_group_request

from openim.protocol.idhash import id_hash

SCOPE = ("user", "friend", "group", "conversation", "msg", "jssdk", "third", "statistics", "config", "restart")
READ_NAME = re.compile(r"^(get_|is_|pull_|newest_|search_|check_|page_|account_check$)|_get(_all)?$")
# Routes that read although their names do not say so.
EXTRA_READS = {
    "/user/subscribe_users_status",
    "/third/logs/search",
    "/statistics/user/register",
    "/statistics/user/active",
    "/statistics/group/create",
    "/statistics/group/active",
}
# Every write route of OpenIM's route groups (its internal/api/router.go), implemented or not yet.
WRITES = {
    "/user/user_register",
    "/user/update_user_info",
    "/user/update_user_info_ex",
    "/user/set_global_msg_recv_opt",
    "/user/process_user_command_add",
    "/user/process_user_command_delete",
    "/user/process_user_command_update",
    "/user/add_notification_account",
    "/user/update_notification_account",
    "/user/set_user_client_config",
    "/user/del_user_client_config",
    "/friend/add_friend",
    "/friend/add_friend_response",
    "/friend/delete_friend",
    "/friend/set_friend_remark",
    "/friend/update_friends",
    "/friend/import_friend",
    "/friend/add_black",
    "/friend/remove_black",
    "/group/create_group",
    "/group/set_group_info",
    "/group/set_group_info_ex",
    "/group/join_group",
    "/group/quit_group",
    "/group/group_application_response",
    "/group/transfer_group",
    "/group/kick_group",
    "/group/invite_user_to_group",
    "/group/dismiss_group",
    "/group/mute_group_member",
    "/group/cancel_mute_group_member",
    "/group/mute_group",
    "/group/cancel_mute_group",
    "/group/set_group_member_info",
    "/msg/send_msg",
    "/msg/send_simple_msg",
    "/msg/send_business_notification",
    "/msg/batch_send_msg",
    "/msg/revoke_msg",
    "/msg/mark_msgs_as_read",
    "/msg/mark_conversation_as_read",
    "/msg/set_conversation_has_read_seq",
    "/msg/delete_msgs",
    "/msg/clear_conversation_msg",
    "/msg/user_clear_all_msg",
    "/msg/delete_msg_phsical_by_seq",
    "/msg/delete_msg_physical",
    "/conversation/set_conversations",
    "/conversation/delete_conversations",
    "/conversation/update_conversations_by_user",
    "/third/fcm_update_token",
    "/third/set_app_badge",
    "/third/logs/upload",
    "/third/logs/delete",
    "/config/set_config",
    "/config/reset_config",
    "/config/set_enable_config_manager",
    "/restart",
}
# Reads that answer any signed-in user on purpose; they are still swept for the markers, without the control.
PUBLIC = {
    "/user/get_users_info": "public profiles: the SDKs show the sender of any message they receive",
    "/group/get_groups_info": "group info: the SDKs show a group before joining it (services/group)",
    "/msg/get_server_time": "the server's clock",
    "/msg/check_msg_is_send_success": "a status kept under the caller's own operationID",
    "/user/get_users_status": "online status: OpenIM and WS 2005 show any user's; userID must be the caller",
    "/user/subscribe_users_status": "answers the statuses 2005 answers; changes only the caller's connections",
}
# Reads whose data the sweep's world cannot hold (no gateway connection here): swept for the markers and for
# 1002 in the victim's name, without the control; their positive tests are named.
NO_CONTROL = {
    "/user/get_subscribe_users_status": "subscriptions live on gateway connections: tests/gateway/test_rest_status.py",
    "/user/get_users_online_token_detail": "lists online users only: tests/api/test_user_status.py",
    "/user/search_notification_account": "system accounts, no user's data; admin only: test_notification_account.py",
    "/config/get_config_list": "the server's configuration, no user's data; admin only: tests/api/test_config.py",
    "/config/get_config": "the server's configuration, no user's data; admin only: tests/api/test_config.py",
    "/config/get_enable_config_manager": "a server flag, no user's data; admin only: tests/api/test_config.py",
}
# The routes OpenIM's #3314 (and its follow-ups #3310, #3778) found open to any token holder.
ISSUE_3314 = [
    "/group/get_groups_info",
    "/group/get_full_join_group_ids",
    "/friend/get_full_friend_user_ids",
    "/group/get_group_member_list",
    "/group/get_full_group_member_user_ids",
    "/conversation/get_full_conversation_ids",
    "/group/get_incremental_group_members_batch",
    "/user/get_users_info",
    "/user/get_users",
    "/user/get_all_users_uid",
    "/group/get_groups",
]
# Counters and flags a user with no data of its own sees as zero/false; anything else came from someone else.
SENSITIVE_KEYS = {
    "total",
    "count",
    "unreadCount",
    "unreadTotal",
    "conversationTotal",
    "inUser1Friends",
    "inUser2Friends",
    "equal",
    "groupMemberNumber",
    "groupMemberListHash",
    "maxSeq",
    "hasReadSeq",
    "chatLogsNum",
    "accountStatus",
}
DENIED = {1002, 1004}

VICTIM, ATTACKER, ADMIN = "alice", "mallory", "admin"
FRIEND, BLOCKED, REQUESTER, WANTED = "carol", "dave", "erin", "frank"  # alice's friend, blocked, applicants
GROUP, HIDDEN, APPLIED = "g_alice", "g_hidden", "g_applied"  # alice owns / is in / applied to
SI = "si_alice_carol"
SG = f"sg_{GROUP}"
MARKERS = [
    FRIEND,
    BLOCKED,
    REQUESTER,
    WANTED,
    HIDDEN,
    APPLIED,
    "SECRET-dm",
    "SECRET-group",
    "SECRET-remark",
    "SECRET-req",
    "SECRET-greq",
    "SECRET-config",
    "SECRET-cmd",
    "SECRET-log",
]

Body = dict[str, Any]
# Overrides: path → fields (given the world and the user the user fields name) merged over the built body.
OVERRIDES: dict[str, Callable[[World, str], Body]] = {
    "/friend/get_designated_friend_apply": lambda w, me: {"fromUserID": REQUESTER, "toUserID": me},
    "/friend/get_specified_blacks": lambda w, me: {"userIDList": [BLOCKED]},
    "/friend/get_specified_friends_info": lambda w, me: {"userIDList": [FRIEND, BLOCKED]},
    "/group/get_specified_user_group_request_info": lambda w, me: {"groupID": GROUP, "userID": REQUESTER},
    "/group/get_user_req_group_applicationList": lambda w, me: {"groupIDs": []},
    "/group/get_group_users_req_application_list": lambda w, me: {"userIDs": [REQUESTER]},
    "/group/get_groups": lambda w, me: {"groupName": "", "groupID": ""},
    "/user/get_users_info": lambda w, me: {"userIDs": [me]},
    "/user/get_users": lambda w, me: {"userID": "", "nickName": ""},
    "/user/subscribe_users_status": lambda w, me: {"genre": 1, "userIDs": [me]},
    "/user/get_users_status": lambda w, me: {"userIDs": [me]},
    "/user/search_notification_account": lambda w, me: {"keyword": ""},
    "/user/process_user_command_get": lambda w, me: {"type": 1},
    "/msg/search_msg": lambda w, me: {"sendID": "", "recvID": "", "sendTime": "", "sessionType": 0, "contentType": 0},
    "/third/logs/search": lambda w, me: {"keyword": ""},
    **{
        f"/statistics/{route}": lambda w, me: {"start": 1, "end": 4_102_444_800_000, "group": True}
        for route in ("user/register", "user/active", "group/create", "group/active")
    },
}


@dataclass
class World:
    """The victim's data, the tokens, and what the bodies need from the victim's side (versions, hashes)."""

    api: Api
    chat: Chat
    schemas: dict[str, Any]
    versions: dict[str, tuple[str, int]] = field(default_factory=dict)  # path → (versionID, version)
    member_versions: dict[str, tuple[str, int]] = field(default_factory=dict)  # groupID → (versionID, version)
    hashes: dict[str, int] = field(default_factory=dict)  # path → idHash of the victim's list


def _scoped_routes(api: Api) -> list[str]:
    """The app's POST routes in SCOPE, as its OpenAPI document lists them (FastAPI builds it from the routes)."""
    spec = api.http._transport.app.openapi()  # type: ignore[attr-defined]
    return sorted(p for p, item in spec["paths"].items() if "post" in item and p.split("/")[1] in SCOPE)


def _is_read(path: str) -> bool:
    return path in EXTRA_READS or bool(READ_NAME.search(path.rsplit("/", 1)[1]))


def _request_schemas(api: Api) -> dict[str, Any]:
    """path → the JSON schema of its request body, $refs resolved."""
    spec = api.http._transport.app.openapi()  # type: ignore[attr-defined]
    components = spec.get("components", {}).get("schemas", {})

    def resolve(schema: Any) -> Any:
        if isinstance(schema, dict):
            if "$ref" in schema:
                return resolve(components[schema["$ref"].rsplit("/", 1)[1]])
            if "anyOf" in schema:  # pydantic's Optional[X]: the non-null branch
                branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
                return resolve(branches[0]) if branches else {}
            return {k: resolve(v) for k, v in schema.items()}
        if isinstance(schema, list):
            return [resolve(v) for v in schema]
        return schema

    schemas = {}
    for path, item in spec["paths"].items():
        content = item.get("post", {}).get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        schemas[path] = resolve(schema)
    return schemas


def _type_of(prop: dict[str, Any]) -> str:
    kind = prop.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "object")
    return str(kind)


def build_body(w: World, path: str, me: str) -> Body:
    """A request for `path` aimed at the victim's data, with `me` in the fields that name the acting user."""
    props = w.schemas.get(path, {}).get("properties", {})
    version_id, version = w.versions.get(path, ("", 0))
    member_version_id, member_version = w.member_versions.get(GROUP, ("", 0))
    by_name: dict[str, Any] = {
        "userID": me,
        "ownerUserID": me,
        "fromUserID": me,
        "userID1": me,
        "userID2": FRIEND,
        "toUserID": FRIEND,
        "userIDs": [FRIEND],
        "userIDList": [FRIEND],
        "friendUserIDs": [FRIEND],
        "checkUserIDs": [FRIEND],
        "groupID": GROUP,
        "groupIDs": [GROUP],
        "conversationID": SI,
        "conversationIDs": [SI, SG],
        "pagination": {"pageNumber": 1, "showNumber": 100},
        "seqRanges": [{"conversationID": c, "begin": 1, "end": 100, "num": 100} for c in (SI, SG)],
        "reqList": [{"groupID": GROUP, "versionID": member_version_id, "version": member_version}],
        "versionID": version_id,
        "version": version,
        "idHash": w.hashes.get(path, 0),
        "count": 100,
        "returnPinned": True,
    }
    defaults = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}
    body = {name: by_name[name] if name in by_name else defaults.get(_type_of(p), None) for name, p in props.items()}
    if path in OVERRIDES:
        body.update(OVERRIDES[path](w, me))
    return body


def _strings(value: Any) -> Iterator[str]:
    """Every string in an answer: values, map keys, and the text of base64 values (message contents)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value
        if len(value) >= 8 and len(value) % 4 == 0:
            try:
                yield base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                pass


def _sensitive(value: Any, path: str = "") -> Iterator[str]:
    """`key=value` for every SENSITIVE_KEYS entry with a non-zero/true value."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in SENSITIVE_KEYS and v not in (0, False, None, "0", ""):
                yield f"{path}{k}={v!r}"
            yield from _sensitive(v, f"{path}{k}.")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _sensitive(v, f"{path}{i}.")


def leaks(data: Any) -> list[str]:
    """What of the victim's private data an answer shows: markers found, non-zero counters."""
    found = {m for s in _strings(data) for m in MARKERS if m in s}
    return sorted(found) + list(_sensitive(data))


async def _post(w: World, path: str, body: Body, as_: str) -> dict[str, Any]:
    return await w.chat.post(path, body, as_=as_)


async def _world(api: Api) -> World:
    """alice's social graph, messages and settings, with version-log positions taken before most of it."""
    chat = await open_chat(api, VICTIM, ATTACKER, FRIEND, BLOCKED, REQUESTER, WANTED)
    storage, clock = api.runtime.storage, api.runtime.clock
    w = World(api, chat, _request_schemas(api))
    routes = set(_scoped_routes(api))
    await make_group(storage, GROUP, VICTIM, now=clock.now_ms(), name="alice's group")

    # Positions in alice's version logs before her data exists: the deltas from there carry it all.
    for path in sorted(routes):
        if _is_read(path) and "versionID" in w.schemas.get(path, {}).get("properties", {}):
            data = await chat.ok(path, build_body(w, path, VICTIM), as_=VICTIM)
            w.versions[path] = (data["versionID"], data["version"])
    batch = "/group/get_incremental_group_members_batch"
    if batch in routes:
        data = await chat.ok(batch, build_body(w, batch, VICTIM), as_=VICTIM)
        w.member_versions[GROUP] = (data["respList"][GROUP]["versionID"], data["respList"][GROUP]["version"])

    now = clock.now_ms()
    await make_friend(storage, VICTIM, FRIEND, now=now, remark="SECRET-remark")
    await make_friend(storage, FRIEND, VICTIM, now=now)
    await make_black(storage, VICTIM, BLOCKED, now=now)
    await make_friend_request(storage, REQUESTER, VICTIM, now=now, req_msg="SECRET-req-in")
    await make_friend_request(storage, VICTIM, WANTED, now=now, req_msg="SECRET-req-out")
    await add_member(storage, GROUP, FRIEND, now=now)
    await make_group_request(storage, GROUP, REQUESTER, now=now, req_msg="SECRET-greq-in")
    await make_group(storage, HIDDEN, FRIEND, [VICTIM], now=now, name="hidden")
    await make_group(storage, APPLIED, FRIEND, now=now, name="applied")
    await make_group_request(storage, APPLIED, VICTIM, now=now, req_msg="SECRET-greq-out")
    await chat.send(FRIEND, VICTIM, "SECRET-dm-in")
    await chat.send(VICTIM, FRIEND, "SECRET-dm-out")
    await chat.send(FRIEND, text="SECRET-group", group_id=GROUP)
    settings: Body = {"conversationID": SI, "conversationType": 1, "userID": FRIEND, "recvMsgOpt": 2, "isPinned": True}
    await chat.ok("/conversation/set_conversations", {"userIDs": [VICTIM], "conversation": settings}, as_=VICTIM)
    if "/user/set_user_client_config" in routes:
        config: Body = {"userID": VICTIM, "configs": {"sw_key": "SECRET-config"}}
        await chat.ok("/user/set_user_client_config", config, as_=ADMIN)
    if "/third/logs/upload" in routes:
        log: Body = {"platform": 5, "fileURLs": [{"filename": "SECRET-log", "URL": "http://objects/SECRET-log"}]}
        await chat.ok("/third/logs/upload", log, as_=VICTIM)
    if "/user/process_user_command_add" in routes:
        command: Body = {"userID": VICTIM, "type": 1, "uuid": "SECRET-cmd", "value": "SECRET-cmd", "ex": ""}
        await chat.ok("/user/process_user_command_add", command, as_=VICTIM)

    # idHash of alice's real lists: an `equal: true` to anyone else would confirm a guess of them.
    for path in sorted(routes):
        if _is_read(path) and "idHash" in w.schemas.get(path, {}).get("properties", {}):
            data = await chat.ok(path, build_body(w, path, VICTIM), as_=VICTIM)
            ids = next(v for k, v in data.items() if k.endswith("IDs"))
            w.hashes[path] = id_hash(ids or [])
    return w


async def _sweep_route(w: World, path: str) -> list[str]:
    """The problems found on one read route (empty when it keeps alice's data to alice)."""
    problems = []
    victim_body = build_body(w, path, VICTIM)
    if path not in PUBLIC and path not in NO_CONTROL:
        control = await _post(w, path, victim_body, VICTIM)
        who = VICTIM
        if control["errCode"] == 1002:  # admin-only route
            control, who = await _post(w, path, victim_body, ADMIN), ADMIN
        if control["errCode"] != 0 or not leaks(control.get("data")):
            problems.append(
                f"{path}: the sweep's body does not reach {VICTIM}'s data (as {who}: {control}); "
                f"add an entry to OVERRIDES or PUBLIC — body {victim_body}"
            )
    bodies = [victim_body]
    own = build_body(w, path, ATTACKER)
    if own != victim_body:
        bodies.append(own)
    for body in bodies:
        answer = await _post(w, path, body, ATTACKER)
        if answer["errCode"] in DENIED:
            continue
        if answer["errCode"] != 0:
            problems.append(f"{path}: {ATTACKER} got errCode {answer['errCode']} (want 0, 1002 or 1004) for {body}")
            continue
        found = leaks(answer.get("data"))
        if found:
            problems.append(f"{path}: {ATTACKER} sees {VICTIM}'s {found} with {body} → {answer.get('data')}")
    return problems


def test_every_route_is_a_read_or_a_listed_write(api: Api) -> None:
    """A route of the swept groups is a read by its name, or listed in WRITES; a new one must be classified."""
    unclassified = [p for p in _scoped_routes(api) if not _is_read(p) and p not in WRITES]
    assert not unclassified, (
        f"classify these routes (a read: rename or add to EXTRA_READS; else WRITES): {unclassified}"
    )
    listed_reads = [p for p in WRITES if _is_read(p)]
    assert not listed_reads, f"listed as writes but named as reads: {listed_reads}"


@pytest.mark.slow
async def test_no_read_route_shows_another_users_data(api: Api) -> None:
    """Every read route, called by a second user, answers 1002/1004 or nothing of the first user's."""
    w = await _world(api)
    reads = [p for p in _scoped_routes(api) if _is_read(p)]
    assert len(reads) >= 40, reads  # the read routes that exist today; fewer means the enumeration broke
    problems = []
    for path in reads:
        problems += await _sweep_route(w, path)
    assert not problems, "\n".join(problems)


async def test_the_routes_of_openim_3314_are_swept(api: Api) -> None:
    """The routes OpenIM left open (#3314, #3310, #3778) that exist here are in the sweep, and closed to others."""
    routes = _scoped_routes(api)
    present = [p for p in ISSUE_3314 if p in routes]
    assert len(present) >= 8, present
    for path in present:
        assert _is_read(path), path
    w = await _world(api)
    problems = []
    for path in present:
        problems += await _sweep_route(w, path)
    assert not problems, "\n".join(problems)
