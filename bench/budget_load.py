"""Readers during a broadcast: the bot's one budget (bot/budget.py) against two separate ones.

The emulator runs with Telegram's limits on (30 messages/s a bot, 1/s a chat). One process
runs the real PTB application (handlers, throttle, ReplyLimiter) and the real broadcast engine
on one SQLite store: the broadcast goes to `--subscribers` chats while `--readers` other users
each send /random or /search (spread over `--spread` seconds, starting 2 s in). Two modes:

* shared: the service as it is, the replies and the broadcast on one budget;
* separate: the replies' limiter and the broadcast's pacer each with a budget of its own, as
  before this change (the broadcast at 29.7/s, the replies up to 5/s on top).

    python bench/budget_load.py                     # shared, then separate, 1000 readers
    python bench/budget_load.py --modes shared --readers 1000 --subscribers 1500

Printed per mode: 429s the emulator answered, replies delivered / readers, broadcast messages
delivered / subscribers, duplicates, the broadcast's rate, the bot's overall rate, wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.broadcast import start_emulator  # noqa: E402 (the path above first)

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


async def run_mode(mode: str, readers: int, subscribers: int, spread: float) -> dict:
    from bot.app import build_application
    from bot.budget import LocalBudget, Shape
    from bot.delivery.broadcast import Broadcast, delivery_bot
    from bot.delivery.ledger import PENDING, Group, Ledger, add_subscribers
    from bot.delivery.pacing import Pacing
    from bot.limits import LimitSettings
    from emulator import EmulatorClient
    from qotd.settings import Settings
    from quotes.corpus import load_corpus
    from quotes.store import Store

    emulator, url, token = start_emulator()
    tmp = tempfile.TemporaryDirectory()
    try:
        with EmulatorClient(url, timeout=600) as control:
            control.configure_limits(enabled=True)
            sub_first, _ = control.create_users(count=subscribers)
            reader_first, _ = control.create_users(count=readers)
            store = Store.connect(f"sqlite:///{tmp.name}/bench.sqlite3")
            store.upgrade()
            store.load_corpus(load_corpus(), NOW)
            add_subscribers(store, range(sub_first, sub_first + subscribers), NOW - dt.timedelta(days=1))
            pick = store.pick_for(NOW.date(), NOW)
            Ledger(store).plan(NOW.date(), pick.quote.id, Group(None, None), NOW, PENDING, NOW)
            settings = Settings.from_env(
                {"BOT_TOKEN": token, "TELEGRAM_API_URL": url, "DATA_DIR": tmp.name, "TIMEZONE": "UTC"}
            )
            limits = LimitSettings()
            if mode == "shared":
                budget = LocalBudget(Shape.for_limits(limits))
                pacing = Pacing.for_settings(False, budget=budget)
                application = build_application(settings, store, updater=False, limits=limits, budget=budget)
            else:
                pacing = Pacing.for_settings(False)
                application = build_application(settings, store, updater=False, limits=limits)
            commands = ["/random", "/search peace", "/search security", "/random"]
            rng = random.Random(14)
            started = time.monotonic()
            async with application, delivery_bot(token, url, pacing) as bot:
                broadcast = Broadcast(bot, store, pacing, clock=lambda: NOW)
                broadcasting = asyncio.create_task(broadcast.run())

                async def readers_send():
                    await asyncio.sleep(2)
                    for n in range(readers):
                        text = rng.choice(commands)
                        await asyncio.to_thread(
                            lambda u=reader_first + n, t=text: control.send_text(user_id=u, text=t)
                        )
                        await asyncio.sleep(spread / readers)

                async def handle():
                    offset, tasks = 0, set()
                    while True:
                        updates = await application.bot.get_updates(offset=offset, timeout=0)
                        for update in updates:
                            offset = update.update_id + 1
                            task = asyncio.create_task(application.process_update(update))
                            tasks.add(task)
                            task.add_done_callback(tasks.discard)
                        if not updates:
                            if sending.done() and not tasks:
                                return
                            await asyncio.sleep(0.05)

                sending = asyncio.create_task(readers_send())
                handling = asyncio.create_task(handle())
                report = await broadcasting
                broadcast_wall = report.elapsed
                await sending
                await handling
            wall = time.monotonic() - started
            counters = control.counters(per_chat=True)
            store.close()
    finally:
        emulator.terminate()
        emulator.wait()
        tmp.cleanup()
    per_chat = counters["messages_per_chat"]
    answered = sum(1 for n in range(readers) if per_chat.get(str(reader_first + n), 0) >= 1)
    delivered = sum(1 for n in range(subscribers) if per_chat.get(str(sub_first + n), 0) >= 1)
    return {
        "mode": mode,
        "too_many_requests": counters["too_many_requests"],
        "answered": answered,
        "readers": readers,
        "delivered": delivered,
        "subscribers": subscribers,
        "duplicates": counters["duplicates"],
        "broadcast_rate": report.sent / broadcast_wall,
        "overall_rate": counters["messages_sent"] / wall,
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=1500)
    parser.add_argument("--spread", type=float, default=30.0, help="seconds over which readers write")
    parser.add_argument("--modes", default="shared,separate")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")
    header = (
        f"{'mode':<10}{'429s':>6}{'answered':>14}{'delivered':>14}{'dups':>6}"
        f"{'broadcast/s':>13}{'overall/s':>11}{'wall s':>8}"
    )
    print(header, flush=True)
    for mode in args.modes.split(","):
        r = asyncio.run(run_mode(mode, args.readers, args.subscribers, args.spread))
        print(
            f"{r['mode']:<10}{r['too_many_requests']:>6}{r['answered']:>8}/{r['readers']:<5}"
            f"{r['delivered']:>8}/{r['subscribers']:<5}{r['duplicates']:>6}{r['broadcast_rate']:>13.1f}"
            f"{r['overall_rate']:>11.1f}{r['wall']:>8.1f}",
            flush=True,
        )
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
