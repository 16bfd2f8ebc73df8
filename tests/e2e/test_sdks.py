"""End-to-end: a real `openim start` driven by OpenIM's own client SDKs (tests/e2e/*.test.mjs, Node's test runner).

`scripts/e2e-deps` runs once per session (npm ci, Debian's chromium if missing); then each Node test file runs in
its own process, starts its own server and must pass. Outside CI a machine without Node.js or Chromium skips them
with the reason; with CI=true that is a failure. Run one file by hand: `cd tests/e2e && node --test FILE`.
"""

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

pytestmark = pytest.mark.e2e

E2E = Path(__file__).resolve().parent
REPO = E2E.parents[1]
FILES = [
    "harness.test.mjs",
    "client-sdk.test.mjs",
    "wasm-sdk.test.mjs",
    "groups.test.mjs",
    "wasm-groups.test.mjs",
    "wasm-media.test.mjs",
    "client-sdk-media.test.mjs",
    "wasm-third.test.mjs",
    "push.test.mjs",
    "webhooks.test.mjs",
]
FILE_TIMEOUT = 300  # seconds for one Node test file; each test inside has its own, smaller bound


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the e2e tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node_env() -> dict[str, str]:
    """Dependencies in place (scripts/e2e-deps), and the environment for the Node test runner."""
    started = time.monotonic()
    try:
        deps = subprocess.run(
            [str(REPO / "scripts" / "e2e-deps")], capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        _unavailable("scripts/e2e-deps did not finish within 900 s")
    if deps.returncode != 0:
        _unavailable(f"scripts/e2e-deps could not install what the e2e tests need:\n{deps.stderr}")
    if shutil.which("node") is None:
        _unavailable("node is not on PATH")
    env = dict(os.environ)
    env["OPENIM_E2E_PYTHON"] = sys.executable  # the server under test runs on this interpreter (the repo's .venv)
    env.setdefault("NO_COLOR", "1")
    print(f"e2e-deps: {time.monotonic() - started:.1f} s")
    return env


def _run(file: str, env: dict[str, str]) -> tuple[int, str]:
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
            output, _ = proc.communicate(timeout=FILE_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            return -1, f"{output}\n(killed: still running after {FILE_TIMEOUT} s)"
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # whatever the runner left behind (server, chromium)
            except ProcessLookupError:
                pass
    return proc.returncode, output


@pytest.mark.parametrize("file", FILES)
def test_sdk_file(file: str, node_env: dict[str, str]) -> None:
    """Every test of tests/e2e/FILE passes (the failure shows Node's report: frames, API calls, server log)."""
    started = time.monotonic()
    code, output = _run(file, node_env)
    elapsed = time.monotonic() - started
    if code != 0:
        pytest.fail(f"node --test {file} failed (exit {code}, {elapsed:.0f} s):\n{output}", pytrace=False)
    print(f"{file}: passed in {elapsed:.1f} s")
