"""Throughput of the gateway frame codec: encode a Resp and decode a Req, per envelope kind, in ops/s.

Run: .venv/bin/python bench/frames.py [--payload 200] [--seconds 0.5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from openim.gateway.frames import FrameCodec, Req, Resp


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn`, timed over batches until `seconds` have passed."""
    n, batch, start = 0, 1000, time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        n += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payload", type=int, default=200, help="protobuf payload size in bytes")
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    args = parser.parse_args()
    data = bytes(range(256)) * (args.payload // 256 + 1)
    resp = Resp(1003, "user_1_1733000000000000000", "1733000000000000000", 0, "", data[: args.payload])
    req = Req(1003, "", "user_1", "1733000000000000000", "user_1_1733000000000000000", data[: args.payload])
    print(f"payload {args.payload} bytes")
    print(f"{'codec':<10} {'encode_resp ops/s':>18} {'us':>7} {'decode_req ops/s':>17} {'us':>7}")
    for name, codec in (
        ("gob", FrameCodec("gob")),
        ("gob+gzip", FrameCodec("gob", gzip=True)),
        ("json", FrameCodec("json")),
        ("json+gzip", FrameCodec("json", gzip=True)),
    ):
        frame = codec.encode_req(req)
        enc = rate(lambda c=codec: c.encode_resp(resp), args.seconds)
        dec = rate(lambda c=codec, f=frame: c.decode_req(f), args.seconds)
        print(f"{name:<10} {enc:>18,.0f} {1e6 / enc:>7.2f} {dec:>17,.0f} {1e6 / dec:>7.2f}")


if __name__ == "__main__":
    main()
