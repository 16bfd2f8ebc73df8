"""/auth routes over HTTP: admin and user tokens, parse_token, force_logout, and who may call them."""

from __future__ import annotations

import jwt
from tests.api.conftest import Api

from openim.infra.clock import FakeClock


async def test_get_admin_token_returns_a_90_day_token(api: Api) -> None:
    """The default admin gets a token valid 90 days, expireTimeSeconds being the duration."""
    data = await api.ok("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})
    assert data["expireTimeSeconds"] == 90 * 86400
    claims = jwt.decode(data["token"], options={"verify_signature": False})
    assert claims["UserID"] == "imAdmin" and claims["PlatformID"] == 10


async def test_wrong_secret_is_1002(api: Api) -> None:
    """A wrong secret is NoPermissionError."""
    result = await api.post("/auth/get_admin_token", {"secret": "nope", "userID": "imAdmin"})
    assert result["errCode"] == 1002


async def test_admin_token_for_a_non_admin_is_1001(api: Api) -> None:
    """Only userIDs listed in imAdminUser get admin tokens."""
    await api.register("alice")
    result = await api.post("/auth/get_admin_token", {"secret": "openIM123", "userID": "alice"})
    assert result["errCode"] == 1001


async def test_user_token_needs_an_admin_caller(api: Api) -> None:
    """A user's own token cannot mint tokens (1002); an admin's can."""
    await api.register("alice", "bob")
    alice = await api.user_token("alice")
    result = await api.post("/auth/get_user_token", {"userID": "bob", "platformID": 1}, token=alice)
    assert result["errCode"] == 1002


async def test_user_token_for_unknown_user_is_1004(api: Api) -> None:
    """Tokens are only issued to registered users."""
    admin = await api.admin_token()
    result = await api.post("/auth/get_user_token", {"userID": "ghost", "platformID": 1}, token=admin)
    assert result["errCode"] == 1004


async def test_parse_token_returns_user_platform_and_absolute_expiry(api: Api, clock: FakeClock) -> None:
    """parse_token needs no token header and reports the absolute expiry in seconds."""
    await api.register("alice")
    token = await api.user_token("alice", 2)
    data = await api.ok("/auth/parse_token", {"token": token})
    assert data == {"userID": "alice", "platformID": 2, "expireTimeSeconds": clock.now_s() + 90 * 86400}


async def test_new_login_on_same_platform_kicks_the_old_token(api: Api, clock: FakeClock) -> None:
    """Default multiLogin policy 1: a second token on the same platform makes the first one 1506."""
    await api.register("alice")
    first = await api.user_token("alice", 1)
    clock.advance(1)
    await api.user_token("alice", 1)
    result = await api.post("/user/get_users_info", {"userIDs": ["alice"]}, token=first)
    assert result["errCode"] == 1506


async def test_expired_token_is_1501(api: Api, clock: FakeClock) -> None:
    """After tokenPolicy.expire the token is TokenExpiredError."""
    await api.register("alice")
    token = await api.user_token("alice")
    clock.advance(90 * 86400 + 1)
    result = await api.post("/user/get_users_info", {"userIDs": ["alice"]}, token=token)
    assert result["errCode"] == 1501


async def test_force_logout_kicks_the_platform(api: Api) -> None:
    """force_logout (admin) makes the user's tokens on that platform TokenKickedError."""
    await api.register("alice")
    token = await api.user_token("alice", 5)
    admin = await api.admin_token()
    await api.ok("/auth/force_logout", {"userID": "alice", "platformID": 5}, token=admin)
    result = await api.post("/user/get_users_info", {"userIDs": ["alice"]}, token=token)
    assert result["errCode"] == 1506


async def test_force_logout_by_a_user_is_1002(api: Api) -> None:
    """Users cannot log each other out."""
    await api.register("alice", "bob")
    alice = await api.user_token("alice")
    result = await api.post("/auth/force_logout", {"userID": "bob", "platformID": 5}, token=alice)
    assert result["errCode"] == 1002


async def test_force_logout_rejects_bad_platform(api: Api) -> None:
    """platformID must be 1..10."""
    admin = await api.admin_token()
    result = await api.post("/auth/force_logout", {"userID": "imAdmin", "platformID": 0}, token=admin)
    assert result["errCode"] == 1001


async def test_token_signed_with_another_secret_is_1505(api: Api, clock: FakeClock) -> None:
    """A JWT with the right claims but another key is TokenUnknownError."""
    forged = jwt.encode(
        {"UserID": "imAdmin", "PlatformID": 10, "exp": clock.now_s() + 3600, "iat": clock.now_s()},
        "another-secret-of-at-least-32-bytes!",
        algorithm="HS256",
    )
    result = await api.post("/user/get_users_info", {"userIDs": ["imAdmin"]}, token=forged)
    assert result["errCode"] == 1505
