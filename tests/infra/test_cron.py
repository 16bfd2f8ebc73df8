"""Cron expressions (`infra/cron.py`): parsing as robfig/cron's standard parser, plus an optional seconds field,
and the next firing time in the server's local time."""

from __future__ import annotations

import datetime as dt

import pytest

from openim.infra.cron import CronSchedule


def ms(*when: int) -> int:
    """Local wall-clock time → Unix ms, as the schedule reads it."""
    return int(dt.datetime(*when).timestamp()) * 1000  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 2 * * *", (2026, 1, 1, 0, 0, 0), (2026, 1, 1, 2, 0, 0)),  # OpenIM's default: 02:00 daily
        ("0 2 * * *", (2026, 1, 1, 2, 0, 0), (2026, 1, 2, 2, 0, 0)),  # strictly after
        ("* * * * *", (2026, 1, 1, 0, 0, 30), (2026, 1, 1, 0, 1, 0)),
        ("*/15 * * * *", (2026, 1, 1, 0, 16, 0), (2026, 1, 1, 0, 30, 0)),
        ("5-10/5 3 * * *", (2026, 1, 1, 3, 6, 0), (2026, 1, 1, 3, 10, 0)),
        ("0 0 1 * *", (2026, 1, 15, 0, 0, 0), (2026, 2, 1, 0, 0, 0)),
        ("0 0 * * 0", (2026, 1, 1, 0, 0, 0), (2026, 1, 4, 0, 0, 0)),  # 1 Jan 2026 is a Thursday; Sunday the 4th
        ("0 0 * * 7", (2026, 1, 1, 0, 0, 0), (2026, 1, 4, 0, 0, 0)),  # 7 is Sunday too
        ("0 0 13 * 5", (2026, 1, 1, 0, 0, 0), (2026, 1, 2, 0, 0, 0)),  # both days restricted: either matches
        ("0 0 29 2 *", (2026, 1, 1, 0, 0, 0), (2028, 2, 29, 0, 0, 0)),  # the next leap day
        ("*/10 * * * * *", (2026, 1, 1, 0, 0, 1), (2026, 1, 1, 0, 0, 10)),  # six fields: seconds first
        ("30 0 2 * * *", (2026, 1, 1, 0, 0, 0), (2026, 1, 1, 2, 0, 30)),
        ("0 1,3 * * *", (2026, 1, 1, 1, 0, 0), (2026, 1, 1, 3, 0, 0)),
    ],
)
def test_next_firing(expression: str, after: tuple[int, ...], expected: tuple[int, ...]) -> None:
    """The first firing strictly after a time, in local time."""
    assert CronSchedule.parse(expression).next_after(ms(*after)) == ms(*expected)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 2 * *", "5 fields"),
        ("0 2 * * * * *", "5 fields"),
        ("60 * * * *", "outside 0-59"),
        ("* 24 * * *", "outside 0-23"),
        ("* * 0 * *", "outside 1-31"),
        ("* * * 13 *", "outside 1-12"),
        ("* * * * 8", "outside 0-7"),
        ("*/0 * * * *", "positive"),
        ("a * * * *", "not a number"),
        ("5-1 * * * *", "outside"),
        ("1-x * * * *", "not a range"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_bad_expressions_are_refused(expression: str, message: str) -> None:
    """A malformed or never-firing expression is a ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=message):
        CronSchedule.parse(expression)
