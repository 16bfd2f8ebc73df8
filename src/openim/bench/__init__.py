"""`openim bench`: a load generator that plays OpenIM clients against a running server and reports what it saw.

A client, not a part of the server: it reaches the server only through its public REST API and WebSocket
gateway, as an app server and the SDKs do. It imports the gateway's sans-I/O frame codec (its client half) and
the protocol's messages, nothing else of the server (import-linter contract "bench is a client").
Scenarios live in `chat.py` (one-to-one, latency-at-rate, catch-up), `crowd.py` (idle-connections,
group-fanout) and `rest.py`; `command.py` parses the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from openim.bench.chat import catch_up, latency_at_rate, one_to_one
from openim.bench.crowd import group_fanout, idle_connections
from openim.bench.load import Options
from openim.bench.rest import rest
from openim.bench.stats import Result

__all__ = ["SCENARIOS", "Options", "Result"]

SCENARIOS: dict[str, Callable[[Options], Coroutine[Any, Any, Result]]] = {
    "one-to-one": one_to_one,
    "latency-at-rate": latency_at_rate,
    "idle-connections": idle_connections,
    "group-fanout": group_fanout,
    "catch-up": catch_up,
    "rest": rest,
}
