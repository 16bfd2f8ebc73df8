"""`EtcdRegistry`: the discovery `Registry` (`infra/discovery.py`) in etcd, with `discovery.enable: etcd`.

As OpenIM registers its services (openimsdk/tools `discovery/etcd`), each process takes one lease of `ttl`
seconds and puts its entries bound to it; a refresh is a lease keep-alive, so a process killed with SIGKILL
loses its entries when the lease runs out. Keys are `/<rootDirectory>/<role>/<instance>` (`entry_key`):
`etcdctl get --prefix /openim/` — the command of OpenIM's troubleshooting guide — lists them with their JSON.
OpenIM's own Go registry writes `openim/<service>/<host:port>` without the leading slash, which that command
does not match; openim-py follows the guide.

A keep-alive that finds the lease gone (etcd restarted without its data, a pause longer than the TTL) grants a
new lease and puts the entries again, as OpenIM's registry re-registers. `list` reads every key under the root
and, unless told not to, asks each lease for its time to live, so `openim doctor` can tell an entry kept fresh
from one counting down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from openim.infra.discovery import Entry, Instance, RegistryUnavailable
from openim.infra.etcd.client import EtcdClient, EtcdError

__all__ = ["EtcdRegistry", "entry_key", "root_prefix"]

_CONCURRENT_CALLS = 16  # lease look-ups in flight at once while listing


def root_prefix(root_directory: str) -> str:
    """`/<rootDirectory>/`, whatever slashes the setting carries."""
    return f"/{root_directory.strip('/')}/"


def entry_key(root_directory: str, name: str) -> str:
    """The etcd key of entry `name` (`<role>/<instance>`)."""
    return root_prefix(root_directory) + name


class EtcdRegistry:
    """The process registry in etcd under `/<root_directory>/`; the client is owned (closed by `close`)."""

    def __init__(self, client: EtcdClient, *, root_directory: str = "openim", ttl_s: int = 30) -> None:
        self._client = client
        self.ttl_s = ttl_s
        self.prefix = root_prefix(root_directory)
        self.where = f"etcd {', '.join(client.endpoints)} under {self.prefix}"
        self._mine: list[Instance] = []
        self._lease = 0

    @property
    def client(self) -> EtcdClient:
        return self._client

    async def register(self, instances: Sequence[Instance]) -> None:
        await self.unregister()
        self._mine = list(instances)
        await self._put_all()

    async def _put_all(self) -> None:
        try:
            lease = await self._client.grant(self.ttl_s)
            self._lease = lease
            await asyncio.gather(
                *(self._client.put(self.prefix + i.name, i.to_json(self.ttl_s), lease=lease) for i in self._mine)
            )
        except EtcdError as exc:
            raise RegistryUnavailable(f"{self.where}: {exc}") from exc

    async def refresh(self) -> None:
        if not self._mine:
            return
        try:
            alive = self._lease and await self._client.keepalive(self._lease) > 0
        except EtcdError as exc:
            raise RegistryUnavailable(f"{self.where}: {exc}") from exc
        if not alive:  # the lease ran out (or etcd lost it): register again under a new one
            await self._put_all()

    async def unregister(self) -> None:
        lease, self._lease = self._lease, 0
        if lease:
            try:
                await self._client.revoke(lease)  # deletes every key bound to it
            except EtcdError as exc:
                raise RegistryUnavailable(f"{self.where}: {exc}") from exc

    async def list(self, *, ttl: bool = True) -> list[Entry]:
        try:
            found = await self._client.get_prefix(self.prefix)
            parsed = [(kv, Instance.from_json(kv.value, self.ttl_s)) for kv in found]
            # One lease per process; etcd answers lease look-ups one after the other (~10 ms each), so they are
            # made only when asked for (the doctor), not for Prometheus's reads.
            leases = sorted({kv.lease for kv, p in parsed if p is not None and kv.lease}) if ttl else []
            limit = asyncio.Semaphore(_CONCURRENT_CALLS)

            async def time_left(lease: int) -> int:
                async with limit:
                    return await self._client.time_to_live(lease)

            ttl_left = dict(zip(leases, await asyncio.gather(*map(time_left, leases)), strict=True))
        except EtcdError as exc:
            raise RegistryUnavailable(f"{self.where}: {exc}") from exc
        entries = []
        for kv, found_instance in parsed:
            if found_instance is None:
                continue  # not an entry of ours (another tool's key under the same root)
            instance, ttl_s = found_instance
            left = ttl_left.get(kv.lease, -1)
            entries.append(Entry(kv.key, instance, float(left) if left >= 0 else None, ttl_s))
        return entries

    async def close(self) -> None:
        self._mine = []
        await self._client.close()
