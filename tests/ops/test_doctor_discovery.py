"""`openim doctor`'s discovery checks on real registries: etcd's `endpoint health` and `get --prefix /openim/`, the
processes listed, and the stale ones flagged (a pid gone from this host, an entry that missed its refreshes)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.ops.test_doctor import doctor, healthy
from tests.process import free_port

from openim.infra.discovery import Entry, Instance
from openim.infra.etcd import EtcdClient, EtcdRegistry
from openim.infra.redis import connect
from openim.infra.redis.discovery import RedisRegistry, registry_key
from openim.ops.discovery import staleness
from openim.ops.doctor import Status
from openim.ops.doctor.discovery import describe_processes


def instance(
    role: str,
    *,
    pid: int,
    hostname: str = "node-b",
    version: str = "0.1.0",
    port: int = 10002,
    roles: tuple[str, ...] = ("api", "msggateway", "admin"),
) -> Instance:
    return Instance(role, "10.0.0.9", (port,), "10.0.0.9:6060", version, 1_000, pid, hostname, roles)


def dead_pid() -> int:
    """The pid of a process that has ended (and was reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.etcd
async def test_etcd_health_and_the_processes_listed(tmp_path: Path, etcd_url: str, etcd_root: str) -> None:
    """With discovery.enable: etcd the doctor reports etcd's version and lists each registered process."""
    registry = EtcdRegistry(EtcdClient([etcd_url]), root_directory=etcd_root, ttl_s=30)
    await registry.register([instance("api", pid=11), instance("admin", pid=11, port=6060)])
    try:
        checks = await doctor(
            await healthy(tmp_path),
            OPENIM_DISCOVERY_ENABLE="etcd",
            OPENIM_DISCOVERY_ETCD_ADDRESS=etcd_url,
            OPENIM_DISCOVERY_ETCD_ROOTDIRECTORY=etcd_root,
        )
    finally:
        await registry.unregister()
        await registry.close()
    health, processes = checks["discovery"], checks["discovery.processes"]
    assert health.status is Status.OK and "etcd 3." in health.saw and f"under /{etcd_root}/" in health.saw
    assert processes.status is Status.OK
    assert processes.saw.splitlines()[1].startswith(
        "api,admin pid 11 on node-b (10.0.0.9) 10.0.0.9:10002 10.0.0.9:6060"
    )


async def test_etcd_unreachable_fails_with_etcdctl_remedy(tmp_path: Path) -> None:
    """An etcd address where nothing listens fails the check, naming the address; the remedy is etcdctl's."""
    address = f"127.0.0.1:{free_port()}"
    checks = await doctor(
        await healthy(tmp_path), OPENIM_DISCOVERY_ENABLE="etcd", OPENIM_DISCOVERY_ETCD_ADDRESS=address
    )
    check = checks["discovery"]
    assert check.status is Status.FAIL and address in check.saw
    assert "etcdctl --endpoints" in check.remedy


@pytest.mark.redis
async def test_stale_entries_are_flagged(tmp_path: Path, redis_url: str) -> None:
    """On Redis (the default with redis.url): a process of this host whose pid is gone, and one that missed its
    refreshes, are WARN with when they expire; the living one is listed."""
    client = await connect(redis_url)
    here = socket.gethostname()
    gone = dead_pid()
    try:
        await RedisRegistry(client, ttl_s=30).register([instance("msggateway", pid=gone, hostname=here, port=10001)])
        late = RedisRegistry(client, ttl_s=30)
        await late.register([instance("msgtransfer", pid=22)])
        await client.pexpire(registry_key(late._mine[0].name), 4_000)  # missed ~2 of its 10 s refreshes
        await RedisRegistry(client, ttl_s=30).register([instance("api", pid=33)])
        checks = await doctor(await healthy(tmp_path), OPENIM_REDIS_URL=redis_url)
    finally:
        await client.aclose()
    processes = checks["discovery.processes"]
    assert processes.status is Status.WARN
    stale = processes.saw.split("stale:\n", 1)[1].splitlines()
    assert len(stale) == 2
    assert f"msggateway/10.0.0.9:10001: process {gone} no longer runs on this host; it expires within" in stale[0]
    assert "msgtransfer/10.0.0.9:10002: not refreshed for 2" in stale[1]
    assert "api pid 33 on node-b" in processes.saw
    assert "journalctl" in processes.remedy


@pytest.mark.redis
async def test_mixed_versions_warn(tmp_path: Path, redis_url: str) -> None:
    """Processes of different versions (an upgrade left half done) are a warning naming the versions."""
    client = await connect(redis_url)
    try:
        await RedisRegistry(client, ttl_s=30).register([instance("api", pid=1, version="0.1.0")])
        await RedisRegistry(client, ttl_s=30).register([instance("api", pid=2, version="0.2.0", port=10012)])
        checks = await doctor(await healthy(tmp_path), OPENIM_REDIS_URL=redis_url)
    finally:
        await client.aclose()
    assert checks["discovery.processes"].status is Status.WARN
    assert "versions differ: 0.1.0, 0.2.0" in checks["discovery.processes"].saw


def test_staleness_rules() -> None:
    """Alive: another host's entry with most of its TTL; stale: a gone pid here, or under a third of the TTL left."""
    entry = Entry("k", instance("api", pid=5, hostname="h"), 25.0, 30)
    assert staleness(entry, hostname="other", pid_alive=None) == ""
    assert staleness(entry, hostname="h", pid_alive=True) == ""
    assert staleness(entry, hostname="h", pid_alive=False).startswith("process 5 no longer runs on this host")
    late = Entry("k", instance("api", pid=5), 9.0, 30)
    assert staleness(late, hostname="x", pid_alive=None).startswith("not refreshed for 21 s")


def test_processes_are_grouped_by_host_and_pid() -> None:
    """Roles of one process share a line: its addresses, /metrics, version and uptime."""
    a = instance("api", pid=7)
    b = instance("msggateway", pid=7, port=10001)
    line = describe_processes([Entry("1", a, 30, 30), Entry("2", b, 30, 30)], now_ms=1_000 + 7_200_000)
    assert line == [
        "api,msggateway pid 7 on node-b (10.0.0.9) 10.0.0.9:10002 10.0.0.9:10001 /metrics 10.0.0.9:6060 v0.1.0 up 2.0h"
    ]
