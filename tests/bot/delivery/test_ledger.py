"""The delivery ledger on SQLite and PostgreSQL: planning, every state, streaming."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.delivery.ledger import (
    BLOCKED,
    FAILED,
    MIGRATED,
    PAUSED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    UNCERTAIN,
    Group,
    Outcome,
)
from bot.delivery.subscribers import Subscribers
from tests.bot.delivery.conftest import BEFORE, DAY, DEFAULT, PUBLISH, plan_today, subscribe

LATER = PUBLISH + dt.timedelta(minutes=1)


def test_planning_adds_one_pending_row_per_active_subscriber_once(store, ledger):
    subscribe(store, range(1, 11))
    subscribe(store, [11], at=PUBLISH + dt.timedelta(seconds=1))  # subscribed after it was due
    subscribe(store, [12], delivery_time="18:00")  # another group
    quote_id = store.pick_for(DAY, PUBLISH).quote.id
    assert ledger.plan(DAY, quote_id, DEFAULT, PUBLISH, PENDING, PUBLISH, batch=3) == 10
    assert ledger.plan(DAY, quote_id, DEFAULT, PUBLISH, PENDING, LATER, batch=3) == 0  # twice: nothing
    assert ledger.counts(DAY)[PENDING] == 10
    rows = list(ledger.rows(DAY, batch=4))
    assert [r.chat_id for r in rows] == list(range(1, 11))
    assert {(r.status, r.quote_id, r.due_at, r.attempts) for r in rows} == {(PENDING, quote_id, PUBLISH, 0)}


def test_a_subscriber_made_inactive_is_not_planned(store, ledger):
    subscribe(store, [1, 2, 3])
    assert Subscribers(store).unsubscribe(2, PUBLISH, reason="blocked")
    assert not Subscribers(store).unsubscribe(2, PUBLISH, reason="blocked")  # already inactive
    plan_today(store, ledger)
    assert [r.chat_id for r in ledger.rows(DAY)] == [1, 3]
    kept = ledger.subscriber(2)
    assert (kept.active, kept.inactive_reason) == (False, "blocked")


def test_active_subscribers_stream_in_keyset_batches(store, ledger):
    subscribe(store, range(100, 0, -1))
    Subscribers(store).unsubscribe(50, PUBLISH)
    streamed = [s.chat_id for s in ledger.active_subscribers(batch=7)]
    assert streamed == [n for n in range(1, 101) if n != 50]


def test_groups_are_the_distinct_times_and_zones_of_active_subscribers(store, ledger):
    subscribe(store, [1, 2])
    subscribe(store, [3], delivery_time="07:30", timezone="Asia/Tokyo")
    subscribe(store, [4], delivery_time="07:30", timezone="Asia/Tokyo")
    subscribe(store, [5], timezone="Europe/Berlin")
    assert set(ledger.groups()) == {DEFAULT, Group("07:30", "Asia/Tokyo"), Group(None, "Europe/Berlin")}


def test_every_state_a_row_can_reach(store, ledger):
    subscribe(store, range(1, 8))
    quote_id = plan_today(store, ledger)
    keys = [(DAY, n) for n in range(1, 8)]
    assert ledger.claim(keys[:6], LATER) == set(keys[:6])
    assert ledger.claim(keys[:1], LATER) == set()  # a row is claimed once
    assert ledger.counts(DAY)[SENDING] == 6
    ledger.record(
        [
            Outcome(DAY, 1, SENT, message_id=41),
            Outcome(DAY, 2, BLOCKED, error="Forbidden: bot was blocked by the user"),
            Outcome(DAY, 3, FAILED, error="Bad Request: chat not found"),
            Outcome(DAY, 4, UNCERTAIN, error="TimedOut"),
            Outcome(DAY, 5, PENDING),  # handed back unsent
        ],
        LATER,
    )
    assert ledger.migrate(DAY, 6, -1006, LATER)
    ledger.add(DAY - dt.timedelta(days=1), 7, quote_id, PUBLISH - dt.timedelta(days=1), LATER, SKIPPED)
    got = {n: ledger.get(DAY, n) for n in range(1, 8)}
    assert (got[1].status, got[1].message_id, got[1].attempts) == (SENT, 41, 1)
    assert (got[2].status, got[2].error) == (BLOCKED, "Forbidden: bot was blocked by the user")
    assert (got[3].status, got[3].error) == (FAILED, "Bad Request: chat not found")
    assert got[4].status == UNCERTAIN
    assert (got[5].status, got[5].attempts) == (PENDING, 1)
    assert (got[6].status, got[6].error) == (MIGRATED, "migrated to -1006")
    assert ledger.get(DAY, -1006).status == PENDING
    assert got[7].status == PENDING  # its skipped row is for yesterday
    assert ledger.get(DAY - dt.timedelta(days=1), 7).status == SKIPPED
    assert ledger.counts(DAY) == {
        PENDING: 3,
        SENDING: 0,
        SENT: 1,
        BLOCKED: 1,
        MIGRATED: 1,
        FAILED: 1,
        UNCERTAIN: 1,
        SKIPPED: 0,
        PAUSED: 0,
    }


def test_an_outcome_only_lands_on_a_row_being_sent(store, ledger):
    subscribe(store, [1])
    plan_today(store, ledger)
    ledger.record([Outcome(DAY, 1, SENT, message_id=5)], LATER)  # never claimed
    assert ledger.get(DAY, 1).status == PENDING
    with pytest.raises(ValueError, match="not an outcome"):
        Outcome(DAY, 1, SENDING)


def test_a_blocked_outcome_makes_the_subscriber_inactive_but_keeps_it(store, ledger):
    subscribe(store, [1, 2])
    plan_today(store, ledger)
    ledger.claim([(DAY, 1)], LATER)
    ledger.apply([Outcome(DAY, 1, BLOCKED, error="Forbidden")], [(DAY, 2)], LATER)
    assert (ledger.subscriber(1).active, ledger.subscriber(1).inactive_reason) == (False, "blocked")
    assert ledger.subscriber(2).active
    assert ledger.get(DAY, 2).status == SENDING


def test_migration_moves_the_subscription_to_the_new_id(store, ledger):
    subscribe(store, [-5], delivery_time="10:00", timezone="Europe/Berlin")
    Subscribers(store).migrate(-5, -1005, LATER)
    old, new = ledger.subscriber(-5), ledger.subscriber(-1005)
    assert (old.active, old.inactive_reason, old.migrated_to) == (False, "migrated", -1005)
    assert (new.active, new.kind, new.delivery_time, new.timezone) == (
        True,
        "supergroup",
        "10:00",
        "Europe/Berlin",
    )
    assert new.subscribed_at == BEFORE
    assert [s.chat_id for s in ledger.active_subscribers()] == [-1005]


def test_a_migrated_group_whose_new_id_already_has_a_row_gets_nothing_more(store, ledger):
    subscribe(store, [-5, -1005])
    plan_today(store, ledger)
    ledger.claim([(DAY, -5)], LATER)
    assert not ledger.migrate(DAY, -5, -1005, LATER)
    assert ledger.counts(DAY)[PENDING] == 1


def test_recovery_makes_interrupted_sends_uncertain_and_retries_them_only_if_asked(store, ledger):
    subscribe(store, [1, 2, 3])
    plan_today(store, ledger)
    ledger.claim([(DAY, 1), (DAY, 2)], LATER)
    assert ledger.recover(LATER, retry_uncertain=False, due_after=PUBLISH) == (2, 0)
    assert [ledger.get(DAY, n).status for n in (1, 2, 3)] == [UNCERTAIN, UNCERTAIN, PENDING]
    assert ledger.get(DAY, 1).error == "interrupted while sending"
    # RETRY_UNCERTAIN: those within the catch-up window go back to pending.
    assert ledger.recover(LATER, retry_uncertain=True, due_after=PUBLISH + dt.timedelta(seconds=1)) == (0, 0)
    assert ledger.recover(LATER, retry_uncertain=True, due_after=PUBLISH) == (0, 2)
    assert ledger.counts(DAY)[PENDING] == 3


def test_rows_past_the_catch_up_window_are_skipped(store, ledger):
    subscribe(store, [1, 2])
    plan_today(store, ledger)
    assert ledger.skip_overdue(PUBLISH, LATER) == 0  # due at exactly the bound: still deliverable
    assert ledger.skip_overdue(PUBLISH + dt.timedelta(seconds=1), LATER) == 2
    assert ledger.counts(DAY)[SKIPPED] == 2
    assert ledger.get(DAY, 1).error == "past the catch-up window"


def test_due_rows_come_in_chat_id_order_in_batches(store, ledger):
    subscribe(store, range(1, 26))
    plan_today(store, ledger)
    assert ledger.due(DAY, PUBLISH - dt.timedelta(seconds=1), None, 100) == []  # not due yet
    assert ledger.pending_dates(PUBLISH) == [DAY]
    assert ledger.count_due(PUBLISH) == 25
    first = ledger.due(DAY, PUBLISH, None, 10)
    second = ledger.due(DAY, PUBLISH, first[-1].chat_id, 10)
    assert [d.chat_id for d in first + second] == list(range(1, 21))


def test_planning_skipped_records_the_day_for_everyone_due(store, ledger):
    subscribe(store, [1, 2])
    quote_id = store.pick_for(DAY, PUBLISH).quote.id
    assert ledger.plan(DAY, quote_id, DEFAULT, PUBLISH, SKIPPED, LATER) == 2
    assert ledger.counts(DAY)[SKIPPED] == 2
    with pytest.raises(ValueError, match="pending or skipped"):
        ledger.plan(DAY, quote_id, DEFAULT, PUBLISH, SENT, LATER)
