"""Subscriber storage: idempotent subscribing, revival on /start, times, migrations, counts."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from bot.delivery.subscribers import NotSubscribed, Subscribed, Subscribers
from quotes.store import schema as t

LATER = dt.timedelta(hours=1)


@pytest.fixture
def subs(store):
    return Subscribers(store)


def test_subscribing_twice_is_one_subscription(subs, now):
    assert subs.subscribe(42, "private", "Ann", now) is Subscribed.NEW
    assert subs.subscribe(42, "private", "Ann", now + LATER) is Subscribed.ALREADY
    subscriber = subs.get(42)
    assert subscriber.active and subscriber.subscribed_at == now


def test_unsubscribing_is_idempotent_and_keeps_the_row(subs, now):
    subs.subscribe(42, "private", "Ann", now)
    assert subs.unsubscribe(42, now + LATER) is True
    assert subs.unsubscribe(42, now + LATER) is False
    assert subs.unsubscribe(7, now) is False  # never subscribed
    row = subs.get(42)
    assert not row.active and row.inactive_reason == "unsubscribed"
    assert subs.subscribe(42, "private", "Ann", now + 2 * LATER) is Subscribed.RESUMED


def test_start_revives_a_blocked_subscriber_but_not_one_who_unsubscribed(subs, now):
    subs.subscribe(1, "private", "Blocked", now)
    subs.subscribe(2, "private", "Left", now)
    subs.unsubscribe(1, now, reason="blocked")
    subs.unsubscribe(2, now)
    assert subs.revive(1, now + LATER) is True
    assert subs.revive(2, now + LATER) is False
    assert subs.revive(3, now + LATER) is False
    assert subs.get(1).active and subs.get(1).inactive_reason is None
    assert not subs.get(2).active


def test_time_and_timezone_are_kept_across_unsubscribe_and_resubscribe(subs, now):
    with pytest.raises(NotSubscribed):
        subs.set_time(42, dt.time(7, 30), "Europe/Berlin", now)
    subs.subscribe(42, "private", "Ann", now)
    updated = subs.set_time(42, dt.time(7, 30), "Europe/Berlin", now)
    assert (updated.delivery_time, updated.timezone) == (dt.time(7, 30), "Europe/Berlin")
    subs.unsubscribe(42, now)
    subs.subscribe(42, "private", "Ann", now)
    assert subs.get(42).delivery_time == dt.time(7, 30)
    assert subs.set_time(42, None, None, now).delivery_time is None


def test_a_migrated_group_moves_with_its_settings(subs, now):
    subs.subscribe(-5, "group", "Club", now)
    subs.set_time(-5, dt.time(6, 0), "Asia/Tokyo", now)
    assert subs.migrate(-5, -1005, now + LATER) is True
    old, new = subs.get(-5), subs.get(-1005)
    assert not old.active and old.migrated_to == -1005
    assert new.active and new.kind == "supergroup" and new.timezone == "Asia/Tokyo"
    assert subs.revive(-5, now + LATER) is False  # the old id is gone for good
    assert subs.migrate(-5, -1005, now) is False


def test_counts_by_kind(subs, now):
    for chat_id, kind in [(1, "private"), (2, "private"), (-3, "group"), (-4, "supergroup"), (-5, "channel")]:
        subs.subscribe(chat_id, kind, None, now)
    subs.unsubscribe(2, now)
    counts = subs.counts()
    assert (counts.private, counts.groups, counts.channels, counts.inactive) == (1, 2, 1, 1)
    assert counts.active == 4


def test_unknown_kind_is_refused(subs, now):
    with pytest.raises(ValueError, match="kind"):
        subs.subscribe(1, "robot", None, now)


def test_deliveries_by_date_and_status(subs, store, now):
    day = now.date()
    rows = [
        (day, 1, "sent"),
        (day, 2, "sent"),
        (day, 3, "blocked"),
        (day - dt.timedelta(days=1), 1, "failed"),
    ]
    rows.append((day - dt.timedelta(days=30), 1, "sent"))  # outside the window
    with store.write() as conn:
        for date, chat_id, status in rows:
            conn.execute(
                t.deliveries.insert().values(
                    date=date,
                    chat_id=chat_id,
                    quote_id="sb-01",
                    status=status,
                    attempts=1,
                    due_at=now,
                    updated_at=now,
                )
            )
    days = subs.deliveries(day - dt.timedelta(days=6), day)
    assert days == {day: {"sent": 2, "blocked": 1}, day - dt.timedelta(days=1): {"failed": 1}}
    assert list(days) == [day, day - dt.timedelta(days=1)]
    with store.read() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(t.deliveries)) == 5
