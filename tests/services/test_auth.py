"""AuthService and Caller: docs/protocol/rest.md §3, driven by a FakeClock over real storage and the memory token store.

Tokens that the service would never issue (other secrets, other algorithms, odd claims) are forged here by hand
with hmac and base64, independently of the code under test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from openim.infra.clock import FakeClock
from openim.infra.tokens import MemoryTokenStore, TokenStore
from openim.protocol.errors import OpenIMError
from openim.services.auth import AuthService, Caller, KickedToken
from openim.storage import Storage
from openim.storage.rows import User

SECRET = "openIM123"
ADMIN = "imAdmin"
EXPIRE_S = 90 * 86400
IOS, ANDROID, WINDOWS, OSX, WEB, MINI_WEB, LINUX, APAD, IPAD, ADMIN_PLATFORM, HARMONY = range(1, 12)
NORMAL, KICKED = 0, 2

MakeAuth = Callable[..., AuthService]


def _user(user_id: str, level: int = 0) -> User:
    return User(user_id, user_id, "", "", level, 0, 1)


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when a test says so."""
    return FakeClock()


@pytest.fixture
def tokens(clock: FakeClock) -> MemoryTokenStore:
    """The in-memory token state, expiring by the test clock."""
    return MemoryTokenStore(clock)


@pytest.fixture
async def users(storage: Storage) -> Storage:
    """Storage holding the imAdmin, ordinary users u1 and u2, and app accounts of levels 2, 3 and 4."""
    await storage.user.ensure_admins([(ADMIN, "superAdmin")], now=1)
    await storage.user.create_users(
        [_user("u1"), _user("u2"), _user("appadmin", 2), _user("notice", 3), _user("robot", 4)]
    )
    return storage


@pytest.fixture
def make_auth(users: Storage, tokens: MemoryTokenStore, clock: FakeClock) -> MakeAuth:
    """Build an AuthService over the shared store and clock with the given multi-login settings."""

    def make(
        policy: int = 1,
        max_num_one_end: int = 30,
        admin_user_ids: list[str] | None = None,
        store: TokenStore | None = None,
    ) -> AuthService:
        return AuthService(
            store or tokens,
            users,
            clock,
            secret=SECRET,
            expire_s=EXPIRE_S,
            admin_user_ids=admin_user_ids or [ADMIN],
            multi_login_policy=policy,
            max_num_one_end=max_num_one_end,
        )

    return make


@pytest.fixture
def auth(make_auth: MakeAuth) -> AuthService:
    """The service with OpenIM's default policy 1 (one token per platform)."""
    return make_auth()


ADMIN_CALLER = Caller(ADMIN, ADMIN_PLATFORM, is_admin=True)
USER_CALLER = Caller("u1", ANDROID, is_admin=False)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(payload: dict[str, Any], *, secret: str = SECRET, alg: str = "HS256", header: Any = None) -> str:
    """A JWT built by hand: any header, any claims, HMAC-signed with `secret` when alg is HS*."""
    head = _b64(json.dumps(header if header is not None else {"alg": alg, "typ": "JWT"}).encode())
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(alg)
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), digest).digest() if digest else b"sig"
    return f"{head}.{body}.{_b64(sig)}"


def claims_at(clock: FakeClock, user_id: str = "u1", platform_id: int = ANDROID, **extra: Any) -> dict[str, Any]:
    """The claims OpenIM would sign now, with `extra` added or overriding."""
    now = clock.now_s()
    return {"UserID": user_id, "PlatformID": platform_id, "exp": now + EXPIRE_S, "iat": now - 5, **extra}


async def expect(code: int, coro: Any) -> OpenIMError:
    """Await `coro`, which must raise the OpenIM error `code`; return the error for further checks."""
    with pytest.raises(OpenIMError) as info:
        await coro
    assert info.value.code == code, info.value
    return info.value


async def state_of(auth: AuthService, token: str) -> int:
    """0 if the token is accepted, else the errCode parse_token raises."""
    try:
        await auth.parse_token(token)
    except OpenIMError as exc:
        return exc.code
    return 0


# ---- Caller ------------------------------------------------------------------------------------------------


