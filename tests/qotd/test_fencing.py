"""Leadership with a lease and a fencing epoch, without waiting: time and takeovers are made.

The claim's own UPDATE checks the claimer's epoch (bot/delivery/ledger.py); a refused claim is
recorded in refused_claims; an outcome is written only over a row its epoch still holds.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.delivery.ledger import PENDING, SENDING, SENT, Fenced, Ledger, Outcome
from qotd.leadership import FileLeadership, PostgresLeadership, leadership_for
from quotes.store import Store
from tests.bot.delivery.conftest import DAY, PUBLISH, plan_today, subscribe


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _expire_lease(store: Store) -> None:
    """What LEADER_LEASE_SECONDS of silence from the leader does (the database's clock)."""
    with store.write() as conn:
        conn.execute(sa.text("UPDATE leadership SET lease_until = now() - interval '1 second'"))


@pytest.fixture
def planned(store):
    users = subscribe(store, [101, 102, 103, 104])
    plan_today(store, Ledger(store))
    return users


def test_each_new_leader_gets_a_higher_epoch_and_the_old_ones_claims_are_refused(store, planned):
    ledger = Ledger(store)
    first, second = leadership_for(store, lease=30), leadership_for(store, lease=30)
    try:
        assert first.try_acquire() and first.epoch == 1
        assert not second.try_acquire()
        assert ledger.claim([(DAY, 101)], PUBLISH, epoch=1) == {(DAY, 101)}
        if store.is_sqlite:  # the lock file: the old leader is gone (released) before the next
            first.release()
        else:  # PostgreSQL: the old leader froze; its lease ran out
            _expire_lease(store)
        assert second.try_acquire() and second.epoch == 2
        if not store.is_sqlite:
            assert not first.holds() and first.epoch is None  # the woken leader finds out
        with pytest.raises(Fenced) as refused:
            ledger.claim([(DAY, 102), (DAY, 103)], PUBLISH, epoch=1)
        assert (refused.value.epoch, refused.value.current) == (1, 2)
        assert ledger.get(DAY, 102).status == PENDING and ledger.get(DAY, 103).status == PENDING
        assert [(r.chat_id, r.epoch, r.current_epoch) for r in ledger.refused(DAY)] == [
            (102, 1, 2),
            (103, 1, 2),
        ]
        assert ledger.claim([(DAY, 102)], PUBLISH, epoch=2) == {(DAY, 102)}
        assert ledger.get(DAY, 102).epoch == 2
    finally:
        first.release()
        second.release()


def test_an_outcome_is_written_only_over_a_row_its_epoch_still_holds(store, planned):
    ledger = Ledger(store)
    ledger.claim([(DAY, 101), (DAY, 102)], PUBLISH, epoch=None)  # unfenced: epoch NULL
    with store.write() as conn:
        conn.execute(sa.text("UPDATE leadership SET epoch = 1"))
    ledger.claim([(DAY, 103)], PUBLISH, epoch=1)
    # The next leader recovered 103 (uncertain) and, with RETRY_UNCERTAIN, claimed it again.
    ledger.recover(PUBLISH, retry_uncertain=True, due_after=PUBLISH)
    with store.write() as conn:
        conn.execute(sa.text("UPDATE leadership SET epoch = 2"))
    assert ledger.claim([(DAY, 103)], PUBLISH, epoch=2) == {(DAY, 103)}
    # The old leader's late answer for 103 changes nothing; the new one's is written.
    ledger.record([Outcome(DAY, 103, SENT, message_id=7, epoch=1)], PUBLISH)
    assert (ledger.get(DAY, 103).status, ledger.get(DAY, 103).message_id) == (SENDING, None)
    ledger.record([Outcome(DAY, 103, SENT, message_id=8, epoch=2)], PUBLISH)
    assert (ledger.get(DAY, 103).status, ledger.get(DAY, 103).message_id) == (SENT, 8)
    assert ledger.get(DAY, 101).status == PENDING  # was sending: recovered, then handed back


def test_a_claim_that_failed_hands_its_row_back(store, planned):
    """The journal's rule when a commit fails: a claim that may have committed goes back to pending."""
    ledger = Ledger(store)
    with store.write() as conn:
        conn.execute(sa.text("UPDATE leadership SET epoch = 4"))
    ledger.claim([(DAY, 104)], PUBLISH, epoch=4)  # committed, though its caller never heard
    ledger.record([Outcome(DAY, 104, PENDING, epoch=4)], PUBLISH)
    assert ledger.get(DAY, 104).status == PENDING


@pytest.mark.postgres
def test_postgres_a_dead_leaders_session_frees_the_lease_at_once(store):
    if store.is_sqlite:
        pytest.skip("PostgreSQL's sessions")
    first, second = PostgresLeadership(store, lease=30), PostgresLeadership(store, lease=30)
    try:
        assert first.try_acquire()
        pid = first._conn.scalar(sa.text("SELECT pg_backend_pid()"))
        with store.write() as conn:  # the process died: its session ends
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert second.try_acquire() and second.epoch == first.epoch + 1
    finally:
        first.release()
        second.release()


@pytest.mark.postgres
def test_postgres_a_leader_that_has_not_renewed_within_its_lease_stops_by_its_own_clock(store):
    if store.is_sqlite:
        pytest.skip("the lease is PostgreSQL's")
    clock = Clock()
    leader = PostgresLeadership(store, lease=10, monotonic=clock)
    try:
        assert leader.try_acquire() and leader.valid()
        clock.now += 7.9
        assert leader.valid()
        clock.now += 0.2  # 8.1 s: past 80% of the lease without a renewal
        assert not leader.valid()
        assert leader.holds() and leader.valid()  # a renewal (nobody took over) makes it valid again
    finally:
        leader.release()


def test_sqlite_keeps_the_lock_file_and_raises_the_epoch(store, tmp_path):
    if not store.is_sqlite:
        pytest.skip("the lock file is SQLite's")
    path = tmp_path / "lock"
    first, second = FileLeadership(path, store), FileLeadership(path, Store(store.engine))
    try:
        assert first.try_acquire() and first.epoch == 1
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire() and second.epoch == 2
        assert "epoch 2" in path.read_text()
    finally:
        first.release()
        second.release()


def test_a_refused_claim_of_a_forum_topic_is_recorded_with_its_topic(store):
    """Deliveries are keyed (date, chat, topic): the fence refuses and records the topic's row."""
    subscribe(store, [-100500], kind="supergroup", thread_id=7)
    plan_today(store, Ledger(store))
    ledger = Ledger(store)
    with store.write() as conn:
        conn.execute(sa.text("UPDATE leadership SET epoch = 3"))
    with pytest.raises(Fenced):
        ledger.claim([(DAY, -100500, 7)], PUBLISH, epoch=2)
    assert ledger.get(DAY, -100500, 7).status == PENDING
    assert [(r.chat_id, r.thread_id, r.epoch, r.current_epoch) for r in ledger.refused(DAY)] == [
        (-100500, 7, 2, 3)
    ]
    assert ledger.claim([(DAY, -100500, 7)], PUBLISH, epoch=3) == {(DAY, -100500, 7)}
    assert ledger.get(DAY, -100500, 7).epoch == 3


def test_an_edit_of_a_sent_message_is_claimed_only_under_the_leaders_epoch(store, planned):
    """The edit path (bot/delivery/edits.py) is fenced in its claim's statement like the sends."""
    from bot.delivery.edit_ledger import EDITING, EditDue, EditLedger
    from quotes.store import schema as t

    quote_id = Ledger(store).get(DAY, 101).quote_id
    with store.write() as conn:
        correction = conn.execute(
            t.corrections.insert().values(
                at=PUBLISH, actor="cli", date=DAY, quote_id=quote_id, what="typo", why="source"
            )
        ).inserted_primary_key[0]
        conn.execute(
            t.message_edits.insert().values(
                correction_id=correction,
                chat_id=101,
                date=DAY,
                message_id=5,
                quote_id=quote_id,
                status="pending",
                attempts=0,
                updated_at=PUBLISH,
            )
        )
        conn.execute(sa.text("UPDATE leadership SET epoch = 2"))
    edits = EditLedger(store)
    row = EditDue(correction, 101, DAY, 5, quote_id, 0)
    assert not edits.claim(row, PUBLISH, epoch=1)  # a replaced leader edits nothing
    assert [r.status for r in edits.rows()] == ["pending"]
    assert edits.claim(row, PUBLISH, epoch=2)
    assert [r.status for r in edits.rows()] == [EDITING]
