"""A scaled-out deployment for tests: two api processes, two gateways and a msgtransfer as separate `openim start`
processes sharing PostgreSQL and Redis, plus the pieces fault tests break on purpose:

- `PrivateRedis`: a redis-server of the test's own on a free port (never the shared one), restartable with or
  without persistence;
- `TcpProxy`: a loopback TCP proxy between the processes and PostgreSQL that can be cut (live connections reset,
  new ones refused) and restored, which is what an unreachable database looks like to the processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from tests.process import OPENIM, clean_env, free_port


class PrivateRedis:
    """`redis-server` on a free loopback port with its data in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, persistent: bool) -> None:
        """Start it; `persistent` = appendonly (fsync every write), as docs/operations.md asks for token states."""
        server = shutil.which("redis-server")
        assert server, "redis-server is not installed (scripts/test-tools installs it)"
        args = [server, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory), "--save", ""]
        args += ["--appendonly", "yes", "--appendfsync", "always"] if persistent else ["--appendonly", "no"]
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "redis.out").open("a") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError, OSError):
                client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
                try:
                    if client.ping():
                        return
                finally:
                    client.close()
            time.sleep(0.05)
        raise RuntimeError("private redis-server did not answer")

    def kill(self, *, wipe: bool) -> None:
        """kill -9 (no shutdown save); `wipe` also removes its files, so a restart starts empty."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if wipe:
            for path in self.directory.iterdir():
                if path.name != "redis.out":
                    shutil.rmtree(path) if path.is_dir() else path.unlink()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=2)


class TcpProxy:
    """Loopback TCP proxy `127.0.0.1:port` → `target`, run by an event loop in a thread of its own."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        self.thread.start()
        self.restore()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def restore(self) -> None:
        """Listen (again)."""
        self._call(self._listen())

    def cut(self) -> None:
        """Stop listening and reset every live connection: PostgreSQL is gone for the processes."""
        self._call(self._cut())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._cut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort() if dst.transport.is_closing() else dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


@dataclass
class Role:
    """One `openim start <roles>` process of the cluster, restartable on the same ports."""

    name: str
    roles: tuple[str, ...]
    port: int  # the port its health check answers on
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    admin_port: int | None = None  # its own admin role (/metrics), when it runs one

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        assert self.proc is not None and self.alive, f"{self.name} is not running"
        self.proc.kill()
        self.proc.wait()


@dataclass
class Cluster:
    """2 api + 2 msggateway + 1 msgtransfer(+admin) processes; see the module docstring."""

    cwd: Path
    env: dict[str, str]
    apis: list[Role] = field(default_factory=list)
    gateways: list[Role] = field(default_factory=list)
    transfer: Role | None = None
    proxy: TcpProxy | None = None  # between the processes and PostgreSQL, when the test put one there
    redis: PrivateRedis | None = None  # the test's own redis-server, when it started one
    start_timeout: float = 90  # seconds a process may take to answer its health check

    @classmethod
    def build(cls, cwd: Path, database_url: str, redis_url: str, *, gateway_admin: bool = False, **env: str) -> Cluster:
        """`gateway_admin`: each gateway also runs the admin role on a port of its own, so its /metrics
        (connections, online users of that gateway) can be read."""
        cluster = cls(cwd, {"OPENIM_DATABASE_URL": database_url, "OPENIM_REDIS_URL": redis_url, **env})
        cluster.env["OPENIM_LOG_STORAGELOCATION"] = str(cwd / "logs")
        for i in range(2):
            port = free_port()
            cluster.apis.append(Role(f"api{i}", ("api",), port, {"OPENIM_API_PORTS": str(port)}))
            port = free_port()
            gateway = Role(f"gw{i}", ("msggateway",), port, {"OPENIM_MSGGATEWAY_PORTS": str(port)})
            if gateway_admin:
                gateway.admin_port = free_port()
                gateway.roles = ("msggateway", "admin")
                gateway.env["OPENIM_ADMIN_PORT"] = str(gateway.admin_port)
            cluster.gateways.append(gateway)
        port = free_port()
        cluster.transfer = Role("transfer", ("msgtransfer", "admin"), port, {"OPENIM_ADMIN_PORT": str(port)})
        return cluster

    @property
    def roles(self) -> list[Role]:
        assert self.transfer is not None
        return [*self.apis, *self.gateways, self.transfer]

    def start(self, role: Role) -> None:
        """Start `role` and wait (up to `start_timeout` seconds) until it answers its health check."""
        output = self.cwd / f"{role.name}.out"
        with output.open("a") as out:
            role.proc = subprocess.Popen(
                [*OPENIM, "start", *role.roles],
                cwd=self.cwd,
                env=clean_env(**self.env, **role.env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        path = "/health" if role.roles[0] == "msggateway" else "/healthz"
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if not role.alive:
                raise RuntimeError(f"{role.name} exited: {output.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{role.port}{path}", timeout=0.5).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{role.name} did not answer within {self.start_timeout} s: {output.read_text()}")

    def start_all(self, *, migrated: bool = False) -> None:
        """The first api alone (it migrates the database), then the others side by side; all side by side when
        the caller `migrated` the database already (startup is mostly imports: on 2 busy cores that halves it)."""
        rest = self.roles
        if not migrated:
            self.start(self.apis[0])
            rest = self.roles[1:]
        with ThreadPoolExecutor(len(self.roles)) as pool:
            list(pool.map(self.start, rest))

    def revive(self) -> None:
        """Restart any role a test killed, so the next test finds the whole cluster."""
        with ThreadPoolExecutor(len(self.roles)) as pool:
            list(pool.map(self.start, [role for role in self.roles if not role.alive]))

    def stop(self) -> None:
        """SIGTERM to every process at once (each drains for a few seconds), then wait for each."""
        running = [role for role in reversed(self.roles) if role.proc is not None and role.alive]
        for role in running:
            assert role.proc is not None
            role.proc.terminate()
        for role in running:
            if role.proc is not None:
                try:
                    role.proc.wait(15)
                except subprocess.TimeoutExpired:
                    role.proc.kill()
                    role.proc.wait()

    def post(self, path: str, body: object, token: str = "", api: int = 0) -> dict[str, Any]:
        headers = {"operationID": f"cluster-{time.monotonic_ns()}", **({"token": token} if token else {})}
        resp = httpx.post(f"http://127.0.0.1:{self.apis[api].port}{path}", json=body, headers=headers, timeout=10)
        result: dict[str, Any] = resp.json()
        return result

    def admin_token(self) -> str:
        return str(self.post("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})["data"]["token"])

    def user_token(self, admin: str, user_id: str, platform_id: int) -> str:
        result = self.post("/auth/get_user_token", {"userID": user_id, "platformID": platform_id}, admin)
        assert result["errCode"] == 0, result
        return str(result["data"]["token"])


def postgres_address(url: str) -> tuple[str, int]:
    """host and port of a postgresql:// URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432


def through(url: str, port: int) -> str:
    """`url` pointed at 127.0.0.1:`port` (the proxy)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def wait_port_free(port: int) -> None:
    """Wait until nothing listens on `port` (a killed process's socket is gone)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
