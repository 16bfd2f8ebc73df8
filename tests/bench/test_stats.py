"""The bench's arithmetic: percentiles, CPU per unit, /proc readings, and the message tracker's loss count."""

from __future__ import annotations

import os

import pytest

from openim.bench.load import Tracker
from openim.bench.stats import CpuSample, ProcStat, Result, percentile_ms
from openim.gateway.frames import Resp
from openim.protocol.constants import ReqIdentifier
from openim.protocol.pb import sdkws_pb2


def test_percentile_nearest_rank() -> None:
    """p50 and p99 of 1..100 ms are 50 and 99 ms; no samples give None."""
    samples = [i / 1000 for i in range(1, 101)]
    assert percentile_ms(samples, 50) == 50.0
    assert percentile_ms(samples, 99) == 99.0
    assert percentile_ms([0.007], 99) == 7.0
    assert percentile_ms([], 50) is None


def test_cpu_per_unit_and_json_fields() -> None:
    """2 s of server CPU over 1,000 messages is 2,000 µs each; every documented field is in the JSON line."""
    result = Result("one-to-one")
    result.cpu_per(CpuSample(10.0, 1.0, 100.0), CpuSample(12.0, 1.5, 101.0), 1000)
    line = result.as_dict()
    assert line["server_cpu_us_per_msg"] == 2000.0
    assert line["client_cpu_pct"] == 50
    assert set(line) >= {"scenario", "sent_per_s", "delivered_per_s", "lost", "p50_ms", "p99_ms", "seconds"}
    without_pid = Result("rest")
    without_pid.cpu_per(CpuSample(None, 0, 0), CpuSample(None, 0, 1), 10)
    assert without_pid.server_cpu_us_per_msg is None


def test_procstat_reads_this_process() -> None:
    """CPU seconds and RSS of a live pid come from /proc; an unknown pid is refused; no pid reads None."""
    own = ProcStat(os.getpid())
    assert (own.cpu_s() or 0) > 0 and (own.rss_kb() or 0) > 0
    assert ProcStat(None).sample().server_s is None
    with pytest.raises(ValueError):
        ProcStat(2**22 + 12345)


def _push(client_msg_id: str, operation_id: str) -> Resp:
    push = sdkws_pb2.PushMessages()
    push.msgs["si_a_b"].Msgs.append(sdkws_pb2.MsgData(clientMsgID=client_msg_id, seq=1))
    return Resp(int(ReqIdentifier.PUSH_MSG), "", operation_id, 0, "", push.SerializeToString())


async def test_tracker_counts_pushes_and_loss() -> None:
    """A message acked and pushed is delivered once (duplicates ignored); acked and never pushed is lost."""
    tracker = Tracker()
    for cid in ("m1", "m2", "m3"):
        tracker.sent(cid)
        tracker.on_reply(cid, Resp(int(ReqIdentifier.SEND_MSG), cid))
    tracker.on_push(_push("m1", "m1"))
    tracker.on_push(_push("m1", "m1"))  # at-least-once: a duplicate counts once
    tracker.on_push(_push("m2", "other-op"))  # an operationID that is not ours: found by parsing the payload
    tracker.on_push(_push("x9", "x9"))  # not ours at all
    await tracker.settle(0.05)
    assert (tracker.delivered, tracker.lost, tracker.push_count) == (2, 1, 2)
    assert len(tracker.push_latencies) == 2


async def test_tracker_group_needs_every_member() -> None:
    """With 3 members a message is delivered at its third push; two pushes leave one lost."""
    tracker = Tracker(expect_pushes=3)
    tracker.sent("g1")
    tracker.on_reply("g1", Resp(int(ReqIdentifier.SEND_MSG), "g1"))
    tracker.on_push(_push("g1", "g1"))
    tracker.on_push(_push("g1", "g1"))
    assert (tracker.delivered, tracker.lost) == (0, 1)
    tracker.on_push(_push("g1", "g1"))
    await tracker.settle(1)
    assert (tracker.delivered, tracker.lost) == (1, 0)
