"""Tests for openim.storage.config: global and per-user client configuration."""

from __future__ import annotations

from openim.storage import Storage
from openim.storage.rows import ClientConfigEntry


async def test_empty_table_gives_empty_maps(storage: Storage) -> None:
    """With nothing stored, global and user maps are empty and the page is empty."""
    assert await storage.config.get_configs("") == {}
    assert await storage.config.get_configs("alice") == {}
    assert await storage.config.page_configs("", "", 0, 10) == (0, [])


async def test_user_entries_overlay_global_ones(storage: Storage) -> None:
    """A user's map is the global map with that user's own keys on top."""
    await storage.config.set_configs("", {"theme": "light", "lang": "en"})
    await storage.config.set_configs("alice", {"theme": "dark", "beta": "1"})
    assert await storage.config.get_configs("alice") == {"theme": "dark", "lang": "en", "beta": "1"}
    assert await storage.config.get_configs("bob") == {"theme": "light", "lang": "en"}
    assert await storage.config.get_configs("") == {"theme": "light", "lang": "en"}


async def test_set_configs_overwrites_given_keys_only(storage: Storage) -> None:
    """set_configs upserts: given keys take the new value, other keys stay."""
    await storage.config.set_configs("alice", {"a": "1", "b": "2"})
    await storage.config.set_configs("alice", {"b": "20", "c": "30"})
    await storage.config.set_configs("alice", {})
    assert await storage.config.get_configs("alice") == {"a": "1", "b": "20", "c": "30"}


async def test_delete_configs_removes_only_that_users_keys(storage: Storage) -> None:
    """delete_configs drops the named keys of one user; missing keys and other owners are untouched."""
    await storage.config.set_configs("", {"a": "g"})
    await storage.config.set_configs("alice", {"a": "1", "b": "2"})
    await storage.config.set_configs("bob", {"a": "3"})
    await storage.config.delete_configs("alice", ["a", "missing"])
    await storage.config.delete_configs("alice", [])
    assert await storage.config.get_configs("alice") == {"a": "g", "b": "2"}
    assert await storage.config.get_configs("bob") == {"a": "3"}
    await storage.config.delete_configs("", ["a"])
    assert await storage.config.get_configs("alice") == {"b": "2"}


async def test_page_configs_filters_and_orders(storage: Storage) -> None:
    """page_configs filters by user and key when given ("" = any), ordered by user then key, with totals."""
    await storage.config.set_configs("", {"k1": "g1", "k2": "g2"})
    await storage.config.set_configs("alice", {"k2": "a2", "k1": "a1"})
    await storage.config.set_configs("bob", {"k1": "b1"})

    total, page = await storage.config.page_configs("", "", 0, 10)
    assert total == 5
    expected = [("", "k1"), ("", "k2"), ("alice", "k1"), ("alice", "k2"), ("bob", "k1")]
    assert [(e.user_id, e.key) for e in page] == expected

    assert await storage.config.page_configs("alice", "", 0, 10) == (
        2,
        [ClientConfigEntry("k1", "alice", "a1"), ClientConfigEntry("k2", "alice", "a2")],
    )
    total, page = await storage.config.page_configs("", "k1", 1, 1)
    assert (total, page) == (3, [ClientConfigEntry("k1", "alice", "a1")])
    assert await storage.config.page_configs("bob", "k1", 0, 10) == (1, [ClientConfigEntry("k1", "bob", "b1")])


async def test_page_configs_past_the_end(storage: Storage) -> None:
    """A page beyond the last entry is empty and still carries the total."""
    await storage.config.set_configs("alice", {"a": "1", "b": "2"})
    assert await storage.config.page_configs("alice", "", 2, 10) == (2, [])
