"""End-to-end: a real `openim start` driven by OpenIM's own client SDKs (tests/e2e/*.test.mjs, Node's test runner).

`scripts/e2e-deps` runs once per session (npm ci, Debian's chromium if missing); then each Node test file runs in
its own process, starts its own server and must pass. Outside CI a machine without Node.js or Chromium skips them
with the reason; with CI=true that is a failure. Run one file by hand: `cd tests/e2e && node --test FILE`.
"""

from __future__ import annotations

import time

import pytest
from tests.e2e.node import run_node

pytestmark = pytest.mark.e2e

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


@pytest.mark.parametrize("file", FILES)
def test_sdk_file(file: str, node_env: dict[str, str]) -> None:
    """Every test of tests/e2e/FILE passes (the failure shows Node's report: frames, API calls, server log)."""
    started = time.monotonic()
    code, output = run_node(file, node_env)
    elapsed = time.monotonic() - started
    if code != 0:
        pytest.fail(f"node --test {file} failed (exit {code}, {elapsed:.0f} s):\n{output}", pytrace=False)
    print(f"{file}: passed in {elapsed:.1f} s")
