"""FactCache: what every send checks — users, blacklists, friend lists, receive options, groups, members and
their roles and mutes — kept in memory, so a send reads nothing from the database in the steady state.

Profiles of the send path showed that reading these facts (one read transaction of four queries per 1:1 message)
cost more server CPU than storing the message. OpenIM keeps the same facts in a local cache in front of Redis and
MongoDB, invalidated through Redis pub/sub (its `localcache` with `DELETE_CACHE_*` topics); this is that cache.
The offline push of a group message reads its members' users and receive options here too (`users`, `recv_opts`):
for a 1,000-member group that was 1,000 rows read per message (jobs/offline_push.py).

Correctness, in this process: every repository method that writes one of these tables runs inside
`async with facts.writing(kind, keys)`, which drops the entries of `keys` when the transaction ends (committed or
not) and bumps the kind's generation. A read that began before the bump does not store what it read (its snapshot
may predate the write), so a value in the cache is never older than the newest write this process made.

Across processes (roles split over several processes, `redis.url` set): after its commit, `writing` awaits
`on_change(kind, keys)`, which runtime wires to publish an invalidation on the bus and wait until Redis accepted it
(services/facts_sync.py); the other processes drop the same entries when the event reaches them, and drop
everything (and read through) while their bus subscription is not live or when they detect a lost event. Without
`on_change` (one process, the embedded default) nothing else is needed. `enabled = False` makes every lookup read
the database (a process that runs only some roles without Redis: nobody would tell it about others' writes).

As a backstop for what no event can catch (a write made by hand in the database, a bus outage not seen), every
entry expires `ttl_s` after it was read (OpenIM's localcache: 300 s); each kind keeps at most `max_entries`
entries, the oldest going first.

Values are immutable (frozen rows, frozensets, read-only mappings): callers may keep them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from openim.protocol.constants import GroupRole
from openim.storage.db import Db
from openim.storage.rows import Group, User
from openim.storage.schema import black, conversation, friend, group, group_member, user

__all__ = [
    "FACT_BLACK",
    "FACT_FRIEND",
    "FACT_GROUP",
    "FACT_KINDS",
    "FACT_MEMBERS",
    "FACT_RECV_OPT",
    "FACT_USER",
    "FactCache",
    "GroupMembers",
    "MemberFacts",
    "SingleChatGate",
]

# Kinds and their keys: user → userID; black, friend, recv_opt → the owner's userID; group, members → groupID.
FACT_USER = "user"
FACT_BLACK = "black"
FACT_FRIEND = "friend"
FACT_RECV_OPT = "recv_opt"
FACT_GROUP = "group"
FACT_MEMBERS = "members"
FACT_KINDS = (FACT_USER, FACT_BLACK, FACT_FRIEND, FACT_RECV_OPT, FACT_GROUP, FACT_MEMBERS)

TTL_S = 300.0  # OpenIM's localcache successExpire
MAX_ENTRIES = 100_000  # per kind; a group's members count as one entry
MAX_GROUP_ENTRIES = 10_000  # member maps of big groups are large: fewer of them
_IN_CHUNK = 1000  # ids per IN (…) list, far below both databases' bind-parameter limits

# As storage/user.py and storage/group/read.py read them: columns in the field order of the rows; OpenIM's
# member order.
_GROUP_COLUMNS = tuple(group.c[f.name] for f in fields(Group))
_USER_COLUMNS = tuple(user.c[f.name] for f in fields(User))
_MEMBER_ORDER = (group_member.c.role_level.desc(), group_member.c.join_time, group_member.c.user_id)

OnChange = Callable[[str, tuple[str, ...] | None], Awaitable[None]]

K = TypeVar("K")
V = TypeVar("V")
_MISSING: Any = object()
_NO_OPTS: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What a send checks of a group member."""

    role_level: int
    mute_end_time: int


_ORDINARY = MemberFacts(GroupRole.ORDINARY, 0)


