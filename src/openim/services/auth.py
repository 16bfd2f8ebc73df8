"""Auth: issue and parse OpenIM JWTs, keep their server-side state, apply the multi-login policy, force logouts.

Owns docs/protocol/rest.md §3: the token format (HS256 over the shared `secret`, claims `UserID`, `PlatformID`,
`exp`, `iat`), the token states kept in `infra.tokens` (0 normal, 2 kicked), the admin-token grace period and
the `multiLogin` policies 0, 1, 4, 5. Facts come from OpenIM's `internal/rpc/auth/auth.go`,
`pkg/common/storage/controller/auth.go` and tools `tokenverify/jwt_token.go` (golang-jwt v4.5.2 underneath).
Also defines `Caller`, the authenticated identity every other service receives. No HTTP, no SQL; time comes from
the injected clock, both when a token is signed and when it is verified.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import math
import re
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from openim.infra.bus import Bus, Kick
from openim.infra.clock import Clock
from openim.infra.tokens import TokenStore
from openim.protocol import gojson
from openim.protocol.constants import (
    ADMIN_PLATFORM_ID,
    PLATFORM_CLASS,
    PLATFORM_NAMES,
    AppManagerLevel,
    MultiLoginPolicy,
    TokenState,
    platform_name,
)
from openim.protocol.errors import (
    ArgsError,
    NoPermissionError,
    RecordNotFoundError,
    TokenError,
    TokenExpiredError,
    TokenKickedError,
    TokenMalformedError,
    TokenNotExistError,
    TokenNotValidYetError,
    TokenUnknownError,
)
from openim.storage import Storage

__all__ = ["AuthService", "Caller", "IssuedToken", "KickedToken", "TokenClaims"]

ADMIN_TOKEN_GRACE_S = 5 * 60  # a replaced admin token stays usable this long (OpenIM: DeleteAndSetTemporary)
ISSUED_AT_SKEW_S = 5  # OpenIM signs iat = now - 5 s (tokenverify.secondBefore)
_HMAC_ALGS = ("HS256", "HS384", "HS512")  # golang-jwt verifies any HMAC alg with the []byte secret
_OTHER_GO_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_INT64 = range(-(2**63), 2**63)


@dataclass(frozen=True)
class Caller:
    """Who is asking: the token's user and platform, and whether that user is an imAdmin (docs/protocol/rest.md §4)."""

    user_id: str
    platform_id: int
    is_admin: bool = False

    @classmethod
    def of(cls, user_id: str, platform_id: int, *, admin_user_ids: list[str]) -> Caller:
        """The caller for a verified token; admin iff the user is listed in `imAdminUser.userIDs`."""
        return cls(user_id, platform_id, is_admin=user_id in admin_user_ids)

    def require_admin(self) -> None:
        """Raise NoPermissionError (1002) unless the caller is an imAdmin."""
        if not self.is_admin:
            raise NoPermissionError(f"user {self.user_id} is not admin userID")

    def require_self_or_admin(self, user_id: str) -> None:
        """Raise NoPermissionError (1002) unless the caller is `user_id` itself or an imAdmin (OpenIM CheckAccess)."""
        if self.user_id != user_id and not self.is_admin:
            raise NoPermissionError(f"user {self.user_id} may not act for user {user_id}: only that user or an admin")


@dataclass(frozen=True)
class KickedToken:
    """A token that just lost its validity: the gateway closes connections that logged in with it."""

    user_id: str
    platform_id: int
    token: str


