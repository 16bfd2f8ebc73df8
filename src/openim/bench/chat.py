"""Single-chat scenarios: `one-to-one` (closed loop), `latency-at-rate` (open loop), `catch-up` (offline, then pull).

Rates are over the measured window: from the first send to the last reply (`sent_per_s`) or to the last
delivery (`delivered_per_s`). Server CPU per message is the server's CPU over the window and the drain after it,
divided by the messages delivered (catch-up: pulled).

`latency-at-rate` measures a steady rate on conversations that exist: before its window every pair sends one
message and waits for its delivery (`_warm_up`). Without it the window opened with the first message of P new
conversations inside P milliseconds, each costing the server its cold path (conversation rows, seq rows, facts
read from the database), and the backlog they left (~120 ms at 50 pairs) was the whole p99. That cold first
message is reported apart (`first_p50_ms`, `first_max_ms`).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections.abc import Callable

from openim.bench.accounts import Accounts, User, run_prefix
from openim.bench.client import GatewayClient, GatewayError
from openim.bench.load import Options, Tracker, close_all, closed_loop, connect_all, heartbeats, text_msg
from openim.bench.stats import ProcStat, Result, percentile_ms
from openim.gateway.frames import Resp
from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import sdkws_pb2

__all__ = ["catch_up", "latency_at_rate", "one_to_one"]

_SEND = int(ReqIdentifier.SEND_MSG)


async def _pairs(
    opts: Options, accounts: Accounts, prefix: str, tracker: Tracker
) -> list[tuple[GatewayClient, GatewayClient]]:
    """P sender→receiver pairs of fresh users, connected; the receivers' pushes go to `tracker`."""
    ids = [f"{prefix}{i}" for i in range(2 * opts.pairs)]
    users = await accounts.register(ids, opts.platform_id)
    clients = await connect_all(opts, users)
    pairs = [(clients[2 * i], clients[2 * i + 1]) for i in range(opts.pairs)]
    for _, receiver in pairs:
        receiver.on_push = tracker.on_push
    return pairs


def _finish(result: Result, tracker: Tracker, start: float) -> None:
    """Rates, percentiles and loss of a run whose sends began at `start` and whose tracker has settled."""
    acked = len(tracker.acked)
    if acked and tracker.last_ack > start:
        result.sent_per_s = acked / (tracker.last_ack - start)
    if tracker.delivered and tracker.last_push > start:
        result.delivered_per_s = tracker.delivered / (tracker.last_push - start)
    result.lost = tracker.lost
    result.p50_ms = percentile_ms(tracker.push_latencies, 50)
    result.p99_ms = percentile_ms(tracker.push_latencies, 99)
    result.seconds = max(tracker.last_ack, tracker.last_push) - start
    result.extra.update(
        sent=len(tracker.sent_at),
        acked=acked,
        delivered=tracker.delivered,
        errors=tracker.errors,
        unanswered=tracker.unanswered,
        ack_p50_ms=percentile_ms(tracker.ack_latencies, 50),
        ack_p99_ms=percentile_ms(tracker.ack_latencies, 99),
    )


async def one_to_one(opts: Options) -> Result:
    """P pairs, W sends in flight per pair for `seconds`; each message acked, then counted when delivered."""
    proc = ProcStat(opts.server_pid)
    accounts = Accounts(opts.api, opts.secret, opts.admin_user)
    prefix = run_prefix()
    tracker = Tracker()
    pairs = await _pairs(opts, accounts, prefix, tracker)
    ids = (f"{prefix}m{n}" for n in itertools.count())
    clients = [c for pair in pairs for c in pair]
    async with heartbeats(clients):
        cpu0, start = proc.sample(), time.perf_counter()
        until = start + opts.seconds
        await asyncio.gather(
            *(
                closed_loop(s, tracker, ids, _to(s, r, opts.platform_id), until=until, wait_s=opts.drain)
                for s, r in pairs
                for _ in range(opts.window)
            )
        )
        await tracker.settle(opts.drain)
        cpu1 = proc.sample()
    result = Result("one-to-one", extra={"envelope": opts.envelope, "pairs": opts.pairs, "window": opts.window})
    _finish(result, tracker, start)
    result.cpu_per(cpu0, cpu1, tracker.delivered)
    await close_all(clients)
    await accounts.close()
    return result


