"""Config manager: OpenIM's admin config centre (`internal/api/config_manager.go`) — /config/* and /restart.

OpenIM keeps each config file in etcd and restarts every process (re-executing it, so connections drop) when one
changes or /restart is called. Here a config name is a top-level section of config/config.yaml (`log`,
`multiLogin`, `cronTask`, …; `settings.sections()`), and a change applies in place, without a restart and
without dropping a connection, to the keys that can change at run time (`settings.RELOADABLE`); a change to any
other key is refused with 1001 naming it, since it needs the process restarted with a new file.

- get_config_list: the environment (source, docker or kubernetes), the version and the config names;
  get_config: one section as a JSON string, secrets and URL passwords masked (`***`), as the process runs it.
- set_config: `data` is a JSON object of the section's keys (left-out keys keep their value; a masked value sent
  back unchanged stays unchanged). Needs the config manager enabled (OpenIM: needs etcd). The changed keys are
  stored in the database (`config_override`, shared by every process and read again at every start), this process
  reloads, and every other one does on the bus event `ConfigReload` (Redis carries it across processes).
- reset_config: drops every stored change; every process goes back to its file.
- set_enable_config_manager / get_enable_config_manager: the flag, stored beside the changes. Turning it on or
  off drops the stored changes (OpenIM starts the config centre from the files when it is turned on).
- /restart: every process re-reads its file (and the stored changes) and applies what changed at run time; keys
  that changed in the file but need a restart are logged and answered in `restartRequired`. A file that does not
  load is 1001 with its problems, and nothing changes.

Admin only (OpenIM's CheckAdmin middleware). Errors are 1001 with errDlt saying what to do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from openim.infra.bus import TOPIC_CONFIG, Bus, ConfigReload
from openim.infra.clock import Clock
from openim.protocol.errors import ArgsError
from openim.services.auth import Caller
from openim.settings import RELOADABLE, ConfigError, Settings, changed_keys, leaf_values, sections, with_values
from openim.storage import Storage

__all__ = ["ConfigList", "ConfigManagerService", "ReloadReport"]

MAX_DATA_BYTES = 64 * 1024  # one section as JSON is a few KiB


@dataclass(frozen=True, slots=True)
class ConfigList:
    environment: str
    version: str
    config_names: list[str]


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """What a reload did in one process: keys applied now, keys that changed but need the process restarted."""

    applied: list[str]
    restart_required: list[str]


Reload = Callable[[str], Awaitable[ReloadReport]]


class ConfigManagerService:
    def __init__(
        self,
        storage: Storage,
        bus: Bus,
        clock: Clock,
        *,
        current: Callable[[], Settings],
        reload: Reload,
        origin: str,
        environment: str,
        version: str,
    ) -> None:
        self.storage = storage
        self.bus = bus
        self.clock = clock
        self._current = current  # the settings this process runs with
        self._reload = reload  # re-read file + stored changes and apply them here (runtime.py)
        self._origin = origin  # this process, so that it skips its own ConfigReload event
        self.environment = environment
        self.version = version

    # ---- reads ----------------------------------------------------------------------------------------------

    async def config_list(self, caller: Caller) -> ConfigList:
        caller.require_admin()
        return ConfigList(self.environment, self.version, sections())

    async def get_config(self, caller: Caller, name: str) -> str:
        """One section as this process runs it, as a JSON string, secrets masked."""
        caller.require_admin()
        masked = self._current().masked()
        if name not in sections():
            raise ArgsError("config name not found")
        return orjson.dumps(masked[name]).decode()

    async def enabled(self, caller: Caller) -> bool:
        caller.require_admin()
        enabled, _ = await self.storage.config_override.state()
        return enabled

    # ---- changes --------------------------------------------------------------------------------------------

    async def set_config(self, caller: Caller, name: str, data: str, *, operation_id: str = "") -> ReloadReport:
        """Change keys of section `name` that may change at run time; stored, then applied in every process."""
        caller.require_admin()
        enabled, _ = await self.storage.config_override.state()
        if not enabled:
            raise ArgsError(
                'the config manager is disabled: turn it on with /config/set_enable_config_manager {"enable": true}'
            )
        if name not in sections():
            raise ArgsError("config name not found")
        current = self._current()
        candidate = with_values_checked(current, _updates(current, name, data))
        changed = changed_keys(current, candidate)
        if not changed:
            return ReloadReport([], [])
        fixed = [k for k in changed if k not in RELOADABLE]
        if fixed:
            live = sorted(k for k in RELOADABLE if k.startswith(f"{name}."))
            named = ", ".join(live[:8]) + (f" … ({len(live)} in all)" if len(live) > 8 else "")
            raise ArgsError(
                f"{', '.join(fixed)} cannot change while the server runs: set it in config/config.yaml (or its "
                f"OPENIM_* variable) and restart the processes. Keys of {name} that can: {named or 'none'}"
            )
        written = leaf_values(candidate, as_written=True)
        await self.storage.config_override.put(
            {k: written[k] for k in changed}, now=self.clock.now_ms(), operator=caller.user_id
        )
        return await self._everywhere("set_config", operation_id)

    async def reset_config(self, caller: Caller, *, operation_id: str = "") -> ReloadReport:
        """Drop every stored change: each process runs on its file again."""
        caller.require_admin()
        await self.storage.config_override.reset(now=self.clock.now_ms(), operator=caller.user_id)
        return await self._everywhere("reset_config", operation_id)

    async def set_enabled(self, caller: Caller, enable: bool, *, operation_id: str = "") -> None:
        """Turn the config manager on or off; a change of state drops the stored changes."""
        caller.require_admin()
        enabled, _ = await self.storage.config_override.state()
        if enabled == enable:
            return
        await self.storage.config_override.reset(enabled=enable, now=self.clock.now_ms(), operator=caller.user_id)
        await self._everywhere("set_enable_config_manager", operation_id)

    async def restart(self, caller: Caller, *, operation_id: str = "") -> ReloadReport:
        """Every process re-reads its file and the stored changes and applies what may change at run time."""
        caller.require_admin()
        return await self._everywhere("restart", operation_id)

    async def _everywhere(self, reason: str, operation_id: str) -> ReloadReport:
        try:
            report = await self._reload(reason)
        except ConfigError as exc:
            problems = "; ".join(str(p) for p in exc.problems)
            raise ArgsError(f"the configuration does not load, nothing changed: {problems}") from None
        self.bus.publish(TOPIC_CONFIG, ConfigReload(reason, operation_id, self._origin))
        return report


def _updates(current: Settings, name: str, data: str) -> dict[str, Any]:
    """The key paths `data` sets in section `name`, leaving out values sent back as they were shown (masked)."""
    if len(data.encode()) > MAX_DATA_BYTES:
        raise ArgsError(f"data is larger than {MAX_DATA_BYTES} bytes")
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ArgsError(f"data is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ArgsError(f"data must be a JSON object of the keys of {name}")
    shown = _flatten(current.masked()[name], f"{name}.")
    real = leaf_values(current, as_written=True)
    masked = {k for k, v in shown.items() if v != real.get(k)}  # secrets, URL passwords
    return {k: v for k, v in _flatten(parsed, f"{name}.").items() if not (k in masked and v == shown[k])}


def _flatten(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def with_values_checked(current: Settings, updates: dict[str, Any]) -> Settings:
    """`with_values`, its ValidationError turned into 1001 naming each bad key."""
    try:
        return with_values(current, updates)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
            problems.append(f"{key}: {message}")
        raise ArgsError("; ".join(problems)) from None
