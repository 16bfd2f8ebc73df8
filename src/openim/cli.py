"""The `openim` command: parse arguments, call runtime or ops, print. No logic of its own."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from openim import __version__
from openim.settings import ConfigError, Settings, find_config_path, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="openim-py: an OpenIM-compatible IM server.")
config_app = typer.Typer(no_args_is_help=True, help="Inspect the configuration.")
app.add_typer(config_app, name="config")
logs_app = typer.Typer(no_args_is_help=True, help="Read the server's logs.")
app.add_typer(logs_app, name="logs")
queue_app = typer.Typer(no_args_is_help=True, help="Inspect and rewind the job queue (Redis streams).")
app.add_typer(queue_app, name="queue")
jobs_app = typer.Typer(no_args_is_help=True, help="The scheduled jobs of the msgtransfer role (cronTask).")
app.add_typer(jobs_app, name="jobs")

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
        list[str] | None, typer.Argument(help="roles to run: api, msggateway, msgtransfer, admin (default: all)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the server: every role in one process, or only the roles named."""
    from openim.ops.secret import WeakSecret
    from openim.runtime import ROLES, PortInUse, PushMisconfigured, TaskEnded, run

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
        _run(run(settings, chosen, config_path=find_config_path(config)))
    except PortInUse as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except (WeakSecret, PushMisconfigured, TaskEnded) as exc:
        typer.echo(f"openim: {exc}", err=True)
        raise typer.Exit(1) from None
    except ConnectionError as exc:  # the database or Redis does not answer (the message names the masked URL)
        typer.echo(f"{exc}. Check that it runs and that the URL in the config is right (`openim doctor`).", err=True)
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
    dev: Annotated[
        bool, typer.Option("--dev", help="a developer's machine: accept the default secret (env: development only)")
    ] = False,
) -> None:
    """Run the troubleshooting guide's checks; each prints OK / WARN / FAIL, what it saw and the remedy (exit 0/1/2)."""
    from openim.ops.doctor import run_doctor

    code, text = run_doctor(config, os.environ, as_json=as_json, dev=dev)
    typer.echo(text)
    raise typer.Exit(code)


@app.command()
def backup(
    dest: Annotated[Path, typer.Option("--dest", help="directory that holds the backups")] = Path("backups"),
    keep_days: Annotated[float, typer.Option("--keep-days", help="delete our older backups; 0 keeps all")] = 7,
    config: ConfigOption = None,
) -> None:
    """Snapshot the database (consistent while the server runs), the config and a manifest into DEST.

    The backup directory is mode 700: it holds the config file with its secrets.

    Redis is not backed up: it holds no system-of-record data in openim-py (token states, presence, caches).
    """
    from openim.ops import backup as ops

    path = find_config_path(config)
    with ops.progress_bar() as progress:
        result = _ops_call(ops.create_backup(_settings(config), path, dest, keep_days=keep_days, progress=progress))
    typer.echo(ops.backup_report(result))


