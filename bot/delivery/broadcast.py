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
import collections
import contextlib
import datetime as dt
import json
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

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

from bot.cards import ChannelCards
from bot.delivery.journal import CLAIM_AHEAD, CLAIM_GATHER, Clock, Journal
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
from bot.delivery.pacing import LOOK_BACK_DAYS, Pacing, Report, utcnow
from bot.delivery.subscribers import NO_TOPIC, TOPIC_CLOSED
from bot.i18n import translator
from bot.limits import TELEGRAM, broadcast_burst, retry_after_seconds
from bot.messages import QuoteMessage, heading, quote_message
from bot.supervise import Supervisor
from bot.throttle import TokenBucket
from quotes.store import Store

log = logging.getLogger(__name__)


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


def delivery_message(store: Store, quote_id: str, day: dt.date, language: str | None = None) -> QuoteMessage:
    """The message of `day` with `quote_id` in the chat's `language`, as sent, and as an edit
    after a correction."""
    quote = store.quote(quote_id)
    assert quote is not None, "deliveries.quote_id references quotes.id, and quotes are never deleted"
    source, cites = store.provenance(quote)
    words = translator(language)
    return quote_message(quote, source, cites, heading(day, words), words)


def message_form(message: QuoteMessage) -> bytes:
    """The day's message as sendMessage form fields, encoded once for every chat it goes to.

    The fields and their encoding are what `Bot.send_message` sends for the same arguments (PTB's
    RequestParameter: strings as they are, objects as JSON); tests/bot/delivery pins that.
    """
    fields = {"text": message.html, "parse_mode": ParseMode.HTML.value}
    if message.markup is not None:
        fields["reply_markup"] = json.dumps(message.markup.to_dict())
    return urlencode(fields).encode()


def chat_form(chat_id: int, thread_id: int, silent: bool, paid: bool) -> bytes:
    """The per-send sendMessage fields: the chat, its forum topic, silence, the paid flag (with a
    trailing `&`, to go before `message_form`)."""
    form = b"chat_id=%d&" % chat_id
    if thread_id:
        form += b"message_thread_id=%d&" % thread_id
    if silent:
        form += b"disable_notification=true&"
    if paid:
        form += b"allow_paid_broadcast=true&"
    return form


def claim_run(pacing: Pacing) -> int:
    """How many rows the dispatcher claims in one commit before their tokens: 1 where sends
    come faster than the journal's CLAIM_GATHER, so their own claims gather (the paid tier);
    else CLAIM_AHEAD seconds of the pace (5 at the free tier's 29.85/s).

    At 30/s a claim of its own per message made every message a commit and two hand-offs to
    the ledger's thread, most of the free tier's CPU. The price is in docs/delivery.md ("Group
    commit"): a crash leaves the run's rows not yet sent `uncertain`, a gap for them.
    """
    if pacing.rate * CLAIM_GATHER >= 1:
        return 1
    return max(1, round(pacing.rate * CLAIM_AHEAD))


