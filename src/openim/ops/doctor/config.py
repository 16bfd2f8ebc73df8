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

from openim.ops.config_check import OPENIM_DEFAULT_SECRET
from openim.ops.config_check import check_config as _check_config
from openim.ops.doctor import Check, Context, Status
from openim.settings import Settings, load_settings

__all__ = ["MIN_SECRET_LENGTH", "check_config", "check_permissions", "check_secret"]

MIN_SECRET_LENGTH = 16


def check_config(path: Path | None, env: Mapping[str, str]) -> tuple[list[Check], Settings | None]:
    """The configuration as `openim start` would load it; the settings, or None when they do not load."""
    report = _check_config(path, env)
    source = "built-in defaults" if path is None else str(path)
    loads = "no config file: the built-in defaults apply" if path is None else f"{path} loads"
    if not report.ok:
        shown = [str(p) for p in report.problems[:8]]
        if len(report.problems) > len(shown):
            shown.append(f"… and {len(report.problems) - len(shown)} more")
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
    """OpenIM's published default secret fails outside --dev; a short one is a warning."""
    if not ctx.settings_loaded:
        return [Check("secret", Status.WARN, "not checked: the configuration did not load", "fix `config` first")]
    secret = ctx.settings.secret.get_secret_value()
    origin = " (from $OPENIM_SECRET)" if "OPENIM_SECRET" in ctx.env else ""
    remedy = (
        "set a long random secret: OPENIM_SECRET=$(openssl rand -hex 32) in the service's EnvironmentFile "
        "(or `secret:` in the config); tokens issued with the old one stop working, clients log in again"
    )
    if secret == OPENIM_DEFAULT_SECRET:
        if ctx.dev:
            saw = f"OpenIM's default {OPENIM_DEFAULT_SECRET}{origin}, accepted with --dev"
            return [Check("secret", Status.OK, saw)]
        return [
            Check(
                "secret",
                Status.FAIL,
                f"secret is OpenIM's published default {OPENIM_DEFAULT_SECRET}{origin}: anyone who can reach the "
                "REST port can get an admin token from /auth/get_admin_token",
                remedy + " (`openim doctor --dev` accepts the default on a developer's machine)",
            )
        ]
    if len(secret) < MIN_SECRET_LENGTH and not ctx.dev:
        return [
            Check(
                "secret",
                Status.WARN,
                f"secret is {len(secret)} characters{origin}: tokens are HMAC-SHA256 signed with it, so a short one "
                "can be guessed offline from any token a client holds",
                remedy,
            )
        ]
    return [Check("secret", Status.OK, f"set, {len(secret)} characters{origin}, not the default")]