async def latency_at_rate(opts: Options) -> Result:
    """`rate` messages a second offered over P pairs for `seconds`, whatever the replies; send → deliver p50/p99."""
    proc = ProcStat(opts.server_pid)
    accounts = Accounts(opts.api, opts.secret, opts.admin_user)
    prefix = run_prefix()
    tracker = Tracker()
    pairs = await _pairs(opts, accounts, prefix, tracker)
    clients = [c for pair in pairs for c in pair]
    first = await _warm_up(opts, pairs, prefix, tracker)
    total = max(1, int(opts.rate * opts.seconds))
    async with heartbeats(clients):
        cpu0, start = proc.sample(), time.perf_counter()
        sent = 0
        while sent < total:
            due = min(total, int((time.perf_counter() - start) * opts.rate) + 1)
            while sent < due:
                sender, receiver = pairs[sent % len(pairs)]
                cid = f"{prefix}m{sent}"
                data = text_msg(sender.user_id, cid, opts.platform_id, recv_id=receiver.user_id)
                tracker.sent(cid)
                waiter = await sender.start_request(_SEND, data, cid)
                waiter.add_done_callback(functools.partial(_replied, tracker, cid))
                sent += 1
            await asyncio.sleep(max(0.0, start + sent / opts.rate - time.perf_counter()))
        offered_s = time.perf_counter() - start
        await tracker.settle(opts.drain)
        cpu1 = proc.sample()
    result = Result("latency-at-rate", extra={"envelope": opts.envelope, "pairs": opts.pairs, "rate": opts.rate})
    _finish(result, tracker, start)
    result.extra["offered_per_s"] = round(total / offered_s, 1)
    result.extra["first_p50_ms"] = percentile_ms(first, 50)
    result.extra["first_max_ms"] = percentile_ms(first, 100)
    result.cpu_per(cpu0, cpu1, tracker.delivered)
    await close_all(clients)
    await accounts.close()
    return result


async def _warm_up(
    opts: Options, pairs: list[tuple[GatewayClient, GatewayClient]], prefix: str, tracker: Tracker
) -> list[float]:
    """Each pair's first message (all pairs at once), out of `tracker`; their send → delivery latencies."""
    warm = Tracker()
    for _, receiver in pairs:
        receiver.on_push = warm.on_push
    try:
        await asyncio.gather(
            *(
                closed_loop(
                    s, warm, iter([f"{prefix}w{i}"]), _to(s, r, opts.platform_id), until=None, wait_s=opts.drain
                )
                for i, (s, r) in enumerate(pairs)
            )
        )
        await warm.settle(opts.drain)
    finally:
        for _, receiver in pairs:
            receiver.on_push = tracker.on_push
    return warm.push_latencies


def _to(sender: GatewayClient, receiver: GatewayClient | User, platform_id: int) -> Callable[[str], bytes]:
    """Builds the text message of clientMsgID `cid` from `sender` to `receiver`."""
    return lambda cid: text_msg(sender.user_id, cid, platform_id, recv_id=receiver.user_id)


def _replied(tracker: Tracker, cid: str, waiter: asyncio.Future[Resp]) -> None:
    if waiter.cancelled() or waiter.exception() is not None:
        tracker.errors += 1  # the connection ended under the request
        return
    tracker.on_reply(cid, waiter.result())


