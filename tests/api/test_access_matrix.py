"""The authorization matrix over every REST route: no token, expired, kicked, another user, a member without the
role, the imAdmin — each route's expectation is one line of tests/access.py.

The routes come from the app (its OpenAPI document, which lists every route it serves); a route missing from the
table, or a table line for a route the app does not serve, fails `test_the_table_covers_every_route`. Bodies are
built from each route's request schema by field name (the user the body speaks for, the group of the case, …)
and the table's body merged over. Group cases run on a group of their own (owner alice, admin gina, members
carol and frank), so that a write of one case (a dismiss, a transfer) cannot change another. What reads show to
whom in detail is tests/api/test_authorization_sweep.py (markers of the victim's private data in every answer).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from tests.access import REST, Rule
from tests.api.chat import Chat, open_chat
from tests.api.conftest import Api
from tests.factories import make_friend, make_group

from openim.infra.clock import FakeClock
from openim.protocol.constants import GroupRole

VICTIM, ATTACKER, PEER, OTHER, GADMIN, OUTSIDER = "alice", "mallory", "carol", "frank", "gina", "erin"
GROUP_LEVELS = ("member", "group-admin", "owner")
ADMIN = "admin"
DENIED = {1002, 1004}
TOKEN_ERRORS = range(1501, 1508)
_groups = itertools.count(1)


def _routes(api: Api) -> dict[str, set[str]]:
    spec = api.http._transport.app.openapi()  # type: ignore[attr-defined]
    return {path: {m.upper() for m in item} for path, item in spec["paths"].items()}


def _schemas(api: Api) -> dict[str, dict[str, Any]]:
    """path → the properties of its JSON request body, $refs and Optional resolved."""
    spec = api.http._transport.app.openapi()  # type: ignore[attr-defined]
    components = spec["components"]["schemas"]

    def resolve(schema: Any) -> Any:
        if isinstance(schema, dict):
            if "$ref" in schema:
                return resolve(components[schema["$ref"].rsplit("/", 1)[1]])
            if "anyOf" in schema:
                branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
                return resolve(branches[0]) if branches else {}
        return schema

    out = {}
    for path, item in spec["paths"].items():
        schema = item.get("post", {}).get("requestBody", {}).get("content", {}).get("application/json", {})
        out[path] = {k: resolve(v) for k, v in resolve(schema.get("schema", {})).get("properties", {}).items()}
    return out


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: names.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def build(props: dict[str, Any], rule: Rule, me: str, group: str) -> dict[str, Any]:
    """A body for the route: fields by name for `me` and `group`, then the rule's body over it."""
    names = {"me": me, "group": group, "peer": PEER, "other": OTHER, "outsider": OUTSIDER, "owner": VICTIM}
    # send_simple_msg's ?key=: the message a bot (`me`) answers, from `peer` to `me`
    names["key"] = base64.b64encode(json.dumps({"sendID": PEER, "recvID": me}).encode()).decode()
    conv = f"si_{min(me, PEER)}_{max(me, PEER)}"
    by_name: dict[str, Any] = {
        "userID": me,
        "ownerUserID": me,
        "fromUserID": me,
        "userID1": me,
        "userID2": PEER,
        "toUserID": PEER,
        "sendID": me,
        "recvID": PEER,
        "userIDs": [me],
        "userIDList": [PEER],
        "friendUserIDs": [PEER],
        "checkUserIDs": [me],
        "groupID": group,
        "groupIDs": [group],
        "conversationID": conv,
        "conversationIDs": [conv],
        "pagination": {"pageNumber": 1, "showNumber": 10},
        "count": 10,
    }
    defaults = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}
    body: dict[str, Any] = {}
    for name, prop in props.items():
        kind = prop.get("type", "object")
        kind = next((k for k in kind if k != "null"), "object") if isinstance(kind, list) else kind
        body[name] = by_name[name] if name in by_name else defaults.get(kind)
    body.update(_fill(rule.body, names))
    return body


async def _world(api: Api) -> Chat:
    chat = await open_chat(api, VICTIM, ATTACKER, PEER, OTHER, GADMIN, OUTSIDER)
    now = api.runtime.clock.now_ms()
    await make_friend(api.runtime.storage, VICTIM, PEER, now=now)
    await make_friend(api.runtime.storage, PEER, VICTIM, now=now)
    await chat.send(VICTIM, PEER, "hello")  # seq 1 of si_alice_carol, alice's
    return chat


