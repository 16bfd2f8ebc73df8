"""`openim queue status` and `openim queue reset`: the job queue's streams and consumer groups, as OpenIM's guide
reads Kafka with `kafka-consumer-groups.sh --describe` and rewinds it with `--reset-offsets`.

The queue (`infra/redis/queue.py`) is one Redis stream per topic, `openim:queue:<topic>`, read by the consumer
group `msgtransfer`; a job is acknowledged and then deleted, so a stream holds only unfinished jobs. For each
stream and group, `status` reports:

- length: jobs in the stream (unfinished);
- lag: jobs not yet delivered to the group (Kafka's LAG): Redis's own count when it has one, else the entries
  after the group's last-delivered ID, counted up to `LAG_COUNT_LIMIT`;
- pending: delivered, not acknowledged (a worker holds them, or died holding them: reclaimed after 60 s idle);
- consumers: each consumer (`host:pid` of a msgtransfer process) with its pending jobs and idle time;
- oldest pending: age of the oldest unacknowledged job (since it was queued) and how long since its delivery;
- oldest waiting: age of the oldest job not yet delivered.

The bus (pub/sub, `infra/redis/bus.py`) keeps nothing to lag behind: its channels are listed with their
subscriber counts (`PUBSUB NUMSUB`), which is how many processes receive pushes and kicks.

`reset(group, to)`: `latest` skips every job queued now (the group's last-delivered ID moves to the stream's
last ID, the skipped and pending jobs are acknowledged and deleted, as when done: the guide's
`--reset-offsets --to-latest`, for a backlog no longer worth sending); `earliest` delivers again every job
still in the stream (last-delivered ID 0: pending jobs are handed out again at once instead of after their idle
time). Unlike Kafka, finished jobs are gone, so `earliest` cannot replay them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from openim.infra.redis.bus import CHANNEL_PREFIX
from openim.infra.redis.queue import STREAM_PREFIX

__all__ = [
    "LAG_COUNT_LIMIT",
    "ChannelStatus",
    "ConsumerStatus",
    "GroupStatus",
    "QueueError",
    "QueueStatus",
    "ResetResult",
    "StreamStatus",
    "read_status",
    "render_reset",
    "render_status",
    "reset_group",
]

LAG_COUNT_LIMIT = 100_000  # entries counted one page at a time when Redis cannot say the lag itself
_PAGE = 1000
_SCAN_LIMIT = 1000  # streams or channels listed at most


class QueueError(Exception):
    """A queue operation that cannot be done as asked (no such group); the message says what exists."""


@dataclass(frozen=True)
class ConsumerStatus:
    name: str
    pending: int
    idle_s: float


@dataclass(frozen=True)
class GroupStatus:
    group: str
    lag: int
    lag_capped: bool  # lag counted up to LAG_COUNT_LIMIT only
    pending: int
    last_delivered_id: str
    consumers: list[ConsumerStatus]
    oldest_pending_age_s: float | None
    oldest_pending_idle_s: float | None
    oldest_waiting_age_s: float | None


@dataclass(frozen=True)
class StreamStatus:
    topic: str
    key: str
    length: int
    last_id: str
    groups: list[GroupStatus]


@dataclass(frozen=True)
class ChannelStatus:
    channel: str
    subscribers: int


@dataclass(frozen=True)
class QueueStatus:
    streams: list[StreamStatus] = field(default_factory=list)
    channels: list[ChannelStatus] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ResetResult:
    topic: str
    key: str
    group: str
    to: str
    before: GroupStatus
    moved_to_id: str
    skipped: int  # jobs acknowledged and deleted (latest)
    redelivered: int  # jobs handed out again (earliest)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_ms(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


async def _now_ms(client: aioredis.Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def _streams(client: aioredis.Redis) -> list[str]:
    keys = []
    async for key in client.scan_iter(match=STREAM_PREFIX + "*", count=500, _type="stream"):
        keys.append(_text(key))
        if len(keys) >= _SCAN_LIMIT:
            break
    return sorted(keys)


async def read_status(client: aioredis.Redis) -> QueueStatus:
    """Every queue stream with its groups and consumers, and every bus channel with its subscribers."""
    now = await _now_ms(client)
    streams = [await _stream_status(client, key, now) for key in await _streams(client)]
    names: list[Any] = await client.pubsub_channels(CHANNEL_PREFIX + "*")
    counted: list[Any] = await client.pubsub_numsub(*names) if names else []
    channels = sorted((ChannelStatus(_text(name), int(count)) for name, count in counted), key=lambda c: c.channel)
    return QueueStatus([s for s in streams if s is not None], channels)


async def _stream_status(client: aioredis.Redis, key: str, now: int) -> StreamStatus | None:
    try:
        info: Any = await client.xinfo_stream(key)
        groups: Any = await client.xinfo_groups(key)
    except ResponseError:  # deleted meanwhile
        return None
    last_id = _text(info.get("last-generated-id", "0-0"))
    found = [await _group_status(client, key, g, now) for g in groups]
    return StreamStatus(key.removeprefix(STREAM_PREFIX), key, int(info["length"]), last_id, found)


async def _group_status(client: aioredis.Redis, key: str, info: Any, now: int) -> GroupStatus:
    group = _text(info["name"])
    last_delivered = _text(info["last-delivered-id"])
    lag, capped = await _lag(client, key, info.get("lag"), last_delivered)
    consumers_info: Any = await client.xinfo_consumers(key, group)
    consumers = [
        ConsumerStatus(_text(c["name"]), int(c["pending"]), int(c["idle"]) / 1000)
        for c in sorted(consumers_info, key=lambda c: _text(c["name"]))
    ]
    summary: Any = await client.xpending(key, group)
    pending = int(summary["pending"])
    age = idle = None
    if pending and summary.get("min"):
        oldest = _text(summary["min"])
        age = (now - _id_ms(oldest)) / 1000
        rows: Any = await client.xpending_range(key, group, min=oldest, max=oldest, count=1)
        idle = int(rows[0]["time_since_delivered"]) / 1000 if rows else None
    waiting_age = None
    if lag:
        first: Any = await client.xrange(key, min=f"({last_delivered}", max="+", count=1)
        if first:
            waiting_age = (now - _id_ms(_text(first[0][0]))) / 1000
    return GroupStatus(group, lag, capped, pending, last_delivered, consumers, age, idle, waiting_age)


async def _lag(client: aioredis.Redis, key: str, reported: Any, last_delivered: str) -> tuple[int, bool]:
    """Redis 7's own lag when it knows it (no deletions in the way), else the entries after last-delivered."""
    if reported is not None:
        return int(reported), False
    counted, start = 0, f"({last_delivered}"
    while counted < LAG_COUNT_LIMIT:
        page: Any = await client.xrange(key, min=start, max="+", count=_PAGE)
        counted += len(page)
        if len(page) < _PAGE:
            return counted, False
        start = f"({_text(page[-1][0])}"
    return counted, True


