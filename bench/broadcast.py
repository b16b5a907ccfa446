"""Broadcast benchmark: the real delivery engine against the emulator with Telegram's limits on.

Each scenario runs in processes of its own: the emulator (`python -m emulator`), and a child of
this script that creates the subscribers, plans the day and runs the broadcast (the code
`qotd serve` runs), so the child's peak RSS and CPU time are the delivery side's alone.

    python bench/broadcast.py                       # free tier, paid tier, memory 10k vs 1M
    python bench/broadcast.py --free 3000 --paid 30000 --memory 10000,1000000
    python bench/broadcast.py --only free --database-url postgresql://postgres@127.0.0.1/bench

Printed per scenario: subscribers, wall time, achieved rate ÷ limit, 429s received,
duplicates, misses, peak RSS, CPU seconds per 1,000 messages. Memory scenarios run in paid
mode (1000/s limit on in the emulator) with every subscriber delivered: the same streaming,
ledger and pacing, only more of it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def start_emulator() -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    info = {}
    while len(info) < 4:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the emulator did not start")
        key, _, value = line.strip().partition("=")
        info[key] = value
    return proc, info["control"].removesuffix("/_emulator/"), info["token"]


def scenario(name: str, subscribers: int, paid: bool, database_url: str | None) -> dict:
    from emulator import EmulatorClient

    emulator, url, token = start_emulator()
    try:
        with EmulatorClient(url, timeout=600) as control:
            control.configure_limits(enabled=True)
            first, last = control.create_users(count=subscribers)
            with tempfile.TemporaryDirectory() as tmp:
                db = database_url or f"sqlite:///{tmp}/bench.sqlite3"
                child = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "_child",
                        "--url",
                        url,
                        "--token",
                        token,
                        "--db",
                        db,
                        "--first",
                        str(first),
                        "--count",
                        str(subscribers),
                    ]
                    + (["--paid"] if paid else []),
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    env=os.environ | {"PYTHONPATH": str(ROOT), "PTB_TIMEDELTA": "true"},
                    check=False,
                )
            if child.returncode != 0:
                raise SystemExit(f"{name}: the broadcast failed:\n{child.stderr[-3000:]}")
            result = json.loads(child.stdout.strip().splitlines()[-1])
            counters = control.counters(per_chat=True)
    finally:
        emulator.terminate()
        emulator.wait()
    per_chat = counters["messages_per_chat"]
    received = sum(1 for chat in range(first, last + 1) if per_chat.get(str(chat), 0) >= 1)
    limit = 1000.0 if paid else 30.0
    result.update(
        name=name,
        limit=limit,
        too_many_requests=counters["too_many_requests"],
        duplicates=counters["duplicates"],
        misses=subscribers - received,
        ratio=result["rate"] / limit,
    )
    return result


def child(args) -> None:
    """Set up the database and the subscribers, then run one broadcast and print JSON figures."""
    import logging

    from bot.delivery.broadcast import Broadcast, Pacing, delivery_bot
    from bot.delivery.ledger import PENDING, Group, Ledger, add_subscribers
    from quotes.corpus import load_corpus
    from quotes.store import Store

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    store = Store.connect(args.db)
    if store.is_sqlite:
        store.upgrade()
    else:
        store.upgrade()
    store.load_corpus(load_corpus(), NOW)
    add_subscribers(store, range(args.first, args.first + args.count), NOW - dt.timedelta(days=1))
    ledger = Ledger(store)
    pick = store.pick_for(NOW.date(), NOW)
    ledger.plan(NOW.date(), pick.quote.id, Group(None, None), NOW, PENDING, NOW)
    pacing = Pacing.for_settings(args.paid)

    async def run():
        async with delivery_bot(args.token, args.url, pacing) as bot:
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            started = time.monotonic()
            report = await Broadcast(bot, store, pacing, clock=lambda: NOW).run()
            wall = time.monotonic() - started
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        return report, wall, cpu

    report, wall, cpu = asyncio.run(run())
    store.close()
    print(
        json.dumps(
            {
                "subscribers": args.count,
                "sent": report.sent,
                "retry_after": report.retry_after,
                "wall": wall,
                "rate": report.sent / wall,
                "cpu_per_1000": cpu / max(report.sent, 1) * 1000,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        parser = argparse.ArgumentParser()
        parser.add_argument("_child")
        for name in ("--url", "--token", "--db"):
            parser.add_argument(name, required=True)
        parser.add_argument("--first", type=int, required=True)
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--paid", action="store_true")
        child(parser.parse_args())
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--free", type=int, default=3000, help="subscribers for the free-tier run")
    parser.add_argument("--paid", type=int, default=30000, help="subscribers for the paid run")
    parser.add_argument("--memory", default="10000,1000000", help="subscriber counts to compare RSS")
    parser.add_argument("--only", choices=("free", "paid", "memory"), action="append")
    parser.add_argument("--database-url", help="default: a fresh SQLite file per scenario")
    args = parser.parse_args()
    only = set(args.only or ("free", "paid", "memory"))
    runs = []
    if "free" in only:
        runs.append(("free 30/s", args.free, False))
    if "paid" in only:
        runs.append(("paid 1000/s", args.paid, True))
    if "memory" in only:
        runs += [(f"memory {n:,}", n, True) for n in map(int, args.memory.split(","))]
    header = (
        f"{'scenario':<18}{'subscribers':>12}{'wall s':>9}{'rate/s':>9}{'÷ limit':>9}"
        f"{'429s':>6}{'dups':>6}{'misses':>8}{'peak RSS MB':>13}{'CPU s/1k':>10}"
    )
    print(header, flush=True)
    results = []
    for name, n, paid in runs:
        r = scenario(name, n, paid, args.database_url)
        results.append(r)
        print(
            f"{r['name']:<18}{r['subscribers']:>12,}{r['wall']:>9.1f}{r['rate']:>9.1f}{r['ratio']:>9.1%}"
            f"{r['too_many_requests']:>6}{r['duplicates']:>6}{r['misses']:>8}{r['peak_rss_mb']:>13.1f}"
            f"{r['cpu_per_1000']:>10.2f}",
            flush=True,
        )
    memory = [r for r in results if r["name"].startswith("memory")]
    if len(memory) >= 2:
        small, big = memory[0], memory[-1]
        print(
            f"peak RSS {big['subscribers']:,} ÷ {small['subscribers']:,} subscribers: "
            f"{big['peak_rss_mb'] / small['peak_rss_mb']:.2f}x"
        )


if __name__ == "__main__":
    main()
