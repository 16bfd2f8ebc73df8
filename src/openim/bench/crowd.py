"""Many-connection scenarios: `idle-connections` (what a held connection costs) and `group-fanout` (pushes/s)."""

from __future__ import annotations

import asyncio
import itertools
import time

from openim.bench.accounts import Accounts, run_prefix
from openim.bench.load import Options, Tracker, close_all, closed_loop, connect_all, heartbeats, text_msg
from openim.bench.stats import ProcStat, Result, percentile_ms

__all__ = ["group_fanout", "idle_connections"]

_SETTLE_S = 1.0  # after the last handshake, before RSS is read: the server finishes registering connections


async def idle_connections(opts: Options) -> Result:
    """C connections opened and held for `seconds` (heartbeats only); server RSS per connection, handshake times."""
    proc = ProcStat(opts.server_pid)
    accounts = Accounts(opts.api, opts.secret, opts.admin_user)
    prefix = run_prefix()
    users = await accounts.register([f"{prefix}{i}" for i in range(opts.conns)], opts.platform_id)
    await asyncio.sleep(_SETTLE_S)
    rss0, cpu0 = proc.rss_kb(), proc.sample()
    handshakes: list[float] = []
    start = time.perf_counter()
    clients = await connect_all(opts, users, handshakes)
    connect_s = time.perf_counter() - start
    async with heartbeats(clients):
        await asyncio.sleep(max(_SETTLE_S, opts.seconds))
    rss1, cpu1 = proc.rss_kb(), proc.sample()
    alive = sum(1 for c in clients if c.ws.close_code is None and not c.kicked)
    result = Result(
        "idle-connections",
        lost=len(users) - alive,
        p50_ms=percentile_ms(handshakes, 50),
        p99_ms=percentile_ms(handshakes, 99),
        seconds=time.perf_counter() - start,
        extra={
            "envelope": opts.envelope,
            "conns": opts.conns,
            "alive": alive,
            "handshakes_per_s": round(len(clients) / connect_s, 1),
            "server_rss_kb": rss1,
        },
    )
    if rss0 is not None and rss1 is not None:
        result.rss_per_conn_kb = round((rss1 - rss0) / len(clients), 2)
    result.cpu_per(cpu0, cpu1, len(clients))  # CPU per connection: handshake and heartbeats
    await close_all(clients)
    await accounts.close()
    return result


async def group_fanout(opts: Options) -> Result:
    """A group of M online members; its owner sends with W in flight for `seconds`; every member's 2001 counted."""
    proc = ProcStat(opts.server_pid)
    accounts = Accounts(opts.api, opts.secret, opts.admin_user)
    prefix = run_prefix()
    users = await accounts.register([f"{prefix}{i}" for i in range(opts.members)], opts.platform_id)
    group_id = f"{prefix}g"
    await accounts.create_group(group_id, users[0].user_id, [u.user_id for u in users[1:]])
    clients = await connect_all(opts, users)
    tracker = Tracker(expect_pushes=len(clients))
    for client in clients:
        client.on_push = tracker.on_push
    sender = clients[0]
    ids = (f"{prefix}m{n}" for n in itertools.count())
    async with heartbeats(clients):
        cpu0, start = proc.sample(), time.perf_counter()
        until = start + opts.seconds

        def build(cid: str) -> bytes:
            return text_msg(sender.user_id, cid, opts.platform_id, group_id=group_id)

        await asyncio.gather(
            *(closed_loop(sender, tracker, ids, build, until=until, wait_s=opts.drain) for _ in range(opts.window))
        )
        await tracker.settle(opts.drain)
        cpu1 = proc.sample()
    elapsed = max(tracker.last_push, tracker.last_ack) - start
    result = Result(
        "group-fanout",
        sent_per_s=len(tracker.acked) / (tracker.last_ack - start) if tracker.acked else None,
        delivered_per_s=tracker.delivered / elapsed if tracker.delivered else None,
        lost=tracker.lost,
        p50_ms=percentile_ms(tracker.push_latencies, 50),
        p99_ms=percentile_ms(tracker.push_latencies, 99),
        pushes_per_s=tracker.push_count / elapsed if tracker.push_count else None,
        seconds=elapsed,
        extra={
            "envelope": opts.envelope,
            "members": len(clients),
            "window": opts.window,
            "sent": len(tracker.sent_at),
            "acked": len(tracker.acked),
            "delivered": tracker.delivered,
            "pushes": tracker.push_count,
            "errors": tracker.errors,
        },
    )
    result.cpu_per(cpu0, cpu1, tracker.push_count)  # per push: the unit of a fan-out
    await close_all(clients)
    await accounts.close()
    return result
