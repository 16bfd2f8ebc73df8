"""The admin app and the health endpoints: liveness, readiness per dependency with latency, 503 on failure."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import _Postgres, _prepare_postgres
from tests.process import free_port, start_server

from openim import __version__
from openim.ops.admin import Readiness, create_admin_app, readiness
from openim.storage import Storage, dialect, open_storage
from openim.storage.db import Db


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    opened = await open_storage(f"sqlite:///{tmp_path / 'data' / 'openim.db'}", pool_size=2)
    yield opened
    await opened.close()


def _client(ready: Readiness) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_admin_app(ready))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:6060")


async def test_healthz_answers_with_the_version(storage: Storage) -> None:
    """/healthz is liveness: 200 with the version while the process runs."""
    async with _client(Readiness.of_storage(storage)) as http:
        resp = await http.get("/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok", "version": __version__}


async def test_readyz_lists_the_database_with_its_latency(storage: Storage) -> None:
    """/readyz checks the database and reports its round-trip latency in ms."""
    async with _client(Readiness.of_storage(storage)) as http:
        resp = await http.get("/readyz")
    body = resp.json()
    assert resp.status_code == 200 and body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True and 0 <= body["checks"]["database"]["latencyMs"] < 2000


async def test_readyz_is_503_when_the_database_refuses_connections() -> None:
    """A PostgreSQL that refuses connections makes /readyz 503 with the error under `database`."""
    url = dialect.normalize_url(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    db = Db(dialect.make_engine(url, pool_size=1), url)
    try:
        async with _client(Readiness({"database": db.ping})) as http:
            resp = await http.get("/readyz")
    finally:
        await db.close()
    body = resp.json()
    assert resp.status_code == 503 and body["status"] == "fail"
    assert body["checks"]["database"]["ok"] is False and "refused" in body["checks"]["database"]["error"].lower()


async def test_readyz_is_503_when_the_sqlite_file_is_gone(storage: Storage, tmp_path: Path) -> None:
    """A SQLite database whose directory disappeared (and cannot be reopened) fails readiness."""
    await storage.db.engine.dispose()  # no pooled connection keeps the old file alive
    shutil.rmtree(tmp_path / "data")
    (tmp_path / "data").write_text("not a directory")
    ok, checks = await readiness(storage)
    assert ok is False and checks["database"]["ok"] is False and "error" in checks["database"]
    async with asyncio.timeout(5):  # aiosqlite's thread of the failed connect answers its stop on this loop
        while any("_connection_worker_thread" in t.name for t in threading.enumerate()):  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_a_check_that_hangs_times_out() -> None:
    """A dependency that does not answer within the timeout counts as failed, and the others are still reported."""

    async def hangs() -> None:
        await asyncio.sleep(60)

    async def answers() -> None:
        return None

    ready = Readiness({"redis": hangs, "database": answers}, timeout_s=0.05)
    started = time.perf_counter()
    ok, checks = await ready.check()
    assert time.perf_counter() - started < 5
    assert ok is False and checks["redis"]["error"] == "no answer within 0.05 s" and checks["database"]["ok"] is True


async def test_readyz_says_stopping_during_a_graceful_stop(storage: Storage) -> None:
    """Once a stop began, /readyz answers 503 "stopping" although every dependency is fine."""
    ready = Readiness.of_storage(storage)
    ready.stopping = True
    async with _client(ready) as http:
        resp = await http.get("/readyz")
    assert resp.status_code == 503 and resp.json()["status"] == "stopping"
    assert resp.json()["checks"]["database"]["ok"] is True


@pytest.mark.slow
def test_every_port_of_a_real_server_answers_health(tmp_path: Path) -> None:
    """`openim start`: /health on the gateway, /healthz and /readyz on the REST port and on the admin port."""
    server = start_server(tmp_path)
    try:
        gateway = httpx.get(f"http://127.0.0.1:{server.gateway}/health").json()
        assert gateway["status"] == "ok" and gateway["role"] == "msggateway"
        for port in (server.api, server.admin):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
            assert ready.status_code == 200 and ready.json()["checks"]["database"]["ok"] is True
    finally:
        server.stop()


class _Proxy:
    """A TCP proxy on 127.0.0.1 that can be unplugged: new and existing connections then fail."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.plug()

    def plug(self) -> None:
        """Listen (again, on the same port once it has one) and relay."""
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.port = int(self.listener.getsockname()[1])
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)

    def unplug(self) -> None:
        self.open = False
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close alone does not)
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
async def postgres_url(request: pytest.FixtureRequest) -> str:
    """The PostgreSQL test database, migrated and empty (skips without OPENIM_TEST_POSTGRES_URL, fails in CI)."""
    pg: _Postgres = request.getfixturevalue("_postgres")
    await _prepare_postgres(pg)
    return pg.url


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[tuple[_Proxy, str]]:
    url = dialect.normalize_url(postgres_url)
    plug = _Proxy((url.host or "127.0.0.1", url.port or 5432))
    yield plug, url.set(host="127.0.0.1", port=plug.port).render_as_string(hide_password=False)
    plug.unplug()


