"""GET /prometheus_discovery/*: OpenIM's 11 routes answer Prometheus HTTP-SD JSON from the process registry, open
to callers without operationID or token (Prometheus sends neither), with OpenIM's names mapped onto roles."""

from __future__ import annotations

import asyncio

import pytest
from tests.api.conftest import Api

from openim.infra.clock import FakeClock
from openim.infra.discovery import Entry, Instance, MemoryRegistry
from openim.infra.etcd import EtcdClient, EtcdRegistry
from openim.services.prometheus_discovery import NAMES, PrometheusDiscoveryService

# internal/api/router.go, the /prometheus_discovery group, in its order.
OPENIM_ROUTES = [
    "api",
    "user",
    "group",
    "msg",
    "friend",
    "conversation",
    "third",
    "auth",
    "push",
    "msg_gateway",
    "msg_transfer",
]


def instance(role: str, metrics: str, *, port: int = 10002, pid: int = 1) -> Instance:
    return Instance(role, "10.0.0.5", (port,) if port else (), metrics, "0.1.0", 1, pid, "node-a", (role, "admin"))


async def announce(api: Api, *instances: Instance) -> MemoryRegistry:
    """Announce `instances` in the runtime's in-process registry, as another role of the process would."""
    registry = api.runtime.registry
    assert isinstance(registry, MemoryRegistry)
    other = MemoryRegistry(ttl_s=registry.ttl_s, shared=registry)
    await other.register(list(instances))
    return other


async def test_the_eleven_routes_are_openims(api: Api) -> None:
    """Exactly OpenIM's 11 names, each a GET route of the app's OpenAPI document."""
    assert list(NAMES) == OPENIM_ROUTES
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    found = sorted(p for p in paths if p.startswith("/prometheus_discovery/"))
    assert found == sorted(f"/prometheus_discovery/{name}" for name in OPENIM_ROUTES)
    assert all(list(paths[p]) == ["get"] for p in found)


async def test_no_process_is_an_empty_list_without_token_or_operation_id(api: Api) -> None:
    """With nothing registered every route answers [] (not the envelope), HTTP 200, JSON, no headers needed."""
    for name in OPENIM_ROUTES:
        response = await api.http.get(f"/prometheus_discovery/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == []


async def test_targets_are_the_metrics_addresses_of_each_role(api: Api) -> None:
    """api-side names list api processes' /metrics, msg_gateway the gateways', push and msg_transfer the
    msgtransfer processes'; one group with OpenIM's labels, sorted, without duplicates or metric-less processes."""
    await announce(
        api,
        instance("api", "10.0.0.5:6060", port=10002),
        instance("api", "10.0.0.6:6060", port=10012, pid=2),
        instance("api", "", port=10022, pid=3),  # no admin role: nothing to scrape
        instance("msggateway", "10.0.0.5:6060", port=10001),  # the all-in-one process: same /metrics
        instance("msggateway", "10.0.0.7:6061", port=10011, pid=4),
        instance("msgtransfer", "10.0.0.8:6062", port=0, pid=5),
        instance("admin", "10.0.0.5:6060", port=6060),
    )
    expected = {
        "api": ["10.0.0.5:6060", "10.0.0.6:6060"],
        "msg_gateway": ["10.0.0.5:6060", "10.0.0.7:6061"],
        "msg_transfer": ["10.0.0.8:6062"],
    }
    for name in OPENIM_ROUTES:
        role_key = {"push": "msg_transfer", "msg_gateway": "msg_gateway", "msg_transfer": "msg_transfer"}.get(
            name, "api"
        )
        body = (await api.http.get(f"/prometheus_discovery/{name}")).json()
        assert body == [{"targets": expected[role_key], "labels": {"namespace": "default"}}], name


async def test_a_stopped_process_leaves_the_targets(api: Api) -> None:
    """A process that unregisters (a graceful stop) is no longer a target once the 1 s read of the registry that
    every route shares (the routes are open: callers cannot make it read more often) is over."""
    other = await announce(api, instance("msggateway", "10.0.0.7:6061", port=10011))
    assert (await api.http.get("/prometheus_discovery/msg_gateway")).json()[0]["targets"] == ["10.0.0.7:6061"]
    await other.unregister()
    assert (await api.http.get("/prometheus_discovery/msg_gateway")).json() != []  # read less than 1 s ago
    assert isinstance(api.runtime.clock, FakeClock)
    api.runtime.clock.advance(1.0)
    assert (await api.http.get("/prometheus_discovery/msg_gateway")).json() == []


async def test_post_and_unknown_names_are_404(api: Api) -> None:
    """Only GET, only OpenIM's names: anything else is gin's plain 404 (a POST passes the token check first)."""
    assert (await api.http.get("/prometheus_discovery/rtc")).status_code == 404
    assert (await api.http.get("/prometheus_discovery")).status_code == 404
    token = await api.admin_token()
    response = await api.http.post("/prometheus_discovery/api", headers={"operationID": "x", "token": token})
    assert response.status_code == 404


async def test_an_unreachable_registry_is_network_error_in_the_envelope() -> None:
    """When the registry does not answer (etcd down) the service raises 90004, which the API sends in the
    envelope: Prometheus rejects a non-list body and keeps the targets it had."""
    import socket

    from openim.protocol.errors import NetworkError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    registry = EtcdRegistry(EtcdClient([f"127.0.0.1:{port}"], timeout_s=1))
    try:
        with pytest.raises(NetworkError, match="discovery registry unavailable"):
            await PrometheusDiscoveryService(registry, FakeClock()).targets("api")
    finally:
        await registry.close()


class CountingRegistry(MemoryRegistry):
    """The in-process registry, counting how often it is read."""

    reads = 0

    async def list(self, *, ttl: bool = True) -> list[Entry]:
        self.reads += 1
        await asyncio.sleep(0.01)  # a read takes a moment, as over the network
        return await super().list(ttl=ttl)


async def test_concurrent_callers_share_one_read() -> None:
    """However many requests arrive within a second, on however many routes, the registry is read once."""
    registry, clock = CountingRegistry(ttl_s=30), FakeClock()
    await registry.register([instance("api", "10.0.0.5:6060")])
    service = PrometheusDiscoveryService(registry, clock)
    answers = await asyncio.gather(*(service.targets(name) for name in OPENIM_ROUTES * 5))
    assert registry.reads == 1 and answers[0] == [{"targets": ["10.0.0.5:6060"], "labels": {"namespace": "default"}}]
    clock.advance(1.0)
    await service.targets("api")
    assert registry.reads == 2
