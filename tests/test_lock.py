"""The locks in requirements/ pin every dependency pyproject.toml declares, at a version it allows, with hashes.

`make run` and `make test` install only from these files, so a dependency added to pyproject.toml without
`make lock` would be missing on a fresh machine; this test says so first.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)


def _pins(name: str) -> dict[str, str]:
    text = (REPO / "requirements" / name).read_text()
    return {canonicalize_name(m[1]): m[2] for m in PIN.finditer(text)}


def _declared(extra: bool) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    if extra:
        found += [Requirement(r) for r in project["optional-dependencies"]["test"]]
    build = (REPO / "requirements" / "build.in").read_text().splitlines()
    found += [Requirement(line) for line in build if line.strip() and not line.startswith("#")]
    return found


@pytest.mark.parametrize(("lock", "extra"), [("run.txt", False), ("test.txt", True)])
def test_lock_pins_every_declared_dependency(lock: str, extra: bool) -> None:
    pins = _pins(lock)
    for req in _declared(extra):
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in requirements/{lock}: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock} pins {req.name}=={pins[name]}, outside {req.specifier}: run `make lock`"
        )


@pytest.mark.parametrize("lock", ["run.txt", "test.txt"])
def test_every_pin_has_hashes(lock: str) -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (REPO / "requirements" / lock).read_text())
    pinned = [b for b in blocks if PIN.match(b)]
    assert pinned
    for block in pinned:
        assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]} in requirements/{lock}"


def test_run_lock_agrees_with_test_lock() -> None:
    run, test = _pins("run.txt"), _pins("test.txt")
    differ = {name: (version, test.get(name)) for name, version in run.items() if test.get(name) != version}
    assert not differ, f"run.txt and test.txt pin different versions: {differ}; run `make lock`"