async def reset_group(
    client: aioredis.Redis,
    group: str,
    to: Literal["latest", "earliest"],
    *,
    topic: str | None = None,
    execute: bool = False,
) -> list[ResetResult]:
    """Plan (execute=False) or do the reset of `group` on every stream that has it (or only `topic`'s)."""
    status = await read_status(client)
    targets = [
        (stream, g)
        for stream in status.streams
        if topic is None or stream.topic == topic
        for g in stream.groups
        if g.group == group
    ]
    if not targets:
        known = sorted({f"{s.topic}:{g.group}" for s in status.streams for g in s.groups})
        where = f"on the stream of topic {topic}" if topic else "on any queue stream"
        raise QueueError(f"no consumer group {group!r} {where}; topic:group pairs: {', '.join(known) or 'none'}")
    results = []
    for stream, g in targets:
        if to == "latest":
            skipped = g.lag + g.pending
            if execute:
                skipped = await _skip_to(client, stream.key, group, stream.last_id)
            results.append(ResetResult(stream.topic, stream.key, group, to, g, stream.last_id, skipped, 0))
        else:
            if execute:
                await client.xgroup_setid(stream.key, group, "0")
            results.append(ResetResult(stream.topic, stream.key, group, to, g, "0", 0, stream.length))
    return results


