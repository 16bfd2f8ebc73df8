"""Cron expressions, as OpenIM's `cronExecuteTime` (robfig/cron's standard parser): when a scheduled job runs.

Five fields — minute (0-59), hour (0-23), day of month (1-31), month (1-12), day of week (0-6, Sunday 0 or 7) —
or six with seconds (0-59) first, which OpenIM's parser does not take but which lets a test or a busy deployment
run a job every few seconds. Each field is `*`, a number, a range `a-b`, a step `*/n`, `a/n` or `a-b/n`, or a
comma-separated list of those. As in cron, when both day fields are restricted a day matching either one fires.
Times are the server's local time, as OpenIM's.

`CronSchedule.parse(text)` raises ValueError with what is wrong; `next_after(ms)` is the first firing time (Unix
ms, on a whole second) strictly after `ms`. Pure functions, no I/O: the scheduler (`jobs/scheduler.py`) feeds it
the injected clock's time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["CronSchedule"]

_FIELDS = (  # name, low, high
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_MAX_STEPS = 100_000  # bounded search: every valid expression fires within a few years of steps


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{name}: step {step_text!r} must be a positive number")
            step = int(step_text)
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            if not (first.isdigit() and last.isdigit()):
                raise ValueError(f"{name}: {part!r} is not a range of numbers")
            start, end = int(first), int(last)
        elif body.isdigit():
            start = int(body)
            end = high if slash else start
        else:
            raise ValueError(f"{name}: {part!r} is not a number, range or *")
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ValueError(f"{name}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression; `text` is what it was parsed from."""

    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month is *
    any_weekday: bool  # day of week is *

    @classmethod
    def parse(cls, text: str) -> CronSchedule:
        parts = text.split()
        if len(parts) == 5:
            parts = ["0", *parts]
        if len(parts) != 6:
            raise ValueError(f"{text!r}: a cron expression has 5 fields (minute hour day month weekday) or 6")
        second, minute, hour, day, month, weekday = (_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True))
        weekdays = frozenset(d % 7 for d in weekday)
        schedule = cls(text, second, minute, hour, day, month, weekdays, parts[3] == "*", parts[5] == "*")
        schedule.next_after(0)  # "0 0 30 2 *" never fires: refuse it now, not at run time
        return schedule

    def _day_matches(self, day: dt.datetime) -> bool:
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, ms: int) -> int:
        """The first firing time strictly after `ms` (Unix ms), in Unix ms."""
        t = dt.datetime.fromtimestamp(ms // 1000).replace(microsecond=0) + dt.timedelta(seconds=1)
        for _ in range(_MAX_STEPS):
            if t.month not in self.months:
                t = (t.replace(day=1) + dt.timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0)
            elif not self._day_matches(t):
                t = (t + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0)
            elif t.hour not in self.hours:
                t = (t + dt.timedelta(hours=1)).replace(minute=0, second=0)
            elif t.minute not in self.minutes:
                t = (t + dt.timedelta(minutes=1)).replace(second=0)
            elif t.second not in self.seconds:
                t += dt.timedelta(seconds=1)
            else:
                return int(t.timestamp()) * 1000
        raise ValueError(f"{self.text!r} never fires")
