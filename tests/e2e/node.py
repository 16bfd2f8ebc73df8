"""Running the Node test files (`node --test FILE`) for the pytest wrappers of tests/e2e, and the session's Node
environment: `scripts/e2e-deps` once, then the variables every file gets."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

import pytest

E2E = Path(__file__).resolve().parent
REPO = E2E.parents[1]
FILE_TIMEOUT = 300  # seconds for one Node test file; each test inside has its own, smaller bound


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail in CI (CI=true), where the e2e tests must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"the e2e tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def prepare_node_env() -> dict[str, str]:
    """Dependencies in place (scripts/e2e-deps), and the environment for the Node test runner."""
    started = time.monotonic()
    try:
        deps = subprocess.run(
            [str(REPO / "scripts" / "e2e-deps")], capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        unavailable("scripts/e2e-deps did not finish within 900 s")
    if deps.returncode != 0:
        unavailable(f"scripts/e2e-deps could not install what the e2e tests need:\n{deps.stderr}")
    if shutil.which("node") is None:
        unavailable("node is not on PATH")
    env = dict(os.environ)
    env["OPENIM_E2E_PYTHON"] = sys.executable  # the server under test runs on this interpreter (the repo's .venv)
    env.setdefault("NO_COLOR", "1")
    print(f"e2e-deps: {time.monotonic() - started:.1f} s")
    return env


def run_node(file: str, env: dict[str, str], timeout: float = FILE_TIMEOUT) -> tuple[int, str]:
    """`node --test FILE` in its own process group (killed whole on timeout: it runs a server and a browser)."""
    cmd = ["node", "--test", "--test-force-exit", "--test-reporter=spec", file]
    with subprocess.Popen(
        cmd,
        cwd=E2E,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            return -1, f"{output}\n(killed: still running after {timeout} s)"
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # whatever the runner left behind (server, chromium)
            except ProcessLookupError:
                pass
    return proc.returncode, output