@dataclass(frozen=True)
class IssuedToken:
    """A new token, its lifetime in seconds (a duration, as OpenIM's expireTimeSeconds), and whom it kicked."""

    token: str
    expire_time_seconds: int
    kicked: list[KickedToken] = field(default_factory=list)


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: user, platform and the absolute expiry in Unix seconds (0 if it has no `exp`)."""

    user_id: str
    platform_id: int
    expire_at_s: int


_Signed = tuple[str, int, float | None, float | None, float | None]  # userID, platformID, exp, nbf, iat
_SIGNED_MAX = 100_000  # tokens whose signature is known good, kept for their time checks only


class AuthService:
    """Tokens of one deployment: signed with `secret`, valid `expire_s` seconds, states in `tokens`."""

    def __init__(
        self,
        tokens: TokenStore,
        storage: Storage,
        clock: Clock,
        *,
        secret: str,
        expire_s: int,
        admin_user_ids: list[str],
        multi_login_policy: int,
        max_num_one_end: int,
        bus: Bus | None = None,
    ) -> None:
        if multi_login_policy not in set(MultiLoginPolicy):
            raise ValueError(f"unknown multiLogin policy {multi_login_policy}")
        if expire_s <= 0 or max_num_one_end < 1:
            raise ValueError("expire_s and max_num_one_end must be positive")
        self._tokens = tokens
        self._storage = storage
        self._clock = clock
        self._secret = secret.encode()
        self._expire_s = expire_s
        self._admin_user_ids = list(admin_user_ids)
        self._policy = MultiLoginPolicy(multi_login_policy)
        self._max_num_one_end = max_num_one_end
        self._bus = bus
        self._jws = jwt.PyJWS()
        # One token change at a time per user in this process (OpenIM does not serialise them at all).
        self._user_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._signed: OrderedDict[str, _Signed] = OrderedDict()  # token → what its signed part says (see _verify)

    def reconfigure(self, *, expire_s: int, multi_login_policy: int, max_num_one_end: int) -> None:
        """Apply a new token lifetime and multi-login policy to the tokens issued from now on (config reload)."""
        if multi_login_policy not in set(MultiLoginPolicy) or expire_s <= 0 or max_num_one_end < 1:
            raise ValueError("invalid token policy")
        self._expire_s = expire_s
        self._policy = MultiLoginPolicy(multi_login_policy)
        self._max_num_one_end = max_num_one_end

    # ---- issuing ------------------------------------------------------------------------------------------

    async def get_admin_token(self, secret: str, user_id: str) -> IssuedToken:
        """A token on the Admin platform (10) for an imAdmin who knows the secret; earlier admin tokens get 5 min."""
        if not user_id:
            raise ArgsError("userID is empty")
        if not hmac.compare_digest(secret.encode(), self._secret):
            raise NoPermissionError("secret invalid")
        if user_id not in self._admin_user_ids:
            raise ArgsError(f"userID {user_id} is not in imAdminUser.userIDs")
        if await self._storage.user.get_user(user_id) is None:
            raise RecordNotFoundError(f"user {user_id} not found")
        return await self.create_token(user_id, ADMIN_PLATFORM_ID)

    async def get_user_token(self, caller: Caller, user_id: str, platform_id: int) -> IssuedToken:
        """A token for an ordinary user on a client platform, asked for by an imAdmin (the app server)."""
        if not user_id:
            raise ArgsError("userID is empty")
        if platform_id not in PLATFORM_NAMES:
            raise ArgsError(f"platformID {platform_id} is unknown")
        caller.require_admin()
        if platform_id == ADMIN_PLATFORM_ID:
            raise NoPermissionError("platformID invalid. platformID must not be adminPlatformID")
        if user_id in self._admin_user_ids:
            raise NoPermissionError("don't get Admin token")
        user = await self._storage.user.get_user(user_id)
        if user is None:
            raise RecordNotFoundError(f"user {user_id} not found")
        if user.app_manager_level >= AppManagerLevel.APP_NOTIFICATION_ADMIN:
            raise ArgsError("app account can`t get token")
        return await self.create_token(user_id, platform_id)

    async def create_token(self, user_id: str, platform_id: int) -> IssuedToken:
        """Sign a token and record it as normal, after pruning dead tokens and applying the multi-login policy.

        The caller has already decided that `user_id` may have a token on `platform_id`. Every stored token of the user
        that no longer verifies, or whose state is not normal, is deleted; the policy (docs/protocol/rest.md §3) then
        marks some live ones kicked, oldest first; Admin-platform tokens are outside the policy, but a new admin token
        moves the older ones to the 5-minute grace keys.
        """
        if platform_id not in PLATFORM_NAMES:
            raise ArgsError(f"platformID {platform_id} is unknown")
        now_s = self._clock.now_s()
        token = self._sign(user_id, platform_id, now_s)
        async with self._lock(user_id):
            stored = await self._tokens.get_user_tokens(user_id)
            dead: dict[str, list[str]] = {}
            live: _Live = {}
            for name, states in stored.items():
                pid = _PLATFORM_IDS[name]
                for old, state in states.items():
                    if old == token:  # same user, platform and second: the very token we are issuing
                        continue
                    try:
                        _, issued_at = self._verify(old)
                    except TokenError:
                        dead.setdefault(name, []).append(old)
                        continue
                    if state != TokenState.NORMAL:
                        dead.setdefault(name, []).append(old)
                    else:
                        live.setdefault(pid, []).append((issued_at, old))
            admin_tokens = [t for _, t in live.pop(ADMIN_PLATFORM_ID, [])]
            for ts in live.values():
                ts.sort(key=lambda p: p[0])  # stable: equal iat keep the store's order
            to_kick = _plan_kicks(self._policy, live, platform_id, self._max_num_one_end)

            for name, old_tokens in dead.items():
                await self._tokens.delete_tokens(user_id, name, old_tokens)
            kicked: list[KickedToken] = []
            for pid, old_tokens in to_kick.items():
                states = dict.fromkeys(old_tokens, int(TokenState.KICKED))
                await self._tokens.set_tokens(user_id, PLATFORM_NAMES[pid], states, self._expire_s)
                kicked.extend(KickedToken(user_id, pid, t) for t in old_tokens)
            if platform_id == ADMIN_PLATFORM_ID and admin_tokens:
                admin_name = PLATFORM_NAMES[ADMIN_PLATFORM_ID]
                for old in admin_tokens:
                    await self._tokens.add_temporary(user_id, admin_name, old, ADMIN_TOKEN_GRACE_S)
                await self._tokens.delete_tokens(user_id, admin_name, admin_tokens)
            await self._tokens.set_tokens(
                user_id, PLATFORM_NAMES[platform_id], {token: int(TokenState.NORMAL)}, self._expire_s
            )
        return IssuedToken(token, self._expire_s, kicked)

    # ---- verifying ----------------------------------------------------------------------------------------

    async def parse_token(self, token: str) -> TokenClaims:
        """The claims of a token that verifies (1501/1503/1504/1505) and is live in the token state (1505-1507)."""
        if not token:
            raise ArgsError("token is empty")
        claims, _ = self._verify(token)
        states = await self._tokens.get_platform_tokens(claims.user_id, platform_name(claims.platform_id))
        state = states.get(token)
        if state == TokenState.NORMAL:
            return claims
        if state == TokenState.KICKED:
            raise TokenKickedError()
        if state is not None:
            raise TokenUnknownError(f"token state {state}")
        if claims.user_id in self._admin_user_ids and await self._tokens.has_temporary(
            claims.user_id, platform_name(claims.platform_id), token
        ):
            return claims
        raise TokenNotExistError()

    async def authenticate(self, token: str) -> Caller:
        """The caller a request's token stands for; raises the token errors of `parse_token`."""
        claims = await self.parse_token(token)
        return Caller.of(claims.user_id, claims.platform_id, admin_user_ids=self._admin_user_ids)

    # ---- revoking -----------------------------------------------------------------------------------------

    async def force_logout(self, caller: Caller, user_id: str, platform_id: int) -> list[KickedToken]:
        """Mark every token of (user, platform) kicked, for an imAdmin; the gateway closes what is returned."""
        if not user_id:
            raise ArgsError("userID is empty")
        if not 1 <= platform_id <= ADMIN_PLATFORM_ID:
            raise ArgsError("platformID is invalidate")
        caller.require_admin()
        name = PLATFORM_NAMES[platform_id]
        async with self._lock(user_id):
            states = await self._tokens.get_platform_tokens(user_id, name)
            if states:
                kicked_states = dict.fromkeys(states, int(TokenState.KICKED))
                await self._tokens.set_tokens(user_id, name, kicked_states, self._expire_s)
        if states and self._bus is not None:
            # Every gateway node closes the live connections that logged in with these tokens (2002, then close).
            self._bus.publish("kick", Kick(user_id, platform_id, tuple(states)))
        return [KickedToken(user_id, platform_id, t) for t in states]

    async def kick_tokens(self, tokens: list[str]) -> list[KickedToken]:
        """Mark these tokens kicked wherever they belong; tokens that no longer verify are skipped (OpenIM KickTokens).

        Internal: the gateway calls it when its own multi-login check closes connections. No caller check.
        """
        by_key: dict[tuple[str, int], list[str]] = {}
        for token in tokens:
            try:
                claims, _ = self._verify(token)
            except TokenError:
                continue
            if claims.platform_id not in PLATFORM_NAMES:  # no state is kept for it: it can never be accepted
                continue
            by_key.setdefault((claims.user_id, claims.platform_id), []).append(token)
        kicked: list[KickedToken] = []
        for (user_id, pid), own in by_key.items():
            states = dict.fromkeys(own, int(TokenState.KICKED))
            await self._tokens.set_tokens(user_id, platform_name(pid), states, self._expire_s)
            kicked.extend(KickedToken(user_id, pid, t) for t in own)
        return kicked

    # ---- JWT ----------------------------------------------------------------------------------------------

    def _sign(self, user_id: str, platform_id: int, now_s: int) -> str:
        # Claims in the order Go's encoding/json writes tools' Claims struct, so the bytes match OpenIM's.
        exp, iat = now_s + self._expire_s, now_s - ISSUED_AT_SKEW_S
        payload = {"UserID": user_id, "PlatformID": platform_id, "exp": exp, "iat": iat}
        with _short_secrets_allowed():
            return self._jws.encode(_go_json(payload), self._secret, algorithm="HS256")

    def _verify(self, token: str) -> tuple[TokenClaims, float]:
        """Verify as golang-jwt v4 + OpenIM's mapping do, with our clock; return the claims and `iat` (0 if none).

        Order as golang-jwt's ParseWithClaims: segments, header and claims JSON (1503) → alg → signature (1505)
        → time claims; then OpenIM maps malformed 1503 > expired 1501 > not valid yet 1504 > anything else 1505.
        Everything before the time claims depends on the token and the secret alone, so a token that passed it is
        remembered (`_signed`, bounded) and only its times are checked again: every REST request and connection
        verified the same tokens' signatures over and over (a sixth of a get_users_info in the profile).
        """
        signed = self._signed.get(token)
        if signed is None:
            signed = self._verify_signed(token)
            if len(self._signed) >= _SIGNED_MAX:
                self._signed.popitem(last=False)  # the oldest first (O(1); a dict's first key is found by a scan)
            self._signed[token] = signed
        user_id, platform_id, exp, nbf, iat = signed
        now = self._clock.now_ms() / 1000
        if exp is not None and not now < exp:
            raise TokenExpiredError(f"token is expired by {now - exp:.3f}s")
        if nbf is not None and now < nbf:
            raise TokenNotValidYetError("token is not valid yet")
        if iat is not None and now < iat:
            raise TokenUnknownError(msg="token used before issued")
        expire_at_s = math.floor(exp) if exp is not None else 0
        return TokenClaims(user_id, platform_id, expire_at_s), iat or 0.0

    def _verify_signed(self, token: str) -> _Signed:
        """The checks of `_verify` that do not depend on time: segments, claims' types, alg, signature."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenMalformedError("token contains an invalid number of segments")
        header = _json_segment(parts[0])
        payload = _json_segment(parts[1])
        user_id = _claim(payload, "UserID", str, "")
        platform_id = _claim(payload, "PlatformID", int, 0)
        if platform_id not in _INT64:
            raise TokenMalformedError("PlatformID out of range")
        exp, nbf, iat = (_claim(payload, key, float, None) for key in ("exp", "nbf", "iat"))
        for key in ("iss", "sub", "jti"):
            _claim(payload, key, str, "")

        alg = header.get("alg")
        if not isinstance(alg, str):
            raise TokenUnknownError(msg="signing method (alg) is unspecified.")
        if alg not in _HMAC_ALGS:
            if alg == "none":
                raise TokenUnknownError(msg="'none' signature type is not allowed")
            raise TokenUnknownError(
                msg="key is of invalid type" if alg in _OTHER_GO_ALGS else "signing method (alg) is unavailable."
            )
        try:
            with _short_secrets_allowed():
                self._jws.decode_complete(token, self._secret, algorithms=[alg])
        except jwt.InvalidSignatureError:
            raise TokenUnknownError(msg="signature is invalid") from None
        except jwt.PyJWTError as exc:
            raise TokenUnknownError(msg=str(exc)) from None
        return user_id, platform_id, exp, nbf, iat

    def _lock(self, user_id: str) -> asyncio.Lock:
        lock = self._user_locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._user_locks[user_id] = lock
        return lock


_PLATFORM_IDS = {name: pid for pid, name in PLATFORM_NAMES.items()}
_ANDROID = _PLATFORM_IDS["Android"]
_PC = PLATFORM_CLASS[_PLATFORM_IDS["Windows"]]

_Live = dict[int, list[tuple[float, str]]]  # platform → (iat, token) of its normal tokens, oldest first


def _plan_kicks(policy: MultiLoginPolicy, live: _Live, platform_id: int, max_num_one_end: int) -> dict[int, list[str]]:
    """Which live non-admin tokens a new token on `platform_id` kicks, per platform (docs/protocol/rest.md §3).

    Where OpenIM kicks or keeps "the last token of whichever platform Go's map iteration met first", we kick
    the oldest and keep the newest (by `iat`), so the outcome does not depend on hash order.
    """
    kick: dict[int, list[str]] = {}
    kept: set[str] = set()  # tokens a class-based policy lets stay
    if policy == MultiLoginPolicy.DEFAULT_NOT_KICK:
        for pid, ts in live.items():
            count = len(ts) + (pid == platform_id)
            if count > max_num_one_end:
                kick[pid] = [t for _, t in ts[: count - max_num_one_end]]
    elif policy == MultiLoginPolicy.ALL_LOGIN_BUT_SAME_TERM_KICK:
        for pid, ts in live.items():
            kick[pid] = [t for _, t in (ts if pid == platform_id else ts[:-1])]
    elif policy == MultiLoginPolicy.ALL_LOGIN_BUT_SAME_CLASS_KICK:
        new_class = PLATFORM_CLASS[platform_id]
        newest: dict[str, tuple[float, str]] = {}  # class → its newest token, the one that stays
        for pid, ts in live.items():
            cls = PLATFORM_CLASS[pid]
            if cls != new_class and (cls not in newest or ts[-1][0] > newest[cls][0]):
                newest[cls] = ts[-1]
        kept.update(t for _, t in newest.values())
        kick = {pid: [t for _, t in ts if t not in kept] for pid, ts in live.items()}
    else:  # PC_AND_OTHER: PC tokens always stay; outside PC one survives a PC login (Android's if any), none else
        others = {pid: ts for pid, ts in live.items() if PLATFORM_CLASS[pid] != _PC}
        if PLATFORM_CLASS[platform_id] == _PC and others:
            pool = others[_ANDROID] if _ANDROID in others else [p for ts in others.values() for p in ts]
            kept.add(max(pool, key=lambda p: p[0])[1])
        kick = {pid: [t for _, t in ts if t not in kept] for pid, ts in others.items()}
    return {pid: ts for pid, ts in kick.items() if ts}


_go_json = gojson.dumps  # JSON bytes as Go's encoding/json writes them


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_segment(segment: str) -> dict[str, Any]:
    """A JWT header or claims segment as golang-jwt reads it (raw base64url, a JSON object or null), else 1503."""
    segment = segment.replace("\r", "").replace("\n", "")
    if not _SEGMENT.fullmatch(segment):
        raise TokenMalformedError("illegal base64 data")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw, parse_constant=_reject_constant)
    except (binascii.Error, ValueError):
        raise TokenMalformedError("token segment is not base64url JSON") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TokenMalformedError("token segment is not a JSON object")
    return value


def _claim(payload: dict[str, Any], key: str, kind: type[Any], default: Any) -> Any:
    """One claim checked against the Go field type it decodes into (null = unset); a mismatch is 1503."""
    value = payload.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else kind):
        raise TokenMalformedError(f"claim {key} has the wrong type")
    return value


@contextlib.contextmanager
def _short_secrets_allowed() -> Iterator[None]:
    # OpenIM's default secret is 9 bytes; PyJWT warns below 32. The length is for `openim config check` to judge.
    # catch_warnings is process-global: fine here, as it is entered and left without awaiting in between.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        yield
