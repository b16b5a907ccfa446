"""Each webhook update handled once, across replicas: its update_id is claimed in the database.

Telegram retries an update when the answer is slow or not 2xx, and a replica may die after
taking one. The webhook (bot/webhook.py) claims the update's id before handling it and marks it
handled after; a retry of a handled update gets 200 and does nothing. A retry that comes while
another request is still handling it gets 503, so Telegram tries again later rather than the
update being lost if that replica dies: a claim older than `CLAIM_SECONDS` without being handled
is taken over. A claim given up (the process stopping mid-update) is released at once.
Rows older than `KEEP` are deleted (Telegram keeps an update for 24 hours at most).
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from quotes.store import Store
from quotes.store import schema as t

CLAIM_SECONDS = 60.0
KEEP = dt.timedelta(days=2)
PRUNE_EVERY = dt.timedelta(hours=1)

_u = t.updates_seen


class Claim(enum.Enum):
    TAKEN = "taken"  # this request handles the update
    HANDLED = "handled"  # handled before: answer 200, do nothing
    BUSY = "busy"  # being handled by another request: answer 503, Telegram retries


class UpdatesSeen:
    """The updates_seen table: claim, mark handled, release."""

    def __init__(self, store: Store, claim_seconds: float = CLAIM_SECONDS):
        self.store = store
        self.claim_seconds = claim_seconds
        self._pruned: dt.datetime | None = None

    def claim(self, update_id: int, now: dt.datetime) -> Claim:
        with self.store.write() as conn:
            insert = postgresql.insert(_u) if conn.dialect.name == "postgresql" else sqlite.insert(_u)
            added = conn.execute(
                insert.values(update_id=update_id, claimed_at=now)
                .on_conflict_do_nothing(index_elements=[_u.c.update_id])
                .returning(_u.c.update_id)  # (rowcount is -1 here on psycopg)
            ).first()
            if added is not None:
                self._prune(conn, now)
                return Claim.TAKEN
            row = conn.execute(sa.select(_u.c.handled_at).where(_u.c.update_id == update_id)).one()
            if row.handled_at is not None:
                return Claim.HANDLED
            stale = now - dt.timedelta(seconds=self.claim_seconds)
            taken = conn.execute(
                _u.update()
                .where(_u.c.update_id == update_id, _u.c.handled_at.is_(None), _u.c.claimed_at < stale)
                .values(claimed_at=now)
                .returning(_u.c.update_id)
            ).first()
            return Claim.TAKEN if taken is not None else Claim.BUSY

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