class Pacer:
    """Telegram's limits: one bucket for the bot, one per chat that is being written to."""

    def __init__(self, pacing: Pacing, clock: Callable[[], float] = time.monotonic):
        self.pacing = pacing
        self.clock = clock
        # A small burst makes up for late wake-ups and stays within the limit (see bot/limits.py).
        self.bucket = TokenBucket(pacing.rate, broadcast_burst(pacing.rate), clock)
        self._chats: dict[int, TokenBucket] = {}

    async def take(self) -> None:
        """Wait for the broadcast's next token: what the replies leave of the bot's budget."""
        if self.pacing.budget is not None:
            await self.pacing.budget.broadcast()
        else:
            await self.bucket.acquire()

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until the chat may be written to again (0: now, or never written to)."""
        bucket = self._chats.get(chat_id)
        return bucket.wait_time(self.clock()) if bucket is not None else 0.0

    def _chat(self, chat_id: int) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) > 10000:  # forget chats whose bucket has refilled
                now = self.clock()
                self._chats = {c: b for c, b in self._chats.items() if b.wait_time(now) > 0}
            # One message per chat a day (per forum topic: a few per group): these buckets guard
            # retries and a group's topics, at Telegram's rate.
            rate = TELEGRAM.per_group if chat_id < 0 else TELEGRAM.per_chat
            bucket = self._chats[chat_id] = TokenBucket(rate, 1, self.clock)
        return bucket

    def take_chat_now(self, chat_id: int) -> bool:
        """Take the chat's token if it is there now (the dispatcher's first attempt)."""
        return self._chat(chat_id).try_take(self.clock())

    async def take_chat(self, chat_id: int) -> bool:
        """Take the chat's token; return whether that meant waiting (then the send is late)."""
        bucket = self._chat(chat_id)
        waited = bucket.wait_time(self.clock()) > 0
        await bucket.acquire()
        return waited

    async def pause(self, chat_id: int, seconds: float) -> None:
        """Telegram said 429: nothing goes out for `seconds` (the whole pacer, and that chat)."""
        now = self.clock()
        self.bucket.penalise(now, seconds)
        if chat_id in self._chats:
            self._chats[chat_id].penalise(now, seconds)
        if self.pacing.budget is not None:  # the replies wait too: Telegram said the bot is over
            await self.pacing.budget.pause_all(seconds)


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
        cards: ChannelCards | None = None,
        before_batch: Callable[[], object] | None = None,
        epoch: int | None = None,
        fence: Callable[[], bool] | None = None,
        journal_supervisor: Supervisor | None = None,
    ):
        """before_batch: run (in the ledger's thread) before each batch of rows is read; the
        scheduler plans corrections there, so rows not sent yet carry a replaced day's quote."""
        self.bot = bot
        self.cards = cards  # CHANNEL_FORMAT=card: the chats that get the card, the text its caption
        self.before_batch = before_batch
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
        self._messages: dict[tuple[str, dt.date, str | None], QuoteMessage] = {}
        # The lean send (KeepAliveRequest.post_form) where the bot has the keep-alive layer: the
        # broadcast's one per-message call, kept by hand because `Bot.send_message` spends most
        # of a send's CPU building the request and parsing the whole answer into a `Message`,
        # of which the ledger keeps one number. Any other network layer: `Bot.send_message`.
        request = getattr(bot, "request", None)
        self._lean = request if isinstance(request, KeepAliveRequest) else None
        self._forms: dict[tuple[str, dt.date, str | None], bytes] = {}  # as _messages, encoded
        self._stopping = False
        self._stop_requested = False
        self._in_flight: dict[asyncio.Task, str] = {}  # task -> "unsent" | "in_flight"

    async def _db(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def _build_message(self, quote_id: str, day: dt.date, language: str | None) -> QuoteMessage:
        return delivery_message(self.store, quote_id, day, language)

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

    @property
    def stop_requested(self) -> bool:
        """Whether `stop` was called (`stopping` is also true once a run is over)."""
        return self._stop_requested

    def stop(self) -> None:
        """Stop: no new sends, unsent ones handed back, in-flight ones given `grace` seconds."""
        self._stop_requested = True
        self._stopping = True
        dispatcher = getattr(self, "_dispatcher", None)
        if dispatcher is not None and not dispatcher.done():
            dispatcher.cancel()

    async def _message_for(self, row: Due) -> QuoteMessage:
        key = (row.quote_id, row.date, row.language)
        message = self._messages.get(key)
        if message is None:
            message = self._messages[key] = await self._db(
                self._build_message, row.quote_id, row.date, row.language
            )
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

        async def start(row: Due, message: QuoteMessage, claimed: bool = False) -> None:
            """Send a row whose chat token is taken: a slot, a bot-wide token, then its task."""
            await semaphore.acquire()
            try:
                await pacer.take()
            except BaseException:
                semaphore.release()
                raise
            task = asyncio.create_task(
                self._send(row, message, journal, pacer, chat_taken=True, claimed=claimed)
            )
            self._in_flight[task] = "unsent"
            task.add_done_callback(finished)

        ahead = claim_run(self.pacing)

        async def start_run(run: list[tuple[Due, QuoteMessage]]) -> None:
            """Claim a run of rows in one commit, then start each claimed one in turn; a row not
            started when the run stops (stop, a failure) goes back to pending."""
            keys = [(row.date, row.chat_id, row.thread_id) for row, _ in run]
            claimed = await journal.claim_many(keys)
            todo = collections.deque(pair for pair, key in zip(run, keys, strict=True) if key in claimed)
            try:
                while todo:
                    await start(*todo[0], claimed=True)
                    todo.popleft()
            except BaseException:
                for row, _ in todo:
                    journal.record(Outcome(row.date, row.chat_id, PENDING, thread_id=row.thread_id))
                    self.report.handed_back += 1
                raise

        # Rows whose chat was just written to (another forum topic of a group: 20 a minute per
        # group) wait aside in one queue, oldest first, holding neither a slot nor a token.
        waiting: collections.deque[tuple[Due, QuoteMessage]] = collections.deque()
        drainer: asyncio.Task | None = None

        async def drain() -> None:
            while waiting:
                row, message = waiting[0]
                wait = pacer.chat_wait(row.chat_id)
                if wait > 0:
                    await asyncio.sleep(wait)  # (tokens come with time)
                    continue
                waiting.popleft()
                if pacer.take_chat_now(row.chat_id):
                    await start(row, message)
                else:  # (another topic of its group took the token first)
                    waiting.append((row, message))

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
                    if self.before_batch is not None:
                        await self._db(self.before_batch)
                    rows = await self._db(self.ledger.due, day, now, after, self.pacing.batch)
                    run: list[tuple[Due, QuoteMessage]] = []
                    for row in rows:
                        message = await self._message_for(row)
                        if not pacer.take_chat_now(row.chat_id):
                            waiting.append((row, message))
                            if drainer is None or drainer.done():
                                drainer = asyncio.create_task(drain())
                                self._in_flight[drainer] = "unsent"  # (stop cancels it: rows stay pending)
                                drainer.add_done_callback(lambda t: self._in_flight.pop(t, None))
                            continue
                        if ahead == 1:  # (each send claims its row; those claims gather)
                            await start(row, message)
                            continue
                        run.append((row, message))
                        if len(run) == ahead:
                            await start_run(run)
                            run = []
                    if run:
                        await start_run(run)
                    if len(rows) < self.pacing.batch:
                        break
                    after = (rows[-1].chat_id, rows[-1].thread_id)
            # A pass is over when its sends are (a waiting send starts its own before it ends);
            # then look again (rows planned meanwhile).
            while self._in_flight:
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

    async def _send(
        self,
        row: Due,
        message: QuoteMessage,
        journal: Journal,
        pacer: Pacer,
        chat_taken: bool = False,
        claimed: bool = False,
    ) -> None:
        """Claim one row, send its message, and record what became of it (retrying what may be).

        `chat_taken`: the dispatcher took the chat's token for the first attempt; `claimed`: and
        claimed its row, in a run (`claim_run`).
        """
        task = asyncio.current_task()
        assert task is not None  # a send always runs in its own task (see _dispatch)
        day, chat_id, thread = row.date, row.chat_id, row.thread_id
        if not claimed and not await journal.claim(day, chat_id, thread):
            return
        tries = _Tries()
        photo = self.cards.photo_for(chat_id, row.quote_id, message) if self.cards else None
        try:
            while True:
                self._in_flight[task] = "unsent"
                # A retry, or a send that waited for its chat, takes a bot-wide token again: the
                # one taken when it was dispatched was spent, and sending on it would burst.
                if tries.total or not chat_taken:
                    if await pacer.take_chat(chat_id) or tries.total:
                        await pacer.take()
                tries.total += 1
                if self.fence is not None and not self.fence():
                    # Our lease may have run out (we were frozen, or cut off): another instance
                    # may lead now. Send nothing; the row goes back unless the new leader has it.
                    journal.record(Outcome(day, chat_id, PENDING, thread_id=thread))
                    self.report.handed_back += 1
                    raise Fenced(self.epoch or 0, None)
                self._in_flight[task] = "in_flight"
                try:
                    if photo is not None:
                        sent = await self.bot.send_photo(
                            chat_id,
                            photo,
                            caption=message.html,
                            parse_mode=ParseMode.HTML,
                            reply_markup=message.markup,
                            message_thread_id=thread or None,
                            disable_notification=True if row.silent else None,
                            allow_paid_broadcast=True if self.pacing.paid else None,
                        )
                        message_id = sent.message_id
                    else:
                        message_id = await self._send_text(row, chat_id, message)
                except RetryAfter as exc:
                    self._in_flight[task] = "unsent"
                    if await self._wait_out_429(exc, tries, day, chat_id, journal, pacer, thread):
                        continue
                except Forbidden as exc:
                    self._record_final(journal, day, chat_id, BLOCKED, error=str(exc), thread_id=thread)
                except ChatMigrated as exc:
                    self._in_flight[task] = "unsent"
                    moved = await self._follow_migration(exc, day, chat_id, journal)
                    if moved is not None:
                        chat_id = moved
                        continue
                except BadRequest as exc:
                    if photo is not None:  # Telegram could not use the card: the post goes as text
                        log.warning("delivery: %s to %s: card refused (%s), sending text", day, chat_id, exc)
                        photo = None
                        self._in_flight[task] = "unsent"
                        continue
                    # A closed or deleted forum topic ends that topic's subscription, as a block would.
                    gone = TOPIC_CLOSED if thread and topic_gone(exc) else None
                    status = BLOCKED if gone else FAILED
                    self._record_final(
                        journal, day, chat_id, status, error=str(exc), thread_id=thread, ends=gone
                    )
                except NetworkError as exc:
                    if maybe_delivered(exc):
                        self._record_final(
                            journal, day, chat_id, UNCERTAIN, error=_described(exc), thread_id=thread
                        )
                    else:
                        self._in_flight[task] = "unsent"
                        if await self._back_off(exc, tries, day, chat_id, journal, thread):
                            continue
                except TelegramError as exc:
                    self._record_final(journal, day, chat_id, FAILED, error=_described(exc), thread_id=thread)
                else:
                    self._record_final(journal, day, chat_id, SENT, message_id=message_id, thread_id=thread)
                return
        except asyncio.CancelledError:
            self._interrupted(task, journal, day, chat_id, thread)
            raise

    async def _send_text(self, row: Due, chat_id: int, message: QuoteMessage) -> int:
        """Send the day's message as text to `chat_id` (the row's chat, or the one it moved to) and
        the row's forum topic; return the message id."""
        thread, silent = row.thread_id, row.silent
        if self._lean is not None:
            key = (row.quote_id, row.date, row.language)
            form = self._forms.get(key)
            if form is None:
                form = self._forms[key] = message_form(message)
            body = chat_form(chat_id, thread, silent, self.pacing.paid) + form
            result = await self._lean.post_form(f"{self.bot.base_url}/sendMessage", body)
            return int(result["message_id"])
        sent = await self.bot.send_message(
            chat_id,
            message.html,
            parse_mode=ParseMode.HTML,
            reply_markup=message.markup,
            message_thread_id=thread or None,
            disable_notification=True if silent else None,
            allow_paid_broadcast=True if self.pacing.paid else None,
        )
        return sent.message_id

    def _record_final(
        self,
        journal: Journal,
        day: dt.date,
        chat_id: int,
        status: str,
        *,
        error: str | None = None,
        message_id: int | None = None,
        thread_id: int = NO_TOPIC,
        ends: str | None = None,
    ) -> None:
        """Record a send's final outcome in the ledger and count it in the report."""
        journal.record(
            Outcome(day, chat_id, status, message_id=message_id, error=error, thread_id=thread_id, ends=ends)
        )
        self.report.count(status)

    async def _wait_out_429(
        self,
        exc: RetryAfter,
        tries: _Tries,
        day: dt.date,
        chat_id: int,
        journal: Journal,
        pacer: Pacer,
        thread_id: int = NO_TOPIC,
    ) -> bool:
        """Telegram said 429: pause the pacer and wait; False (recorded failed) after too many."""
        self.report.retry_after += 1
        tries.retry_after += 1
        seconds = retry_after_seconds(exc)
        if tries.retry_after > self.pacing.max_retry_after:
            self._record_final(journal, day, chat_id, FAILED, error=str(exc), thread_id=thread_id)
            return False
        log.warning("delivery: 429 for chat %s, pausing %.0fs", chat_id, seconds)
        await pacer.pause(chat_id, seconds)
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
        self,
        exc: NetworkError,
        tries: _Tries,
        day: dt.date,
        chat_id: int,
        journal: Journal,
        thread_id: int = NO_TOPIC,
    ) -> bool:
        """The request surely did not arrive: wait with jittered backoff; False (failed) when used up."""
        tries.failures += 1
        if tries.failures >= self.pacing.max_attempts:
            self._record_final(journal, day, chat_id, FAILED, error=_described(exc), thread_id=thread_id)
            return False
        self.report.retries += 1
        delay = min(30.0, self.pacing.backoff * 2 ** (tries.failures - 1))
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        return True

    def _interrupted(
        self, task: asyncio.Task, journal: Journal, day: dt.date, chat_id: int, thread_id: int = NO_TOPIC
    ) -> None:
        """Stopped mid-send: a request in flight may have arrived (uncertain); an unsent one goes back."""
        if self._in_flight.get(task) == "in_flight":
            self._record_final(
                journal,
                day,
                chat_id,
                UNCERTAIN,
                error="stopped while the request was in flight",
                thread_id=thread_id,
            )
        else:
            journal.record(Outcome(day, chat_id, PENDING, thread_id=thread_id))
            self.report.handed_back += 1


@dataclass
class _Tries:
    """How often one send has been tried, and why it was tried again."""

    total: int = 0
    failures: int = 0  # 5xx and connection failures
    retry_after: int = 0  # 429 answers


# Telegram's answers for a forum topic that was closed or deleted (or never was).
TOPIC_ERRORS = ("topic_closed", "topic_deleted", "message thread not found")


def topic_gone(exc: BadRequest) -> bool:
    """Say whether Telegram refused a message because its forum topic is closed or gone."""
    text = str(exc).casefold()
    return any(error in text for error in TOPIC_ERRORS)


def _described(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def delivery_bot(token: str, api_url: str, pacing: Pacing, read_timeout: float = 10.0) -> Bot:
    """Return a Bot for broadcasts: the lean keep-alive network layer, a connection per send in flight."""
    request = KeepAliveRequest(pool_size=pacing.concurrency + 4, read_timeout=read_timeout)
    return Bot(token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot", request=request)
