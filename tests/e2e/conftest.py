"""The e2e marker: tests marked `e2e` (OpenIM's own SDKs against a real `openim start`) take a minute or more, so
a plain `pytest` leaves them out; they run when selected by marker (`pytest -m e2e`, as `make test` does in its own
step) or when tests/e2e is named on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.node import prepare_node_env

_HERE = Path(__file__).resolve().parent


def _names_e2e(config: pytest.Config) -> bool:
    if "e2e" in (config.getoption("markexpr") or ""):
        return True
    for arg in config.args:
        path = Path(arg.split("::", 1)[0]).resolve()
        if path == _HERE or _HERE in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _names_e2e(config):
        return
    e2e = [item for item in items if item.get_closest_marker("e2e")]
    if e2e:
        config.hook.pytest_deselected(items=e2e)
        items[:] = [item for item in items if not item.get_closest_marker("e2e")]


@pytest.fixture(scope="session")
def node_env() -> dict[str, str]:
    """`scripts/e2e-deps` run once per session, and the environment for `node --test` (tests/e2e/node.py)."""
    return prepare_node_env()