def test_caller_of_marks_listed_admins() -> None:
    """A caller is an admin exactly when its userID is in imAdminUser.userIDs."""
    assert Caller.of(ADMIN, 10, admin_user_ids=[ADMIN]).is_admin
    assert not Caller.of("u1", 2, admin_user_ids=[ADMIN]).is_admin


def test_require_admin() -> None:
    """require_admin passes for an admin and raises 1002 naming the user otherwise."""
    ADMIN_CALLER.require_admin()
    with pytest.raises(OpenIMError) as info:
        USER_CALLER.require_admin()
    assert info.value.code == 1002
    assert "u1" in info.value.detail


def test_require_self_or_admin() -> None:
    """A user may act for itself, an admin for anyone, anyone else gets 1002 naming both users."""
    USER_CALLER.require_self_or_admin("u1")
    ADMIN_CALLER.require_self_or_admin("u2")
    with pytest.raises(OpenIMError) as info:
        USER_CALLER.require_self_or_admin("u2")
    assert info.value.code == 1002
    assert "u1" in info.value.detail
    assert "u2" in info.value.detail


# ---- construction ------------------------------------------------------------------------------------------


def test_unknown_policy_is_refused_at_construction(make_auth: MakeAuth) -> None:
    """A multi-login policy OpenIM does not know fails when the service is built, not at the first login."""
    with pytest.raises(ValueError, match="multiLogin"):
        make_auth(policy=2)


# ---- get_admin_token ---------------------------------------------------------------------------------------


async def test_admin_token(auth: AuthService, clock: FakeClock) -> None:
    """The imAdmin with the right secret gets an Admin-platform token valid for the configured duration."""
    issued = await auth.get_admin_token(SECRET, ADMIN)
    assert issued.expire_time_seconds == EXPIRE_S
    assert issued.kicked == []
    claims = await auth.parse_token(issued.token)
    assert (claims.user_id, claims.platform_id, claims.expire_at_s) == (ADMIN, 10, clock.now_s() + EXPIRE_S)


async def test_admin_token_empty_user_is_args_error_first(auth: AuthService) -> None:
    """An empty userID is 1001 even with a wrong secret: OpenIM validates the request before the RPC."""
    await expect(1001, auth.get_admin_token("wrong", ""))


async def test_admin_token_wrong_secret(auth: AuthService) -> None:
    """A wrong secret is 1002 with errDlt "secret invalid"."""
    err = await expect(1002, auth.get_admin_token("openIM1234", ADMIN))
    assert err.detail == "secret invalid"


async def test_admin_token_for_non_admin(auth: AuthService) -> None:
    """A registered user who is not an imAdmin gets 1001."""
    await expect(1001, auth.get_admin_token(SECRET, "u1"))


async def test_admin_token_for_missing_admin(make_auth: MakeAuth) -> None:
    """A listed imAdmin that is not in the user table gets 1004."""
    auth = make_auth(admin_user_ids=[ADMIN, "ghost"])
    await expect(1004, auth.get_admin_token(SECRET, "ghost"))


async def test_new_admin_token_gives_old_ones_five_minutes(
    auth: AuthService, tokens: MemoryTokenStore, clock: FakeClock
) -> None:
    """A new admin token moves the older ones out of the hash into a 5-minute grace, then they are gone (1507)."""
    first = (await auth.get_admin_token(SECRET, ADMIN)).token
    clock.advance(10)
    second = await auth.get_admin_token(SECRET, ADMIN)
    assert second.kicked == []
    assert await tokens.get_platform_tokens(ADMIN, "Admin") == {second.token: NORMAL}
    assert await state_of(auth, first) == 0
    clock.advance(300 - 0.001)
    assert await state_of(auth, first) == 0
    clock.advance(0.001)
    assert await state_of(auth, first) == 1507
    assert await state_of(auth, second.token) == 0


async def test_grace_is_for_admins_only(make_auth: MakeAuth, tokens: MemoryTokenStore, clock: FakeClock) -> None:
    """A temporary mark does not revive a token of a user who is not (or no longer) an imAdmin."""
    first = (await make_auth().get_admin_token(SECRET, ADMIN)).token
    clock.advance(1)
    await make_auth().get_admin_token(SECRET, ADMIN)
    demoted = make_auth(admin_user_ids=["someoneElse"])
    assert await state_of(demoted, first) == 1507


