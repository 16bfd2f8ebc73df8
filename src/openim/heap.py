"""Keeps Python's cyclic garbage collector off the latency path of a long-running server.

A full (generation 2) collection walks every tracked object and holds the event loop while it does: in an
`openim start` that is some 200,000 objects of imported modules, classes, functions and the built runtime, all
alive until the process exits, and a collection took 110-140 ms on the project's machine — every message in
flight waited that long (bench/README.md, latency-at-rate). `settle()`, called once start-up is done, collects
what start-up left behind and then freezes the survivors (`gc.freeze()`): the collector never walks them again,
so a full collection costs what was allocated since (12-17 ms in the same run). Reference counting still frees
frozen objects; only a reference cycle among them would never be collected, and start-up objects live forever.
The thresholds stay Python's: young collections cost well under a millisecond each.
"""

from __future__ import annotations

import gc

__all__ = ["settle"]


def settle() -> int:
    """Collect start-up's garbage and move every surviving object out of the collector's walk; how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