@pytest.mark.slow
@pytest.mark.postgres
def test_real_server_readyz_fails_when_postgresql_goes_away(tmp_path: Path, proxy: tuple[_Proxy, str]) -> None:
    """A running server whose PostgreSQL becomes unreachable stays up and answers /readyz 503 on the REST and admin
    ports, its queue consumer waiting (it once ended, and the whole process with it); 200 once PostgreSQL is back."""
    plug, url = proxy
    server = start_server(tmp_path, OPENIM_DATABASE_URL=url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert httpx.get(f"http://127.0.0.1:{server.admin}/readyz").status_code == 200
        plug.unplug()
        transfer_log = tmp_path / "logs" / "msgtransfer.log"
        deadline = time.monotonic() + 30
        while "database unreachable" not in transfer_log.read_text():
            assert time.monotonic() < deadline, "the queue consumer never met the outage"
            assert server.proc.poll() is None, (tmp_path / "logs" / "openim.log").read_text()
            time.sleep(0.1)
        for port in (server.api, server.admin):
            resp = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
            assert resp.status_code == 503, resp.text
            assert resp.json()["checks"]["database"]["ok"] is False
        assert httpx.get(f"http://127.0.0.1:{server.admin}/healthz").status_code == 200  # alive, not ready
        plug.plug()
        deadline = time.monotonic() + 30
        while httpx.get(f"http://127.0.0.1:{server.api}/readyz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "not ready again after PostgreSQL came back"
            time.sleep(0.2)
        assert server.proc.poll() is None
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.redis
def test_readyz_checks_redis_and_the_queue_when_configured(tmp_path: Path, redis_url: str) -> None:
    """With redis.url set, /readyz lists redis and queue; it turns 503 while that Redis is down (the process keeps
    serving) and 200 again once Redis is back."""
    del redis_url  # the shared test Redis must be there (CI); this test runs a private one it may stop
    redis_server = shutil.which("redis-server")
    assert redis_server is not None
    port = free_port()
    private = subprocess.Popen(
        [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
            time.sleep(0.05)
        server = start_server(tmp_path, OPENIM_REDIS_URL=f"redis://127.0.0.1:{port}/0")
        try:
            ready = httpx.get(f"http://127.0.0.1:{server.admin}/readyz", timeout=5)
            assert ready.status_code == 200
            checks = ready.json()["checks"]
            assert checks["redis"]["ok"] is True and checks["queue"]["ok"] is True
            private.terminate()
            private.wait(timeout=10)
            down = httpx.get(f"http://127.0.0.1:{server.api}/readyz", timeout=10)
            assert down.status_code == 503
            assert down.json()["checks"]["redis"]["ok"] is False
            assert down.json()["checks"]["database"]["ok"] is True
            private = subprocess.Popen(
                [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if httpx.get(f"http://127.0.0.1:{server.api}/readyz", timeout=5).status_code == 200:
                    break
                time.sleep(0.2)
            else:
                pytest.fail("/readyz did not recover after Redis came back")
            assert server.proc.poll() is None
        finally:
            server.stop()
    finally:
        if private.poll() is None:
            private.kill()
        private.wait()