async def test_admin_token_leaves_other_platforms_alone(auth: AuthService, clock: FakeClock) -> None:
    """Under policy 1 an admin token kicks nothing on the admin's other platforms."""
    web = (await auth.create_token(ADMIN, WEB)).token
    clock.advance(1)
    issued = await auth.get_admin_token(SECRET, ADMIN)
    assert issued.kicked == []
    assert await state_of(auth, web) == 0


# ---- get_user_token ----------------------------------------------------------------------------------------


async def test_user_token(auth: AuthService, clock: FakeClock) -> None:
    """An admin gets a user token whose expireTimeSeconds is a duration; parse_token gives the absolute expiry."""
    issued = await auth.get_user_token(ADMIN_CALLER, "u1", ANDROID)
    assert issued.expire_time_seconds == EXPIRE_S
    claims = await auth.parse_token(issued.token)
    assert (claims.user_id, claims.platform_id, claims.expire_at_s) == ("u1", ANDROID, clock.now_s() + EXPIRE_S)


async def test_user_token_needs_admin(auth: AuthService) -> None:
    """A caller who is not an imAdmin gets 1002."""
    await expect(1002, auth.get_user_token(USER_CALLER, "u1", ANDROID))


async def test_user_token_not_on_admin_platform(auth: AuthService) -> None:
    """The Admin platform (10) is refused with 1002."""
    await expect(1002, auth.get_user_token(ADMIN_CALLER, "u1", ADMIN_PLATFORM))


async def test_user_token_not_for_an_admin(auth: AuthService) -> None:
    """A user token for an imAdmin is refused with 1002 ("don't get Admin token")."""
    err = await expect(1002, auth.get_user_token(ADMIN_CALLER, ADMIN, ANDROID))
    assert "Admin" in err.detail


async def test_user_token_unknown_user(auth: AuthService) -> None:
    """An unregistered userID is 1004."""
    await expect(1004, auth.get_user_token(ADMIN_CALLER, "nobody", ANDROID))


@pytest.mark.parametrize("user_id", ["notice", "robot"])
async def test_user_token_not_for_app_accounts(auth: AuthService, user_id: str) -> None:
    """Notification (3) and robot (4) accounts cannot get a token: 1001."""
    await expect(1001, auth.get_user_token(ADMIN_CALLER, user_id, ANDROID))


async def test_user_token_for_app_admin_level(auth: AuthService) -> None:
    """appMangerLevel 2 without imAdmin listing is an ordinary token holder (only ≥ 3 is refused)."""
    issued = await auth.get_user_token(ADMIN_CALLER, "appadmin", WEB)
    assert (await auth.authenticate(issued.token)).is_admin is False


@pytest.mark.parametrize(("user_id", "platform_id"), [("", ANDROID), ("u1", 0), ("u1", 12), ("u1", -1)])
async def test_user_token_validates_arguments(auth: AuthService, user_id: str, platform_id: int) -> None:
    """An empty userID or an unknown platformID is 1001 (OpenIM's Check is a no-op here; we validate)."""
    await expect(1001, auth.get_user_token(ADMIN_CALLER, user_id, platform_id))


async def test_harmony_os_can_get_a_token(auth: AuthService) -> None:
    """Platform 11 (HarmonyOS) is a valid login platform."""
    issued = await auth.get_user_token(ADMIN_CALLER, "u1", HARMONY)
    assert (await auth.parse_token(issued.token)).platform_id == HARMONY


# ---- token format ------------------------------------------------------------------------------------------


async def test_claims_spelling_and_types(auth: AuthService, clock: FakeClock) -> None:
    """The JWT is HS256 with exactly UserID (str), PlatformID (int), exp = now + expire, iat = now − 5; no nbf."""
    token = (await auth.get_user_token(ADMIN_CALLER, "u1", IPAD)).token
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    payload = jwt.decode(token, options={"verify_signature": False})
    now = clock.now_s()
    assert payload == {"UserID": "u1", "PlatformID": IPAD, "exp": now + EXPIRE_S, "iat": now - 5}
    assert [type(payload[k]) for k in ("UserID", "PlatformID", "exp", "iat")] == [str, int, int, int]