@dataclass(frozen=True, slots=True)
class GroupMembers:
    """A group's members: `ids` in member order (owner, admins, members, each by join time) and their facts.

    Only the members that are not ordinary or carry a mute end time have their own entry (`special`): a group
    of 100,000 costs a tuple and a frozenset of its IDs, not 100,000 objects.
    """

    ids: tuple[str, ...]
    id_set: frozenset[str]
    special: Mapping[str, MemberFacts]

    def get(self, user_id: str) -> MemberFacts | None:
        """The member's role and mute, None when `user_id` is not a member."""
        facts = self.special.get(user_id)
        if facts is not None:
            return facts
        return _ORDINARY if user_id in self.id_set else None


@dataclass(frozen=True, slots=True)
class SingleChatGate:
    """The facts of one (sender → receiver) single chat; None/False where there is nothing."""

    sender: User | None
    receiver: User | None
    blocked: bool  # the receiver has the sender in its blacklist
    friends: bool  # the sender is in the receiver's friend list (read only when asked for)
    recv_msg_opt: int | None  # the receiver's recvMsgOpt for this conversation, None without a row or when 0


class _Table(Generic[K, V]):
    """One kind's entries: key → (value, expiry), bounded, with the generation that guards fills."""

    __slots__ = ("entries", "generation", "max_entries")

    def __init__(self, max_entries: int) -> None:
        self.entries: dict[K, tuple[V, float]] = {}
        self.generation = 0
        self.max_entries = max_entries

    def get(self, key: K, now: float) -> V:
        entry = self.entries.get(key)
        if entry is None or entry[1] < now:
            return _MISSING  # type: ignore[no-any-return]
        return entry[0]

    def put(self, key: K, value: V, expires: float) -> None:
        entries = self.entries
        if len(entries) >= self.max_entries and key not in entries:
            del entries[next(iter(entries))]  # the oldest read first (dicts keep insertion order)
        entries[key] = (value, expires)

    def drop(self, keys: Iterable[K] | None) -> None:
        self.generation += 1
        if keys is None:
            self.entries.clear()
            return
        for key in keys:
            self.entries.pop(key, None)