async def _skip_to(client: aioredis.Redis, key: str, group: str, last_id: str) -> int:
    """Move the group to `last_id`, then acknowledge and delete every entry up to it; how many there were.

    Jobs queued after `last_id` (while this runs) are untouched: they are the group's next ones.
    """
    await client.xgroup_setid(key, group, last_id)
    done, start = 0, "-"
    while True:
        page: Any = await client.xrange(key, min=start, max=last_id, count=_PAGE)
        if not page:
            return done
        ids = [_text(entry_id) for entry_id, _ in page]
        await client.xack(key, group, *ids)
        await client.xdel(key, *ids)
        done += len(ids)
        if len(page) < _PAGE:
            return done
        start = f"({ids[-1]}"


# ---- text ------------------------------------------------------------------------------------------------------


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(seconds, 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def render_status(status: QueueStatus, *, claim_idle_s: float = 60.0) -> str:
    """`kafka-consumer-groups --describe`-like tables: groups per stream, their consumers, the bus channels."""
    lines: list[str] = []
    if not status.streams:
        lines.append("no queue stream (openim:queue:*) in this Redis: nothing was queued yet")
    else:
        rows = [
            ["TOPIC", "STREAM", "GROUP", "LENGTH", "LAG", "PENDING", "CONSUMERS", "OLDEST-PENDING", "OLDEST-WAITING"]
        ]
        consumers = [["TOPIC", "GROUP", "CONSUMER", "PENDING", "IDLE", ""]]
        for stream in status.streams:
            if not stream.groups:
                rows.append([stream.topic, stream.key, "-", str(stream.length), "-", "-", "0", "-", "-"])
            for g in stream.groups:
                lag = f"≥{g.lag}" if g.lag_capped else str(g.lag)
                oldest = _age(g.oldest_pending_age_s)
                if g.oldest_pending_idle_s is not None:
                    oldest += f" (idle {_age(g.oldest_pending_idle_s)})"
                rows.append(
                    [
                        stream.topic,
                        stream.key,
                        g.group,
                        str(stream.length),
                        lag,
                        str(g.pending),
                        str(len(g.consumers)),
                        oldest,
                        _age(g.oldest_waiting_age_s),
                    ]
                )
                for c in g.consumers:
                    note = (
                        "pending jobs go to another consumer (idle)" if c.pending and c.idle_s >= claim_idle_s else ""
                    )
                    consumers.append([stream.topic, g.group, c.name, str(c.pending), _age(c.idle_s), note])
        lines += _table(rows)
        if len(consumers) > 1:
            lines += ["", *_table(consumers)]
    lines.append("")
    if status.channels:
        lines += _table([["BUS CHANNEL", "SUBSCRIBERS"], *([c.channel, str(c.subscribers)] for c in status.channels)])
    else:
        lines.append("no bus channel (openim:bus:*) has a subscriber: no gateway process is connected to this Redis")
    return "\n".join(lines)


def render_reset(results: list[ResetResult], *, executed: bool) -> str:
    """What the reset does (or did) per stream."""
    lines = []
    for r in results:
        b = r.before
        if r.to == "latest":
            what = f"skip {r.skipped} job(s) (lag {b.lag}, pending {b.pending}): acknowledged and deleted, not sent"
        else:
            what = f"deliver again the {r.redelivered} job(s) still in the stream (pending {b.pending} at once)"
        verb = "done" if executed else "would"
        lines.append(
            f"{r.key} group {r.group} --to {r.to}: {verb}: {what}; "
            f"last-delivered ID {b.last_delivered_id} → {r.moved_to_id}"
        )
        active = [c.name for c in b.consumers if c.idle_s < 60]
        if active and not executed:
            lines.append(
                f"  consumers active in the last minute: {', '.join(active)} (they go on with the new position)"
            )
    if not executed:
        lines.append("nothing changed: add --yes to do it")
    return "\n".join(lines)
