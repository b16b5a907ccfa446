"""Due times are pure: DST days, catch-up policy and the next wake-up, with time passed in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.ledger import PENDING, SKIPPED, Group
from qotd.scheduler import catch_up_status, due_dates, due_instant, group_schedule, next_due
from qotd.settings import Settings

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
T0230 = dt.time(2, 30)


def minutes(start: dt.datetime, end: dt.datetime, step: int = 1):
    t = start
    while t <= end:
        yield t
        t += dt.timedelta(minutes=step)


def wake_up_every_minute(
    at, zone, start, end, lookback=dt.timedelta(hours=6)
) -> list[tuple[dt.date, dt.datetime]]:
    """Simulate a scheduler waking each minute; collect the (date, due) it plans, once each."""
    planned: dict[dt.date, dt.datetime] = {}
    for now in minutes(start, end):
        for day, due in due_dates(at, zone, now, lookback):
            planned.setdefault(day, due)
    return sorted(planned.items())


def test_a_time_that_does_not_exist_on_spring_forward_day_goes_out_once_an_hour_later():
    # 29 March 2026: in Berlin, 02:00 CET jumps to 03:00 CEST, so 02:30 never happens.
    due = due_instant(dt.date(2026, 3, 29), T0230, BERLIN)
    assert due == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert due.astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CEST"
    planned = wake_up_every_minute(
        T0230, BERLIN, dt.datetime(2026, 3, 28, 0, 0, tzinfo=UTC), dt.datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    )
    assert [d for d, _ in planned] == [dt.date(2026, 3, 28), dt.date(2026, 3, 29), dt.date(2026, 3, 30)]
    assert planned[1][1] == due


def test_a_time_that_happens_twice_on_fall_back_day_goes_out_once_at_the_first():
    # 25 October 2026: in Berlin, 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice.
    due = due_instant(dt.date(2026, 10, 25), T0230, BERLIN)
    assert due == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first
    planned = wake_up_every_minute(
        T0230,
        BERLIN,
        dt.datetime(2026, 10, 24, 0, 0, tzinfo=UTC),
        dt.datetime(2026, 10, 26, 6, 0, tzinfo=UTC),
    )
    days = [d for d, _ in planned]
    assert days == sorted(set(days)) == [dt.date(2026, 10, 24), dt.date(2026, 10, 25), dt.date(2026, 10, 26)]
    # The second 02:30 (01:30 UTC) is not another due instant of that date.
    assert due_dates(T0230, BERLIN, dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), dt.timedelta(0)) == []


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        (dt.date(2026, 3, 7), dt.datetime(2026, 3, 7, 14, 0, tzinfo=UTC)),  # EST, -5
        (dt.date(2026, 3, 8), dt.datetime(2026, 3, 8, 13, 0, tzinfo=UTC)),  # EDT from 02:00 that day
        (dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, 14, 0, tzinfo=UTC)),  # EST again
    ],
)
def test_a_local_time_keeps_its_wall_clock_across_dst(day, expected_utc):
    assert due_instant(day, dt.time(9, 0), NEW_YORK) == expected_utc


def test_the_local_date_decides_which_day_a_delivery_belongs_to():
    # 08:00 in Tokyo on 24 November is 23:00 UTC on 23 November: it is the 24th's delivery.
    now = dt.datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert due_dates(dt.time(8, 0), ZoneInfo("Asia/Tokyo"), now, dt.timedelta(hours=1)) == [
        (dt.date(2026, 11, 24), now)
    ]


@pytest.mark.parametrize(
    ("late", "status"),
    [
        (dt.timedelta(0), PENDING),
        (dt.timedelta(hours=5, minutes=59), PENDING),
        (dt.timedelta(hours=6), PENDING),
        (dt.timedelta(hours=6, seconds=1), SKIPPED),
        (dt.timedelta(days=1), SKIPPED),
    ],
)
def test_catch_up_delivers_up_to_the_window_and_skips_past_it(late, status):
    due = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert catch_up_status(due, due + late, dt.timedelta(hours=6)) == status


def test_after_downtime_the_missed_days_within_the_lookback_are_found():
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    lookback = dt.timedelta(hours=6 + 24)
    found = due_dates(dt.time(9, 0), UTC, now, lookback)
    # Yesterday's 09:00 is 27 h ago (within 30 h), today's 3 h ago; the day before is not looked at.
    assert found == [
        (dt.date(2026, 11, 22), dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)),
        (dt.date(2026, 11, 23), dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),
    ]
    assert [catch_up_status(due, now, dt.timedelta(hours=6)) for _, due in found] == [SKIPPED, PENDING]


def test_the_next_wake_up_is_the_next_due_instant_even_across_a_dst_change():
    now = dt.datetime(2026, 3, 28, 2, 0, tzinfo=UTC)  # 03:00 CET on the 28th
    assert next_due(T0230, BERLIN, now) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert next_due(dt.time(9, 0), UTC, dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)) == dt.datetime(
        2026, 11, 24, 9, 0, tzinfo=UTC
    )


def test_a_subscriber_without_a_time_or_zone_gets_the_services():
    settings = Settings.from_env({"TIMEZONE": "Europe/Moscow", "PUBLISH_TIME": "08:15"})
    assert group_schedule(Group(None, None), settings) == (dt.time(8, 15), ZoneInfo("Europe/Moscow"))
    assert group_schedule(Group("21:00", None), settings) == (dt.time(21, 0), ZoneInfo("Europe/Moscow"))
    assert group_schedule(Group(None, "Asia/Tokyo"), settings) == (dt.time(8, 15), ZoneInfo("Asia/Tokyo"))
    # Bad stored values fall back to the service's rather than dropping the subscriber.
    assert group_schedule(Group("25:99", "Mars/Olympus"), settings) == (
        dt.time(8, 15),
        ZoneInfo("Europe/Moscow"),
    )
