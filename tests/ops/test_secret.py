"""Tests for openim.ops.secret: which secrets production refuses, and when development warns."""

from __future__ import annotations

from typing import Any

import pytest

from openim.ops.secret import DEFAULT_SECRET, exposed_default_warning, is_loopback, production_refusal, weakness
from openim.settings import Settings


def settings(**data: Any) -> Settings:
    return Settings.model_validate(data)


def test_weakness() -> None:
    """The default and anything under 16 characters are weak; 16 characters that are not the default are not."""
    why = weakness(DEFAULT_SECRET)
    assert why is not None and why.startswith("is OpenIM's published default openIM123")
    assert weakness("x" * 15) == (
        "is 15 characters, fewer than 16: tokens are HMAC-SHA256 signed with it, so it can be guessed offline "
        "from any token a client holds"
    )
    assert weakness("x" * 16) is None


def test_production_refusal_only_in_production() -> None:
    """Production refuses a weak secret with the how-to; development never refuses; a good secret passes."""
    refusal = production_refusal(settings(env="production"))
    assert refusal is not None and refusal.startswith("refusing to start with env: production: the secret is")
    assert "`secret`" in refusal and "$OPENIM_SECRET" in refusal and "openssl rand -hex 32" in refusal
    assert production_refusal(settings(env="production", secret="short")) is not None
    assert production_refusal(settings(env="production", secret="a" * 32)) is None
    assert production_refusal(settings(env="development")) is None


@pytest.mark.parametrize(
    ("host", "warns"),
    [
        ("0.0.0.0", True),
        ("::", True),
        ("", True),
        ("192.168.1.20", True),
        ("10.0.0.1", True),
        ("fe80::1", True),
        ("example.org", True),
        ("127.0.0.1", False),
        ("127.0.0.2", False),
        ("::1", False),
        ("localhost", False),
    ],
)
def test_development_warns_beyond_loopback(host: str, warns: bool) -> None:
    """The default secret warns when the REST API listens on a wildcard or non-loopback address only."""
    warning = exposed_default_warning(settings(api={"listenIP": host}), ("api", "msggateway"))
    assert (warning is not None) is warns
    assert is_loopback(host) is not warns


def test_development_warning_needs_the_default_and_the_api() -> None:
    """No warning with another secret, without the api role, or in production (which refuses instead)."""
    exposed = {"api": {"listenIP": "0.0.0.0"}}
    assert exposed_default_warning(settings(**exposed), ("api",)) is not None
    assert exposed_default_warning(settings(**exposed, secret="s"), ("api",)) is None
    assert exposed_default_warning(settings(**exposed), ("msggateway", "msgtransfer", "admin")) is None
    assert exposed_default_warning(settings(**exposed, env="production"), ("api",)) is None
