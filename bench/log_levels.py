"""Cost of a log call whose level filters it out (OpenIM's benchmark names it), next to one that is written.

With `openim.ops.logging.setup_logging` at a given remainLogLevel, times in ns per call: an empty function call
(the floor), a filtered `log.debug("... %s", arg)`, a filtered TRACE call, the `isEnabledFor` guard callers put
in front of costly arguments, and for comparison a line actually written to the role's file as text and as JSON.

(Not bench/logging.py: a script's folder comes first on sys.path, so that name would shadow the standard
library's logging for every script in bench/.)

Run: .venv/bin/python bench/log_levels.py [--calls 1000000]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import timeit
from collections.abc import Callable

from openim.ops.logging import TRACE, setup_logging
from openim.settings import Log


def per_call_ns(fn: Callable[[], object], calls: int) -> float:
    """Best of 5 runs of `calls` calls, in ns per call."""
    return min(timeit.repeat(fn, number=calls, repeat=5)) / calls * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.parse_args()
    calls: int = args.calls
    log = logging.getLogger("openim.services.bench")
    with tempfile.TemporaryDirectory() as directory:
        setup_logging(Log(storageLocation=directory, remainLogLevel=4), roles=("api", "msggateway"))
        user = "alice"

        def nothing() -> None:
            return None

        def guarded() -> None:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("user %s", user)

        rows = [
            ("empty function call (floor)", per_call_ns(nothing, calls)),
            ('filtered log.debug("user %s", user)', per_call_ns(lambda: log.debug("user %s", user), calls)),
            ("filtered log.log(TRACE, ...)", per_call_ns(lambda: log.log(TRACE, "user %s", user), calls)),
            ("filtered, guarded by isEnabledFor", per_call_ns(guarded, calls)),
        ]
        written = max(calls // 100, 1000)
        rows.append(("written INFO line, text", per_call_ns(lambda: log.info("user %s", user), written)))
        setup_logging(Log(storageLocation=directory, remainLogLevel=4, isJson=True), roles=("api", "msggateway"))
        rows.append(("written INFO line, JSON", per_call_ns(lambda: log.info("user %s", user), written)))
        for handler in logging.getLogger("openim").handlers:
            handler.close()
    width = max(len(name) for name, _ in rows)
    print(f"remainLogLevel 4 (info); {calls:,} calls per filtered case, best of 5")
    for name, ns in rows:
        print(f"{name:<{width}}  {ns:9.0f} ns/call")


if __name__ == "__main__":
    main()
