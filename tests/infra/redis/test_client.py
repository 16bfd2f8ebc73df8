"""`connect` and `mask_url`: a client that answered PING and returns bytes, or an error that hides the password."""

from __future__ import annotations

import socket

import pytest

from openim.infra.redis import connect, mask_url


@pytest.mark.redis
async def test_connect_returns_a_client_that_keeps_bytes(redis_url: str) -> None:
    """The client has answered PING and does not decode: values come back as bytes."""
    client = await connect(redis_url)
    try:
        await client.set("k", b"\xff\x00")
        assert await client.get("k") == b"\xff\x00"
    finally:
        await client.aclose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_redis_is_a_connection_error_naming_the_masked_url() -> None:
    """Nothing listening: ConnectionError with the URL, its password masked, and the cause."""
    url = f"redis://user:s3cret@127.0.0.1:{_free_port()}/15"
    with pytest.raises(ConnectionError) as caught:
        await connect(url)
    message = str(caught.value)
    assert "s3cret" not in message
    assert f"redis://user:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in message
    assert "cannot reach Redis" in message


async def test_bad_url_is_a_value_error_without_the_password() -> None:
    """A URL redis-py cannot parse raises ValueError that names it masked."""
    with pytest.raises(ValueError) as caught:
        await connect("http://:s3cret@127.0.0.1:6379/15")
    assert "s3cret" not in str(caught.value)
    assert "http://:***@127.0.0.1:6379/15" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/15"),
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://alice:p@ss@host/1", "rediss://alice:***@host/1"),
        ("redis://alice@host/1", "redis://alice@host/1"),
        ("unix:///run/redis.sock?db=2&password=pw", "unix:///run/redis.sock?db=2&password=***"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    """Passwords in the user part and in a `password=` parameter are masked; everything else is kept."""
    assert mask_url(url) == masked