async def test_token_bytes_match_openim(auth: AuthService, clock: FakeClock) -> None:
    """The token is byte for byte what OpenIM signs: Go's header, claim order and JSON escaping (<, >, &, UTF-8)."""
    user_id = "李<&>"
    token = (await auth.create_token(user_id, ANDROID)).token
    now = clock.now_s()
    head = _b64(b'{"alg":"HS256","typ":"JWT"}')
    body_json = f'{{"UserID":"李\\u003c\\u0026\\u003e","PlatformID":2,"exp":{now + EXPIRE_S},"iat":{now - 5}}}'
    body = _b64(body_json.encode())
    sig = _b64(hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    assert token == f"{head}.{body}.{sig}"
    assert (await auth.parse_token(token)).user_id == user_id


async def test_verification_uses_the_injected_clock(users: Storage) -> None:
    """A token issued and checked at 1970 + 1 day is valid although the wall clock is decades past its exp."""
    clock = FakeClock(start_ms=86_400_000)
    auth = AuthService(
        MemoryTokenStore(clock),
        users,
        clock,
        secret=SECRET,
        expire_s=3600,
        admin_user_ids=[ADMIN],
        multi_login_policy=1,
        max_num_one_end=30,
    )
    issued = await auth.create_token("u1", ANDROID)
    assert (await auth.parse_token(issued.token)).expire_at_s == 86_400 + 3600


# ---- parse_token: JWT failures ------------------------------------------------------------------------------


async def test_expiry(auth: AuthService, clock: FakeClock) -> None:
    """A token is valid until 1 ms before exp and expired (1501) from exp on."""
    token = (await auth.get_user_token(ADMIN_CALLER, "u1", ANDROID)).token
    clock.advance(EXPIRE_S - 0.001)
    assert await state_of(auth, token) == 0
    clock.advance(0.001)
    assert await state_of(auth, token) == 1501


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b",
        "a.b.c.d",
        "!!!.@@@.###",
        _b64(b"not json") + "." + _b64(b"{}") + ".sig",
        _b64(b'{"alg":"HS256"}') + "." + _b64(b"[1,2]") + ".sig",
        _b64(b'{"alg":"HS256"}=') + "." + _b64(b"{}") + ".sig",
    ],
)
async def test_malformed(auth: AuthService, token: str) -> None:
    """Wrong segment count, bad base64url, non-JSON or non-object segments are 1503."""
    await expect(1503, auth.parse_token(token))


@pytest.mark.parametrize(
    "extra",
    [{"PlatformID": "2"}, {"PlatformID": 2.5}, {"PlatformID": True}, {"UserID": 7}, {"exp": "soon"}, {"iss": 1}],
)
async def test_claims_of_the_wrong_type_are_malformed(
    auth: AuthService, clock: FakeClock, extra: dict[str, Any]
) -> None:
    """A correctly signed token whose claims do not decode into OpenIM's Claims struct is 1503."""
    await expect(1503, auth.parse_token(forge(claims_at(clock, **extra))))


async def test_other_secret(auth: AuthService, clock: FakeClock) -> None:
    """A token signed with another secret is 1505 with golang-jwt's text "signature is invalid"."""
    err = await expect(1505, auth.parse_token(forge(claims_at(clock), secret="otherSecret")))
    assert err.message == "signature is invalid"
    assert err.to_wire()["errMsg"] == "signature is invalid"


async def test_bad_signature_wins_over_expiry(auth: AuthService, clock: FakeClock) -> None:
    """golang-jwt v4.5 checks the signature before the claims, so a forged expired token is 1505, not 1501."""
    token = forge(claims_at(clock, exp=clock.now_s() - 10), secret="otherSecret")
    await expect(1505, auth.parse_token(token))


