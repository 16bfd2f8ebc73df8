"""End-to-end behind nginx: OpenIM's `@openim/client-sdk` (tests/e2e/nginx.test.mjs) against a scaled-out
deployment — two gateways, two api processes and a msgtransfer (tests/cluster.py: separate `openim start`
processes on PostgreSQL and a redis-server of the test's own) behind nginx running deploy/nginx/openim.conf as
shipped (tests/nginx.py: only the upstream ports and a plain-HTTP loopback listener differ).

The Node test reaches everything through nginx (`/api/`, `/msg_gateway`) and the test's side through a small
HTTP control channel on loopback (OPENIM_E2E_CONTROL):

- `GET /gateways`: each gateway's name, whether it runs, and its online users and connections as its own
  `/metrics` counts them (each gateway runs the admin role on a port of its own), so the test can tell which
  gateway holds which user;
- `POST /kill/<name>`: SIGKILL of that gateway (answered once the process is gone).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.cluster import Cluster, PrivateRedis
from tests.databases import create_database, side_database_url
from tests.e2e.node import run_node
from tests.nginx import Nginx

from openim.storage import open_storage

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

FILE = "nginx.test.mjs"
NODE_TIMEOUT = 180  # seconds; the file's own tests are bounded far below this


@dataclass
class Deployment:
    cluster: Cluster
    nginx: Nginx
    control: str  # base URL of the control channel
    actions: list[str] = field(default_factory=list)  # what the control channel did, for a failure report


def _gauge_sum(metrics: str, name: str) -> int:
    """Sum over the label sets of gauge `name` in Prometheus text."""
    pattern = rf"^{name}(?:\{{[^}}]*\}})? ([0-9.eE+-]+)$"
    return int(sum(float(v) for v in re.findall(pattern, metrics, flags=re.MULTILINE)))


def gateway_states(cluster: Cluster) -> list[dict[str, Any]]:
    """Each gateway: name, port, alive, and its online users / connections from its own /metrics."""
    states: list[dict[str, Any]] = []
    for gw in cluster.gateways:
        state: dict[str, Any] = {"name": gw.name, "port": gw.port, "alive": gw.alive}
        if gw.alive:
            metrics = httpx.get(f"http://127.0.0.1:{gw.admin_port}/metrics", timeout=5).text
            state["onlineUsers"] = _gauge_sum(metrics, "openim_gateway_online_users")
            state["connections"] = _gauge_sum(metrics, "openim_gateway_connections")
        states.append(state)
    return states


def _control_server(deployment_box: list[Deployment]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path != "/gateways":
                return self._answer(404, {"error": f"no {self.path}"})
            try:
                return self._answer(200, {"gateways": gateway_states(deployment_box[0].cluster)})
            except Exception as exc:  # reported to the Node test, which fails with it
                return self._answer(500, {"error": repr(exc)})

        def do_POST(self) -> None:
            deployment = deployment_box[0]
            name = self.path.removeprefix("/kill/")
            victims = [gw for gw in deployment.cluster.gateways if gw.name == name and self.path.startswith("/kill/")]
            if not victims or not victims[0].alive:
                return self._answer(404, {"error": f"no running gateway {self.path}"})
            victims[0].kill9()  # SIGKILL and wait: the process is gone when the answer leaves
            deployment.actions.append(f"{time.strftime('%H:%M:%S')} SIGKILL {name} (port {victims[0].port})")
            return self._answer(
                200, {"killed": name, "returncode": victims[0].proc.returncode if victims[0].proc else None}
            )

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the Node test reports what it asked

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


async def _migrate(url: str) -> None:
    storage = await open_storage(url, pool_size=1)  # opening migrates to the newest revision
    await storage.close()


@pytest.fixture
def deployment(tmp_path: Path, _postgres: Any) -> Iterator[Deployment]:
    """Two gateways (each with its admin role), two api processes, msgtransfer, nginx in front, the control channel."""
    database_url = side_database_url(_postgres.url, "nginx")
    asyncio.run(create_database(database_url, fresh=True))
    asyncio.run(_migrate(database_url))  # here, so that the five processes can start side by side
    redis_server = PrivateRedis(tmp_path / "redis")
    redis_server.start(persistent=False)
    cluster = Cluster.build(tmp_path, database_url, redis_server.url, gateway_admin=True)
    cluster.start_timeout = 240  # five processes import at once: minutes on a loaded 2-core machine
    nginx: Nginx | None = None
    box: list[Deployment] = []
    control = _control_server(box)
    thread = threading.Thread(target=control.serve_forever, daemon=True)
    try:
        cluster.start_all(migrated=True)
        nginx = Nginx(tmp_path / "nginx", [gw.port for gw in cluster.gateways], [api.port for api in cluster.apis])
        nginx.start()
        box.append(Deployment(cluster, nginx, f"http://127.0.0.1:{control.server_address[1]}"))
        thread.start()
        yield box[0]
    finally:
        control.shutdown() if thread.is_alive() else None
        control.server_close()
        if nginx is not None:
            nginx.stop()
        cluster.stop()
        redis_server.kill(wipe=False)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace").rstrip()
    except OSError as exc:
        return f"({path.name}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _report(deployment: Deployment) -> str:
    """The control channel's actions and the tail of each process's output and nginx's error log."""
    parts = ["--- control channel ---", *deployment.actions]
    for role in deployment.cluster.roles:
        output = deployment.cluster.cwd / f"{role.name}.out"
        parts += [f"--- {role.name} ({' '.join(role.roles)}, port {role.port}) ---", _tail(output, 30)]
    parts += ["--- nginx error.log ---", _tail(deployment.nginx.directory / "error.log", 30)]
    return "\n".join(parts)


def test_nginx_two_gateways(deployment: Deployment, node_env: dict[str, str]) -> None:
    """tests/e2e/nginx.test.mjs passes: logins spread over both gateways, 1:1 and group chat across them, sync,
    then a gateway killed: its clients come back through nginx on the other, with the same history."""
    base = f"http://127.0.0.1:{deployment.nginx.port}"
    env = {
        **node_env,
        "OPENIM_E2E_API_ADDR": f"{base}/api",
        "OPENIM_E2E_WS_ADDR": f"ws://127.0.0.1:{deployment.nginx.port}/msg_gateway",
        "OPENIM_E2E_CONTROL": deployment.control,
    }
    started = time.monotonic()
    code, output = run_node(FILE, env, NODE_TIMEOUT)
    elapsed = time.monotonic() - started
    if code != 0:
        pytest.fail(
            f"node --test {FILE} failed (exit {code}, {elapsed:.0f} s):\n{output}\n{_report(deployment)}", pytrace=False
        )
    print(f"{FILE}: passed in {elapsed:.1f} s")
