"""heap.settle: start-up's garbage is collected, and what survives is left out of every later collection."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from openim import heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test process collects as usual


def test_settle_collects_garbage_before_freezing() -> None:
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    heap.settle()
    assert gone() is None  # not frozen alive


def test_settle_freezes_survivors_out_of_collections() -> None:
    kept = [_Node()]
    assert heap.settle() == gc.get_freeze_count() > 0
    walked = {id(o) for o in gc.get_objects()}
    assert id(kept) not in walked and id(kept[0]) not in walked
    later = [_Node()]
    assert id(later) in {id(o) for o in gc.get_objects()}  # new objects are collected as usual
