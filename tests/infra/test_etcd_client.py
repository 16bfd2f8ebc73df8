"""`EtcdClient` against real etcd: the calls' answers, failover across addresses, and authentication.

Authentication runs on a private etcd started here (its own ports and data under tmp_path, a 1 s token TTL) so
that enabling auth never touches the shared test etcd; it needs the `etcd` and `etcdctl` binaries
(scripts/test-tools installs Debian's etcd-server and etcd-client).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openim.infra.discovery import RegistryUnavailable
from openim.infra.etcd import EtcdClient, EtcdError
from openim.infra.etcd.client import prefix_end

pytestmark = pytest.mark.etcd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_prefix_end_selects_exactly_the_prefix() -> None:
    """range_end is the prefix with its last byte incremented (0xff bytes dropped first)."""
    assert prefix_end("/openim/") == b"/openim0"
    assert prefix_end("a\xff") == b"a\xc3\xc0"  # UTF-8 of ÿ is c3 bf: the bf byte is incremented
    assert prefix_end("") == b"\0"


async def test_lease_calls_and_prefix_range(etcd_url: str, etcd_root: str) -> None:
    """grant/put/get_prefix/keepalive/time_to_live/revoke answer as etcd means them; a gone lease reads 0 or -1."""
    client = EtcdClient([etcd_url])
    try:
        assert (await client.version())["etcdserver"].startswith("3.")
        lease = await client.grant(30)
        await client.put(f"/{etcd_root}/a", b"1", lease=lease)
        await client.put(f"/{etcd_root}/b", b"2")
        await client.put(f"/{etcd_root}0", b"outside")  # the next key after the prefix: not selected
        got = await client.get_prefix(f"/{etcd_root}/")
        assert [(kv.key, kv.value, kv.lease) for kv in got] == [
            (f"/{etcd_root}/a", b"1", lease),
            (f"/{etcd_root}/b", b"2", 0),
        ]
        assert await client.keepalive(lease) == 30
        assert 28 <= await client.time_to_live(lease) <= 30
        await client.revoke(lease)
        assert [kv.key for kv in await client.get_prefix(f"/{etcd_root}/")] == [f"/{etcd_root}/b"]
        assert await client.keepalive(lease) == 0
        assert await client.time_to_live(lease) == -1
        await client.revoke(lease)  # already gone: fine
        assert await client.delete_prefix(f"/{etcd_root}/") == 1
        await client.delete(f"/{etcd_root}0")
        assert await client.get_prefix(f"/{etcd_root}") == []
    finally:
        await client.close()


async def test_a_dead_address_is_skipped_for_the_next(etcd_url: str, etcd_root: str) -> None:
    """With the first address refusing connections, calls go to the next one, and stay there."""
    dead = f"127.0.0.1:{_free_port()}"
    client = EtcdClient([dead, etcd_url], timeout_s=2)
    try:
        await client.put(f"/{etcd_root}/k", b"v")
        assert client.endpoints[client._current] == etcd_url
        assert [kv.value for kv in await client.get_prefix(f"/{etcd_root}/")] == [b"v"]
    finally:
        await client.close()
    nobody = EtcdClient([dead], timeout_s=2)
    with pytest.raises(RegistryUnavailable, match=dead):
        await nobody.grant(5)
    await nobody.close()


# ---- authentication on a private etcd -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def private_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An etcd of this module's own with auth enabled: user openim (password s3cret) may use /openim-auth/."""
    if not (shutil.which("etcd") and shutil.which("etcdctl")):
        pytest.skip("etcd and etcdctl are not installed (Debian: etcd-server, etcd-client; scripts/test-tools)")
    data = tmp_path_factory.mktemp("etcd")
    client_port, peer_port = _free_port(), _free_port()
    client_url, peer_url = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    log = (data / "etcd.log").open("w")
    proc = subprocess.Popen(
        [
            "etcd", "--name", "auth-test", "--data-dir", str(data / "data"),
            "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"auth-test={peer_url}", "--auth-token-ttl", "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_healthy(client_url, proc, data / "etcd.log")
        ctl = ["etcdctl", "--endpoints", client_url]
        for args in (
            ["user", "add", "root:rootpw"],
            ["user", "add", "openim:s3cret"],
            ["role", "add", "openim"],
            ["role", "grant-permission", "openim", "--prefix=true", "readwrite", "/openim-auth/"],
            ["user", "grant-role", "openim", "openim"],
            ["auth", "enable"],
        ):
            subprocess.run([*ctl, *args], check=True, capture_output=True, timeout=10)
        yield client_url
    finally:
        proc.kill()
        proc.wait()
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            raise RuntimeError(f"etcd exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=0.5, trust_env=False).json().get("health") == "true":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    raise RuntimeError("etcd did not become healthy within 10 s")


async def test_username_and_password_authenticate(private_etcd: str) -> None:
    """With discovery.etcd.username/password the client authenticates and may use its prefix, nothing else."""
    client = EtcdClient([private_etcd], username="openim", password="s3cret")
    try:
        lease = await client.grant(10)
        await client.put("/openim-auth/api/x", b"1", lease=lease)
        assert [kv.key for kv in await client.get_prefix("/openim-auth/")] == ["/openim-auth/api/x"]
        with pytest.raises(EtcdError, match="permission denied"):
            await client.put("/elsewhere", b"1")
    finally:
        await client.close()


async def test_an_expired_token_is_renewed(private_etcd: str) -> None:
    """etcd's token expires (1 s here, 5 min by default); the next call authenticates again by itself."""
    client = EtcdClient([private_etcd], username="openim", password="s3cret")
    try:
        await client.put("/openim-auth/renew", b"1")
        first = client._token
        await asyncio.sleep(2.5)
        await client.put("/openim-auth/renew", b"2")
        assert client._token and client._token != first
    finally:
        await client.close()


async def test_wrong_credentials_and_none_are_refused(private_etcd: str) -> None:
    """A wrong password, or no user on an etcd that requires one, is an EtcdError saying so."""
    wrong = EtcdClient([private_etcd], username="openim", password="nope")
    anonymous = EtcdClient([private_etcd])
    try:
        with pytest.raises(EtcdError, match="authentication failed"):
            await wrong.grant(5)
        with pytest.raises(EtcdError, match="user name is empty"):
            await anonymous.get_prefix("/openim-auth/")
    finally:
        await wrong.close()
        await anonymous.close()
