"""The journal's hot path (quotes/store/hot.py): statements on the driver's cursor, a held connection."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from bot.delivery.ledger import SENDING, SENT, Ledger, Outcome
from quotes.store import schema as t
from quotes.store.hot import Prepared, driver_cursor
from tests.bot.delivery.conftest import DAY, PUBLISH, plan_today, subscribe

LATER = PUBLISH + dt.timedelta(minutes=1, microseconds=250)
COLUMNS = "status, message_id, error, updated_at, attempts, date, thread_id"


def stored(store, chat_id: int) -> tuple:
    """A row's columns as the database holds them (SQLite: the text SQLAlchemy wrote)."""
    with store.read() as conn:
        return tuple(
            conn.exec_driver_sql(f"SELECT {COLUMNS} FROM deliveries WHERE chat_id = {chat_id}").one()
        )


def test_an_outcome_written_on_the_drivers_cursor_is_stored_as_sqlalchemy_stores_it(store, ledger):
    subscribe(store, [1, 2])
    plan_today(store, ledger)
    assert ledger.claim([(DAY, 1), (DAY, 2)], PUBLISH) == {(DAY, 1), (DAY, 2)}
    record = Ledger._record_params([Outcome(DAY, 1, SENT, message_id=77, error="é")], LATER)
    with store.write() as conn:
        conn.execute(Ledger._record_stmt, record)  # SQLAlchemy's own execution
    prepared = Prepared(Ledger._record_stmt, store.engine.dialect)
    record = Ledger._record_params([Outcome(DAY, 2, SENT, message_id=77, error="é")], LATER)
    with store.write() as conn:
        prepared.many(driver_cursor(conn), record)
    assert stored(store, 2) == stored(store, 1)
    row = ledger.get(DAY, 2)
    assert (row.status, row.message_id, row.error, row.updated_at) == (SENT, 77, "é", LATER)


def test_a_claim_of_many_chats_moves_each_pending_row_once(store, ledger):
    subscribe(store, range(1, 8))
    plan_today(store, ledger)
    # 5 chats: the statement for 8 ids, padded with the last; a chat already claimed stays out.
    assert ledger.claim([(DAY, 3)], PUBLISH) == {(DAY, 3)}
    keys = [(DAY, chat) for chat in (1, 2, 3, 4, 5)]
    assert ledger.claim(keys, LATER) == {(DAY, 1), (DAY, 2), (DAY, 4), (DAY, 5)}
    assert [ledger.get(DAY, chat).attempts for chat in range(1, 8)] == [1, 1, 1, 1, 1, 0, 0]
    assert ledger.counts(DAY)[SENDING] == 5


def test_the_journals_connection_is_dropped_after_a_failed_commit_and_the_next_one_works(store, ledger):
    subscribe(store, [1, 2])
    plan_today(store, ledger)
    writer = ledger.writer()
    assert ledger.apply([], [(DAY, 1)], PUBLISH, None, writer) == {(DAY, 1)}
    with pytest.raises(sa.exc.IntegrityError), writer.transaction() as conn:
        conn.execute(sa.insert(t.deliveries).values(conn.execute(sa.select(t.deliveries)).mappings().first()))
    # The failed transaction wrote nothing; the next commit, on a fresh connection, goes through.
    assert ledger.apply([Outcome(DAY, 1, SENT, message_id=5)], [(DAY, 2)], LATER, None, writer) == {(DAY, 2)}
    assert (ledger.get(DAY, 1).status, ledger.get(DAY, 2).status) == (SENT, SENDING)
    writer.close()


@pytest.mark.postgres
def test_a_broadcast_goes_on_after_the_server_drops_the_journals_connection(pg_server_url, tmp_path):
    from quotes.corpus import load_corpus
    from quotes.store import Store
    from tests.conftest import NOW, _empty_postgres

    _empty_postgres(pg_server_url)
    store = Store.connect(pg_server_url)
    store.upgrade()
    store.load_corpus(load_corpus(), NOW)
    ledger = Ledger(store)
    subscribe(store, [1, 2])
    plan_today(store, ledger)
    writer = ledger.writer()
    assert ledger.apply([], [(DAY, 1)], PUBLISH, None, writer) == {(DAY, 1)}
    with writer.transaction() as conn:
        pid = conn.scalar(sa.text("SELECT pg_backend_pid()"))
    with store.write() as conn:  # the server ends the held session (a restart, a failover)
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(sa.exc.OperationalError):
        ledger.apply([Outcome(DAY, 1, SENT, message_id=5)], [(DAY, 2)], LATER, None, writer)
    # (the journal keeps the outcome and tries again after its backoff: on a new connection)
    assert ledger.apply([Outcome(DAY, 1, SENT, message_id=5)], [(DAY, 2)], LATER, None, writer) == {(DAY, 2)}
    assert (ledger.get(DAY, 1).status, ledger.get(DAY, 2).status) == (SENT, SENDING)
    writer.close()
    store.close()
