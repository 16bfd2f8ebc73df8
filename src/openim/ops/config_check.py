"""`openim config check`: load the settings exactly as `openim start` would, then apply the rules that span keys.

A report holds the problems (each at `file:line:col key.path`, or naming the `$OPENIM_*` variable it came
from), advice that does not stop a start (warnings), and the effective settings with secrets masked. The
renderers turn it into text (problems one per line; on success the settings as YAML) or JSON. Nothing here
starts a role or opens a database: a check is safe beside a running server.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from openim.ops.secret import DEFAULT_SECRET, HOW_TO_SET, is_loopback, weakness
from openim.settings import (
    ENV_PREFIX,
    OPENIM_READ_LIMIT,
    ConfigError,
    Problem,
    Settings,
    env_variables,
    find_config_path,
    load_settings,
)

__all__ = ["BUILTIN_DEFAULTS", "ConfigReport", "check_config", "render_json", "render_text", "run_config_check"]

BUILTIN_DEFAULTS = "built-in defaults"
# OPENIM_* variables that are not settings keys but are read elsewhere, so they draw no warning.
_OTHER_VARIABLES = ("OPENIM_CONFIG",)
_OTHER_PREFIXES = ("OPENIM_TEST_",)


@dataclass(frozen=True)
class ConfigReport:
    """What `openim config check` found: `ok` is false when `openim start` would refuse this configuration."""

    source: str  # the file read, or BUILTIN_DEFAULTS
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    settings: dict[str, Any] | None = None  # the effective settings, masked; None when they did not load
    env_overrides: list[str] = field(default_factory=list)  # the OPENIM_* variables that changed a key

    @property
    def ok(self) -> bool:
        return not self.problems


def check_config(path: Path | None, env: Mapping[str, str]) -> ConfigReport:
    """Check the file at `path` (else `$OPENIM_CONFIG`, else ./config/config.yaml, else the defaults) with `env`."""
    config_path = find_config_path(path, env)
    source = str(config_path) if config_path is not None else BUILTIN_DEFAULTS
    variables = env_variables()
    overrides = sorted(var for var in env if var in variables)
    warnings = _unknown_variables(env, variables)
    try:
        settings = load_settings(config_path, env)
    except ConfigError as exc:
        return ConfigReport(source, list(exc.problems), warnings, None, overrides)
    origins = _Origins(config_path, {variables[var]: var for var in overrides})
    problems = _port_clashes(settings, origins) + _weak_secret(settings, origins) + _object_sizes(settings, origins)
    warnings += _advice(settings, origins)
    return ConfigReport(source, problems, warnings, settings.masked(), overrides)


def render_text(report: ConfigReport) -> str:
    """Problems one per line (`file:line:col key.path: what is wrong`), or the effective settings as YAML.

    No final newline: print it with `print` or `typer.echo`.
    """
    lines = [str(problem) for problem in report.problems]
    if not report.ok or report.settings is None:
        lines += [f"warning: {warning}" for warning in report.warnings]
        return "\n".join(lines)
    where = "built-in defaults (no config file found)" if report.source == BUILTIN_DEFAULTS else report.source
    lines.append(f"# effective settings from {where}, secrets masked")
    if report.env_overrides:
        lines.append(f"# overridden by the environment: {', '.join(report.env_overrides)}")
    lines += [f"# warning: {warning}" for warning in report.warnings]
    body = yaml.dump(report.settings, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    return "\n".join(lines) + "\n" + body.rstrip("\n")


def render_json(report: ConfigReport) -> str:
    """The report as one JSON document, for scripts and monitoring."""
    document = {
        "ok": report.ok,
        "source": report.source,
        "problems": [_problem_json(p) for p in report.problems],
        "warnings": [_problem_json(p) for p in report.warnings],
        "envOverrides": report.env_overrides,
        "settings": report.settings,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def run_config_check(path: Path | None, env: Mapping[str, str], *, as_json: bool = False) -> tuple[int, str]:
    """The whole `openim config check [PATH]`: its exit code (0 ok, 1 problems) and the text to print.

    The CLI is then `code, text = run_config_check(path, os.environ, as_json=as_json)`, `typer.echo(text,
    err=bool(code))`, `raise typer.Exit(code)`.
    """
    report = check_config(path, env)
    text = render_json(report) if as_json else render_text(report)
    return (0 if report.ok else 1), text


class _Origins:
    """Where a key's value came from: a file position, an `$OPENIM_*` variable, or the built-in default."""

    def __init__(self, config_path: Path | None, env_keys: dict[str, str]) -> None:
        self.source = str(config_path) if config_path is not None else ""
        self.env_keys = env_keys
        self.positions = _positions(config_path) if config_path is not None else {}

    def variable(self, key: str) -> str | None:
        parts = key.split(".")
        while parts:  # a list item set by `OPENIM_API_PORTS` belongs to the list's variable
            var = self.env_keys.get(".".join(parts))
            if var:
                return var
            parts.pop()
        return None

    def explicit(self, key: str) -> bool:
        return self.variable(key) is not None or key in self.positions

    def describe(self, key: str) -> str:
        var = self.variable(key)
        if var:
            return f"{key} (from ${var})"
        return key if key in self.positions else f"{key} (default)"

    def problem(self, key: str, message: str) -> Problem:
        var = self.variable(key)
        if var:
            return Problem(key, f"{message} (from ${var})")
        line, column = self.positions.get(key, (0, 0))
        if not line:
            return Problem(key, f"{message} (the default value)", self.source)
        return Problem(key, message, self.source, line, column)


