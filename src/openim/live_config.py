"""Configuration at run time: the config centre's stored changes on top of a process's file, and what a reload
may change in a running process (`settings.RELOADABLE`). Used by runtime.py only (`Runtime.build`, `Runtime.reload`).

Precedence, lowest first: built-in defaults, the config file, `OPENIM_*` variables, then — while the config
manager is enabled — the changes stored by /config/set_config (table `config_override`), which are all keys of
`RELOADABLE`. A stored change that is no longer valid (a key renamed, a value out of range after an upgrade) is
logged and ignored, never fatal: the process starts on its file.

A reload changes the running `Settings` object in place, one reloadable key at a time (validated by pydantic's
assignment checks): every part that reads its section live (the gateway's `websocketMaxConnNum`, the scheduler's
`cronTask`) sees the new value at once, and runtime.py pushes the others into the services that copied them.
Keys that changed in the file but are not reloadable are reported, and keep their running value until the process
is restarted.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from openim.settings import RELOADABLE, Settings, changed_keys, leaf_values, with_values

__all__ = ["Reloaded", "apply_changes", "environment", "with_stored"]

log = logging.getLogger("openim.runtime")


def environment() -> str:
    """Where this process runs, as OpenIM's get_config_list reports it: kubernetes, docker or source."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    if Path("/.dockerenv").exists():
        return "docker"
    return "source"


def with_stored(settings: Settings, stored: dict[str, Any]) -> Settings:
    """`settings` with the stored changes on top; changes that are not reloadable or not valid are left out."""
    usable = {k: v for k, v in stored.items() if k in RELOADABLE}
    for key in sorted(set(stored) - set(usable)):
        log.warning("config centre: stored change of %s ignored: it is not a key that changes at run time", key)
    try:
        return with_values(settings, usable)
    except ValidationError:
        pass
    result = settings
    for key, value in sorted(usable.items()):  # find the bad ones: keep every change that validates on its own
        try:
            result = with_values(result, {key: value})
        except ValidationError as exc:
            log.warning("config centre: stored change %s=%r ignored: %s", key, value, exc.errors()[0]["msg"])
    return result


@dataclass(frozen=True, slots=True)
class Reloaded:
    applied: list[str]  # reloadable keys now running with new values
    restart_required: list[str]  # keys whose new value waits for a restart of this process


def apply_changes(running: Settings, wanted: Settings) -> Reloaded:
    """Set each reloadable key that differs in `wanted` on the `running` object, in place; report the rest."""
    changed = changed_keys(running, wanted)
    values = leaf_values(wanted, as_written=True)
    applied = [k for k in changed if k in RELOADABLE]
    for key in applied:
        *path, name = key.split(".")
        node: Any = running
        for part in path:
            node = getattr(node, part)
        setattr(node, name, values[key])
    return Reloaded(applied, [k for k in changed if k not in RELOADABLE])