async def test_not_valid_yet(auth: AuthService, tokens: MemoryTokenStore, clock: FakeClock) -> None:
    """A token carrying an nbf in the future is 1504; once nbf has passed it is accepted."""
    token = forge(claims_at(clock, nbf=clock.now_s() + 60))
    await tokens.set_tokens("u1", "Android", {token: NORMAL}, 3600)
    await expect(1504, auth.parse_token(token))
    clock.advance(60)
    assert (await auth.parse_token(token)).user_id == "u1"


async def test_expired_wins_over_not_valid_yet(auth: AuthService, clock: FakeClock) -> None:
    """With exp passed and nbf ahead, OpenIM's mapping reports 1501 first."""
    now = clock.now_s()
    await expect(1501, auth.parse_token(forge(claims_at(clock, exp=now - 1, nbf=now + 60))))


async def test_issued_in_the_future(auth: AuthService, clock: FakeClock) -> None:
    """An iat in the future is 1505 "token used before issued"."""
    err = await expect(1505, auth.parse_token(forge(claims_at(clock, iat=clock.now_s() + 60))))
    assert err.message == "token used before issued"


@pytest.mark.parametrize(
    ("alg", "text"),
    [
        ("none", "'none' signature type is not allowed"),
        ("RS256", "key is of invalid type"),
        ("XX999", "signing method (alg) is unavailable."),
    ],
)
async def test_other_algorithms(auth: AuthService, clock: FakeClock, alg: str, text: str) -> None:
    """Algorithms other than HMAC are 1505 with golang-jwt's text."""
    err = await expect(1505, auth.parse_token(forge(claims_at(clock), alg=alg)))
    assert err.message == text


async def test_missing_alg(auth: AuthService, clock: FakeClock) -> None:
    """A header without alg is 1505 "signing method (alg) is unspecified."."""
    err = await expect(1505, auth.parse_token(forge(claims_at(clock), header={"typ": "JWT"})))
    assert err.message == "signing method (alg) is unspecified."


async def test_hs512_with_the_secret_is_accepted(auth: AuthService, tokens: MemoryTokenStore, clock: FakeClock) -> None:
    """Like golang-jwt without ValidMethods, any HMAC algorithm keyed with the secret verifies."""
    token = forge(claims_at(clock), alg="HS512")
    await tokens.set_tokens("u1", "Android", {token: NORMAL}, 3600)
    assert (await auth.parse_token(token)).platform_id == ANDROID


async def test_empty_token(auth: AuthService) -> None:
    """An empty token is an argument error (1001), as OpenIM's ParseTokenReq.Check."""
    await expect(1001, auth.parse_token(""))


# ---- parse_token: token state ------------------------------------------------------------------------------


async def test_valid_jwt_not_in_state(auth: AuthService, clock: FakeClock) -> None:
    """A correctly signed token the server never recorded is 1507."""
    await expect(1507, auth.parse_token(forge(claims_at(clock))))


@pytest.mark.parametrize("state", [1, 3, 7])
async def test_unknown_state(auth: AuthService, tokens: MemoryTokenStore, clock: FakeClock, state: int) -> None:
    """A recorded state other than normal or kicked is 1505."""
    token = forge(claims_at(clock))
    await tokens.set_tokens("u1", "Android", {token: state}, 3600)
    await expect(1505, auth.parse_token(token))


async def test_kicked_state(auth: AuthService, tokens: MemoryTokenStore, clock: FakeClock) -> None:
    """A recorded kicked token is 1506."""
    token = forge(claims_at(clock))
    await tokens.set_tokens("u1", "Android", {token: KICKED}, 3600)
    await expect(1506, auth.parse_token(token))


async def test_authenticate(auth: AuthService) -> None:
    """authenticate gives the caller of a token, an admin exactly for the imAdmin."""
    admin = await auth.authenticate((await auth.get_admin_token(SECRET, ADMIN)).token)
    user = await auth.authenticate((await auth.get_user_token(ADMIN_CALLER, "u1", WEB)).token)
    assert admin == Caller(ADMIN, ADMIN_PLATFORM, is_admin=True)
    assert user == Caller("u1", WEB, is_admin=False)


# ---- multi-login policies ----------------------------------------------------------------------------------


