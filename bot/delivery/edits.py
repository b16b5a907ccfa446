"""Corrections reach sent messages: the edit run, which sends the edits the ledger planned.

How a correction is planned, an edit's statuses, and why a retry after a crash never edits
twice: bot/delivery/edit_ledger.py, the edit path's SQL. Here are the requests (PTB's Bot).

Edits run after the broadcast's sends, one request at a time at the broadcast's pace (inside
bot/limits.py's table, per chat too), and stop as soon as a send is due: they never hold up
the daily message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.delivery.broadcast import Pacer, delivery_message
from bot.delivery.edit_ledger import EDITED, FAILED, NOT_FOUND, NOT_MODIFIED, PENDING, EditDue, EditLedger
from bot.delivery.journal import Clock
from bot.delivery.pacing import Pacing
from bot.delivery.subscribers import Subscribers
from bot.limits import retry_after_seconds
from quotes.store import Store

log = logging.getLogger(__name__)


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