class FactCache:
    """The send checks' facts in memory, read through on a miss (module docstring)."""

    def __init__(
        self,
        db: Db,
        *,
        ttl_s: float = TTL_S,
        max_entries: int = MAX_ENTRIES,
        max_group_entries: int = MAX_GROUP_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._clock = clock
        self.enabled = True
        self.on_change: OnChange | None = None
        self._users: _Table[str, User | None] = _Table(max_entries)
        self._black: _Table[str, frozenset[str]] = _Table(max_entries)
        self._friend: _Table[str, frozenset[str]] = _Table(max_entries)
        self._recv_opt: _Table[str, Mapping[str, int]] = _Table(max_entries)
        self._groups: _Table[str, Group | None] = _Table(max_group_entries)
        self._members: _Table[str, GroupMembers] = _Table(max_group_entries)
        self._tables: dict[str, _Table[Any, Any]] = {
            FACT_USER: self._users,
            FACT_BLACK: self._black,
            FACT_FRIEND: self._friend,
            FACT_RECV_OPT: self._recv_opt,
            FACT_GROUP: self._groups,
            FACT_MEMBERS: self._members,
        }
        self.hits = 0
        self.misses = 0

    # ---- invalidation -------------------------------------------------------------------------------------

    def invalidate(self, kind: str, keys: Iterable[str] | None = None) -> None:
        """Drop the entries of `keys` (None: every entry of the kind); reads in flight will not store theirs."""
        self._tables[kind].drop(keys)

    def flush(self) -> None:
        """Drop everything (a lost invalidation event, a bus that reconnected)."""
        for table in self._tables.values():
            table.drop(None)

    @asynccontextmanager
    async def writing(self, kind: str, keys: Iterable[str] | None) -> AsyncIterator[None]:
        """Around a write transaction of `kind`: drop `keys` here when it ends, then tell the other processes."""
        wanted = None if keys is None else tuple(dict.fromkeys(keys))
        if wanted == ():
            yield
            return
        try:
            yield
        finally:
            self.invalidate(kind, wanted)
        if self.on_change is not None:
            await self.on_change(kind, wanted)

    # ---- lookups ------------------------------------------------------------------------------------------

    async def single_chat_gate(
        self, send_id: str, recv_id: str, conversation_id: str, *, with_friendship: bool = False
    ) -> SingleChatGate:
        """Sender, receiver, blacklist, friendship (when asked) and the receiver's option; misses in one read."""
        now = self._clock()
        sender = receiver = blocked = opts = _MISSING
        friends: Any = frozenset() if not with_friendship else _MISSING
        if self.enabled:
            sender = self._users.get(send_id, now)
            receiver = self._users.get(recv_id, now)
            blocked = self._black.get(recv_id, now)
            opts = self._recv_opt.get(recv_id, now)
            if with_friendship:
                friends = self._friend.get(recv_id, now)
        if _MISSING in (sender, receiver, blocked, friends, opts):
            self.misses += 1
            generations = self._generations()
            async with self._db.read("facts.single_chat_gate") as conn:
                if sender is _MISSING or receiver is _MISSING:
                    found = await _users(conn, {send_id, recv_id})
                    sender, receiver = found.get(send_id), found.get(recv_id)
                    self._store(generations, FACT_USER, {send_id: sender, recv_id: receiver}, now)
                if blocked is _MISSING:
                    blocked = await _owned(conn, black.c.block_user_id, black.c.owner_user_id, recv_id)
                    self._store(generations, FACT_BLACK, {recv_id: blocked}, now)
                if friends is _MISSING:
                    friends = await _owned(conn, friend.c.friend_user_id, friend.c.owner_user_id, recv_id)
                    self._store(generations, FACT_FRIEND, {recv_id: friends}, now)
                if opts is _MISSING:
                    opts = await _recv_opts(conn, recv_id)
                    self._store(generations, FACT_RECV_OPT, {recv_id: opts}, now)
        else:
            self.hits += 1
        return SingleChatGate(sender, receiver, send_id in blocked, send_id in friends, opts.get(conversation_id))

    async def users(self, user_ids: Iterable[str]) -> dict[str, User]:
        """The users that exist among `user_ids` (unknown ones are left out)."""
        wanted = list(dict.fromkeys(user_ids))
        found = await self._many(FACT_USER, wanted, "facts.users", _users, None)
        return {user_id: u for user_id in wanted if (u := found[user_id]) is not None}

    async def user(self, user_id: str) -> User | None:
        """One user, or None when the userID is not registered."""
        return (await self.users((user_id,))).get(user_id)

    async def recv_opts(self, owner_ids: Iterable[str]) -> dict[str, Mapping[str, int]]:
        """For each of `owner_ids`, its conversations whose recvMsgOpt is not 0 (conversationID → option); the
        misses in one read. What an offline push of a group checks for every member (jobs/offline_push.py)."""
        owners = list(dict.fromkeys(owner_ids))
        return await self._many(FACT_RECV_OPT, owners, "facts.recv_opts", _recv_opts_of, _NO_OPTS)

    async def _many(
        self,
        kind: str,
        keys: list[str],
        name: str,
        load: Callable[[AsyncConnection, list[str]], Awaitable[Mapping[str, Any]]],
        absent: Any,
    ) -> dict[str, Any]:
        """`keys` (distinct) of one kind from the cache, the misses in one read named `name`; `absent` for a key
        the read did not find (cached too)."""
        now = self._clock()
        table = self._tables[kind]
        found: dict[str, Any] = {}
        missing: list[str] = []
        for key in keys:
            cached = table.get(key, now) if self.enabled else _MISSING
            if cached is _MISSING:
                missing.append(key)
            else:
                found[key] = cached
        if missing:
            self.misses += 1
            generations = self._generations()
            async with self._db.read(name) as conn:
                loaded = await load(conn, missing)
            fresh = {key: loaded.get(key, absent) for key in missing}
            self._store(generations, kind, fresh, now)
            found.update(fresh)
        else:
            self.hits += 1
        return found

    async def group(self, group_id: str) -> Group | None:
        """One group (dismissed ones included), or None when the groupID is unknown."""
        now = self._clock()
        cached = self._groups.get(group_id, now) if self.enabled else _MISSING
        if cached is not _MISSING:
            self.hits += 1
            return cached
        self.misses += 1
        generations = self._generations()
        async with self._db.read("facts.group") as conn:
            row = (await conn.execute(select(*_GROUP_COLUMNS).where(group.c.group_id == group_id))).first()
        found = None if row is None else Group(*row)
        self._store(generations, FACT_GROUP, {group_id: found}, now)
        return found

    async def members(self, group_id: str) -> GroupMembers:
        """Every member of the group with its role and mute; empty for an unknown group."""
        now = self._clock()
        cached = self._members.get(group_id, now) if self.enabled else _MISSING
        if cached is not _MISSING:
            self.hits += 1
            return cached
        self.misses += 1
        generations = self._generations()
        async with self._db.read("facts.members") as conn:
            result = await conn.execute(
                select(group_member.c.user_id, group_member.c.role_level, group_member.c.mute_end_time)
                .where(group_member.c.group_id == group_id)
                .order_by(*_MEMBER_ORDER)
            )
            rows = result.all()
        ids = tuple([r[0] for r in rows])
        ordinary = int(GroupRole.ORDINARY)
        special = {r[0]: MemberFacts(r[1], r[2]) for r in rows if r[1] != ordinary or r[2]}
        found = GroupMembers(ids, frozenset(ids), MappingProxyType(special))
        self._store(generations, FACT_MEMBERS, {group_id: found}, now)
        return found

    # ---- internals ----------------------------------------------------------------------------------------

    def _generations(self) -> tuple[int, ...]:
        return tuple(t.generation for t in self._tables.values())

    def _store(self, generations: tuple[int, ...], kind: str, values: Mapping[str, Any], now: float) -> None:
        """Keep what a read found, unless the cache is off or the kind changed since the read began."""
        if not self.enabled:
            return
        table = self._tables[kind]
        if table.generation != generations[FACT_KINDS.index(kind)]:
            return
        expires = now + self._ttl_s
        for key, value in values.items():
            table.put(key, value, expires)


async def _users(conn: AsyncConnection, user_ids: Iterable[str]) -> dict[str, User]:
    ids = list(user_ids)
    found: dict[str, User] = {}
    for i in range(0, len(ids), _IN_CHUNK):
        result = await conn.execute(select(*_USER_COLUMNS).where(user.c.user_id.in_(ids[i : i + _IN_CHUNK])))
        found.update((row.user_id, User(*row)) for row in result)
    return found


async def _owned(conn: AsyncConnection, column: Any, owner_column: Any, owner: str) -> frozenset[str]:
    return frozenset((await conn.execute(select(column).where(owner_column == owner))).scalars())


async def _recv_opts_of(conn: AsyncConnection, owners: list[str]) -> dict[str, Mapping[str, int]]:
    """`_recv_opts` of several owners (only those with a non-0 option are in the result)."""
    opts: dict[str, dict[str, int]] = {}
    for i in range(0, len(owners), _IN_CHUNK):
        result = await conn.execute(
            select(conversation.c.owner_user_id, conversation.c.conversation_id, conversation.c.recv_msg_opt).where(
                conversation.c.owner_user_id.in_(owners[i : i + _IN_CHUNK]), conversation.c.recv_msg_opt != 0
            )
        )
        for owner, cid, opt in result:
            opts.setdefault(owner, {})[cid] = opt
    return {owner: MappingProxyType(o) for owner, o in opts.items()}


async def _recv_opts(conn: AsyncConnection, owner: str) -> Mapping[str, int]:
    """The owner's conversations whose recvMsgOpt is not 0 (a row with 0 and no row mean the same to a send)."""
    result = await conn.execute(
        select(conversation.c.conversation_id, conversation.c.recv_msg_opt).where(
            conversation.c.owner_user_id == owner, conversation.c.recv_msg_opt != 0
        )
    )
    return MappingProxyType({cid: opt for cid, opt in result})
