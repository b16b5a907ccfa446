"""Migration 0007_subscriber_controls on both databases: the subscribers and deliveries of
before keep every row (as the chat itself, topic 0, not paused, not silent), and a forum topic
then subscribes beside its group."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import command

from bot.delivery.subscribers import NO_TOPIC, Subscribers
from quotes.store import Store
from tests.conftest import NOW

REVISION = "0007_subscriber_controls"


def _to(store: Store, revision: str, down: bool = False) -> None:
    config = store._alembic()
    with store.write() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_the_rows_of_before_are_kept_as_the_chat_itself(database_url, corpus):
    store = Store.connect(database_url)
    try:
        _to(store, f"{REVISION}-1")  # (the revision before this one, whatever the chain)
        with store.write() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO subscribers (chat_id, kind, active, subscribed_at, updated_at) "
                    "VALUES (7, 'private', true, :now, :now), (-100, 'supergroup', true, :now, :now)"
                ),
                {"now": NOW.replace(tzinfo=None)},
            )
        store.upgrade()
        store.load_corpus(corpus, NOW)
        subs = Subscribers(store)
        before = subs.get(7)
        assert (before.thread_id, before.paused_at, before.resumes_on, before.silent) == (
            NO_TOPIC,
            None,
            None,
            False,
        )
        subs.subscribe(-100, "supergroup", "Forum", NOW + dt.timedelta(minutes=1), thread_id=5)
        assert subs.get(-100).active and subs.get(-100, 5).active  # the group and its topic, each its own
        assert subs.counts().groups == 2
        # down again: topic subscriptions cannot be kept there, the chats' own are
        _to(store, f"{REVISION}-1", down=True)
        with store.read() as conn:
            assert sorted(conn.execute(sa.text("SELECT chat_id FROM subscribers")).scalars()) == [-100, 7]
    finally:
        store.close()
