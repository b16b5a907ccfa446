"""The broadcast engine: every due ledger row becomes one Telegram message, at most once.

Each send goes: a pacing token (bot/throttle.py) → the row moves to `sending`, committed →
the request → `sent` with Telegram's message id (or blocked/migrated/failed/uncertain).
A crash between the commit and the answer leaves the row in `sending`; the next leader
marks it `uncertain` and does not resend it unless RETRY_UNCERTAIN is set — a duplicate is
worse than a gap for a daily quote. Commits are grouped: while one batch of claims and
outcomes is being written, the next one gathers, so the database is never one commit per
message (see docs/delivery.md).

`qotd deliver --once [--now 2026-11-23T09:00:00+00:00]` runs one catch-up and broadcast from
the command line (what the crash test runs; qotd/deliver.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.delivery.journal import Clock, Journal
from bot.delivery.keepalive import AnswerLost, KeepAliveRequest, NotSent
from bot.delivery.ledger import (
    BLOCKED,
    FAILED,
    PENDING,
    SENT,
    UNCERTAIN,
    Due,
    Fenced,
    Ledger,
    Outcome,
)
from bot.limits import (
    BROADCAST_BURST_SHARE,
    BROADCAST_MARGIN,
    PAID_BROADCAST_MARGIN,
    TELEGRAM,
    retry_after_seconds,
)
from bot.messages import QuoteMessage, heading, quote_message
from bot.supervise import Supervisor
from bot.throttle import TokenBucket
from quotes.store import Store

log = logging.getLogger(__name__)

LOOK_BACK_DAYS = 8  # pending rows of older dates are not looked at (the catch-up policy skips them)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def maybe_delivered(exc: NetworkError) -> bool:
    """Return whether a failed request may still have been carried out by Telegram.

    An HTTP error answer (5xx) and a connection that never opened mean it was not; a timeout
    or a broken connection after the request went out means nobody knows.
    """
    cause = exc.__cause__
    if isinstance(cause, NotSent):
        return False
    if isinstance(cause, AnswerLost):
        return True
    if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return False
    if isinstance(cause, httpx.HTTPError):
        return True
    if isinstance(exc, TimedOut):
        return "not* sent" not in str(exc)
    return False  # Telegram answered with an error status


@dataclass(frozen=True)
class Pacing:
    """How fast to send and how hard to retry."""

    rate: float = TELEGRAM.bot_wide * BROADCAST_MARGIN
    paid: bool = False
    concurrency: int = 32
    max_attempts: int = 5  # for 5xx and connection failures
    backoff: float = 0.5  # seconds, doubled per attempt (with jitter), at most 30
    max_retry_after: int = 10  # 429s answered for one message before it is recorded failed
    batch: int = 1000  # ledger rows read at a time
    grace: float = 6.0  # seconds in-flight requests get to finish on stop
    progress_every: float = 5.0

    @classmethod
    def for_settings(cls, paid: bool, **changes) -> Pacing:
        defaults = (
            {"rate": TELEGRAM.paid_bot_wide * PAID_BROADCAST_MARGIN, "paid": True, "concurrency": 128}
            if paid
            else {}
        )
        return cls(**(defaults | changes))

    @property
    def limit(self) -> float:
        return TELEGRAM.paid_bot_wide if self.paid else TELEGRAM.bot_wide


@dataclass
class Report:
    sent: int = 0
    blocked: int = 0
    migrated: int = 0
    failed: int = 0
    uncertain: int = 0
    handed_back: int = 0  # claimed but stopped before the request: pending again
    retry_after: int = 0  # 429 answers received
    retries: int = 0  # resends after 5xx or connection failures
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def count(self, status: str) -> None:
        """Count one send that ended in `status` (sent, blocked, failed or uncertain)."""
        counter = {SENT: "sent", BLOCKED: "blocked", FAILED: "failed", UNCERTAIN: "uncertain"}[status]
        setattr(self, counter, getattr(self, counter) + 1)

    @property
    def done(self) -> int:
        return self.sent + self.blocked + self.migrated + self.failed + self.uncertain

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def __str__(self) -> str:
        return (
            f"{self.sent} sent, {self.blocked} blocked, {self.migrated} migrated, {self.failed} failed, "
            f"{self.uncertain} uncertain, {self.retry_after} answered 429, {self.retries} retried, "
            f"in {self.elapsed:.1f}s"
        )


class Pacer:
    """Telegram's limits: one bucket for the bot, one per chat that is being written to."""

    def __init__(self, pacing: Pacing, clock: Callable[[], float] = time.monotonic):
        self.pacing = pacing
        self.clock = clock
        # A small burst makes up for late wake-ups and stays within the limit (see bot/limits.py).
        self.bucket = TokenBucket(pacing.rate, max(1.25, pacing.rate * BROADCAST_BURST_SHARE), clock)
        self._chats: dict[int, TokenBucket] = {}

    async def take(self) -> None:
        await self.bucket.acquire()

    async def take_chat(self, chat_id: int) -> None:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) > 10000:  # forget chats whose bucket has refilled
                now = self.clock()
                self._chats = {c: b for c, b in self._chats.items() if b.wait_time(now) > 0}
            # One message per chat a day: these buckets only guard retries, at Telegram's rate.
            rate = TELEGRAM.per_group if chat_id < 0 else TELEGRAM.per_chat
            bucket = self._chats[chat_id] = TokenBucket(rate, 1, self.clock)
        await bucket.acquire()

    def pause(self, chat_id: int, seconds: float) -> None:
        """Telegram said 429: nothing goes out for `seconds` (the whole pacer, and that chat)."""
        now = self.clock()
        self.bucket.penalise(now, seconds)
        if chat_id in self._chats:
            self._chats[chat_id].penalise(now, seconds)