async def login(auth: AuthService, clock: FakeClock, user_id: str, *platforms: int) -> list[str]:
    """Issue one token per platform, one second apart, and return them in order."""
    issued = []
    for platform_id in platforms:
        clock.advance(1)
        issued.append((await auth.create_token(user_id, platform_id)).token)
    return issued


async def states(auth: AuthService, tokens: list[str]) -> list[int]:
    """parse_token's verdict for each token (0 = accepted)."""
    return [await state_of(auth, t) for t in tokens]


async def test_policy_1_kicks_same_platform(auth: AuthService, clock: FakeClock) -> None:
    """Policy 1: a new token kicks the previous one on its platform (1506) and reports it."""
    old_android, ios = await login(auth, clock, "u1", ANDROID, IOS)
    clock.advance(1)
    issued = await auth.create_token("u1", ANDROID)
    assert issued.kicked == [KickedToken("u1", ANDROID, old_android)]
    assert await states(auth, [old_android, ios, issued.token]) == [1506, 0, 0]


async def test_policy_1_one_per_platform_everywhere(auth: AuthService, clock: FakeClock) -> None:
    """Policy 1: every platform may hold one token at the same time."""
    issued = await login(auth, clock, "u1", IOS, ANDROID, WINDOWS, OSX, WEB, MINI_WEB, LINUX, APAD, IPAD, HARMONY)
    assert await states(auth, issued) == [0] * len(issued)


async def test_policy_1_users_are_independent(auth: AuthService, clock: FakeClock) -> None:
    """A login kicks only the same user's tokens."""
    [u2] = await login(auth, clock, "u2", ANDROID)
    await login(auth, clock, "u1", ANDROID, ANDROID)
    assert await state_of(auth, u2) == 0


async def test_policy_1_same_second_reissue(auth: AuthService) -> None:
    """Issuing again within the same second yields the same token, which stays valid and is not reported kicked."""
    first = await auth.create_token("u1", ANDROID)
    second = await auth.create_token("u1", ANDROID)
    assert second.token == first.token
    assert second.kicked == []
    assert await state_of(auth, second.token) == 0


async def test_policy_0_keeps_max_num_one_end_per_platform(make_auth: MakeAuth, clock: FakeClock) -> None:
    """Policy 0: each platform keeps up to maxNumOneEnd tokens counting the new one; the oldest go first."""
    auth = make_auth(policy=0, max_num_one_end=2)
    a1, a2, w1 = await login(auth, clock, "u1", ANDROID, ANDROID, WINDOWS)
    assert await states(auth, [a1, a2, w1]) == [0, 0, 0]
    clock.advance(1)
    issued = await auth.create_token("u1", ANDROID)
    assert issued.kicked == [KickedToken("u1", ANDROID, a1)]
    assert await states(auth, [a1, a2, issued.token, w1]) == [1506, 0, 0, 0]


async def test_policy_0_trims_every_platform(make_auth: MakeAuth, clock: FakeClock) -> None:
    """Policy 0: a lower maxNumOneEnd trims other platforms too at the next login."""
    w1, w2, w3 = await login(make_auth(policy=0, max_num_one_end=5), clock, "u1", WINDOWS, WINDOWS, WINDOWS)
    auth = make_auth(policy=0, max_num_one_end=1)
    [ios] = await login(auth, clock, "u1", IOS)
    assert await states(auth, [w1, w2, w3, ios]) == [1506, 1506, 0, 0]


async def test_policy_4_kicks_the_same_class(make_auth: MakeAuth, clock: FakeClock) -> None:
    """Policy 4: a login kicks every token of its platform class (iOS kicks Android) and leaves other classes."""
    auth = make_auth(policy=4)
    android, windows, web = await login(auth, clock, "u1", ANDROID, WINDOWS, WEB)
    [ios] = await login(auth, clock, "u1", IOS)
    assert await states(auth, [android, windows, web, ios]) == [1506, 0, 0, 0]
    [osx] = await login(auth, clock, "u1", OSX)
    assert await states(auth, [windows, osx, ios, web]) == [1506, 0, 0, 0]


