"""Contract of the discovery `Registry`, run on every backend (in-process, Redis under `redis`, etcd under `etcd`):
entries listed with their fields, refreshed ones outlive the TTL, forgotten ones vanish within it and come back
at the next refresh, unregister removes only one's own; and the `Announcer` loop around it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from openim.infra.discovery import Announcer, Instance, MemoryRegistry, Registry, RegistryUnavailable
from openim.infra.etcd import EtcdClient, EtcdRegistry
from openim.infra.redis import connect
from openim.infra.redis.discovery import INDEX_KEY, KEY_PREFIX, RedisRegistry, registry_key

TTL_S = 2  # etcd's shortest lease (it grants at least ~2 s whatever is asked)


def instance(role: str = "api", port: int = 10002, *, pid: int = 4242, metrics: str = "127.0.0.1:6060") -> Instance:
    return Instance(
        role=role,
        host="10.0.0.5",
        ports=(port,) if port else (),
        metrics=metrics,
        version="0.1.0",
        start_time=1_700_000_000_000,
        pid=pid,
        hostname="node-a",
        roles=(role, "admin"),
    )


@dataclass
class Backend:
    """Makes registries that share one backend, and lets time pass for it (a fake clock in memory)."""

    kind: str
    make: Callable[[], Registry]
    pass_time: Callable[[float], Awaitable[None]]
    made: list[Registry] = field(default_factory=list)

    def registry(self) -> Registry:
        made = self.make()
        self.made.append(made)
        return made


@pytest.fixture(
    params=["memory", pytest.param("redis", marks=pytest.mark.redis), pytest.param("etcd", marks=pytest.mark.etcd)]
)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        now = [1000.0]
        shared = MemoryRegistry(ttl_s=TTL_S, clock=lambda: now[0])

        async def advance(seconds: float) -> None:
            now[0] += seconds

        yield Backend("memory", lambda: MemoryRegistry(ttl_s=TTL_S, clock=lambda: now[0], shared=shared), advance)
        return
    if request.param == "redis":
        client = await connect(request.getfixturevalue("redis_url"))
        made = Backend("redis", lambda: RedisRegistry(client, ttl_s=TTL_S), asyncio.sleep)
        yield made
        await client.aclose()
        return
    url, root = request.getfixturevalue("etcd_url"), request.getfixturevalue("etcd_root")
    made = Backend("etcd", lambda: EtcdRegistry(EtcdClient([url]), root_directory=root, ttl_s=TTL_S), asyncio.sleep)
    yield made
    for registry in made.made:
        await registry.close()


async def test_a_registered_process_is_listed_with_its_fields(backend: Backend) -> None:
    """Every field of an announced instance reads back, with the TTL it was announced with and its time left."""
    registry = backend.registry()
    api, transfer = instance("api", 10002), instance("msgtransfer", 0)
    await registry.register([api, transfer])
    entries = await registry.list()
    assert [e.instance for e in entries] == [api, transfer]
    assert all(e.ttl_s == TTL_S for e in entries)
    assert all(e.ttl_left_s is not None and 0 < e.ttl_left_s <= TTL_S for e in entries)


async def test_entry_names_are_role_then_host_port_or_host_pid(backend: Backend) -> None:
    """An entry is named <role>/<host>:<port>, or <role>/<host>/pid/<pid> for a role without a port."""
    registry = backend.registry()
    await registry.register([instance("msggateway", 10001), instance("msgtransfer", 0, pid=77)])
    keys = [e.key for e in await registry.list()]
    assert keys[0].endswith("msggateway/10.0.0.5:10001")
    assert keys[1].endswith("msgtransfer/10.0.0.5/pid/77")


async def test_refreshed_entries_outlive_the_ttl_and_forgotten_ones_vanish_then_return(backend: Backend) -> None:
    """A registry refreshed every TTL/2 stays listed past the TTL; one never refreshed is gone within it (a killed
    process), and its next refresh puts it back (a process that was paused, or a backend that lost its data)."""
    kept, forgotten = backend.registry(), backend.registry()
    await kept.register([instance("api", 10002)])
    await forgotten.register([instance("msggateway", 10001)])
    for _ in range(2):
        await backend.pass_time(TTL_S * 0.6)
        await kept.refresh()
    await backend.pass_time(TTL_S * 0.6)  # 1.8 TTLs since the forgotten one was announced
    assert [e.instance.role for e in await kept.list()] == ["api"]
    await forgotten.refresh()
    assert [e.instance.role for e in await kept.list()] == ["api", "msggateway"]


async def test_unregister_removes_its_own_entries_at_once(backend: Backend) -> None:
    """A graceful stop removes the process's entries immediately, and only its own."""
    one, other = backend.registry(), backend.registry()
    await one.register([instance("api", 10002), instance("admin", 6060)])
    await other.register([instance("api", 10012, pid=5151)])
    await one.unregister()
    assert [e.instance.pid for e in await other.list()] == [5151]
    await one.unregister()  # twice is fine


async def test_register_again_replaces_what_was_announced(backend: Backend) -> None:
    """Registering a new set of instances removes the previous set of the same registry."""
    registry = backend.registry()
    await registry.register([instance("api", 10002)])
    await registry.register([instance("api", 10003)])
    assert [e.instance.ports for e in await registry.list()] == [(10003,)]