async def catch_up(opts: Options) -> Result:
    """K messages from P senders to a receiver that is offline; then it connects and pulls them all (1001, 1002)."""
    proc = ProcStat(opts.server_pid)
    accounts = Accounts(opts.api, opts.secret, opts.admin_user)
    prefix = run_prefix()
    receiver_user, *sender_users = await accounts.register(
        [f"{prefix}r", *(f"{prefix}s{i}" for i in range(opts.pairs))], opts.platform_id
    )
    senders = await connect_all(opts, sender_users)
    tracker = Tracker()
    ids = iter(f"{prefix}m{n}" for n in range(opts.messages))
    async with heartbeats(senders):
        send_start = time.perf_counter()
        await asyncio.gather(
            *(
                closed_loop(s, tracker, ids, _to(s, receiver_user, opts.platform_id), until=None, wait_s=opts.drain)
                for s in senders
                for _ in range(opts.window)
            )
        )
        send_s = time.perf_counter() - send_start
    await close_all(senders)

    cpu0, start = proc.sample(), time.perf_counter()
    receiver = (await connect_all(opts, [receiver_user]))[0]
    pulled, page_latencies = await _pull_everything(receiver, opts.page)
    seconds = time.perf_counter() - start
    cpu1 = proc.sample()
    await receiver.close()
    await accounts.close()

    got = pulled & tracker.acked
    result = Result(
        "catch-up",
        sent_per_s=len(tracker.acked) / send_s if send_s else None,
        delivered_per_s=len(got) / seconds if seconds else None,
        lost=len(tracker.acked - pulled),
        p50_ms=percentile_ms(page_latencies, 50),
        p99_ms=percentile_ms(page_latencies, 99),
        seconds=seconds,
        extra={
            "envelope": opts.envelope,
            "senders": opts.pairs,
            "messages": opts.messages,
            "acked": len(tracker.acked),
            "pulled": len(got),
            "errors": tracker.errors,
            "page": opts.page,
            "requests": len(page_latencies),
        },
    )
    result.cpu_per(cpu0, cpu1, len(got))
    return result


async def _pull_everything(client: GatewayClient, page: int) -> tuple[set[str], list[float]]:
    """As the SDK after reconnecting: 1001 for every max seq, then 1002 seq ranges, ≤ `page` messages a request.

    Returns the clientMsgIDs pulled and each 1002 request's round trip in seconds.
    """
    user_id = client.user_id
    newest = sdkws_pb2.GetMaxSeqResp.FromString(
        await client.request(
            int(ReqIdentifier.GET_NEWEST_SEQ), sdkws_pb2.GetMaxSeqReq(userID=user_id).SerializeToString()
        )
    )
    synced = {cid: 0 for cid, seq in newest.maxSeqs.items() if seq > 0 and not cid.startswith("n_")}
    pulled: set[str] = set()
    latencies: list[float] = []
    while synced:
        req = sdkws_pb2.PullMessageBySeqsReq(userID=user_id, order=sdkws_pb2.PullOrderAsc)
        budget = page
        for cid, done in synced.items():  # the SDK packs ranges into one request until the page is full
            n = min(budget, newest.maxSeqs[cid] - done)
            req.seqRanges.add(conversationID=cid, begin=done + 1, end=done + n, num=n)
            budget -= n
            if budget <= 0:
                break
        start = time.perf_counter()
        reply = sdkws_pb2.PullMessageBySeqsResp.FromString(
            await client.request(int(ReqIdentifier.PULL_MSG_BY_RANGE), req.SerializeToString())
        )
        latencies.append(time.perf_counter() - start)
        for asked in req.seqRanges:
            got = reply.msgs.get(asked.conversationID)
            if got is None or not got.Msgs:
                raise GatewayError(f"1002 returned nothing for {asked.conversationID} {asked.begin}-{asked.end}")
            pulled.update(m.clientMsgID for m in got.Msgs if m.clientMsgID)
            synced[asked.conversationID] = asked.end
            if asked.end >= newest.maxSeqs[asked.conversationID]:
                del synced[asked.conversationID]
    return pulled, latencies