async def _new_group(api: Api) -> str:
    group = f"g{next(_groups)}"
    await make_group(api.runtime.storage, group, VICTIM, [PEER, OTHER], admins=[GADMIN], now=api.runtime.clock.now_ms())
    return group


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: the checks live in the services, one code path for both databases (the read sweep, which
    looks at the data itself, runs on both)."""
    return f"sqlite:///{tmp_path / 'data' / 'openim.db'}"


def test_the_table_covers_every_route(api: Api) -> None:
    """Every route the app serves has a line in tests/access.py, and every line names a route the app serves."""
    routes = set(_routes(api))
    assert sorted(routes - set(REST)) == [], "add these routes to tests/access.py REST"
    assert sorted(set(REST) - routes) == [], "tests/access.py REST names routes the app does not serve"
    assert GroupRole.ADMIN  # the matrix relies on group admins existing


def _token_routes(api: Api) -> Iterator[str]:
    for path, methods in sorted(_routes(api).items()):
        if REST[path].level != "none":
            assert methods == {"POST"}, path
            yield path


async def test_no_token_expired_and_kicked(api: Api) -> None:
    """Every route but the level-none ones: 1001 without a token, 1501 with an expired one, 1506 with a kicked one;
    the level-none ones answer without a token."""
    chat = await open_chat(api, "kicked", "expiring")
    kicked, expiring = chat.tokens["kicked"], chat.tokens["expiring"]
    await chat.ok("/auth/force_logout", {"userID": "kicked", "platformID": 5}, as_=ADMIN)
    problems = []
    paths = list(_token_routes(api))
    for path in paths:
        none = await api.post(path, {})
        if (none["errCode"], none["errDlt"]) != (1001, "header must have token"):
            problems.append(f"{path} without a token: {none}")
        got = await api.post(path, {}, token=kicked)
        if got["errCode"] != 1506:
            problems.append(f"{path} with a kicked token: {got}")
    clock = api.runtime.clock
    assert isinstance(clock, FakeClock)
    clock.advance(api.runtime.settings.tokenPolicy.expire + 86_400)
    for path in paths:
        got = await api.post(path, {}, token=expiring)
        if got["errCode"] != 1501:
            problems.append(f"{path} with an expired token: {got}")
    for path, rule in REST.items():
        if rule.level != "none":
            continue
        if path.startswith("/auth/"):
            answer = await api.post(path, {})
            if answer["errCode"] in TOKEN_ERRORS or answer["errDlt"] == "header must have token":
                problems.append(f"{path} asked for a token: {answer}")
        else:
            resp = await api.http.get(path.replace("{name}", "some-object"), follow_redirects=False)
            if resp.status_code not in (200, 302, 400, 404) or "header must have token" in resp.text:
                problems.append(f"GET {path} without a token: {resp.status_code} {resp.text[:200]}")
    assert not problems, "\n".join(problems)


async def _call(chat: Chat, path: str, body: dict[str, Any], as_: str) -> int:
    """The errCode of `path` posted by `as_`; the body's "?" entry, if any, is the query string."""
    body = dict(body)
    query = body.pop("?", None)
    url = f"{path}?{urlencode(query)}" if query else path
    return int((await chat.post(url, body, as_=as_))["errCode"])


async def _case(chat: Chat, schemas: dict[str, dict[str, Any]], path: str, rule: Rule) -> list[str]:
    """The role cases of one route; returns its problems."""
    group = await _new_group(chat.api)
    props = schemas.get(path, {})
    victim_body = build(props, rule, VICTIM, group)
    problems = []

    def expect(who: str, body: dict[str, Any], code: int, allowed: bool) -> None:
        if allowed and code == 1002:
            problems.append(f"{path}: {who} was refused (1002) with {body}")
        if not allowed and code not in DENIED:
            problems.append(f"{path}: {who} got errCode {code}, want 1002/1004, with {body}")

    level = rule.level
    if level == "any":
        expect(ATTACKER, victim_body, await _call(chat, path, victim_body, ATTACKER), True)
    elif level == "admin":
        for user in (VICTIM, ATTACKER):
            own = build(props, rule, user, group)
            expect(user, own, await _call(chat, path, own, user), False)
    elif level == "self":
        expect(f"{ATTACKER} naming {VICTIM}", victim_body, await _call(chat, path, victim_body, ATTACKER), False)
        expect(VICTIM, victim_body, await _call(chat, path, victim_body, VICTIM), True)
    elif level == "member":
        outsider_body = build(props, rule, ATTACKER, group)
        expect(f"{ATTACKER} (not a member)", outsider_body, await _call(chat, path, outsider_body, ATTACKER), False)
        member_body = build(props, rule, PEER, group)
        expect(f"{PEER} (a member)", member_body, await _call(chat, path, member_body, PEER), True)
    elif level in ("group-admin", "owner"):
        member_body = build(props, rule, PEER, group)
        expect(f"{PEER} (a member without the role)", member_body, await _call(chat, path, member_body, PEER), False)
        gadmin_body = build(props, rule, GADMIN, group)
        code = await _call(chat, path, gadmin_body, GADMIN)
        expect(f"{GADMIN} (a group admin)", gadmin_body, code, level == "group-admin")
        if level == "owner":
            expect(VICTIM, victim_body, await _call(chat, path, victim_body, VICTIM), True)
    admin_group = await _new_group(chat.api)  # the imAdmin acts on a group of its own: the cases above may dismiss
    admin_body = build(props, rule, PEER if level in GROUP_LEVELS else VICTIM, admin_group)
    expect("the imAdmin", admin_body, await _call(chat, path, admin_body, ADMIN), True)
    return problems


async def test_every_route_keeps_its_level(api: Api) -> None:
    """Each route refuses whom its level refuses and lets through whom it allows (see tests/access.py)."""
    chat = await _world(api)
    schemas = _schemas(api)
    problems = []
    for path in _token_routes(api):
        problems += await _case(chat, schemas, path, REST[path])
    assert not problems, "\n".join(problems)