@pytest.mark.redis
async def test_redis_keys_index_and_foreign_values(redis_url: str) -> None:
    """Redis entries are string keys openim:discovery:<name> with a PX TTL, named in the set
    openim:discovery-index (no SCAN of the keyspace); a value that is not an entry is skipped, and a name whose
    key expired leaves the index at the next list."""
    client = await connect(redis_url)
    try:
        registry = RedisRegistry(client, ttl_s=30)
        await registry.register([instance("api", 10002)])
        key = registry_key("api/10.0.0.5:10002")
        assert 29_000 < await client.pttl(key) <= 30_000
        assert await client.smembers(INDEX_KEY) == {b"api/10.0.0.5:10002"}
        await client.set(KEY_PREFIX + "api/junk", b"not json")
        await client.set(KEY_PREFIX + "api/other", b'{"role": "api"}')
        await client.sadd(INDEX_KEY, "api/junk", "api/other", "api/expired")
        assert [e.key for e in await registry.list()] == [key]
        assert await client.smembers(INDEX_KEY) == {b"api/10.0.0.5:10002", b"api/junk", b"api/other"}
    finally:
        await client.aclose()


@pytest.mark.etcd
async def test_etcd_keys_under_the_root_with_one_lease(etcd_url: str, etcd_root: str) -> None:
    """etcd entries are /<root>/<name> bound to one lease of the TTL; foreign values under the root are skipped."""
    client = EtcdClient([etcd_url])
    registry = EtcdRegistry(client, root_directory=etcd_root, ttl_s=30)
    try:
        await registry.register([instance("api", 10002), instance("admin", 6060)])
        found = await client.get_prefix(f"/{etcd_root}/")
        assert [kv.key for kv in found] == [f"/{etcd_root}/admin/10.0.0.5:6060", f"/{etcd_root}/api/10.0.0.5:10002"]
        assert len({kv.lease for kv in found}) == 1 and found[0].lease
        assert 28 <= await client.time_to_live(found[0].lease) <= 30
        await client.put(f"/{etcd_root}/api/junk", b"[1, 2]")
        assert len(await registry.list()) == 2
        await registry.unregister()
        assert [kv.key for kv in await client.get_prefix(f"/{etcd_root}/")] == [f"/{etcd_root}/api/junk"]
    finally:
        await registry.close()


@pytest.mark.redis
async def test_unreachable_redis_raises_registry_unavailable() -> None:
    """A Redis that does not answer is RegistryUnavailable, for the announcer to retry and the route to report."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    client = Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    registry = RedisRegistry(client, ttl_s=TTL_S)
    try:
        with pytest.raises(RegistryUnavailable):
            await registry.register([instance()])
        with pytest.raises(RegistryUnavailable):
            await registry.list()
    finally:
        await client.aclose()


async def test_unreachable_etcd_raises_registry_unavailable() -> None:
    """No etcd at any address is RegistryUnavailable naming each address tried."""
    port = _closed_port()
    registry = EtcdRegistry(EtcdClient([f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"]), ttl_s=TTL_S)
    try:
        with pytest.raises(RegistryUnavailable, match=f"127.0.0.1:{port}"):
            await registry.register([instance()])
        with pytest.raises(RegistryUnavailable):
            await registry.list()
    finally:
        await registry.close()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


# ---- the announcer ----------------------------------------------------------------------------------------


async def test_announcer_registers_refreshes_and_unregisters_at_stop() -> None:
    """The announcer puts the instances in at once, keeps them past the TTL, and removes them when stopped."""
    registry = MemoryRegistry(ttl_s=TTL_S)
    announcer = Announcer(registry, [instance("api"), instance("admin", 6060)], interval_s=0.05)
    task = asyncio.ensure_future(announcer.run())
    await asyncio.wait_for(announcer.registered.wait(), 2)
    assert len(await registry.list()) == 2
    first_left = min(e.ttl_left_s or 0 for e in await registry.list())
    await asyncio.sleep(0.2)
    assert min(e.ttl_left_s or 0 for e in await registry.list()) > first_left - 0.1  # refreshed meanwhile
    announcer.stop()
    await asyncio.wait_for(task, 2)
    assert await registry.list() == []


async def test_announcer_survives_an_unreachable_registry(caplog: pytest.LogCaptureFixture) -> None:
    """An etcd that does not answer is logged once and retried; the loop (and the process) keep running."""
    registry = EtcdRegistry(EtcdClient([f"127.0.0.1:{_closed_port()}"], timeout_s=0.5), ttl_s=TTL_S)
    announcer = Announcer(registry, [instance()], interval_s=0.05)
    with caplog.at_level(logging.WARNING, logger="openim.infra"):
        task = asyncio.ensure_future(announcer.run())
        await asyncio.sleep(0.4)
        assert not task.done() and not announcer.registered.is_set()
        announcer.stop()
        await asyncio.wait_for(task, 3)
    warnings = [r for r in caplog.records if "cannot announce" in r.getMessage()]
    assert len(warnings) == 1
    await registry.close()


def test_instance_json_round_trip_and_foreign_values() -> None:
    """An instance survives its JSON; values that are not ours (wrong shape, too big) read as None."""
    original = instance("msggateway", 10001)
    assert Instance.from_json(original.to_json(30), 5) == (original, 30)
    for raw in (b"", b"null", b"[]", b'{"role": "api"}', b'{"role":"api","host":"h","ports":["x"]}', b"x" * 5000):
        assert Instance.from_json(raw, 5) is None
