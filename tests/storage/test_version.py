"""Tests for openim.storage.version: version logs, `record` inside a transaction, incremental deltas."""

from __future__ import annotations

from openim.storage import Storage
from openim.storage.version import (
    GROUP_ELEM_ID,
    KIND_CONVERSATION,
    KIND_GROUP_MEMBER,
    SORT_ELEM_ID,
    STATE_DELETE,
    STATE_INSERT,
    STATE_UPDATE,
    VersionState,
    drop,
    new_version_id,
    record,
    record_many,
    valid_version_id,
)


async def _record(
    storage: Storage, d_id: str, e_ids: list[str], state: int, kind: str = KIND_CONVERSATION
) -> VersionState:
    async with storage.db.write("test.record") as conn:
        return await record(conn, kind, d_id, e_ids, state, now=1)


def test_new_version_ids_are_valid_and_distinct() -> None:
    """A fresh versionID is 24 hex digits, accepted by valid_version_id, and never repeats."""
    ids = {new_version_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(valid_version_id(i) for i in ids)
    assert not valid_version_id("0" * 24)
    assert not valid_version_id("rec-version-1")


async def test_current_creates_the_log_at_version_1(storage: Storage) -> None:
    """current() of a log nobody wrote yet creates it at version 1 and then keeps returning it."""
    first = await storage.version.current(KIND_CONVERSATION, "alice")
    assert first.version == 1 and valid_version_id(first.version_id)
    assert await storage.version.current(KIND_CONVERSATION, "alice") == first


async def test_record_bumps_once_per_call(storage: Storage) -> None:
    """The first record creates the log at version 1; each later call adds exactly one, whatever the IDs."""
    s1 = await _record(storage, "alice", ["c1", "c2"], STATE_INSERT)
    s2 = await _record(storage, "alice", ["c3"], STATE_UPDATE)
    assert (s1.version, s2.version) == (1, 2)
    assert s1.version_id == s2.version_id
    assert await storage.version.current(KIND_CONVERSATION, "alice") == s2


async def test_record_rolls_back_with_the_transaction(storage: Storage) -> None:
    """A record in a transaction that fails leaves no trace: the change and its log commit together."""
    before = await storage.version.current(KIND_CONVERSATION, "alice")
    try:
        async with storage.db.write("test.fail") as conn:
            await record(conn, KIND_CONVERSATION, "alice", ["c1"], STATE_INSERT, now=1)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert await storage.version.current(KIND_CONVERSATION, "alice") == before
    delta = await storage.version.incremental(KIND_CONVERSATION, "alice", before.version_id, before.version)
    assert not delta.full and delta.inserted == []


async def test_incremental_same_version_is_an_empty_delta(storage: Storage) -> None:
    """A client that already has the current version gets full=False and no changes."""
    state = await _record(storage, "alice", ["c1"], STATE_INSERT)
    delta = await storage.version.incremental(KIND_CONVERSATION, "alice", state.version_id, state.version)
    assert (delta.full, delta.inserted, delta.updated, delta.deleted) == (False, [], [], [])
    assert (delta.version_id, delta.version) == (state.version_id, state.version)


async def test_incremental_returns_exactly_the_changes_since(storage: Storage) -> None:
    """After changes, the delta lists each changed element once, with its latest state only."""
    base = await _record(storage, "alice", ["c1", "c2", "c3"], STATE_INSERT)
    await _record(storage, "alice", ["c4"], STATE_INSERT)
    await _record(storage, "alice", ["c1"], STATE_UPDATE)
    await _record(storage, "alice", ["c2"], STATE_DELETE)
    last = await _record(storage, "alice", ["c4"], STATE_UPDATE)
    delta = await storage.version.incremental(KIND_CONVERSATION, "alice", base.version_id, base.version)
    assert not delta.full
    assert (delta.version, delta.version_id) == (last.version, base.version_id)
    assert delta.inserted == []
    assert sorted(delta.updated) == ["c1", "c4"]
    assert delta.deleted == ["c2"]


async def test_incremental_wrong_or_missing_version_id_is_full(storage: Storage) -> None:
    """A versionID that is not the log's, malformed, empty, or a version 0 or ahead of the log means full."""
    state = await _record(storage, "alice", ["c1"], STATE_INSERT)
    for version_id, version in [
        (new_version_id(), state.version),
        ("rec-version-1", 1),
        ("", 0),
        (state.version_id, 0),
        (state.version_id, state.version + 5),
    ]:
        delta = await storage.version.incremental(KIND_CONVERSATION, "alice", version_id, version)
        assert delta.full, (version_id, version)
        assert (delta.version_id, delta.version) == (state.version_id, state.version)
        assert delta.inserted == delta.updated == delta.deleted == []


async def test_incremental_on_a_missing_log_creates_it(storage: Storage) -> None:
    """The first incremental call of a user creates the log, so the full answer carries a real versionID."""
    delta = await storage.version.incremental(KIND_CONVERSATION, "newbie", "", 0)
    assert delta.full and delta.version == 1 and valid_version_id(delta.version_id)
    again = await storage.version.incremental(KIND_CONVERSATION, "newbie", delta.version_id, delta.version)
    assert not again.full


async def test_incremental_over_the_limit_is_full(storage: Storage) -> None:
    """More changed elements than the limit since the client's version → full sync."""
    base = await _record(storage, "alice", ["c0"], STATE_INSERT)
    await _record(storage, "alice", [f"c{i}" for i in range(1, 6)], STATE_INSERT)
    assert (await storage.version.incremental(KIND_CONVERSATION, "alice", base.version_id, 1, limit=5)).full is False
    assert (await storage.version.incremental(KIND_CONVERSATION, "alice", base.version_id, 1, limit=4)).full is True


async def test_special_element_ids_are_reported_not_listed(storage: Storage) -> None:
    """The sort ID sets sort_version and the group ID sets group_changed; neither appears in the lists."""
    base = await _record(storage, "g1", ["u1"], STATE_INSERT, kind=KIND_GROUP_MEMBER)
    await _record(storage, "g1", [GROUP_ELEM_ID], STATE_UPDATE, kind=KIND_GROUP_MEMBER)
    sorted_at = await _record(storage, "g1", [SORT_ELEM_ID, "u2"], STATE_UPDATE, kind=KIND_GROUP_MEMBER)
    delta = await storage.version.incremental(KIND_GROUP_MEMBER, "g1", base.version_id, base.version)
    assert delta.group_changed and delta.sort_version == sorted_at.version
    assert delta.updated == ["u2"]


async def test_record_many_bumps_each_log_once(storage: Storage) -> None:
    """record_many writes the same elements into several logs, one version bump each, in one statement set."""
    await _record(storage, "bob", ["x"], STATE_INSERT)
    async with storage.db.write("test.many") as conn:
        states = await record_many(conn, KIND_CONVERSATION, ["alice", "bob", "carol"], ["c9"], STATE_INSERT, now=5)
    assert {d: s.version for d, s in states.items()} == {"alice": 1, "bob": 2, "carol": 1}
    bob = await storage.version.incremental(KIND_CONVERSATION, "bob", states["bob"].version_id, 1)
    assert bob.inserted == ["c9"]


async def test_drop_forces_a_new_version_id(storage: Storage) -> None:
    """After drop, the log comes back with a different versionID, so clients holding the old one resync fully."""
    old = await _record(storage, "g1", ["u1"], STATE_INSERT, kind=KIND_GROUP_MEMBER)
    async with storage.db.write("test.drop") as conn:
        await drop(conn, KIND_GROUP_MEMBER, "g1")
    delta = await storage.version.incremental(KIND_GROUP_MEMBER, "g1", old.version_id, old.version)
    assert delta.full and delta.version_id != old.version_id
