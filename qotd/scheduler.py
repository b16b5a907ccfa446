"""The scheduler: what is due when, decided from the clock and the ledger, run by one leader.

APScheduler only wakes the service up (at the next due instant, and once a minute as a safety
net); every wake-up works out from the clock and the delivery ledger what is due, so a run that
starts late, or never, loses nothing: the next wake-up finds the same work. The due-time
arithmetic is pure (time passed in) and lives at the top of this module.

Policy (docs/delivery.md):
- the service's publish: at PUBLISH_TIME in TIMEZONE fix the day's quote, post it to
  CHANNEL_IDS, run the `on_publish` callbacks (the feeds), deliver to the subscribers;
- a subscriber with their own time/timezone gets, at that local time, the quote of *their*
  local date; one ledger row per (date, chat) makes it once a day whatever the clocks do;
- a wall-clock time that does not exist (spring forward) is read with the offset before the
  change, so 02:30 becomes 03:30; one that happens twice (fall back) means the first;
- catch-up: a delivery at most CATCH_UP_HOURS late still goes out; an older one is recorded
  `skipped`. Dates due more than CATCH_UP_HOURS + 24 h ago are not looked at.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# APScheduler 3 publishes no type information (no py.typed, no stubs): its classes are Any here.
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from bot.budget import Budget
from bot.delivery.edit_ledger import EditLedger
from bot.delivery.journal import Clock
from bot.delivery.ledger import PENDING, SKIPPED, Fenced, Group, Ledger, Outcome
from bot.delivery.pacing import LOOK_BACK_DAYS, Pacing, Report, utcnow
from bot.supervise import Backoff, Supervisor, describe
from qotd.feed_files import FeedFolder
from qotd.leadership import Leadership, leadership_for
from qotd.settings import Settings
from quotes.dates import due_instant, parse_time_of_day
from quotes.days import day_of
from quotes.model import Pick
from quotes.selection import NoQuoteError
from quotes.store import Store

# What sends (PTB's Bot, httpx: a quarter of a start-up's imports) is imported where a bot
# sends: the broadcast and the edit runs start only with a bot, and a start-up without
# BOT_TOKEN loads no Telegram (docs/architecture.md; tests/qotd/test_startup_imports.py).
if TYPE_CHECKING:
    from telegram import Bot

    from bot.delivery.broadcast import Broadcast
    from bot.delivery.edits import EditReport, EditRun

log = logging.getLogger(__name__)

LOOKBACK_EXTRA = dt.timedelta(hours=24)
WAKE_EVERY = 60.0  # seconds: the safety-net wake-up
RETRY_CAP = 10.0  # seconds: the longest wait between two tries of a failing task

OnPublish = Callable[[dt.date, Pick], Awaitable[None] | None]

# --- due times: pure functions -----------------------------------------------------------------


def due_dates(
    at: dt.time, zone: ZoneInfo, now: dt.datetime, lookback: dt.timedelta
) -> list[tuple[dt.date, dt.datetime]]:
    """Return the (local date, due instant) pairs due by `now` and no older than `lookback`."""
    first = (now - lookback).astimezone(zone).date() - dt.timedelta(days=1)
    last = now.astimezone(zone).date()
    result = []
    day = first
    while day <= last:
        due = due_instant(day, at, zone)
        if now - lookback <= due <= now:
            result.append((day, due))
        day += dt.timedelta(days=1)
    return result


def next_due(at: dt.time, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """Return the first due instant after `now`."""
    day = now.astimezone(zone).date()
    while True:
        due = due_instant(day, at, zone)
        if due > now:
            return due
        day += dt.timedelta(days=1)


def catch_up_status(due: dt.datetime, now: dt.datetime, catch_up: dt.timedelta) -> str:
    """Return PENDING if a delivery due at `due` may still go out at `now`, else SKIPPED."""
    return PENDING if now - due <= catch_up else SKIPPED


def group_schedule(group: Group, settings: Settings) -> tuple[dt.time, ZoneInfo]:
    """Return a group's wall-clock time and zone (the service's where the subscriber has none)."""
    zone = settings.timezone
    if group.timezone:
        try:
            zone = ZoneInfo(group.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("subscribers with unknown timezone %r get the service's", group.timezone)
    at = settings.publish_time
    if group.delivery_time:
        try:
            at = parse_time_of_day(group.delivery_time)
        except ValueError:
            log.warning("subscribers with bad delivery time %r get the publish time", group.delivery_time)
    return at, zone


def scheduler_service(
    settings: Settings, store: Store, on_publish: Iterable[OnPublish] = (), budget: Budget | None = None
) -> SchedulerService:
    """Return the scheduler as `qotd serve` runs it, with a broadcast Bot of its own.

    Without BOT_TOKEN it only publishes: fixes the day's quote and runs `on_publish`.
    budget: the bot's one budget, shared with the replies (None: the broadcast paces alone).
    """
    pacing = Pacing.for_settings(settings.allow_paid_broadcast, budget=budget)
    bot = None
    if settings.bot_token:
        from bot.delivery.broadcast import delivery_bot  # with a token only (see the imports)

        bot = delivery_bot(settings.bot_token, settings.telegram_api_url, pacing)
    return SchedulerService(settings, store, bot, on_publish=on_publish, pacing=pacing, manage_bot=True)


# --- the service -------------------------------------------------------------------------------


class SchedulerService:
    """The daily publish and the deliveries, active in one instance only.

    The service interface `qotd serve` uses: `await start()`, `await stop()`, `state`
    ("stopped", "standby", "leader", or "retrying" while one of its tasks is failing) and
    `health()` for /healthz. Its long-lived tasks (the leadership loop, the wake-ups, the
    broadcast, the ledger's journal) each run under a `Supervisor` (bot/supervise.py): a
    failure is logged once with its cause, retried with backoff, and shown in health. When the
    database goes away the leader steps down; when it comes back, whichever instance takes the
    leadership (a new epoch) writes what the old broadcast could not, and resumes the day.
    """

    name = "scheduler"  # how /healthz lists it

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bot: Bot | None,
        *,
        on_publish: Iterable[OnPublish] = (),
        manage_bot: bool = False,
        clock: Clock = utcnow,
        pacing: Pacing | None = None,
        leadership: Leadership | None = None,
        standby_poll: float = 5.0,
        wake_every: float = WAKE_EVERY,
    ):
        self.settings = settings
        self.store = store
        self.bot = bot
        self.on_publish = list(on_publish)
        self.manage_bot = manage_bot
        self.clock = clock
        self.pacing = pacing or Pacing.for_settings(settings.allow_paid_broadcast)
        self.ledger = Ledger(store)
        self.leadership = leadership
        self.standby_poll = standby_poll
        self.wake_every = wake_every
        self.role = "stopped"
        # Retried at least every RETRY_CAP seconds: back within that of the database's return.
        backoff = Backoff(first=0.5, cap=RETRY_CAP)
        self.supervisors = {
            name: Supervisor(f"scheduler: {name}", backoff=backoff, logger=log)
            for name in ("leadership", "wake-up", "broadcast", "delivery ledger")
        }
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="scheduler-db")
        self._planned: set[tuple[dt.date, Group]] = set()
        self._published: set[dt.date] = set()
        self._fixed: set[dt.date] = set()
        self.edits = EditLedger(store)
        self.feed_folder = FeedFolder(settings, store, settings.feed_dir) if settings.feed_dir else None
        self._edit_run: EditRun | None = None
        self._groups: list[Group] = []
        self._broadcast_more = False
        self._broadcast_stopping = False
        self._fenced_epoch: int | None = None
        self._backlog: list[Outcome] = []  # outcomes a broadcast could not write (database down)
        self._channels: dict[int | str, int] = {}
        self._apscheduler: AsyncIOScheduler | None = None
        self._watch: asyncio.Task | None = None
        self._broadcast: Broadcast | None = None
        self._broadcast_task: asyncio.Task | None = None
        self._tick_lock = asyncio.Lock()
        self.last_report: Report | None = None
        self.last_edits: EditReport | None = None
        self.last_wake: dt.datetime | None = None

    @property
    def state(self) -> str:
        if self.role != "stopped" and any(not s.healthy for s in self.supervisors.values()):
            return "retrying"
        return self.role

    @property
    def epoch(self) -> int | None:
        return self.leadership.epoch if self.leadership is not None and self.role == "leader" else None

    def health(self) -> dict:
        """What /healthz shows of the scheduler: its role, epoch, last wake-up and its tasks."""
        return {
            "role": self.role,
            "epoch": self.epoch,
            "last_wake": self.last_wake.isoformat() if self.last_wake else None,
            "tasks": {name: s.snapshot() for name, s in self.supervisors.items()},
        }

    @property
    def catch_up(self) -> dt.timedelta:
        return dt.timedelta(hours=self.settings.catch_up_hours)

    async def _db(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start: become leader if nobody is, else stand by and take over when the leader dies."""
        if self.role != "stopped":
            return
        if self.leadership is None:
            self.leadership = leadership_for(self.store, self.settings.leader_lease_seconds)
        if self.manage_bot and self.bot is not None:
            try:
                await self.bot.initialize()
            except Exception as exc:  # Telegram unreachable now: sends will retry, then fail
                log.warning("scheduler: could not reach the Bot API at start: %s", describe(exc))
        self.role = "standby"
        self._watch = asyncio.create_task(self._keep_leadership(), name="scheduler-leadership")
        await asyncio.sleep(0)

    async def stop(self) -> None:
        """Stop within 10 seconds: the broadcast ends with the ledger consistent, the lock is freed."""
        if self.role == "stopped":
            return
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        await self._step_down()
        if self._backlog:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._write_backlog(), timeout=2)
        if self.leadership is not None:
            await self._db(self.leadership.release)
        if self.manage_bot and self.bot is not None:
            with contextlib.suppress(Exception):
                await self.bot.shutdown()
        self.executor.shutdown(wait=True)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="scheduler-db")
        self.role = "stopped"
        for supervisor in self.supervisors.values():
            supervisor.stopped()

    async def _keep_leadership(self) -> None:
        await self.supervisors["leadership"].run(self._lead, on_failure=self._leadership_failed)

    async def _lead(self) -> None:
        """Stand by until the leadership is free, lead while it is held; raises what the database does."""
        leadership = self.leadership
        assert leadership is not None, "start() sets it before it starts this task"
        said_standby = False
        while True:
            if self._backlog:
                await self._write_backlog()
            if self.role == "standby":
                if await self._db(leadership.try_acquire):
                    await self._become_leader()
                    said_standby = False
                elif not said_standby:
                    log.info("scheduler: standing by: another instance is the leader")
                    said_standby = True
            elif not await self._db(leadership.holds):
                log.error("scheduler: another instance took the leadership; standing by")
                await self._step_down()
            self.supervisors["leadership"].worked()
            if self.role == "leader":
                await asyncio.sleep(min(self.standby_poll, leadership.renew_every))
            else:
                await asyncio.sleep(self.standby_poll)

    async def _leadership_failed(self, exc: BaseException) -> None:
        """The leadership could not be checked: whoever may be leading, it is not safely us."""
        if self.role == "leader":
            log.error("scheduler: stepping down until the leadership can be checked again")
        await self._step_down()

    async def _write_backlog(self) -> None:
        """Write the outcomes a broadcast could not (each only over a row its claim still holds)."""
        backlog = list(self._backlog)
        await self._db(self.ledger.record, backlog, self.clock())
        del self._backlog[: len(backlog)]
        log.info("scheduler: %d delivery outcomes written after the database came back", len(backlog))
        self.supervisors["delivery ledger"].worked()

    async def _become_leader(self) -> None:
        now = self.clock()
        uncertain, retried = await self._db(
            self.ledger.recover, now, self.settings.retry_uncertain, now - self.catch_up
        )
        self.role = "leader"
        self._fenced_epoch = None
        assert self.leadership is not None
        log.info(
            "scheduler: leader now (epoch %s); %d interrupted sends recorded uncertain, "
            "%d uncertain handed back",
            self.leadership.epoch,
            uncertain,
            retried,
        )
        self._planned.clear()
        self._published.clear()
        self._fixed.clear()
        await self._db(self.edits.recover, now)
        scheduler = AsyncIOScheduler(timezone=dt.UTC)
        # misfire_grace_time=None: a wake-up that starts late still runs (APScheduler's
        # default of 1 second would drop it); coalesce: several missed ones run once.
        scheduler.add_job(
            self.wake,
            IntervalTrigger(seconds=self.wake_every),
            id="safety-net",
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )
        scheduler.start()
        self._apscheduler = scheduler
        await self.wake()

    async def _step_down(self) -> None:
        if self._apscheduler is not None:
            self._apscheduler.shutdown(wait=False)
            self._apscheduler = None
        await self.stop_broadcast_and_wait()
        if self.role == "leader":
            self.role = "standby"
        for name in ("wake-up", "broadcast"):
            self.supervisors[name].stopped()

    def stop_broadcast(self) -> None:
        if self._broadcast is not None:
            self._broadcast.stop()
        if self._edit_run is not None:
            self._edit_run.stop()

    async def stop_broadcast_and_wait(self) -> None:
        task = self._broadcast_task
        if task is None:
            return
        self._broadcast_stopping = True
        self.stop_broadcast()
        try:
            done, _ = await asyncio.wait([task], timeout=self.pacing.grace + 2)
            if not done:  # waiting out a backoff, or stuck: cancel (the broadcast ends consistent)
                task.cancel()
                await asyncio.wait([task])
        finally:
            self._broadcast_stopping = False
            self._broadcast_task = None

    # --- the work --------------------------------------------------------------------------

    async def wake(self) -> None:
        """Work out what is due now, start delivering it, and set the next wake-up."""
        if self.role != "leader":
            return
        async with self._tick_lock:
            now = self.clock()
            self.last_wake = now
            supervisor = self.supervisors["wake-up"]
            try:
                await self.tick(now)
            except Exception as exc:
                retry = supervisor.failed(exc)
                self._schedule_retry(retry)
            else:
                supervisor.worked()
            self._start_broadcast()
            self._schedule_next(now)

    async def tick(self, now: dt.datetime) -> None:
        """Plan everything due by `now`, in the order it fell due: each day's start (its quote is
        fixed: quotes.days, the one rule), the publish, the channels, every subscriber group;
        then keep FEED_DIR in step and plan the edits that corrections need."""
        lookback = self.catch_up + LOOKBACK_EXTRA
        settings = self.settings
        zone = settings.timezone
        today = day_of(now, zone)
        publishes = due_dates(settings.publish_time, zone, now, lookback)
        # (instant, order, kind, day, group): the day a delivery carries is the one whose quote
        # is today's at its due instant, whatever the subscriber's own time and timezone.
        events: list[tuple[dt.datetime, int, str, dt.date, Group | None]] = []
        for day, due in due_dates(dt.time(0, 0), zone, now, lookback):
            # A day that began longer ago than the catch-up window is not fixed after the
            # fact (it was never shown), unless it is today.
            if day == today or catch_up_status(due, now, self.catch_up) == PENDING:
                events.append((due, 0, "start", day, None))
        events += [(due, 1, "publish", day, None) for day, due in publishes]
        if self.bot is not None:
            groups = self._groups = await self._db(self.ledger.groups)
            for group in groups:
                at, group_zone = group_schedule(group, settings)
                for _, due in due_dates(at, group_zone, now, lookback):
                    events.append((due, 2, "group", day_of(due, zone), group))
        events.sort(key=lambda event: (event[0], event[1]))
        for due, _, kind, day, group in events:
            if kind == "start":
                if day not in self._fixed:
                    await self._db(self._fix, day, now)
                    self._fixed.add(day)
            elif kind == "publish":
                if day not in self._published and (day in self._fixed or self._may_fix(due, now)):
                    # Feeds show every fixed day, so running the callbacks once, for the latest, is enough.
                    await self._publish(day, due, now, callbacks=day == publishes[-1][0])
            elif group is not None and (day, group) not in self._planned:
                fix = day in self._fixed or self._may_fix(due, now)
                pick = await self._db(self._fix if fix else self._stored, day, now)
                if pick is not None:
                    status = catch_up_status(due, now, self.catch_up)
                    added = await self._db(self.ledger.plan, day, pick.quote.id, group, due, status, now)
                    if added:
                        log.info(
                            "scheduler: %s: %d deliveries %s (due %s)", day, added, status, due.isoformat()
                        )
                self._planned.add((day, group))
        if self.feed_folder is not None:
            try:
                await self._db(self.feed_folder.refresh, now)
            except OSError as exc:
                log.error("scheduler: cannot write the feeds to %s: %s", self.feed_folder.folder, exc)
        if self.bot is None:  # Telegram is off: the quote is fixed and the feeds rebuilt, no more
            return
        await self._db(self._plan_edits)
        since = (now - lookback).date() - dt.timedelta(days=LOOK_BACK_DAYS)
        skipped = await self._db(self.ledger.skip_overdue, now - self.catch_up, now, since)
        if skipped:
            log.warning(
                "scheduler: %d deliveries past the %s catch-up window recorded skipped",
                skipped,
                self.catch_up,
            )

    def _may_fix(self, due: dt.datetime, now: dt.datetime) -> bool:
        """Whether something due at `due` may fix its day: not when it is past the catch-up window
        (a day nobody was shown is not fixed after the fact; its deliveries are not planned)."""
        return catch_up_status(due, now, self.catch_up) == PENDING

    def _stored(self, day: dt.date, now: dt.datetime) -> Pick | None:
        return self.store.stored_pick(day)

    def _fix(self, day: dt.date, now: dt.datetime) -> Pick | None:
        """Fix the day's quote (in order; None: a day before the newest fixed one, never shown)."""
        try:
            pick = self.store.fix_day(day, now)
        except NoQuoteError:
            log.error("scheduler: no quote for %s: every quote is hidden", day)
            return None
        if pick is None:
            log.warning("scheduler: %s was never published (a later day is fixed): nothing sent for it", day)
        return pick

    async def _publish(self, day: dt.date, due: dt.datetime, now: dt.datetime, callbacks: bool) -> None:
        pick = await self._db(self._fix, day, now)
        self._published.add(day)
        if pick is None:
            return
        status = catch_up_status(due, now, self.catch_up)
        log.info("scheduler: publishing %s: quote %s", day, pick.quote.id)
        for channel in self.settings.channel_ids if self.bot is not None else ():
            chat_id = await self._channel_id(channel)
            if chat_id is not None:
                await self._db(self.ledger.add, day, chat_id, pick.quote.id, due, now, status)
        for callback in self.on_publish if callbacks else ():
            try:
                result = callback(day, pick)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("scheduler: on_publish callback %r failed for %s", callback, day)

    async def _channel_id(self, channel: int | str) -> int | None:
        if isinstance(channel, int):
            return channel
        assert self.bot is not None, "_publish resolves channels only with a bot"
        if channel not in self._channels:
            try:
                self._channels[channel] = (await self.bot.get_chat(channel)).id
            except Exception as exc:
                log.error("scheduler: cannot resolve channel %s: %s", channel, exc)
                return None
        return self._channels[channel]

    def _start_broadcast(self) -> None:
        if self.bot is None:
            return
        if self._broadcast_task is not None and not self._broadcast_task.done():
            self._broadcast_more = True
            return
        self._broadcast_more = False
        self._broadcast_task = asyncio.create_task(
            self.supervisors["broadcast"].run(self._broadcast_passes), name="broadcast"
        )

    def _new_broadcast(self) -> Broadcast:
        """A broadcast pass under our leadership epoch; with CHANNEL_FORMAT=card the channels get
        the card (qotd/share.py)."""
        assert self.bot is not None and self.leadership is not None
        from bot.delivery.broadcast import Broadcast  # with a bot only (see the imports)
        from qotd.share import channel_cards  # bot.cards and PTB, through bot.messages' buttons

        channels = {c for c in self.settings.channel_ids if isinstance(c, int)} | set(self._channels.values())
        cards = channel_cards(self.settings, frozenset(channels))
        return Broadcast(
            self.bot,
            self.store,
            self.pacing,
            clock=self.clock,
            cards=cards,
            before_batch=self._plan_edits,
            epoch=self.leadership.epoch,
            fence=self.leadership.valid,
            journal_supervisor=self.supervisors["delivery ledger"],
        )

    async def _broadcast_passes(self) -> None:
        """Broadcast until nothing is due, then edit what corrections changed; raises what stopped
        it (the supervisor retries)."""
        bot = self.bot
        assert bot is not None, "_start_broadcast starts this task only with a bot"
        from bot.delivery.edits import EditRun  # with a bot only (see the imports)

        while True:
            leadership = self.leadership
            if (
                self.role != "leader"
                or self._broadcast_stopping
                or leadership is None
                or leadership.epoch == self._fenced_epoch
            ):
                return
            if self._backlog:
                await self._write_backlog()
            broadcast = self._broadcast = self._new_broadcast()
            try:
                self.last_report = await broadcast.run()
                self.supervisors["broadcast"].worked()
                if not broadcast.stop_requested and self.role == "leader" and not self._broadcast_more:
                    # The sends are done: now the edits, which give way as soon as a send is due.
                    self._edit_run = EditRun(
                        bot,
                        self.store,
                        self.pacing,
                        clock=self.clock,
                        sends_due=self._sends_due,
                        epoch=broadcast.epoch,
                        fence=broadcast.fence,
                    )
                    if (await self._edit_run.run()).yielded:
                        self._broadcast_more = True
            except Fenced:
                self._fenced_epoch = broadcast.epoch
                raise
            finally:
                self._backlog += broadcast.left
            # Rows planned while it ran are picked up by a new pass (unless we are stopping).
            if not self._broadcast_more or broadcast.stopping:
                return
            self._broadcast_more = False

    def _plan_edits(self) -> int:
        """Plan the corrections not planned yet (replaced days' unsent rows, sent messages' edits)."""
        channels = [c for c in (*self.settings.channel_ids, *self._channels.values()) if isinstance(c, int)]
        edits = self.edits.plan(self.clock(), self.settings.edit_sent, channels)
        if edits:
            log.info("scheduler: %d sent messages to edit after corrections", edits)
        return edits

    def _sends_due(self) -> bool:
        """Whether any delivery is due now (the edits then stop and let the broadcast go first)."""
        now = self.clock()
        return self.ledger.count_due(now, now.date() - dt.timedelta(days=LOOK_BACK_DAYS)) > 0

    def _schedule_retry(self, delay: float) -> None:
        """A wake-up failed: try again after the supervisor's backoff, not a minute later."""
        if self._apscheduler is None:
            return
        self._apscheduler.add_job(
            self.wake,
            DateTrigger(run_date=utcnow() + dt.timedelta(seconds=delay)),
            id="retry",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    def _schedule_next(self, now: dt.datetime) -> None:
        if self._apscheduler is None:
            return
        times = [next_due(self.settings.publish_time, self.settings.timezone, now)]
        for group in self._groups:
            at, zone = group_schedule(group, self.settings)
            times.append(next_due(at, zone, now))
        wake_at = min(times)
        # The wake-up's own clock is real time; convert from ours (tests and --now shift it).
        real = wake_at - (now - utcnow())
        self._apscheduler.add_job(
            self.wake,
            DateTrigger(run_date=real),
            id="next-due",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    async def run_once(self, wait_for_leadership: bool = True) -> Report:
        """Become leader, plan and deliver everything due now, release; return the report."""
        if self.leadership is None:
            self.leadership = leadership_for(self.store, self.settings.leader_lease_seconds)
        while not await self._db(self.leadership.try_acquire):
            if not wait_for_leadership:
                raise RuntimeError("another scheduler is the leader")
            await asyncio.sleep(self.standby_poll)
        try:
            now = self.clock()
            await self._db(self.ledger.recover, now, self.settings.retry_uncertain, now - self.catch_up)
            await self._db(self.edits.recover, now)
            self.role = "leader"
            await self.tick(now)
            if self.bot is None:
                return Report()
            self._broadcast = self._new_broadcast()
            self.last_report = await self._broadcast.run()
            if not self._broadcast.stop_requested:
                from bot.delivery.edits import EditRun  # with a bot only (see the imports)

                self._edit_run = EditRun(self.bot, self.store, self.pacing, clock=self.clock)
                self.last_edits = await self._edit_run.run()
            return self.last_report
        finally:
            self.role = "stopped"
            await self._db(self.leadership.release)
            self.executor.shutdown(wait=True)
