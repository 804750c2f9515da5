"""Business-hours arithmetic (workflows/calendars.py): pure, no database."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflows.calendars import CalendarSpec, add_business_hours, business_hours_between

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = CalendarSpec()  # UTC, Monday-Friday, 09:00-17:00
# 2026-06-05 is a Friday.
FRI = datetime(2026, 6, 5, tzinfo=UTC)


def at(day: datetime, hour: float) -> datetime:
    return day + timedelta(hours=hour)


def test_within_one_day_and_fractional_hours():
    monday = FRI + timedelta(days=3)
    assert add_business_hours(at(monday, 9), 1.5, OFFICE) == at(monday, 10.5)
    assert add_business_hours(at(monday, 9), 0.25, OFFICE) == at(monday, 9.25)
    assert add_business_hours(at(monday, 16.5), 0.75, OFFICE) == at(monday + timedelta(1), 9.25)
    assert business_hours_between(at(monday, 9), at(monday, 10.5), OFFICE) == 1.5


def test_across_a_weekend():
    monday = FRI + timedelta(days=3)
    assert add_business_hours(at(FRI, 16), 2, OFFICE) == at(monday, 10)
    assert business_hours_between(at(FRI, 16), at(monday, 10), OFFICE) == 2
    # 8 hours a day: 20 hours from Friday 9:00 end Tuesday 13:00.
    assert add_business_hours(at(FRI, 9), 20, OFFICE) == at(monday + timedelta(1), 13)


def test_across_a_holiday():
    calendar = CalendarSpec(holidays=[{"date": "2026-06-08", "name": "Whit Monday"}])
    tuesday = FRI + timedelta(days=4)
    assert add_business_hours(at(FRI, 16), 2, calendar) == at(tuesday, 10)
    assert business_hours_between(at(FRI, 16), at(tuesday, 10), calendar) == 2
    # Without the holiday the same two hours end on Monday.
    assert business_hours_between(at(FRI, 16), at(tuesday, 10), OFFICE) == 10


def test_start_outside_working_hours():
    monday = FRI + timedelta(days=3)
    assert add_business_hours(at(monday, 7), 1, OFFICE) == at(monday, 10)
    assert add_business_hours(at(monday, 18), 1, OFFICE) == at(monday + timedelta(1), 10)
    assert add_business_hours(at(FRI + timedelta(1), 12), 1, OFFICE) == at(monday, 10)
    # Zero hours is the start itself, wherever it is.
    assert add_business_hours(at(monday, 18), 0, OFFICE) == at(monday, 18)
    assert business_hours_between(at(monday, 17), at(monday, 23), OFFICE) == 0


def test_ending_exactly_at_closing_returns_the_closing():
    assert add_business_hours(at(FRI, 9), 8, OFFICE) == at(FRI, 17)


def test_paris_across_the_spring_dst_change():
    """Clocks go forward on Sunday 2026-03-29: Friday is UTC+1, Monday UTC+2."""
    calendar = CalendarSpec(time_zone="Europe/Paris")
    friday = datetime(2026, 3, 27, 16, tzinfo=PARIS)
    due = add_business_hours(friday, 2, calendar)
    assert due == datetime(2026, 3, 30, 10, tzinfo=PARIS)
    assert due.tzinfo == PARIS
    assert due.utcoffset() == timedelta(hours=2)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 8, tzinfo=UTC)
    assert business_hours_between(friday, due, calendar) == 2
    # A start given in UTC is the same instant: Friday 15:00 UTC is 16:00 in Paris.
    assert add_business_hours(datetime(2026, 3, 27, 15, tzinfo=UTC), 2, calendar) == due


def test_new_york_across_the_autumn_dst_change_and_a_holiday():
    """Clocks go back on Sunday 2026-11-01; Monday 2026-11-02 is made a holiday."""
    calendar = CalendarSpec(
        time_zone="America/New_York", holidays=[{"date": "2026-11-02", "name": ""}]
    )
    friday = datetime(2026, 10, 30, 16, tzinfo=NEW_YORK)  # EDT, UTC-4
    due = add_business_hours(friday, 3, calendar)
    assert due == datetime(2026, 11, 3, 11, tzinfo=NEW_YORK)  # EST, UTC-5
    assert due.astimezone(UTC) == datetime(2026, 11, 3, 16, tzinfo=UTC)
    assert business_hours_between(friday, due, calendar) == 3


def test_a_window_that_spans_the_change_counts_real_time():
    """A calendar open all day: on the spring-forward day only 23 hours pass."""
    calendar = CalendarSpec(
        time_zone="Europe/Paris", working_days=range(1, 8), start_time=time(0), end_time=time(23)
    )
    sunday = datetime(2026, 3, 29, 0, tzinfo=PARIS)
    # 00:00 CET + 3 hours of real time is 04:00 CEST (02:00-03:00 never happened).
    assert add_business_hours(sunday, 3, calendar) == datetime(2026, 3, 29, 4, tzinfo=PARIS)
    end = datetime(2026, 3, 29, 23, tzinfo=PARIS)
    assert business_hours_between(sunday, end, calendar) == 22


def test_custom_days_and_hours_and_the_order_of_arguments():
    # Sunday to Thursday, 08:00-12:00 in New York.
    calendar = CalendarSpec(
        time_zone="America/New_York",
        working_days=[7, 1, 2, 3, 4],
        start_time=time(8),
        end_time=time(12),
    )
    thursday = datetime(2026, 6, 4, 11, tzinfo=NEW_YORK)
    due = add_business_hours(thursday, 2, calendar)
    assert due == datetime(2026, 6, 7, 9, tzinfo=NEW_YORK)  # Sunday
    assert business_hours_between(due, thursday, calendar) == -2


@pytest.mark.parametrize("hours", [0.1, 1, 7.99, 8, 13.5, 40, 100.25])
def test_adding_then_measuring_gives_the_hours_back(hours):
    calendar = CalendarSpec(
        time_zone="Europe/Paris", holidays=[{"date": "2026-03-30", "name": "closed"}]
    )
    start = datetime(2026, 3, 25, 13, 17, tzinfo=PARIS)
    due = add_business_hours(start, hours, calendar)
    assert business_hours_between(start, due, calendar) == pytest.approx(hours, abs=1e-9)


def test_refuses_naive_datetimes_and_bad_hours():
    with pytest.raises(ValueError, match="aware"):
        add_business_hours(datetime(2026, 6, 5, 9), 1, OFFICE)
    with pytest.raises(ValueError, match="aware"):
        business_hours_between(at(FRI, 9), datetime(2026, 6, 5, 9), OFFICE)
    for hours in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="hours"):
            add_business_hours(at(FRI, 9), hours, OFFICE)
    with pytest.raises(ValueError, match="end_time"):
        add_business_hours(at(FRI, 9), 1, CalendarSpec(start_time=time(17), end_time=time(9)))
