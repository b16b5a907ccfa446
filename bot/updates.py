"""Each webhook update handled once, across replicas: its update_id is claimed in the database.

Telegram retries an update when the answer is slow or not 2xx, and a replica may die after
acting on one. The webhook (bot/webhook.py) claims the update's id before handling it and marks
it handled after; a retry of an update claimed before, on any replica, gets 200 and does
nothing. That is at most once: a replica killed between taking an update and finishing it loses
that one update (its user sends it again) rather than acting on it twice. A claim given up while
stopping (SIGTERM mid-update, before anything was finished) is released, so Telegram's retry
is handled. Rows older than `KEEP` are deleted (Telegram keeps an update for 24 hours at most).
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa

from quotes.store import Store, dialect_insert
from quotes.store import schema as t

KEEP = dt.timedelta(days=2)
PRUNE_EVERY = dt.timedelta(hours=1)

_u = t.updates_seen


class Claim(enum.Enum):
    TAKEN = "taken"  # this request handles the update
    SEEN = "seen"  # claimed before (handled, or lost with its replica): answer 200, do nothing


class UpdatesSeen:
    """The updates_seen table: claim, mark handled, release."""

    def __init__(self, store: Store):
        self.store = store
        self._pruned: dt.datetime | None = None

    def claim(self, update_id: int, now: dt.datetime) -> Claim:
        with self.store.write() as conn:
            insert = dialect_insert(conn.dialect.name, _u)
            added = conn.execute(
                insert.values(update_id=update_id, claimed_at=now)
                .on_conflict_do_nothing(index_elements=[_u.c.update_id])
                .returning(_u.c.update_id)  # (rowcount is -1 here on psycopg)
            ).first()
            if added is None:
                return Claim.SEEN
            self._prune(conn, now)
            return Claim.TAKEN

    def handled(self, update_id: int, now: dt.datetime) -> None:
        with self.store.write() as conn:
            conn.execute(_u.update().where(_u.c.update_id == update_id).values(handled_at=now))

    def release(self, update_id: int) -> None:
        """Give a claim up (not handled): the next retry takes it."""
        with self.store.write() as conn:
            conn.execute(_u.delete().where(_u.c.update_id == update_id, _u.c.handled_at.is_(None)))

    def _prune(self, conn: sa.Connection, now: dt.datetime) -> None:
        if self._pruned is not None and now - self._pruned < PRUNE_EVERY:
            return
        conn.execute(_u.delete().where(_u.c.claimed_at < now - KEEP))
        self._pruned = now
