"""Incremental sync answers (docs/protocol/rest.md §6) shared by the services that own a version log.

`Delta` is what a `get_incremental_*` route returns and `FullIDs` what a `get_full_*_ids` route returns,
both already shaped the way OpenIM's Go code leaves them: a list that Go leaves nil is `None` here (JSON
`null`), so the API only renames fields. The version numbers come from `storage.version`; this module only
turns a `VersionDelta` (element IDs) into objects through a loader the owning service supplies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from openim.protocol.idhash import id_hash
from openim.storage.version import VersionDelta, VersionState

__all__ = ["Delta", "FullIDs", "delta_of", "full_ids"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Delta(Generic[T]):
    """Changes since the client's version, or `full=True` (then every list is None: the client refetches)."""

    version_id: str
    version: int
    full: bool
    deleted: list[str] | None
    inserted: list[T] | None
    updated: list[T] | None
    sort_version: int = 0


@dataclass(frozen=True, slots=True)
class FullIDs:
    """Every element ID with the log's current version; `ids` is None when the client's idHash already matches."""

    version_id: str
    version: int
    equal: bool
    ids: list[str] | None


async def delta_of(delta: VersionDelta, load: Callable[[list[str]], Awaitable[list[T] | None]]) -> Delta[T]:
    """The `Delta` for a version-log answer: inserted and updated IDs become objects through `load`.

    As OpenIM's incrversion.Option: no IDs of a kind → None, without calling `load`; objects that no longer
    exist are whatever `load` leaves out.
    """
    if delta.full:
        return Delta(delta.version_id, delta.version, True, None, None, None, delta.sort_version)
    return Delta(
        delta.version_id,
        delta.version,
        False,
        deleted=list(delta.deleted) or None,
        inserted=await load(list(delta.inserted)) if delta.inserted else None,
        updated=await load(list(delta.updated)) if delta.updated else None,
        sort_version=delta.sort_version,
    )


def full_ids(state: VersionState, ids: list[str], client_hash: int) -> FullIDs:
    """The `get_full_*_ids` answer: `equal` when the client's idHash is the hash of `ids` (0 for no IDs)."""
    equal = client_hash == id_hash(ids)
    return FullIDs(state.version_id, state.version, equal, None if equal else ids)
