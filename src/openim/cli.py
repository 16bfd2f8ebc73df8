"""The `openim` command: parse arguments, call runtime or ops, print. No logic of its own."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from openim import __version__
from openim.settings import ConfigError, Settings, find_config_path, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="openim-py: an OpenIM-compatible IM server.")
config_app = typer.Typer(no_args_is_help=True, help="Inspect the configuration.")
app.add_typer(config_app, name="config")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="config file (default: $OPENIM_CONFIG, then ./config/config.yaml)"),
]


def _settings(config: Path | None) -> Settings:
    path = find_config_path(config)
    try:
        return load_settings(path)
    except ConfigError as exc:
        typer.echo(f"configuration error in {path or 'built-in defaults'}:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1) from None


def _run(coro: object) -> None:
    try:
        import uvloop

        uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        asyncio.run(coro)  # type: ignore[arg-type]


@app.command()
def start(
    roles: Annotated[
        list[str] | None, typer.Argument(help="roles to run: api, msggateway, admin (default: all)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the server: every role in one process, or only the roles named."""
    from openim.runtime import ROLES, PortInUse, run

    chosen = tuple(roles) if roles else ROLES
    unknown = [r for r in chosen if r not in ROLES]
    if unknown:
        typer.echo(f"unknown role(s): {', '.join(unknown)}; known roles: {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    settings = _settings(config)
    typer.echo(
        f"openim-py {__version__}: starting {', '.join(chosen)} "
        f"(REST :{settings.api.ports[0]}, gateway :{settings.msggateway.ports[0]}, "
        f"admin {settings.admin.listenIP}:{settings.admin.port}); logs in {settings.log.storageLocation}"
    )
    try:
        _run(run(settings, chosen))
    except PortInUse as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@app.command()
def migrate(config: ConfigOption = None) -> None:
    """Create or upgrade the database schema to the latest revision."""
    from openim.storage import open_storage
    from openim.storage.migrate import current_revision

    settings = _settings(config)

    async def _migrate() -> str | None:
        storage = await open_storage(settings.database.url, pool_size=1)
        try:
            return await current_revision(storage.db)
        finally:
            await storage.close()

    revision = asyncio.run(_migrate())
    typer.echo(f"database at revision {revision}")


@config_app.command("check")
def config_check(
    path: Annotated[
        Path | None, typer.Argument(help="config file to check (default: the one `start` would use)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Validate the configuration; print each problem as file:line:col key: what is wrong, or the effective settings."""
    from openim.ops.config_check import run_config_check

    code, text = run_config_check(find_config_path(path), os.environ, as_json=as_json)
    typer.echo(text, err=code != 0)
    raise typer.Exit(code)


@app.command()
def doctor(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    dev: Annotated[bool, typer.Option("--dev", help="a developer's machine: accept the default secret")] = False,
) -> None:
    """Run the troubleshooting guide's checks; each prints OK / WARN / FAIL, what it saw and the remedy (exit 0/1/2)."""
    from openim.ops.doctor import run_doctor

    code, text = run_doctor(config, os.environ, as_json=as_json, dev=dev)
    typer.echo(text)
    raise typer.Exit(code)


@app.command()
def monitor(
    webhook: Annotated[str, typer.Option("--webhook", help='Slack-compatible webhook URL (receives {"text": ...})')],
    interval: Annotated[float, typer.Option("--interval", help="seconds between rounds")] = 60,
    once: Annotated[bool, typer.Option("--once", help="one round, then exit (for cron; see --state)")] = False,
    state: Annotated[Path | None, typer.Option("--state", help="keep open incidents in this file between runs")] = None,
    roles: Annotated[str, typer.Option("--roles", help="roles expected on this host")] = "api,msggateway,admin",
    disk: Annotated[float, typer.Option("--disk", help="disk usage % that alarms")] = 80,
    memory: Annotated[float, typer.Option("--memory", help="memory usage % that alarms")] = 85,
    error_rate: Annotated[float, typer.Option("--error-rate", help="% of requests with a server error")] = 5,
    dev: Annotated[bool, typer.Option("--dev", help="accept the default secret")] = False,
    config: ConfigOption = None,
) -> None:
    """Run the doctor's checks and the guide's alarms every --interval seconds; post each incident and its recovery."""
    from dataclasses import replace

    from openim.ops.doctor import Thresholds
    from openim.ops.monitor import Monitor, run_monitor

    limits = replace(Thresholds(), disk_warn_pct=disk, memory_warn_pct=memory)
    chosen = tuple(r.strip() for r in roles.split(",") if r.strip())
    watcher = Monitor(
        webhook,
        config_path=config,
        dev=dev,
        thresholds=limits,
        roles=chosen,
        error_rate_pct=error_rate,
        state_path=state,
    )
    raise typer.Exit(run_monitor(watcher, interval_s=interval, once=once, echo=typer.echo))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
