"""Business-hours arithmetic on a tenant's calendar: pure functions, no database.

A calendar works from `start_time` to `end_time` (local wall-clock times in `time_zone`) on its
`working_days` (ISO weekdays, Monday 1 to Sunday 7) that are not `holidays`. Each day's window
is turned into two instants and counted in real elapsed time, so a DST change inside a window
(a 00:00-23:59 calendar) counts the hour that really passed, and a window that opens after the
clocks changed is the same eight hours it always is. The engine uses it for a step's
`due_in_hours` with `business_hours: true`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

# A calendar whose working days are all holidays for this long has no working time left.
MAX_IDLE_DAYS = 366 * 5


class CalendarLike(Protocol):
    """What the arithmetic reads: the `BusinessCalendar` model and `CalendarSpec` both fit."""

    time_zone: str
    working_days: Sequence[int]
    start_time: time
    end_time: time
    holidays: Sequence[Mapping[str, Any]]  # [{"date": "2026-12-25", "name": "Christmas"}]


@dataclass(frozen=True)
class CalendarSpec:
    """A calendar as a value (tests, or a calendar read once and reused)."""

    time_zone: str = "UTC"
    working_days: Sequence[int] = (1, 2, 3, 4, 5)
    start_time: time = time(9)
    end_time: time = time(17)
    holidays: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Rules:
    zone: ZoneInfo
    days: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date]


def _rules(calendar: CalendarLike) -> _Rules:
    holidays = set()
    for holiday in calendar.holidays:
        value = holiday["date"]
        holidays.add(value if isinstance(value, date) else date.fromisoformat(value))
    days = frozenset(int(d) for d in calendar.working_days)
    if not days or not days <= set(range(1, 8)):
        raise ValueError("working_days must be ISO weekdays 1-7, at least one.")
    if calendar.end_time <= calendar.start_time:
        raise ValueError("end_time must be after start_time.")
    return _Rules(
        zone=ZoneInfo(calendar.time_zone),
        days=days,
        start=calendar.start_time,
        end=calendar.end_time,
        holidays=frozenset(holidays),
    )


def _window(rules: _Rules, day: date) -> tuple[datetime, datetime] | None:
    """The day's working window as UTC instants, or None on a day off."""
    if day.isoweekday() not in rules.days or day in rules.holidays:
        return None
    # A wall time in a DST gap resolves with the offset before the change (fold=0), i.e. the
    # instant the clocks jumped over; the arithmetic below stays in UTC.
    opens = datetime.combine(day, rules.start, tzinfo=rules.zone).astimezone(UTC)
    closes = datetime.combine(day, rules.end, tzinfo=rules.zone).astimezone(UTC)
    return (opens, closes) if closes > opens else None


def _windows(rules: _Rules, first_day: date) -> Iterator[tuple[datetime, datetime]]:
    day, idle = first_day, 0
    while True:
        window = _window(rules, day)
        if window is None:
            idle += 1
            if idle > MAX_IDLE_DAYS:
                raise ValueError("The calendar has no working time in the next five years.")
        else:
            idle = 0
            yield window
        day += timedelta(days=1)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime.")
    return value.astimezone(UTC)


def add_business_hours(start: datetime, hours: float, calendar: CalendarLike) -> datetime:
    """The earliest instant at which `hours` working hours have passed since `start`.

    Counting begins at the next opening when `start` is outside working time; a total that
    ends exactly at a closing returns the closing, not the next opening. The answer is aware,
    in the calendar's zone."""
    if not math.isfinite(hours) or hours < 0:
        raise ValueError("hours must be a finite number, zero or more.")
    rules = _rules(calendar)
    cursor = _aware(start, "start")
    remaining = timedelta(hours=hours)
    if not remaining:
        return cursor.astimezone(rules.zone)
    # A window lies within one local day (end after start), so none before this one matters.
    for opens, closes in _windows(rules, cursor.astimezone(rules.zone).date()):
        if closes <= cursor:
            continue
        begin = max(opens, cursor)
        available = closes - begin
        if remaining <= available:
            return (begin + remaining).astimezone(rules.zone)
        remaining -= available
    raise AssertionError("unreachable: _windows never ends")  # pragma: no cover


def business_hours_between(a: datetime, b: datetime, calendar: CalendarLike) -> float:
    """Working hours from `a` to `b` (negative when `b` is before `a`)."""
    rules = _rules(calendar)
    a_utc, b_utc = _aware(a, "a"), _aware(b, "b")
    if b_utc < a_utc:
        return -business_hours_between(b, a, calendar)
    total = timedelta()
    day = a_utc.astimezone(rules.zone).date()
    last = b_utc.astimezone(rules.zone).date()
    while day <= last:
        window = _window(rules, day)
        if window is not None:
            begin, end = max(window[0], a_utc), min(window[1], b_utc)
            if end > begin:
                total += end - begin
        day += timedelta(days=1)
    return total / timedelta(hours=1)
