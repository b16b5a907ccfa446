"""`qotd deliver`: catch up and deliver what is due from the command line, or run the scheduler alone.

`qotd deliver --once` becomes the leader, plans and sends everything due now, and exits (what
the crash tests run as a real process); `qotd deliver --serve` runs the scheduler until SIGTERM.
`--now` shifts the clock, so a test can run a broadcast "at" any instant. Its options are
parsed in qotd/cli.py.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import signal

from bot.delivery.broadcast import delivery_bot
from bot.delivery.journal import Clock
from bot.delivery.pacing import Pacing, utcnow
from qotd.scheduler import SchedulerService
from qotd.settings import Settings
from quotes.store import Store


class DeliverError(Exception):
    """The delivery cannot run as asked; the message says why."""


def shifted_clock(start: dt.datetime | None) -> Clock:
    """Return a clock that reads `start` now and runs on in real time (or the real clock)."""
    if start is None:
        return utcnow
    if start.tzinfo is None:
        raise DeliverError("--now needs a timezone offset, such as 2026-11-23T09:00:00+00:00")
    offset = start - utcnow()
    return lambda: utcnow() + offset


async def _run(args: argparse.Namespace, settings: Settings, clock: Clock) -> None:
    changes: dict[str, float | int] = {}
    if args.rate:
        changes["rate"] = args.rate
    if args.concurrency:
        changes["concurrency"] = args.concurrency
    pacing = Pacing.for_settings(settings.allow_paid_broadcast, **changes)
    store = Store.connect(settings.database_url)
    assert settings.bot_token is not None  # checked by deliver()
    bot = delivery_bot(settings.bot_token, settings.telegram_api_url, pacing)
    service = SchedulerService(
        settings, store, bot, clock=clock, pacing=pacing, standby_poll=args.standby_poll
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with bot:
            if args.once:
                run = asyncio.create_task(service.run_once())
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait([run, stopper], return_when=asyncio.FIRST_COMPLETED)
                if not run.done():
                    service.stop_broadcast()
                report = await run
                stopper.cancel()
                print(f"delivered: {report}", flush=True)
            else:
                await service.start()
                await stop.wait()
                await service.stop()
    finally:
        store.close()


def deliver(args: argparse.Namespace, settings: Settings) -> None:
    """Run `qotd deliver` with its parsed arguments."""
    if not settings.bot_token:
        raise DeliverError("BOT_TOKEN is not set: there is nobody to deliver as")
    clock = shifted_clock(args.now)
    # Logging is set up by the command (qotd/logs.py): redacted, httpx's chatter below INFO.
    asyncio.run(_run(args, settings, clock))