class Broadcast:
    """Send every due pending ledger row; stop gracefully on request.

    With `epoch` (the scheduler's leadership epoch) every claim is fenced by it in the ledger;
    with `fence`, a callable saying whether this instance may still lead by its own clock (its
    lease), checked just before each request: once it says no, nothing more is sent. A failure
    of the database, or a refused claim, ends the run: `run()` raises it after stopping cleanly,
    and `left` holds the outcomes the journal could not write.
    """

    def __init__(
        self,
        bot: Bot,
        store: Store,
        pacing: Pacing | None = None,
        *,
        clock: Clock = utcnow,
        executor: ThreadPoolExecutor | None = None,
        epoch: int | None = None,
        fence: Callable[[], bool] | None = None,
        journal_supervisor: Supervisor | None = None,
    ):
        self.bot = bot
        self.store = store
        self.ledger = Ledger(store)
        self.pacing = pacing or Pacing()
        self.clock = clock
        self._own_executor = executor is None
        self.executor = executor or ThreadPoolExecutor(1, thread_name_prefix="ledger")
        self.report = Report()
        self.epoch = epoch
        self.fence = fence
        self.journal_supervisor = journal_supervisor
        self.left: list[Outcome] = []  # outcomes the journal could not write (database down)
        self._error: BaseException | None = None
        self._messages: dict[str, QuoteMessage] = {}
        self._stopping = False
        self._in_flight: dict[asyncio.Task, str] = {}  # task -> "unsent" | "in_flight"

    async def _db(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def _build_message(self, quote_id: str, day: dt.date) -> QuoteMessage:
        quote = self.store.quote(quote_id)
        assert quote is not None, "deliveries.quote_id references quotes.id, and quotes are never deleted"
        source, cites = self.store.provenance(quote)
        return quote_message(quote, source, cites, heading(day))

    async def run(self) -> Report:
        """Send every pending row that is due, then return the report (also after `stop`)."""
        self.report = Report()
        self._stopping = False
        self._error = None
        journal = Journal(
            self.ledger, self.executor, self.clock, epoch=self.epoch, supervisor=self.journal_supervisor
        )
        journal.start()
        progress = asyncio.create_task(self._progress())
        self._dispatcher = asyncio.create_task(self._dispatch(journal))
        try:
            await self._dispatcher
        except asyncio.CancelledError:
            if not self._stopping:  # cancelled from outside, not by stop(): still end consistent
                self._stopping = True
                await self._finish(journal, progress)
                raise
        except Exception as exc:  # the database failed under the dispatcher
            self._error = self._error or exc
        await self._finish(journal, progress)
        log.info("delivery: %s", self.report)
        if self._error is not None:
            raise self._error
        return self.report

    async def _finish(self, journal: Journal, progress: asyncio.Task) -> None:
        self._stopping = True
        await self._drain(wait=self.pacing.grace)
        progress.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await progress
        # With the database down the journal cannot flush: keep what it holds for later.
        self.left = await journal.close(within=self.pacing.grace)
        self.report.finished = time.monotonic()
        if self._own_executor:
            self.executor.shutdown(wait=True)

    def _failed(self, exc: BaseException) -> None:
        """A send could not claim its row (database down, or fenced): end the run, keep the cause."""
        if self._error is None:
            self._error = exc
        self.stop()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Stop: no new sends, unsent ones handed back, in-flight ones given `grace` seconds."""
        self._stopping = True
        dispatcher = getattr(self, "_dispatcher", None)
        if dispatcher is not None and not dispatcher.done():
            dispatcher.cancel()

    async def _message_for(self, row: Due) -> QuoteMessage:
        key = f"{row.quote_id}@{row.date.isoformat()}"
        message = self._messages.get(key)
        if message is None:
            message = self._messages[key] = await self._db(self._build_message, row.quote_id, row.date)
        return message

    async def _dispatch(self, journal: Journal) -> None:
        semaphore = asyncio.Semaphore(self.pacing.concurrency)
        pacer = Pacer(self.pacing)

        def finished(task: asyncio.Task) -> None:
            self._in_flight.pop(task, None)
            semaphore.release()
            error = None if task.cancelled() else task.exception()
            if error is not None:
                self._failed(error)

        while True:
            now = self.clock()
            since = now.date() - dt.timedelta(days=LOOK_BACK_DAYS)
            dates = await self._db(self.ledger.pending_dates, now, since)
            if not dates:
                return
            self._total = await self._db(self.ledger.count_due, now, since)
            self._base = self.report.done
            for day in dates:
                after = None
                while True:
                    rows = await self._db(self.ledger.due, day, now, after, self.pacing.batch)
                    for row in rows:
                        message = await self._message_for(row)
                        await semaphore.acquire()
                        try:
                            await pacer.take()
                        except BaseException:
                            semaphore.release()
                            raise
                        task = asyncio.create_task(self._send(row, message, journal, pacer))
                        self._in_flight[task] = "unsent"
                        task.add_done_callback(finished)
                    if len(rows) < self.pacing.batch:
                        break
                    after = rows[-1].chat_id
            # A pass is over when its sends are; then look again (rows planned meanwhile).
            if self._in_flight:
                await asyncio.wait(list(self._in_flight))

    async def _drain(self, wait: float) -> None:
        """Cancel the sends not in flight (they go back to pending); give the rest `wait` seconds."""
        for task, state in list(self._in_flight.items()):
            if state == "unsent":
                task.cancel()
        pending = list(self._in_flight)
        if pending:
            _, late = await asyncio.wait(pending, timeout=wait)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)

    async def _progress(self) -> None:
        start, done0 = time.monotonic(), self.report.done
        while True:
            await asyncio.sleep(self.pacing.progress_every)
            done = self.report.done
            rate = (done - done0) / max(time.monotonic() - start, 1e-9)
            remaining = max(getattr(self, "_total", 0) - (done - getattr(self, "_base", 0)), 0)
            log.info(
                "delivery: %d sent, %d done, %d remaining, %.1f msg/s (limit %.0f)",
                self.report.sent,
                done,
                remaining,
                rate,
                self.pacing.limit,
            )

    async def _send(self, row: Due, message: QuoteMessage, journal: Journal, pacer: Pacer) -> None:
        """Claim one row, send its message, and record what became of it (retrying what may be)."""
        task = asyncio.current_task()
        assert task is not None  # a send always runs in its own task (see _dispatch)
        day, chat_id = row.date, row.chat_id
        if not await journal.claim(day, chat_id):
            return
        tries = _Tries()
        try:
            while True:
                self._in_flight[task] = "unsent"
                await pacer.take_chat(chat_id)
                if tries.total:
                    await pacer.take()
                tries.total += 1
                if self.fence is not None and not self.fence():
                    # Our lease may have run out (we were frozen, or cut off): another instance
                    # may lead now. Send nothing; the row goes back unless the new leader has it.
                    journal.record(Outcome(day, chat_id, PENDING))
                    self.report.handed_back += 1
                    raise Fenced(self.epoch or 0, None)
                self._in_flight[task] = "in_flight"
                try:
                    sent = await self.bot.send_message(
                        chat_id,
                        message.html,
                        parse_mode=ParseMode.HTML,
                        reply_markup=message.markup,
                        allow_paid_broadcast=True if self.pacing.paid else None,
                    )
                except RetryAfter as exc:
                    self._in_flight[task] = "unsent"
                    if await self._wait_out_429(exc, tries, day, chat_id, journal, pacer):
                        continue
                except Forbidden as exc:
                    self._record_final(journal, day, chat_id, BLOCKED, error=str(exc))
                except ChatMigrated as exc:
                    self._in_flight[task] = "unsent"
                    moved = await self._follow_migration(exc, day, chat_id, journal)
                    if moved is not None:
                        chat_id = moved
                        continue
                except BadRequest as exc:
                    self._record_final(journal, day, chat_id, FAILED, error=str(exc))
                except NetworkError as exc:
                    if maybe_delivered(exc):
                        self._record_final(journal, day, chat_id, UNCERTAIN, error=_described(exc))
                    else:
                        self._in_flight[task] = "unsent"
                        if await self._back_off(exc, tries, day, chat_id, journal):
                            continue
                except TelegramError as exc:
                    self._record_final(journal, day, chat_id, FAILED, error=_described(exc))
                else:
                    self._record_final(journal, day, chat_id, SENT, message_id=sent.message_id)
                return
        except asyncio.CancelledError:
            self._interrupted(task, journal, day, chat_id)
            raise

    def _record_final(
        self,
        journal: Journal,
        day: dt.date,
        chat_id: int,
        status: str,
        *,
        error: str | None = None,
        message_id: int | None = None,
    ) -> None:
        """Record a send's final outcome in the ledger and count it in the report."""
        journal.record(Outcome(day, chat_id, status, message_id=message_id, error=error))
        self.report.count(status)

    async def _wait_out_429(
        self, exc: RetryAfter, tries: _Tries, day: dt.date, chat_id: int, journal: Journal, pacer: Pacer
    ) -> bool:
        """Telegram said 429: pause the pacer and wait; False (recorded failed) after too many."""
        self.report.retry_after += 1
        tries.retry_after += 1
        seconds = retry_after_seconds(exc)
        if tries.retry_after > self.pacing.max_retry_after:
            self._record_final(journal, day, chat_id, FAILED, error=str(exc))
            return False
        log.warning("delivery: 429 for chat %s, pausing %.0fs", chat_id, seconds)
        pacer.pause(chat_id, seconds)
        await asyncio.sleep(seconds)
        return True

    async def _follow_migration(
        self, exc: ChatMigrated, day: dt.date, chat_id: int, journal: Journal
    ) -> int | None:
        """The group became a supergroup: move its row; return the new id to send to (None: done)."""
        new = exc.new_chat_id
        added = await self._db(self.ledger.migrate, day, chat_id, new, self.clock())
        self.report.migrated += 1
        log.info("delivery: chat %s became %s", chat_id, new)
        if not added or not await journal.claim(day, new):
            return None
        return new

    async def _back_off(
        self, exc: NetworkError, tries: _Tries, day: dt.date, chat_id: int, journal: Journal
    ) -> bool:
        """The request surely did not arrive: wait with jittered backoff; False (failed) when used up."""
        tries.failures += 1
        if tries.failures >= self.pacing.max_attempts:
            self._record_final(journal, day, chat_id, FAILED, error=_described(exc))
            return False
        self.report.retries += 1
        delay = min(30.0, self.pacing.backoff * 2 ** (tries.failures - 1))
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        return True

    def _interrupted(self, task: asyncio.Task, journal: Journal, day: dt.date, chat_id: int) -> None:
        """Stopped mid-send: a request in flight may have arrived (uncertain); an unsent one goes back."""
        if self._in_flight.get(task) == "in_flight":
            self._record_final(
                journal, day, chat_id, UNCERTAIN, error="stopped while the request was in flight"
            )
        else:
            journal.record(Outcome(day, chat_id, PENDING))
            self.report.handed_back += 1


@dataclass
class _Tries:
    """How often one send has been tried, and why it was tried again."""

    total: int = 0
    failures: int = 0  # 5xx and connection failures
    retry_after: int = 0  # 429 answers


def _described(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def delivery_bot(token: str, api_url: str, pacing: Pacing, read_timeout: float = 10.0) -> Bot:
    """Return a Bot for broadcasts: the lean keep-alive network layer, a connection per send in flight."""
    request = KeepAliveRequest(pool_size=pacing.concurrency + 4, read_timeout=read_timeout)
    return Bot(token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot", request=request)
