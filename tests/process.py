"""Run `openim start` as a real process for tests: free ports, a clean environment, wait until it answers."""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

OPENIM = [sys.executable, "-m", "openim"]
# How long a started process may take to answer (or to exit, when it is meant to refuse to start). It answers in
# ~2 s on a quiet machine; parallel test workers and other jobs on 2 cores stretch that many times (its imports
# alone are 2 s of CPU), so the bound is generous: it only ends the wait for a process that never answers.
START_TIMEOUT = 120.0


# Ports handed to test servers come from below the kernel's ephemeral range (32768-60999 by default), one slice
# per xdist worker. A port the kernel picked for `bind(0)` is an ephemeral one, and any outgoing connection of
# any test may take it as its local port before the server binds it ("Address already in use" in CI); below
# the range only the servers these helpers start take ports, and each worker walks its own slice.
_PORT_BASE, _PORT_SLICE = 10_000, 2_500
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_slice = int(_worker) % 8 if _worker.isdigit() else 0
_next_port = itertools.cycle(range(_PORT_BASE + _slice * _PORT_SLICE, _PORT_BASE + (_slice + 1) * _PORT_SLICE))
for _ in range(random.randrange(_PORT_SLICE)):  # a session after another does not start on its ports
    next(_next_port)


def free_port() -> int:
    """A port nothing listens on now, outside the ephemeral range (above)."""
    for _ in range(_PORT_SLICE):
        port = next(_next_port)
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))  # as the servers bind (api.listenIP): a port held on any address fails
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in this worker's slice")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without OPENIM_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """An `openim start` child process with its ports and working directory."""

    proc: subprocess.Popen[bytes]
    api: int
    gateway: int
    admin: int
    cwd: Path

    def post(self, path: str, body: object, token: str = "") -> dict[str, Any]:
        headers = {"operationID": "proc-test", **({"token": token} if token else {})}
        result: dict[str, Any] = httpx.post(f"http://127.0.0.1:{self.api}{path}", json=body, headers=headers).json()
        return result

    def admin_token(self) -> str:
        return str(self.post("/auth/get_admin_token", {"secret": "openIM123", "userID": "imAdmin"})["data"]["token"])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start_server(cwd: Path, *roles: str, ports: tuple[int, int, int] | None = None, **env: str) -> ServerProcess:
    """Start `openim start [roles]` in `cwd` on free (or given) ports and wait up to START_TIMEOUT for /healthz."""
    api, gateway, admin = ports or (free_port(), free_port(), free_port())
    environ = clean_env(
        OPENIM_API_PORTS=str(api), OPENIM_MSGGATEWAY_PORTS=str(gateway), OPENIM_ADMIN_PORT=str(admin), **env
    )
    output = cwd / "start.out"
    with output.open("a") as out:
        proc = subprocess.Popen([*OPENIM, "start", *roles], cwd=cwd, env=environ, stdout=out, stderr=subprocess.STDOUT)
    server = ServerProcess(proc, api, gateway, admin, cwd)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"openim start exited early: {output.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{api}/healthz", timeout=0.5).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"openim start did not answer /healthz within {START_TIMEOUT:.0f} s")
