"""The command line of `openim bench` (argparse; cli.py hands it the arguments): options, run, print."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from openim.bench import SCENARIOS
from openim.bench.client import GatewayError
from openim.bench.http import ApiError
from openim.bench.load import Options
from openim.bench.stats import Result

__all__ = ["main"]

# What each scenario uses when an option is not given (the other options do not apply to it).
DEFAULTS: dict[str, dict[str, Any]] = {
    "one-to-one": {"pairs": 50, "window": 1},
    "latency-at-rate": {"pairs": 50, "rate": 1000.0},
    "idle-connections": {"conns": 1000},
    "group-fanout": {"members": 1000, "window": 4},
    "catch-up": {"messages": 10_000, "pairs": 10, "window": 8, "page": 100},
    "rest": {"concurrency": 50},
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="openim bench",
        description="Load a running openim-py (or OpenIM) server as SDK clients do; print what it measured. "
        "Loopback or a test server only: it registers users and sends messages.",
    )
    p.add_argument("scenario", choices=list(SCENARIOS))
    p.add_argument("--seconds", type=float, default=10.0, help="length of the measured window (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    p.add_argument("--api", default="http://127.0.0.1:10002", help="REST API base URL")
    p.add_argument("--ws", default="ws://127.0.0.1:10001", help="WebSocket gateway URL")
    p.add_argument("--admin-secret", default="openIM123", help="the server's secret (get_admin_token)")
    p.add_argument("--admin-user", default="imAdmin", help="an imAdminUser userID")
    p.add_argument("--server-pid", type=int, help="the server's pid on this machine: CPU per message, RSS")
    p.add_argument(
        "--envelope", choices=["json", "gob"], default="json", help="json = @openim/client-sdk, gob = Go SDK (gzip)"
    )
    p.add_argument("--pairs", type=int, help="one-to-one, latency-at-rate: pairs (50); catch-up: senders (10)")
    p.add_argument("--window", type=int, help="sends in flight per sender (one-to-one 1, group-fanout 4, catch-up 8)")
    p.add_argument("--rate", type=float, help="latency-at-rate: messages offered per second (1000)")
    p.add_argument("--conns", type=int, help="idle-connections: connections (1000)")
    p.add_argument("--members", type=int, help="group-fanout: online members, sender included (1000)")
    p.add_argument("--messages", type=int, help="catch-up: messages sent while the receiver is offline (10000)")
    p.add_argument("--page", type=int, help="catch-up: messages per 1002 pull (100)")
    p.add_argument("--concurrency", type=int, help="rest: clients, one request in flight each (50)")
    p.add_argument("--drain", type=float, default=30.0, help="seconds to wait for replies and pushes after sending")
    return p


def options(args: argparse.Namespace) -> Options:
    chosen: dict[str, Any] = dict(DEFAULTS[args.scenario])
    for name in ("pairs", "window", "rate", "conns", "members", "messages", "page", "concurrency"):
        value = getattr(args, name)
        if value is not None:
            if value <= 0:
                raise SystemExit(f"openim bench: --{name} must be positive")
            chosen[name] = value
    if args.seconds <= 0 or args.drain <= 0:
        raise SystemExit("openim bench: --seconds and --drain must be positive")
    return Options(
        api=args.api,
        ws=args.ws,
        secret=args.admin_secret,
        admin_user=args.admin_user,
        envelope=args.envelope,
        seconds=args.seconds,
        server_pid=args.server_pid,
        drain=args.drain,
        **chosen,
    )


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    opts = options(args)
    try:
        result = _run(SCENARIOS[args.scenario], opts)
    except (OSError, EOFError, TimeoutError, ApiError, GatewayError) as exc:  # no server, refused, setup failed
        print(f"openim bench {args.scenario}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(result.json_line() if args.json else result.table(), flush=True)
    return 1 if result.lost else 0


def _run(scenario: Callable[[Options], Coroutine[Any, Any, Result]], opts: Options) -> Result:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.run(scenario(opts))
    return uvloop.run(scenario(opts))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