async def test_policy_4_other_classes_keep_their_newest(make_auth: MakeAuth, clock: FakeClock) -> None:
    """Policy 4: each other class keeps one token, its newest; Pad platforms are one class."""
    w1, linux, w2, apad, ipad = await login(make_auth(policy=0), clock, "u1", WINDOWS, LINUX, WINDOWS, APAD, IPAD)
    auth = make_auth(policy=4)
    clock.advance(1)
    issued = await auth.create_token("u1", ANDROID)
    assert sorted(issued.kicked, key=lambda k: k.token) == sorted(
        [KickedToken("u1", WINDOWS, w1), KickedToken("u1", LINUX, linux), KickedToken("u1", APAD, apad)],
        key=lambda k: k.token,
    )
    assert await states(auth, [w1, linux, w2, apad, ipad, issued.token]) == [1506, 1506, 0, 1506, 0, 0]


async def test_policy_5_pc_tokens_coexist(make_auth: MakeAuth, clock: FakeClock) -> None:
    """Policy 5: PC logins never kick PC tokens, even on the same platform."""
    auth = make_auth(policy=5)
    issued = await login(auth, clock, "u1", WINDOWS, WINDOWS, OSX, LINUX)
    assert await states(auth, issued) == [0, 0, 0, 0]


async def test_policy_5_non_pc_login_leaves_only_itself_outside_pc(make_auth: MakeAuth, clock: FakeClock) -> None:
    """Policy 5: a non-PC login kicks every other non-PC token (any class) and keeps the PC ones."""
    windows, ios, web, harmony = await login(make_auth(policy=0), clock, "u1", WINDOWS, IOS, WEB, HARMONY)
    auth = make_auth(policy=5)
    [android] = await login(auth, clock, "u1", ANDROID)
    assert await states(auth, [windows, ios, web, harmony, android]) == [0, 1506, 1506, 1506, 0]


async def test_policy_5_pc_login_keeps_newest_android(make_auth: MakeAuth, clock: FakeClock) -> None:
    """Policy 5: a PC login keeps one non-PC token, Android's newest when there is one, even if others are newer."""
    a1, a2, ios, web = await login(make_auth(policy=0), clock, "u1", ANDROID, ANDROID, IOS, WEB)
    auth = make_auth(policy=5)
    [windows] = await login(auth, clock, "u1", WINDOWS)
    assert await states(auth, [a1, a2, ios, web, windows]) == [1506, 0, 1506, 1506, 0]


async def test_policy_5_pc_login_without_android(make_auth: MakeAuth, clock: FakeClock) -> None:
    """Policy 5: without Android, a PC login keeps the newest non-PC token."""
    ios, web, ipad = await login(make_auth(policy=0), clock, "u1", IOS, WEB, IPAD)
    auth = make_auth(policy=5)
    [linux] = await login(auth, clock, "u1", LINUX)
    assert await states(auth, [ios, web, ipad, linux]) == [1506, 1506, 0, 0]


@pytest.mark.parametrize("policy", [0, 1, 4, 5])
async def test_admin_platform_is_outside_every_policy(make_auth: MakeAuth, clock: FakeClock, policy: int) -> None:
    """No user-platform login kicks an admin token, whatever the policy."""
    auth = make_auth(policy=policy, max_num_one_end=1)
    admin_token = (await auth.get_admin_token(SECRET, ADMIN)).token
    await login(auth, clock, ADMIN, WINDOWS, ANDROID, WEB, ANDROID)
    assert await state_of(auth, admin_token) == 0


async def test_login_prunes_dead_tokens(auth: AuthService, tokens: MemoryTokenStore, clock: FakeClock) -> None:
    """A login deletes the user's kicked, unknown-state, unparsable and expired tokens from every platform."""
    [kicked] = await login(auth, clock, "u1", ANDROID)
    await login(auth, clock, "u1", ANDROID)
    expired = forge(claims_at(clock, exp=clock.now_s() + 5))
    await tokens.set_tokens("u1", "Web", {"garbage": NORMAL, expired: NORMAL}, 3600)
    await tokens.set_tokens("u1", "IOS", {forge(claims_at(clock, platform_id=IOS)): 3}, 3600)
    clock.advance(10)
    [windows] = await login(auth, clock, "u1", WINDOWS)
    left = await tokens.get_user_tokens("u1")
    assert set(left) == {"Android", "Windows"}
    assert kicked not in left["Android"]
    assert left["Windows"] == {windows: NORMAL}
    assert await state_of(auth, kicked) == 1507


