"""Doctor checks of the configuration: it loads (line numbers from `openim config check`), who may read it, the secret.

The guide's answer to a permission problem is `chmod 644 config/config.yaml`; that makes the secret readable
by every local user, and whoever knows the secret can ask /auth/get_admin_token for an admin token. So a
world-readable file holding a secret is a warning here, a world-writable one a failure.
"""

from __future__ import annotations

import grp
import pwd
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from openim.ops.config_check import check_config as _check_config
from openim.ops.doctor import Check, Context, Status
from openim.ops.secret import DEFAULT_SECRET, weakness
from openim.settings import Settings, load_settings

__all__ = ["check_config", "check_permissions", "check_secret"]


def check_config(path: Path | None, env: Mapping[str, str]) -> tuple[list[Check], Settings | None]:
    """The configuration as `openim start` would load it; the settings, or None when they do not load."""
    report = _check_config(path, env)
    source = "built-in defaults" if path is None else str(path)
    loads = "no config file: the built-in defaults apply" if path is None else f"{path} loads"
    problems = report.problems
    if report.settings is not None:  # loaded: a weak secret in production is the `secret` check's to report
        problems = [p for p in problems if p.key not in ("secret", "env")]
    if problems:
        shown = [str(p) for p in problems[:8]]
        if len(problems) > len(shown):
            shown.append(f"… and {len(problems) - len(shown)} more")
        saw = f"{source} does not load:\n" + "\n".join(shown) + "\nthe checks below use the built-in defaults"
        command = f"openim config check {path}" if path else "openim config check"
        remedy = f"fix the line(s) shown, then run `{command}` until it prints the settings"
        return [Check("config", Status.FAIL, saw, remedy)], None
    settings = load_settings(path, env)
    overrides = f"; overridden by {', '.join('$' + v for v in report.env_overrides)}" if report.env_overrides else ""
    # The default secret has a check of its own; other advice (e.g. admin on a public address) is a warning here.
    advice = [w for w in report.warnings if w.key != "secret"]
    if advice:
        saw = f"{loads}{overrides}, with advice:\n" + "\n".join(str(w) for w in advice)
        remedy = "see each line; `openim config check` shows the effective settings"
        return [Check("config", Status.WARN, saw, remedy)], settings
    return [Check("config", Status.OK, f"{loads}{overrides}")], settings


def _holds_secret(path: Path) -> list[str]:
    """The keys of the file that are secrets: `secret`, and URLs that carry a password."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        return ["secret"] if "secret" in text else []
    if not isinstance(data, dict):
        return []
    found = ["secret"] if data.get("secret") else []
    for section in ("database", "redis"):
        url = (data.get(section) or {}).get("url") if isinstance(data.get(section), dict) else None
        if isinstance(url, str) and "://" in url:
            try:
                if urlsplit(url).password:
                    found.append(f"{section}.url password")
            except ValueError:
                continue
    return found


def _owner(st: Any) -> str:
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return f"{user}:{group}"


def check_permissions(ctx: Context) -> list[Check]:
    """Who may read and write the config file: a secret in a world-readable file is a warning."""
    path = ctx.config_path
    if path is None:
        return [
            Check(
                "config.permissions",
                Status.OK,
                "no config file: settings come from the built-in defaults and $OPENIM_* variables "
                "(keep those in a mode 600 EnvironmentFile, as deploy/systemd/openim.service does)",
            )
        ]
    try:
        st = path.stat()
        secrets = _holds_secret(path)
    except OSError as exc:
        return [Check("config.permissions", Status.WARN, f"cannot read {path}: {exc.strerror}", "check the path")]
    mode = stat.S_IMODE(st.st_mode)
    saw = f"{path} is mode {mode:04o}, owner {_owner(st)}"
    remedy = (
        f"chmod 640 {path} && chown root:openim {path} (the service user reads it through its group; "
        "or keep the secret out of the file: OPENIM_SECRET in a mode 600 EnvironmentFile)"
    )
    if mode & stat.S_IWOTH:
        return [
            Check(
                "config.permissions",
                Status.FAIL,
                saw + ": any local user can change it (the secret, the database it points to)",
                remedy,
            )
        ]
    if mode & stat.S_IROTH and secrets:
        return [
            Check(
                "config.permissions",
                Status.WARN,
                saw + f", world-readable, and it holds {', '.join(secrets)}: any local user can read it and get "
                "an admin token from /auth/get_admin_token",
                remedy,
            )
        ]
    holds = f"; holds {', '.join(secrets)}" if secrets else "; holds no secret"
    return [Check("config.permissions", Status.OK, saw + holds)]


def check_secret(ctx: Context) -> list[Check]:
    """The default or a short secret fails with env: production (start refuses it) and warns in development.

    On a developer's machine (`--dev`, env development) it is accepted.
    """
    if not ctx.settings_loaded:
        return [Check("secret", Status.WARN, "not checked: the configuration did not load", "fix `config` first")]
    secret = ctx.settings.secret.get_secret_value()
    origin = " (from $OPENIM_SECRET)" if "OPENIM_SECRET" in ctx.env else ""
    why = weakness(secret)
    if why is None:
        return [Check("secret", Status.OK, f"set, {len(secret)} characters{origin}, not the default")]
    remedy = (
        "set a long random secret: OPENIM_SECRET=$(openssl rand -hex 32) in the service's EnvironmentFile "
        "(or `secret:` in the config); tokens issued with the old one stop working, clients log in again"
    )
    saw = f"secret{origin} {why}"
    if ctx.settings.env == "production":
        return [Check("secret", Status.FAIL, f"{saw}; with env: production `openim start` refuses it", remedy)]
    if ctx.dev:
        what = f"OpenIM's default {DEFAULT_SECRET}" if secret == DEFAULT_SECRET else f"{len(secret)} characters"
        return [Check("secret", Status.OK, f"{what}{origin}, accepted with --dev (env: development)")]
    return [
        Check(
            "secret",
            Status.WARN,
            f"{saw}; env: development, so `openim start` runs with it (with env: production it refuses it)",
            remedy + " (`openim doctor --dev` accepts it on a developer's machine)",
        )
    ]
