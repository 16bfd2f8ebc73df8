"""`EtcdClient`: the few etcd v3 calls openim-py makes, over etcd's JSON gateway (HTTP) with httpx.

Why not a gRPC client library: etcd serves its v3 API both as gRPC and as JSON over HTTP (the gRPC gateway,
`/v3/...`, stable since etcd 3.4 and the same in 3.5; Debian 12's `etcd-server` is 3.4). The Python gRPC clients
are either unmaintained (python-etcd3: last release 2020, broken by protobuf 4) or bring grpcio and generated
protobuf code of their own beside ours (aetcd, etcd3aio), and etcd3gw is synchronous. Registration needs six
calls, all plain request/response; the gateway's JSON is documented and etcdctl reads what it writes. So:
httpx, asynchronous, already on the REST side of the project.

The gateway's conventions: keys and values are base64 in JSON; 64-bit integers (lease IDs, TTLs, revisions)
travel as strings; an error answers a non-2xx status with `{"error", "message", "code"}` (gRPC codes).
`endpoints` are tried in order; one that does not answer (connection refused, timeout) is skipped for the next
and the call fails with `RegistryUnavailable` only when none answers. With `username`, the client
authenticates (`/v3/auth/authenticate`) and sends the token in `Authorization`; a token that expired (etcd's
simple tokens live 5 minutes idle) is renewed once per call.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx

from openim.infra.discovery import RegistryUnavailable

__all__ = ["EtcdClient", "EtcdError", "KeyValue", "prefix_end"]

_UNAUTHENTICATED = 16  # gRPC code of "invalid auth token"
_NOT_FOUND = 5


class EtcdError(Exception):
    """etcd answered with an error (bad credentials, permission denied, lease not found, …)."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"etcd: {message} (code {code})")


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    lease: int


def _b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text) if text else b""


def prefix_end(prefix: str) -> bytes:
    """The `range_end` that selects every key starting with `prefix`: its last byte below 0xff plus one."""
    raw = bytearray(prefix.encode())
    while raw:
        if raw[-1] < 0xFF:
            raw[-1] += 1
            return bytes(raw)
        raw.pop()
    return b"\0"  # every key


def _base_url(address: str) -> str:
    address = address.strip().rstrip("/")
    return address if "://" in address else f"http://{address}"


class EtcdClient:
    """One etcd cluster, reached at the first of `endpoints` that answers."""

    def __init__(
        self,
        endpoints: list[str],
        *,
        username: str = "",
        password: str = "",
        timeout_s: float = 5.0,
    ) -> None:
        if not endpoints:
            raise ValueError("etcd needs at least one address")
        self.endpoints = [_base_url(e) for e in endpoints]
        self._username = username
        self._password = password
        self._token = ""
        self._current = 0  # index of the endpoint that answered last
        self._http = httpx.AsyncClient(timeout=timeout_s, trust_env=False)

    async def close(self) -> None:
        await self._http.aclose()

    # ---- the calls ------------------------------------------------------------------------------------------

    async def version(self) -> dict[str, str]:
        """`GET /version`: {"etcdserver": "3.4.23", "etcdcluster": "3.4.0"} (needs no credentials)."""
        response = await self._send("GET", "/version", None)
        data: dict[str, str] = response.json()
        return data

    async def grant(self, ttl_s: int) -> int:
        """A new lease of `ttl_s` seconds; its ID."""
        data = await self._call("/v3/lease/grant", {"TTL": ttl_s})
        return int(data["ID"])

    async def keepalive(self, lease: int) -> int:
        """Renew `lease`; the TTL it has again, 0 when the lease no longer exists (expired or revoked)."""
        data = await self._call("/v3/lease/keepalive", {"ID": str(lease)})
        result = data.get("result", data)
        return int(result.get("TTL", 0))

    async def time_to_live(self, lease: int) -> int:
        """Seconds `lease` has left; -1 when it does not exist."""
        data = await self._call("/v3/lease/timetolive", {"ID": str(lease)})
        return int(data.get("TTL", -1))

    async def revoke(self, lease: int) -> None:
        """End `lease` and delete its keys; a lease already gone is fine."""
        try:
            await self._call("/v3/lease/revoke", {"ID": str(lease)})
        except EtcdError as exc:
            if exc.code != _NOT_FOUND:
                raise

    async def put(self, key: str, value: bytes, *, lease: int = 0) -> None:
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        await self._call("/v3/kv/put", body)

    async def get_prefix(self, prefix: str, *, limit: int = 10_000) -> list[KeyValue]:
        """The keys under `prefix` in key order, at most `limit`."""
        body = {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix)), "limit": limit}
        data = await self._call("/v3/kv/range", body)
        return [
            KeyValue(_unb64(kv["key"]).decode(errors="replace"), _unb64(kv.get("value", "")), int(kv.get("lease", 0)))
            for kv in data.get("kvs", [])
        ]

    async def delete(self, key: str) -> None:
        await self._call("/v3/kv/deleterange", {"key": _b64(key)})

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every key under `prefix`; how many there were."""
        data = await self._call("/v3/kv/deleterange", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))})
        return int(data.get("deleted", 0))

    # ---- transport ------------------------------------------------------------------------------------------

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._username and not self._token:
            await self._authenticate()
        try:
            return await self._post(path, body)
        except EtcdError as exc:
            if exc.code != _UNAUTHENTICATED or not self._username:
                raise
        await self._authenticate()  # the token expired: once more with a new one
        return await self._post(path, body)

    async def _authenticate(self) -> None:
        self._token = ""
        data = await self._post("/v3/auth/authenticate", {"name": self._username, "password": self._password})
        self._token = str(data.get("token", ""))

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._send("POST", path, body)
        try:
            data: dict[str, Any] = response.json()
        except ValueError:
            raise EtcdError(response.status_code, f"{path} answered HTTP {response.status_code}, not JSON") from None
        error = data.get("error")
        if response.status_code >= 400:
            raise EtcdError(int(data.get("code", 2)), str(data.get("message") or error or response.status_code))
        if isinstance(error, dict):  # a streamed call (keepalive) reports its error inside a 200 answer
            code: Any = error.get("grpc_code", error.get("code", 2))
            raise EtcdError(int(code), str(error.get("message", error)))
        return data

    async def _send(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        headers = {"Authorization": self._token} if self._token else {}
        problems = []
        for step in range(len(self.endpoints)):
            index = (self._current + step) % len(self.endpoints)
            url = self.endpoints[index] + path
            try:
                response = await self._http.request(method, url, json=body, headers=headers)
            except httpx.TransportError as exc:
                problems.append(f"{self.endpoints[index]}: {type(exc).__name__}: {exc or 'no answer'}")
                continue
            self._current = index
            return response
        raise RegistryUnavailable("etcd does not answer: " + "; ".join(problems))
