"""Corrections reach sent messages: the ledger's edit path.

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

Edits run after the broadcast's sends, one request at a time at the broadcast's pace (inside
bot/limits.py's table, per chat too), and stop as soon as a send is due: they never hold up
the daily message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.delivery.broadcast import Pacer, Pacing, delivery_message
from bot.delivery.journal import Clock
from bot.delivery.ledger import PENDING as SEND_PENDING
from bot.delivery.ledger import SENDING, SENT, Ledger
from bot.delivery.subscribers import Subscribers
from bot.limits import retry_after_seconds
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


@dataclass
class EditReport:
    edited: int = 0
    not_modified: int = 0
    not_found: int = 0
    failed: int = 0
    yielded: bool = False  # stopped because sends were due
    counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"{self.edited} edited, {self.not_modified} not modified, {self.not_found} not found, "
            f"{self.failed} failed" + (" (stopped for due sends)" if self.yielded else "")
        )


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


class EditRun:
    """Edit the planned messages, one at a time at the broadcast's pace, yielding to sends."""

    def __init__(
        self,
        bot: Bot,
        store: Store,
        pacing: Pacing | None = None,
        *,
        clock: Clock,
        sends_due: Callable[[], bool] = lambda: False,
        batch: int = 100,
        epoch: int | None = None,
        fence: Callable[[], bool] | None = None,
    ):
        """epoch: the scheduler's leadership epoch its claims are fenced by; fence: whether our
        lease still holds by our own clock (checked before each edit's request)."""
        self.bot = bot
        self.store = store
        self.ledger = EditLedger(store)
        self.pacing = pacing or Pacing()
        self.clock = clock
        self.sends_due = sends_due
        self.batch = batch
        self.epoch = epoch
        self.fence = fence
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    async def _db(self, fn, *args):
        return await asyncio.to_thread(fn, *args)

    async def run(self) -> EditReport:
        report = EditReport()
        pacer = Pacer(self.pacing)
        while not self._stopping:
            if await self._db(self.sends_due):
                report.yielded = True
                break
            rows = await self._db(self.ledger.due, self.batch)
            if not rows:
                break
            for row in rows:
                if self._stopping or (self.fence is not None and not self.fence()):
                    self._stopping = True
                    break
                await pacer.take()
                await pacer.take_chat(row.chat_id)
                await self._edit(row, report, pacer)
        if report.edited or report.not_modified or report.not_found or report.failed:
            log.info("edits: %s", report)
        return report

    async def _edit(self, row: EditDue, report: EditReport, pacer: Pacer) -> None:
        if not await self._db(self.ledger.claim, row, self.clock(), self.epoch):
            return
        # In the chat's language, as the message was sent (bot/delivery/broadcast.py).
        language = await self._db(Subscribers(self.store).language, row.chat_id)
        message = await self._db(delivery_message, self.store, row.quote_id, row.date, language)
        retried = " (retried after an interrupted attempt)" if row.attempts else ""
        photo = False  # found out from Telegram's answer: the ledger does not keep what was sent
        error: str | None
        waits = 0  # 429 answers so far
        while waits <= self.pacing.max_retry_after:
            try:
                if photo:  # a channel's card (CHANNEL_FORMAT=card): the text is its caption
                    await self.bot.edit_message_caption(
                        chat_id=row.chat_id,
                        message_id=row.message_id,
                        caption=message.html,
                        parse_mode=ParseMode.HTML,
                        reply_markup=message.markup,
                    )
                else:
                    await self.bot.edit_message_text(
                        message.html,
                        chat_id=row.chat_id,
                        message_id=row.message_id,
                        parse_mode=ParseMode.HTML,
                        reply_markup=message.markup,
                    )
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                await pacer.pause(row.chat_id, seconds)
                await asyncio.sleep(seconds)
                waits += 1
                continue
            except BadRequest as exc:
                text = str(exc).lower()
                if not photo and "there is no text in the message to edit" in text:
                    photo = True  # the post went as the card: edit its caption instead
                    continue
                if "message is not modified" in text:
                    status, error = NOT_MODIFIED, f"message is not modified{retried}"
                elif "message to edit not found" in text:
                    status, error = NOT_FOUND, "message to edit not found"
                else:
                    status, error = FAILED, str(exc)
            except NetworkError as exc:
                # It may or may not have arrived: trying again is safe (an edit cannot apply twice).
                again = row.attempts + 1 < self.pacing.max_attempts
                status, error = (PENDING if again else FAILED), f"{type(exc).__name__}: {exc}"
                if again:
                    await self._db(self.ledger.record, row, status, error, self.clock())
                    await asyncio.sleep(self.pacing.backoff)
                    return
            except (Forbidden, TelegramError) as exc:
                status, error = FAILED, f"{type(exc).__name__}: {exc}"
            else:
                status, error = EDITED, (f"edited{retried}" if retried else None)
            await self._db(self.ledger.record, row, status, error, self.clock())
            setattr(report, status, getattr(report, status) + 1)
            return
        await self._db(self.ledger.record, row, FAILED, "too many 429 answers", self.clock())
        report.failed += 1
