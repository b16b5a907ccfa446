"""Broadcast benchmark: the real delivery engine against the emulator with Telegram's limits on.

Each scenario runs in processes of its own: the emulator (`python -m emulator`), and a child of
this script that creates the subscribers, plans the day and runs the broadcast (the code
`qotd serve` runs), so the child's peak RSS and CPU time are the delivery side's alone.

    python bench/broadcast.py                       # free tier, paid tier, memory 10k vs 1M
    python bench/broadcast.py --free 3000 --paid 30000 --memory 10000,1000000
    python bench/broadcast.py --only free --database-url postgresql://postgres@127.0.0.1/bench
    python bench/broadcast.py --mix 10,20,10        # 10% paused, 20% silent, 10% in forum topics
    python bench/broadcast.py --only paid --only free --runs 3   # each run, then the medians
    python bench/broadcast.py --only free --profile /tmp/prof     # the child under py-spy

Printed per scenario: subscribers, wall time, achieved rate ÷ limit, 429s received,
duplicates, misses, peak RSS, CPU seconds per 1,000 messages. With `--mix`, the paused
subscribers must get nothing (a message to one counts as a duplicate-like error: `paused sent`),
the silent ones go with disable_notification, and the topic subscribers are forum supergroups
with two subscribed topics each (one message per topic; a miss is a topic without its one).
Misses count only the subscribers who should get the quote. Memory scenarios run in paid
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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The checkout whose bot/ and emulator/ run: this one, or BENCH_ROOT's (the code before a
# change, measured by this same script: BENCH_ROOT=/path/to/old/checkout python bench/broadcast.py).
ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parents[1]).resolve()
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
    # It announces itself in `name=value` lines (`export BOT_TOKEN=…`, `control=…`; see
    # emulator/cli.py's `announcement`), between comment lines.
    info = {}
    while "control" not in info or not {"BOT_TOKEN", "token"} & info.keys():
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            raise SystemExit("the emulator did not start")
        key, _, value = line.strip().removeprefix("export ").partition("=")
        info[key] = value
    # (`token=` is how an emulator from before `export BOT_TOKEN=` announced it: BENCH_ROOT runs)
    return proc, info["control"].removesuffix("/_emulator/"), info.get("BOT_TOKEN") or info["token"]


TOPICS_PER_GROUP = 2
PY_SPY = ["py-spy", "record", "--idle", "--format", "raw", "--rate", "250", "--threads"]


def split(subscribers: int, mix: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """(private chats, of them paused, of them silent, forum groups) for a mix in percent."""
    paused, silent, topics = mix
    groups = subscribers * topics // 100 // TOPICS_PER_GROUP
    private = subscribers - groups * TOPICS_PER_GROUP
    return private, private * paused // 100, private * silent // 100, groups


def scenario(
    name: str,
    subscribers: int,
    paid: bool,
    database_url: str | None,
    mix: tuple[int, int, int] = (0, 0, 0),
    profile: Path | None = None,
) -> dict:
    from emulator import EmulatorClient

    emulator, url, token = start_emulator()
    private, paused, _silent, group_count = split(subscribers, mix)
    try:
        with EmulatorClient(url, timeout=600) as control:
            control.configure_limits(enabled=True)
            first, last = control.create_users(count=private)
            groups = []
            for _ in range(group_count):
                group = control.create_supergroup(is_forum=True)
                for topic in range(TOPICS_PER_GROUP):
                    control.create_topic(chat_id=group, title=f"topic {topic}")
                groups.append(group)
            with tempfile.TemporaryDirectory() as tmp:
                db = database_url or f"sqlite:///{tmp}/bench.sqlite3"
                Path(tmp, "groups.json").write_text(json.dumps(groups))
                # --profile: the child runs under py-spy (raw collapsed stacks, the idle frames
                # kept), so what a message costs can be read per function; its figures then
                # include py-spy's pauses, so they are not the benchmark's.
                out = profile / f"{name.split()[0]}.txt" if profile is not None else None
                spy = [] if out is None else [*PY_SPY, "--output", str(out), "--"]
                child = subprocess.run(
                    spy
                    + [
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
                        str(private),
                        "--mix",
                        ",".join(map(str, mix)),
                        "--groups",
                        str(Path(tmp, "groups.json")),
                    ]
                    + (["--paid"] if paid else []),
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    env=os.environ | {"PYTHONPATH": str(ROOT)},
                    check=False,
                )
            if child.returncode != 0:
                raise SystemExit(f"{name}: the broadcast failed:\n{child.stderr[-3000:]}")
            # (the figures are the child's last JSON line: py-spy, with --profile, writes after it)
            result = json.loads([line for line in child.stdout.splitlines() if line.startswith("{")][-1])
            counters = control.counters(per_chat=True)
    finally:
        emulator.terminate()
        emulator.wait()
    per_chat = counters["messages_per_chat"]
    due = range(first + paused, last + 1)  # the first `paused` private chats paused
    received = sum(1 for chat in due if per_chat.get(str(chat), 0) >= 1)
    received += sum(min(per_chat.get(str(group), 0), TOPICS_PER_GROUP) for group in groups)
    limit = 1000.0 if paid else 30.0
    result.update(
        name=name,
        subscribers=subscribers,
        limit=limit,
        too_many_requests=counters["too_many_requests"],
        duplicates=counters["duplicates"],
        misses=len(due) + TOPICS_PER_GROUP * len(groups) - received,
        paused_sent=sum(per_chat.get(str(chat), 0) for chat in range(first, first + paused)),
        ratio=result["rate"] / limit,
    )
    return result


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def child(args) -> None:
    """Set up the database and the subscribers, then run one broadcast and print JSON figures."""
    import logging

    from bot.delivery.broadcast import Broadcast, delivery_bot
    from bot.delivery.ledger import PENDING, Group, Ledger, add_subscribers

    try:
        from bot.delivery.pacing import Pacing
    except ImportError:  # a checkout from before Pacing moved there (BENCH_ROOT, the before code)
        from bot.delivery.broadcast import Pacing  # type: ignore[attr-defined,no-redef]
    from quotes.corpus import load_corpus
    from quotes.store import Store

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    store = Store.connect(args.db)
    if store.is_sqlite:
        store.upgrade()
    else:
        store.upgrade()
    store.load_corpus(load_corpus(), NOW)
    since = NOW - dt.timedelta(days=1)
    mix = tuple(int(p) for p in args.mix.split(","))
    ids = list(range(args.first, args.first + args.count))
    paused, silent = len(ids) * mix[0] // 100, len(ids) * mix[1] // 100
    if any(mix):  # (this branch's subscriber controls; without --mix the call is main's)
        add_subscribers(store, ids[:paused], since, paused_at=since)
        add_subscribers(store, ids[paused : paused + silent], since, silent=True)
        add_subscribers(store, ids[paused + silent :], since)
        groups = json.loads(Path(args.groups).read_text())
        for thread in range(1, TOPICS_PER_GROUP + 1):  # (a topic's id is its creation message's: 1, 2)
            add_subscribers(store, groups, since, kind="supergroup", thread_id=thread)
    else:
        add_subscribers(store, ids, since)
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
                "planned": ledger.counts(NOW.date()),
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
        parser.add_argument("--mix", default="0,0,0")
        parser.add_argument("--groups")
        child(parser.parse_args())
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--free", type=int, default=3000, help="subscribers for the free-tier run")
    parser.add_argument("--paid", type=int, default=30000, help="subscribers for the paid run")
    parser.add_argument("--memory", default="10000,1000000", help="subscriber counts to compare RSS")
    parser.add_argument("--only", choices=("free", "paid", "memory"), action="append")
    parser.add_argument("--database-url", help="default: a fresh SQLite file per scenario")
    parser.add_argument(
        "--mix",
        default="0,0,0",
        help="percent of subscribers paused, silent, in forum topics (e.g. 10,20,10)",
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="rounds of the scenarios; each run is printed, then the medians"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run each broadcast child under py-spy; collapsed stacks go to DIR/<scenario>.txt",
    )
    args = parser.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    mix = tuple(int(p) for p in args.mix.split(","))
    if len(mix) != 3 or not all(0 <= p <= 100 for p in mix) or mix[0] + mix[1] > 100:
        raise SystemExit(
            f"--mix {args.mix}: three percentages (paused, silent, topics), paused + silent ≤ 100"
        )
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
    ) + (f"{'paused sent':>13}" if any(mix) else "")
    print(header, flush=True)

    def row(r: dict, name: str | None = None) -> str:
        return (
            f"{name or r['name']:<18}{r['subscribers']:>12,}{r['wall']:>9.1f}{r['rate']:>9.1f}"
            f"{r['ratio']:>9.1%}"
            f"{r['too_many_requests']:>6}{r['duplicates']:>6}{r['misses']:>8}{r['peak_rss_mb']:>13.1f}"
            f"{r['cpu_per_1000']:>10.2f}" + (f"{r['paused_sent']:>13}" if any(mix) else "")
        )

    results = []
    rounds: dict[str, list[dict]] = {}
    for _ in range(args.runs):
        for name, n, paid in runs:
            r = scenario(name, n, paid, args.database_url, mix, args.profile)
            results.append(r)
            rounds.setdefault(name, []).append(r)
            print(row(r), flush=True)
    if args.runs > 1:
        print(f"medians of {args.runs} runs:")
        for name, rs in rounds.items():
            median = {
                key: statistics.median(r[key] for r in rs) if _number(rs[0][key]) else rs[0][key]
                for key in rs[0]
            }
            print(row(median, name), flush=True)
    memory = [r for r in results if r["name"].startswith("memory")]
    if len(memory) >= 2:
        small, big = memory[0], memory[-1]
        print(
            f"peak RSS {big['subscribers']:,} ÷ {small['subscribers']:,} subscribers: "
            f"{big['peak_rss_mb'] / small['peak_rss_mb']:.2f}x"
        )


if __name__ == "__main__":
    main()
