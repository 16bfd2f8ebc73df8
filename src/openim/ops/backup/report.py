"""What `openim backup` and `openim restore` print, and their progress display; no work of its own."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from openim.ops.backup.create import BackupResult
from openim.ops.backup.restore import RestoreResult, VerifiedBackup
from openim.settings import Settings
from openim.storage import dialect

__all__ = ["backup_report", "progress_bar", "restore_plan", "restore_report"]


def progress_bar() -> Progress:
    """A rich progress display on stderr, disabled (silent) when stderr is not a terminal."""
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=not console.is_terminal, transient=True,
    )  # fmt: skip


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f} rows/s" if seconds > 0 else "-"


def backup_report(result: BackupResult) -> str:
    """The lines `openim backup` prints: where, what, how fast, warnings, what retention removed."""
    m = result.manifest
    native = m["native"].get("file") or f"no native copy ({m['native'].get('skipped')})"
    lines = [
        f"backup written to {result.path}",
        f"  {m['database']['kind']} database at schema revision {m['schema_revision']}: {result.rows:,} rows in "
        f"{len(m['tables'])} tables, {result.seconds:.1f} s ({_rate(result.rows, result.seconds)})",
        f"  files: tables/*.jsonl.gz (portable), {native}, " + (m["config"] or "no config file (built-in defaults)"),
        "  mode 700: the directory holds the config file with its secrets" if m["config"] else "  mode 700",
        "  Redis is not backed up: it holds no system-of-record data in openim-py",
    ]
    lines += [f"warning: {w}" for w in result.warnings]
    if result.removed:
        lines.append(f"removed {len(result.removed)} old backup(s): " + ", ".join(p.name for p in result.removed))
    return "\n".join(lines)


def restore_plan(backup: VerifiedBackup, settings: Settings) -> str:
    """What `openim restore` is about to do, shown before it asks."""
    m = backup.manifest
    return "\n".join([
        f"backup {backup.path}: checksums OK, made {m['created_at']} from {m['database']['kind']} "
        f"({m['database']['url']}), schema revision {backup.revision}, {sum(backup.rows.values()):,} rows",
        f"This replaces every row of {dialect.mask_url(settings.database.url)} with the backup's "
        "(stop the server first).",
    ])  # fmt: skip


def restore_report(result: RestoreResult, backup: VerifiedBackup) -> str:
    """The lines `openim restore` prints after a successful restore."""
    rows = sum(result.rows.values())
    lines = [
        f"restored {rows:,} rows in {len(result.rows)} tables, {result.seconds:.1f} s ({_rate(rows, result.seconds)});"
        " row counts verified against the manifest"
    ]
    if result.from_revision != result.to_revision:
        lines.append(f"migrated from schema revision {result.from_revision} to {result.to_revision}")
    if backup.manifest.get("config"):
        lines.append(f"the backup's config is {backup.path / backup.manifest['config']}; yours was not overwritten")
    return "\n".join(lines)
