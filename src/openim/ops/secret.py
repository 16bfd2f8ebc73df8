"""The secret's rules, one place for `openim start`, `openim config check` and `openim doctor`.

Whoever knows the secret gets an admin token from /auth/get_admin_token, and every token is HMAC-SHA256 signed
with it. OpenIM's published default `openIM123`, or any short secret (guessable offline from one token a client
holds), hands the server to whoever reaches the REST port. So with `env: production` `openim start` refuses them
before it binds a port; in development it starts, but warns when the default meets an API listening beyond
loopback (a developer's server on 127.0.0.1 with the default is fine).
"""

from __future__ import annotations

import ipaddress

from openim.settings import Settings

__all__ = [
    "DEFAULT_SECRET",
    "HOW_TO_SET",
    "MIN_SECRET_LENGTH",
    "WeakSecret",
    "exposed_default_warning",
    "is_loopback",
    "production_refusal",
    "weakness",
]

DEFAULT_SECRET = "openIM123"
MIN_SECRET_LENGTH = 16
HOW_TO_SET = (
    f"set a random secret of at least {MIN_SECRET_LENGTH} characters in the config key `secret` or in "
    "$OPENIM_SECRET, e.g. OPENIM_SECRET=$(openssl rand -hex 32) "
    "or python3 -c 'import secrets; print(secrets.token_hex(32))'"
)


class WeakSecret(Exception):
    """`openim start` in production with the default or a short secret; the message says how to set one."""


def weakness(secret: str) -> str | None:
    """Why production must not run with this secret ("is …", said of the secret), or None when it may."""
    if secret == DEFAULT_SECRET:
        return (
            f"is OpenIM's published default {DEFAULT_SECRET}: anyone who can reach the REST API "
            "can get an admin token from /auth/get_admin_token"
        )
    if len(secret) < MIN_SECRET_LENGTH:
        return (
            f"is {len(secret)} characters, fewer than {MIN_SECRET_LENGTH}: tokens are HMAC-SHA256 "
            "signed with it, so it can be guessed offline from any token a client holds"
        )
    return None


def production_refusal(settings: Settings) -> str | None:
    """The message `openim start` exits with: None outside production or when the secret is strong enough."""
    if settings.env != "production":
        return None
    why = weakness(settings.secret.get_secret_value())
    if why is None:
        return None
    return (
        f"refusing to start with env: production: the secret {why}. To fix: {HOW_TO_SET}. "
        "Tokens signed with the old secret stop working; clients log in again."
    )


def exposed_default_warning(settings: Settings, roles: tuple[str, ...]) -> str | None:
    """In development, the default secret on a REST API that other machines can reach; else None."""
    if settings.env != "development" or "api" not in roles:
        return None
    if settings.secret.get_secret_value() != DEFAULT_SECRET or is_loopback(settings.api.listenIP):
        return None
    ports = ", ".join(str(p) for p in settings.api.ports)
    return (
        f"the secret is OpenIM's published default {DEFAULT_SECRET} and the REST API listens on "
        f"{settings.api.listenIP or '*'} port {ports} (api.listenIP), beyond this machine: anyone who can reach it "
        f"can get an admin token from /auth/get_admin_token. {HOW_TO_SET[0].upper()}{HOW_TO_SET[1:]}; or set "
        "api.listenIP: 127.0.0.1 while developing. With env: production (OPENIM_ENV=production) openim start "
        "refuses the default."
    )


def is_loopback(host: str) -> bool:
    """Whether only this machine reaches `host`: 127.0.0.0/8, ::1, localhost. A wildcard or other name is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
