"""Run `openim start` as a real process for tests: free ports, a clean environment, wait until it answers."""

from __future__ import annotations

import os
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
