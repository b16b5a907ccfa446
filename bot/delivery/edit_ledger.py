"""Corrections reach sent messages: the edit path's ledger, the SQL of `message_edits`.

A correction (quotes/store: an admin's edit of a published quote, or the replacement of a fixed
day's quote) is planned once, in one transaction: the deliveries of a replaced day that are not
sent yet are given the new quote, and every sent message it concerns gets a `message_edits`
row (EDIT_SENT: `channels` — channel posts only, the default; `all` — private chats and groups
too; `none`). While a message of that day or quote is being sent (`sending`), planning waits for
the next wake-up, so a message is never missed between the two.

An edit goes like a send: the row moves to `editing`, committed, before the request; the
answer is recorded after it. Statuses:
    pending       to edit
    editing       committed before the request; a crash leaves it here
    edited        Telegram changed the message
    not_modified  Telegram said "message is not modified" (the message already says this)
    not_found     Telegram said "message to edit not found" (deleted meanwhile)
    failed        another refusal (kept in `error`), or retries used up
A row left `editing` by a crash is tried again by the next run: editMessageText with the same
content cannot change a message twice (Telegram answers "message is not modified"), so a retry
never edits twice, and the answer is recorded as the interrupted edit's outcome.

The scheduler plans and recovers edits whether or not there is a bot, so this module imports
nothing of Telegram's client; the requests are bot/delivery/edits.py's.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from bot.delivery.ledger import PENDING as SEND_PENDING
from bot.delivery.ledger import SENDING, SENT, Ledger
from quotes.store import Store
from quotes.store import schema as t

log = logging.getLogger(__name__)

PENDING = "pending"
EDITING = "editing"
EDITED = "edited"
NOT_MODIFIED = "not_modified"
NOT_FOUND = "not_found"
FAILED = "failed"
EDIT_STATUSES = (PENDING, EDITING, EDITED, NOT_MODIFIED, NOT_FOUND, FAILED)
SCOPES = ("channels", "all", "none")  # EDIT_SENT

_c = t.corrections
_e = t.message_edits
_d = t.deliveries
_s = t.subscribers


@dataclass(frozen=True)
class EditDue:
    correction_id: int
    chat_id: int
    date: dt.date
    message_id: int
    quote_id: str
    attempts: int


class EditLedger:
    """The SQL of the edit path (corrections → message_edits rows; deliveries retargeted)."""

    def __init__(self, store: Store):
        self.store = store

    def plan(self, now: dt.datetime, scope: str, channels: Iterable[int] = ()) -> int:
        """Plan the corrections not planned yet; return how many edits were added."""
        if scope not in SCOPES:
            raise ValueError(f"EDIT_SENT={scope!r} is not one of {', '.join(SCOPES)}")
        channel_ids = sorted(set(channels))
        with self.store.read() as conn:
            waiting = list(conn.execute(sa.select(_c).where(_c.c.edits_planned.is_(False)).order_by(_c.c.id)))
        added = 0
        for correction in waiting:
            with self.store.write() as conn:
                added += self._plan_one(conn, correction, now, scope, channel_ids)
        return added

    def _plan_one(
        self, conn: sa.Connection, c: sa.Row, now: dt.datetime, scope: str, channels: list[int]
    ) -> int:
        if conn.scalar(sa.select(_c.c.edits_planned).where(_c.c.id == c.id)):
            return 0  # another process planned it meanwhile
        scope_rows = (_d.c.date == c.date) if c.date is not None else (_d.c.quote_id == c.quote_id)
        if conn.execute(sa.select(_d.c.chat_id).where(scope_rows, _d.c.status == SENDING).limit(1)).first():
            return 0  # a message of it is in flight: plan at the next wake-up, once it is recorded
        if c.date is not None:  # a replaced day: what is not sent yet carries the replacement
            conn.execute(
                _d.update()
                .where(_d.c.date == c.date, _d.c.status == SEND_PENDING)
                .values(quote_id=c.quote_id, updated_at=now)
            )
        sent = sa.and_(scope_rows, _d.c.status == SENT, _d.c.message_id.is_not(None))
        if c.date is not None:
            sent = sa.and_(sent, _d.c.quote_id != c.quote_id)
        if scope == "channels":
            kinds = sa.select(_s.c.chat_id).where(_s.c.kind == "channel")
            sent = sa.and_(sent, sa.or_(_d.c.chat_id.in_(channels), _d.c.chat_id.in_(kinds)))
        added = 0
        if scope != "none":
            rows = conn.execute(
                _e.insert()
                .from_select(
                    [
                        "correction_id",
                        "chat_id",
                        "date",
                        "message_id",
                        "quote_id",
                        "status",
                        "attempts",
                        "updated_at",
                    ],
                    sa.select(
                        sa.literal(c.id),
                        _d.c.chat_id,
                        _d.c.date,
                        _d.c.message_id,
                        sa.literal(c.quote_id),
                        sa.literal(PENDING),
                        sa.literal(0),
                        sa.literal(now, t.UTCDateTime()),
                    ).where(sent),
                )
                .returning(_e.c.chat_id)
            )
            added = len(rows.all())
        conn.execute(_c.update().where(_c.c.id == c.id).values(edits_planned=True))
        if added:
            log.info("edits: correction %d: %d sent messages to edit", c.id, added)
        return added

    def recover(self, now: dt.datetime) -> int:
        """Hand edits a crash left `editing` back to the run (a retry cannot edit twice)."""
        with self.store.write() as conn:
            result = conn.execute(
                _e.update()
                .where(_e.c.status == EDITING)
                .values(status=PENDING, error="interrupted: tried again", updated_at=now)
            )
            return result.rowcount or 0

    def due(self, limit: int) -> list[EditDue]:
        query = (
            sa.select(_e)
            .where(_e.c.status == PENDING)
            .order_by(_e.c.correction_id, _e.c.chat_id)
            .limit(limit)
        )
        with self.store.read() as conn:
            return [
                EditDue(r.correction_id, r.chat_id, r.date, r.message_id, r.quote_id, r.attempts)
                for r in conn.execute(query)
            ]

    def claim(self, row: EditDue, now: dt.datetime, epoch: int | None = None) -> bool:
        """Move a pending edit to `editing`, committed before the request; False if it was not
        pending, or if `epoch` (the scheduler's leadership, bot/delivery/ledger.py) no longer leads:
        the fence is in the claim's own statement, as the sends' is."""
        with self.store.write() as conn:
            where = [
                _e.c.correction_id == row.correction_id,
                _e.c.chat_id == row.chat_id,
                _e.c.status == PENDING,
            ]
            if epoch is not None:
                where.append(Ledger.fence_clause(conn, epoch))
            result = conn.execute(
                _e.update().where(*where).values(status=EDITING, attempts=_e.c.attempts + 1, updated_at=now)
            )
            return result.rowcount == 1

    def record(self, row: EditDue, status: str, error: str | None, now: dt.datetime) -> None:
        with self.store.write() as conn:
            conn.execute(
                _e.update()
                .where(_e.c.correction_id == row.correction_id, _e.c.chat_id == row.chat_id)
                .values(status=status, error=error, updated_at=now)
            )

    def counts(self, correction_id: int | None = None) -> dict[str, int]:
        query = sa.select(_e.c.status, sa.func.count()).group_by(_e.c.status)
        if correction_id is not None:
            query = query.where(_e.c.correction_id == correction_id)
        with self.store.read() as conn:
            return {status: n for status, n in conn.execute(query)}

    def rows(self) -> list[sa.Row]:
        with self.store.read() as conn:
            return list(conn.execute(sa.select(_e).order_by(_e.c.correction_id, _e.c.chat_id)))