def _positions(path: Path) -> dict[str, tuple[int, int]]:
    """The 1-based line and column of every key and list item of a YAML file that loaded once already."""
    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    out: dict[str, tuple[int, int]] = {}

    def walk(node: yaml.Node | None, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
                out[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                walk(value_node, key)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                out[f"{prefix}.{index}"] = (item.start_mark.line + 1, item.start_mark.column + 1)
                walk(item, f"{prefix}.{index}")

    walk(node, "")
    return out


def _listeners(settings: Settings) -> list[tuple[str, str, int]]:
    """Every (key path, listen IP, port) a full `openim start` binds."""
    found = [(f"api.ports.{i}", settings.api.listenIP, port) for i, port in enumerate(settings.api.ports)]
    found += [
        (f"msggateway.ports.{i}", settings.msggateway.listenIP, port)
        for i, port in enumerate(settings.msggateway.ports)
    ]
    if settings.admin.port:
        found.append(("admin.port", settings.admin.listenIP, settings.admin.port))
    return found


def _overlap(ip_a: str, ip_b: str) -> bool:
    """Whether two listen addresses can collide on one port (a wildcard address takes the port on every one)."""
    return ip_a == ip_b or _is_wildcard(ip_a) or _is_wildcard(ip_b)


def _is_wildcard(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_unspecified
    except ValueError:
        return ip in ("", "*")


def _port_clashes(settings: Settings, origins: _Origins) -> list[Problem]:
    """Two listeners on one port: the second would fail to bind, so `openim start` would stop."""
    problems = []
    listeners = _listeners(settings)
    for index, (key, ip, port) in enumerate(listeners):
        for other_key, other_ip, other_port in listeners[:index]:
            if port != other_port or not _overlap(ip, other_ip):
                continue
            # Point at the key the operator wrote, so the fix is where the message says.
            here, there = (
                (other_key, key) if origins.explicit(other_key) and not origins.explicit(key) else (key, other_key)
            )
            problems.append(
                origins.problem(
                    here,
                    f"port {port} is already taken by {origins.describe(there)}; "
                    "every listener needs a port of its own",
                )
            )
            break
    return problems


def _weak_secret(settings: Settings, origins: _Origins) -> list[Problem]:
    """In production, the default or a short secret: `openim start` refuses it (ops/secret.py)."""
    why = weakness(settings.secret.get_secret_value()) if settings.env == "production" else None
    if why is None:
        return []
    if origins.explicit("secret") or not origins.explicit("env"):
        return [origins.problem("secret", f"{why}; with env: production `openim start` refuses it: {HOW_TO_SET}")]
    # No secret written anywhere: point at the line that asks for production, where the operator is looking.
    return [
        origins.problem(
            "env",
            f"is production, but no secret is set and the built-in one {why}; `openim start` refuses it: {HOW_TO_SET}",
        )
    ]


def _object_sizes(settings: Settings, origins: _Origins) -> list[Problem]:
    """Part sizes the SDKs cannot upload with: a smallest part above the largest, or below S3's 5 MiB."""
    obj = settings.object
    if obj.minPartSize > obj.maxPartSize:
        return [origins.problem("object.minPartSize", f"is larger than object.maxPartSize ({obj.maxPartSize})")]
    if obj.enable != "local" and obj.minPartSize < 5 << 20:
        return [
            origins.problem(
                "object.minPartSize",
                f"is below 5 MiB (5242880), which S3-compatible stores refuse for every part but the last: "
                f"uploads of several parts would fail with object.enable: {obj.enable}",
            )
        ]
    return []


def _advice(settings: Settings, origins: _Origins) -> list[Problem]:
    """Settings that work but are risky outside a developer's machine."""
    warnings = []
    if settings.env == "development" and settings.secret.get_secret_value() == DEFAULT_SECRET:
        warnings.append(
            origins.problem(
                "secret",
                f"is OpenIM's published default: anyone can get an admin token with it; {HOW_TO_SET}, before "
                "others can reach the server (with env: production `openim start` refuses it)",
            )
        )
    if not is_loopback(settings.admin.listenIP):
        warnings.append(
            origins.problem(
                "admin.listenIP",
                "exposes /metrics and /debug beyond this machine; keep 127.0.0.1 unless a trusted host must reach it",
            )
        )
    if settings.msggateway.websocketMaxMsgLen < OPENIM_READ_LIMIT:
        warnings.append(
            origins.problem(
                "msggateway.websocketMaxMsgLen",
                f"is below the {OPENIM_READ_LIMIT} bytes OpenIM's gateway reads (it ignores its own 4096): "
                "clients that work against OpenIM are disconnected (1009) when they send a bigger message",
            )
        )
    inflated = settings.msggateway.max_inflated_len
    if inflated < settings.msg.maxMsgLen:
        warnings.append(
            origins.problem(
                "msggateway.websocketMaxInflateRatio",
                f"lets a gzip'd frame inflate to {inflated} bytes, less than msg.maxMsgLen ({settings.msg.maxMsgLen}): "
                "the largest messages the server accepts cannot be sent over a compressed WebSocket",
            )
        )
    return warnings


def _unknown_variables(env: Mapping[str, str], variables: Mapping[str, str]) -> list[Problem]:
    """`OPENIM_*` variables that match no key: a typo there is otherwise silently ignored."""
    warnings = []
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or var in variables or var in _OTHER_VARIABLES:
            continue
        if var.startswith(_OTHER_PREFIXES):
            continue
        guess = difflib.get_close_matches(var, list(variables), n=1)
        hint = f"; did you mean ${guess[0]}?" if guess else ""
        warnings.append(Problem(f"${var}", f"is not a setting and is ignored{hint}"))
    return warnings


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.source or None,
        "line": problem.line or None,
        "column": problem.column or None,
        "key": problem.key,
        "message": problem.message,
        "text": str(problem),
    }


class _Dumper(yaml.SafeDumper):
    """Writes lists of scalars inline (`ports: [10002]`), as config/config.yaml does."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.SequenceNode:
    flow = all(not isinstance(item, dict | list) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)
