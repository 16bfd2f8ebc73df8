"""ops/discovery.py: which registry the settings name, and what a process announces about itself."""

from __future__ import annotations

import ipaddress

import pytest

from openim.infra.discovery import MemoryRegistry
from openim.infra.etcd import EtcdRegistry
from openim.ops.discovery import advertised_host, backend, local_instances, open_registry
from openim.settings import Settings, load_settings


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "memory"),
        ({"OPENIM_REDIS_URL": "redis://127.0.0.1:6379/0"}, "redis"),
        ({"OPENIM_REDIS_URL": "redis://127.0.0.1:6379/0", "OPENIM_DISCOVERY_ENABLE": "standalone"}, "memory"),
        ({"OPENIM_REDIS_URL": "redis://127.0.0.1:6379/0", "OPENIM_DISCOVERY_ENABLE": "etcd"}, "etcd"),
        ({"OPENIM_DISCOVERY_ENABLE": "etcd"}, "etcd"),
    ],
)
def test_backend_follows_enable_then_redis_url(env: dict[str, str], expected: str) -> None:
    """etcd when asked; Redis when asked or, by default, when redis.url is set; else in-process."""
    assert backend(load_settings(None, env)) == expected


async def test_open_registry_builds_the_named_backend() -> None:
    """etcd settings give an EtcdRegistry under /<rootDirectory>/ with the TTL; the default an in-process one."""
    settings = load_settings(
        None,
        {"OPENIM_DISCOVERY_ENABLE": "etcd", "OPENIM_DISCOVERY_ETCD_ROOTDIRECTORY": "im", "OPENIM_DISCOVERY_TTL": "9"},
    )
    registry = open_registry(settings)
    assert isinstance(registry, EtcdRegistry)
    assert (registry.prefix, registry.ttl_s, registry.client.endpoints) == ("/im/", 9, ["http://localhost:12379"])
    await registry.close()
    assert isinstance(open_registry(Settings()), MemoryRegistry)


def test_local_instances_of_an_all_in_one_process() -> None:
    """Each role of the process is an instance with its ports; all share the admin role's /metrics address;
    registerIP names the host of wildcard listeners, a specific listen IP (admin's 127.0.0.1) names itself."""
    settings = load_settings(None, {"OPENIM_DISCOVERY_REGISTERIP": "10.1.2.3"})
    roles = ("api", "msggateway", "msgtransfer", "admin")
    bound = [("api", 10002), ("api", 10003), ("msggateway", 10001), ("admin", 6060)]
    found = local_instances(settings, roles, bound, version="9.9", start_time_ms=5, pid=77, hostname="box")
    assert [(i.name, i.ports) for i in found] == [
        ("api/10.1.2.3:10002", (10002, 10003)),
        ("msggateway/10.1.2.3:10001", (10001,)),
        ("msgtransfer/10.1.2.3/pid/77", ()),
        ("admin/10.1.2.3:6060", (6060,)),
    ]
    assert {i.metrics for i in found} == {"10.1.2.3:6060"}
    assert all((i.version, i.start_time, i.pid, i.hostname, i.roles) == ("9.9", 5, 77, "box", roles) for i in found)
    plain = local_instances(Settings(), ("admin",), [("admin", 6060)], version="9.9", start_time_ms=5)
    assert plain[0].metrics == "127.0.0.1:6060"  # admin listens on 127.0.0.1 by default: that is its address


def test_a_process_without_admin_has_no_metrics_address() -> None:
    """Only the admin role serves /metrics: a gateway-only process announces none."""
    [gateway] = local_instances(Settings(), ("msggateway",), [("msggateway", 10001)], version="1", start_time_ms=1)
    assert gateway.metrics == ""


def test_advertised_host_for_wildcard_listeners_is_an_address_of_this_host() -> None:
    """0.0.0.0 (or ::) without registerIP announces this host's own address, never the wildcard."""
    assert advertised_host("127.0.0.1", "") == "127.0.0.1"
    assert advertised_host("0.0.0.0", "192.168.1.9") == "192.168.1.9"
    for wildcard in ("0.0.0.0", "::"):
        found = ipaddress.ip_address(advertised_host(wildcard, ""))
        assert not found.is_unspecified