@app.command()
def restore(
    backup: Annotated[Path, typer.Argument(help="a backup directory made by `openim backup`")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    config: ConfigOption = None,
) -> None:
    """Replace every row of the configured database with BACKUP's, then verify the row counts; stop the server first.

    Refuses a corrupt backup (checksum mismatch) or one from a schema newer than this openim-py.

    Redis needs no restore: it holds no system-of-record data in openim-py. The live config file is not overwritten.
    """
    from openim.ops import backup as ops

    settings = _settings(config)
    with ops.progress_bar() as progress:
        verified = _ops_call(lambda: ops.open_backup(backup, progress=progress))
    typer.echo(ops.restore_plan(verified, settings))
    if not yes and not typer.confirm("Continue?"):
        typer.echo("aborted: nothing was changed", err=True)
        raise typer.Exit(1)
    with ops.progress_bar() as progress:
        result = _ops_call(ops.restore_backup(settings, verified, progress=progress))
    typer.echo(ops.restore_report(result, verified))


def _ops_call(work: Any) -> Any:
    """Run an ops coroutine (or a plain callable); an ops error (BackupError) is printed and exits 1."""
    from openim.ops.backup import BackupError

    try:
        return asyncio.run(work) if asyncio.iscoroutine(work) else work()
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


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
    dev: Annotated[bool, typer.Option("--dev", help="accept the default secret (env: development)")] = False,
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


@logs_app.command("analyze")
def logs_analyze(
    since: Annotated[str, typer.Option("--since", help="window: 30m, 1h, 2d, 1h30m, or all")] = "1h",
    files: Annotated[list[Path] | None, typer.Option("--file", "-f", help="log file or directory; repeatable")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (every route, message and errCode)")] = False,
    top: Annotated[int, typer.Option("--top", help="rows per table")] = 10,
    config: ConfigOption = None,
) -> None:
    """Errors by errCode and by message, the latest errors, avg / p95 / max response time and the busiest routes.

    Reads every log file (rotated and .gz ones too) under log.storageLocation, or the --file paths.
    """
    from openim.ops import logs as ops

    try:
        window = ops.parse_since(since)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    places = files or [Path(_settings(config).log.storageLocation)]
    paths = [p for place in places for p in ops.log_paths(place)]
    if not paths:
        typer.echo(f"no log files in {', '.join(map(str, places))}", err=True)
        raise typer.Exit(1)
    report = ops.analyze(paths, since=window, latest=top)
    typer.echo(ops.render_json(report) if as_json else ops.render_text(report, top=top))


def _queue_call(config: Path | None, work: Any) -> Any:
    """Run `work(client)` against the Redis of redis.url; exit 1 with the reason when there is none or it fails."""
    from redis.exceptions import RedisError

    from openim.infra.redis import connect
    from openim.ops.queue import QueueError

    settings = _settings(config)
    if not settings.redis.url:
        typer.echo(
            "redis.url is not set: the job queue lives inside the `openim start` process (its depth is "
            "openim_queue_depth on the admin role's /metrics); there is no stream to read or reset",
            err=True,
        )
        raise typer.Exit(1)
    url = settings.redis.url

    async def call() -> Any:
        client = await connect(url)
        try:
            return await work(client)
        finally:
            await client.aclose()

    try:
        return asyncio.run(call())
    except (ConnectionError, RedisError, QueueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@queue_app.command("status")
def queue_status(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Each job stream and consumer group: length, lag, pending, consumers, oldest pending age; the bus channels.

    OpenIM's guide: `kafka-consumer-groups.sh --describe --group ...`.
    """
    import json

    from openim.ops import queue as ops

    status = _queue_call(config, ops.read_status)
    typer.echo(json.dumps(status.as_json(), indent=2) if as_json else ops.render_status(status))


@queue_app.command("reset")
def queue_reset(
    group: Annotated[str, typer.Option("--group", help="the consumer group (msgtransfer)")],
    to: Annotated[
        str, typer.Option("--to", help="latest: skip every queued job; earliest: deliver again every job kept")
    ],
    topic: Annotated[str | None, typer.Option("--topic", help="only this topic's stream (default: all)")] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="do it (without: print what it would do, change nothing)")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Move a consumer group to the latest or earliest job of its streams; refuses without --yes.

    OpenIM's guide: `kafka-consumer-groups.sh --reset-offsets --to-latest --group ... --execute`.
    """
    from openim.ops import queue as ops

    if to not in ("latest", "earliest"):
        typer.echo(f"--to must be latest or earliest, not {to!r}", err=True)
        raise typer.Exit(2)
    position: Any = to
    results = _queue_call(config, lambda client: ops.reset_group(client, group, position, topic=topic, execute=yes))
    typer.echo(ops.render_reset(results, executed=yes), err=not yes)
    if not yes:
        raise typer.Exit(1)


@jobs_app.command("list")
def jobs_list(config: ConfigOption = None) -> None:
    """Each scheduled job: its schedule under the configuration, and its last run in the deployment."""
    from openim.jobs.listing import list_jobs

    typer.echo(_ops_call(list_jobs(_settings(config))))


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="msg_destruct, retain_chat_records or version_log_cleanup")],
    config: ConfigOption = None,
) -> None:
    """Run one scheduled job now, once, against the configured database (and Redis); print what it removed.

    Refused (exit 1) while another process runs the same job. Runs even when the job's schedule is off.
    """
    from openim.jobs.crontask import JOB_MSG_DESTRUCT, JOB_RETAIN_CHAT_RECORDS, JOB_VERSION_LOG_CLEANUP
    from openim.runtime import run_job

    known = (JOB_MSG_DESTRUCT, JOB_RETAIN_CHAT_RECORDS, JOB_VERSION_LOG_CLEANUP)
    if name not in known:
        typer.echo(f"unknown job {name!r}; the jobs are: {', '.join(known)}", err=True)
        raise typer.Exit(2)
    outcome = asyncio.run(run_job(_settings(config), name))
    typer.echo(f"{outcome.name}: {outcome.result}: {outcome.summary}", err=outcome.result != "ok")
    raise typer.Exit(0 if outcome.result == "ok" else 1)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def bench(ctx: typer.Context) -> None:
    """Load a running server as SDK clients do (openim bench --help lists scenarios and options)."""
    from openim.bench.command import main as bench_main

    raise typer.Exit(bench_main(ctx.args))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