class YieldingTokenStore(MemoryTokenStore):
    """A memory store that lets other coroutines run inside every call, as a networked store does."""

    async def get_user_tokens(self, user_id: str) -> dict[str, dict[str, int]]:
        await asyncio.sleep(0)
        return await super().get_user_tokens(user_id)

    async def set_tokens(self, user_id: str, platform_name: str, states: dict[str, int], ttl_s: int) -> None:
        await asyncio.sleep(0)
        await super().set_tokens(user_id, platform_name, states, ttl_s)


async def test_concurrent_logins_of_one_user_are_serialised(make_auth: MakeAuth, clock: FakeClock) -> None:
    """Two simultaneous logins in one class under policy 4 leave exactly one of them valid."""
    auth = make_auth(policy=4, store=YieldingTokenStore(clock))
    issued = await asyncio.gather(auth.create_token("u1", ANDROID), auth.create_token("u1", IOS))
    assert sorted(await states(auth, [i.token for i in issued])) == [0, 1506]


# ---- force_logout and kick_tokens --------------------------------------------------------------------------


async def test_force_logout(make_auth: MakeAuth, clock: FakeClock) -> None:
    """force_logout kicks every token of that user's platform (1506 on next use) and returns them."""
    auth = make_auth(policy=0)
    w1, w2, ios = await login(auth, clock, "u1", WINDOWS, WINDOWS, IOS)
    kicked = await auth.force_logout(ADMIN_CALLER, "u1", WINDOWS)
    assert sorted(k.token for k in kicked) == sorted([w1, w2])
    assert {(k.user_id, k.platform_id) for k in kicked} == {("u1", WINDOWS)}
    assert await states(auth, [w1, w2, ios]) == [1506, 1506, 0]


async def test_force_logout_admin_platform(auth: AuthService) -> None:
    """The Admin platform (10) can be logged out too."""
    token = (await auth.get_admin_token(SECRET, ADMIN)).token
    assert await auth.force_logout(ADMIN_CALLER, ADMIN, ADMIN_PLATFORM) == [KickedToken(ADMIN, 10, token)]
    assert await state_of(auth, token) == 1506


async def test_force_logout_without_tokens(auth: AuthService) -> None:
    """Logging out a platform without tokens succeeds and kicks nothing."""
    assert await auth.force_logout(ADMIN_CALLER, "u1", WEB) == []


async def test_force_logout_needs_admin(auth: AuthService, clock: FakeClock) -> None:
    """A caller who is not an imAdmin gets 1002, even for its own tokens."""
    [own] = await login(auth, clock, "u1", ANDROID)
    await expect(1002, auth.force_logout(USER_CALLER, "u1", ANDROID))
    assert await state_of(auth, own) == 0


@pytest.mark.parametrize(("user_id", "platform_id"), [("", ANDROID), ("u1", 0), ("u1", HARMONY)])
async def test_force_logout_validates_arguments(auth: AuthService, user_id: str, platform_id: int) -> None:
    """An empty userID or a platformID outside 1..10 (HarmonyOS included, as OpenIM) is 1001."""
    await expect(1001, auth.force_logout(ADMIN_CALLER, user_id, platform_id))


async def test_kick_tokens(auth: AuthService, clock: FakeClock) -> None:
    """kick_tokens kicks each verifiable token in its own user's platform and skips the rest."""
    u1_ios, u2_web = (await login(auth, clock, "u1", IOS))[0], (await login(auth, clock, "u2", WEB))[0]
    [u1_web] = await login(auth, clock, "u1", WEB)
    kicked = await auth.kick_tokens([u1_ios, "garbage", u2_web])
    assert kicked == [KickedToken("u1", IOS, u1_ios), KickedToken("u2", WEB, u2_web)]
    assert await states(auth, [u1_ios, u2_web, u1_web]) == [1506, 1506, 0]
