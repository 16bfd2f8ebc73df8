"""Cost of the metrics on the hot paths: ns per update of each kind, and what a REST request pays in total.

Times the calls the layers make (openim.metrics): a cached labelled counter, a histogram observation, the whole
`observe_http` of one REST request and `observe_ws` of one WebSocket request, a gauge inc/dec (connections), and
for reference an uncached `labels()` lookup; then one /metrics scrape with a realistic number of series.

Run: .venv/bin/python bench/metrics.py [--calls 200000]
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable

from openim.metrics import (
    GATEWAY_CONNECTIONS,
    HTTP_REQUESTS,
    MSG_PUSHED,
    MSG_SEND_SECONDS,
    child,
    observe_http,
    observe_ws,
)
from openim.ops.metrics import render


def per_call_ns(fn: Callable[[], object], calls: int) -> float:
    """Best of 5 runs of `calls` calls, in ns per call."""
    return min(timeit.repeat(fn, number=calls, repeat=5)) / calls * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    calls: int = args.calls
    web = child(GATEWAY_CONNECTIONS, "Web")

    def gauge_in_out() -> None:
        web.inc()
        web.dec()

    rows = [
        ("counter inc (msg pushed)", per_call_ns(lambda: MSG_PUSHED.inc(), calls)),
        ("histogram observe (send latency)", per_call_ns(lambda: MSG_SEND_SECONDS.observe(0.004), calls)),
        ("cached child counter inc", per_call_ns(lambda: child(HTTP_REQUESTS, "/msg/send_msg", "0").inc(), calls)),
        ("uncached labels() counter inc", per_call_ns(lambda: HTTP_REQUESTS.labels("/msg/send_msg", "0").inc(), calls)),
        ("observe_http (one REST request)", per_call_ns(lambda: observe_http("/msg/send_msg", 0, 0.003), calls)),
        ("observe_ws (one WS request)", per_call_ns(lambda: observe_ws(1003, 0, 0.002), calls)),
        ("gauge inc + dec (connect, disconnect)", per_call_ns(gauge_in_out, calls)),
    ]
    for route in range(160):  # every REST route seen with two errCodes: the realistic worst case of series
        for code in (0, 1001):
            observe_http(f"/bench/route_{route}", code, 0.01)
    scrape = per_call_ns(render, 50)
    width = max(len(name) for name, _ in rows)
    for name, ns in rows:
        print(f"{name:<{width}}  {ns:8.0f} ns")
    print(f"{'one /metrics scrape (160 routes x 2 codes)':<{width}}  {scrape / 1e6:8.2f} ms")


if __name__ == "__main__":
    main()
