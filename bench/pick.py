"""Benchmark: picking a date's quote with 1,000,000 quotes in SQLite.

Builds a database with N quotes (default 1,000,000, beside a 1,000-quote one for comparison),
then fixes the quote of 365 consecutive days through the real Store.pick_for, timing each
pick, and checks that the 365 picks repeat nothing. Prints medians side by side.

    python bench/pick.py [--quotes 1000000] [--days 365] [--dir /tmp/qotd-bench]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from quotes.corpus import load_corpus
from quotes.selection import shuffle_key
from quotes.store import Store
from quotes.store import schema as t

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def build(path: Path, n: int) -> Store:
    store = Store.connect(f"sqlite:///{path}")
    store.upgrade()
    store.load_corpus(load_corpus(), NOW)  # the sources (and 20 curated quotes)
    batch = 50_000
    with store.write() as conn:
        for start in range(0, n, batch):
            rows = [
                {
                    "id": f"b-{i:07d}",
                    "text": f"Benchmark quote number {i}.",
                    "speaker": "Sergey Lavrov",
                    "source_id": "cfr-same-boat",
                    "date_precision": "unknown",
                    "topics": [],
                    "notes": [],
                    "hidden": i % 97 == 0,  # some hidden quotes, as in real life
                    "origin": "admin",
                    "admin_edited": False,
                    "created_at": NOW,
                    "updated_at": NOW,
                    "updated_by": "bench",
                    "cycle_due": 1,
                    "shuffle_key": shuffle_key(f"b-{i:07d}", 1),
                }
                for i in range(start, min(n, start + batch))
            ]
            conn.execute(t.quotes.insert(), rows)
    return store


def run(store: Store, days: int) -> tuple[list[float], list[str]]:
    timings, picked = [], []
    day = NOW.date()
    for _ in range(days):
        began = time.perf_counter()
        pick = store.pick_for(day, NOW)
        timings.append((time.perf_counter() - began) * 1000)
        picked.append(pick.quote.id)
        day += dt.timedelta(days=1)
    return timings, picked


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quotes", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="qotd-bench-"))
    results = {}
    for n in (args.small, args.quotes):
        path = folder / f"pick-{n}.sqlite3"
        path.unlink(missing_ok=True)
        began = time.perf_counter()
        store = build(path, n)
        built = time.perf_counter() - began
        with store.read() as conn:
            total = conn.scalar(sa.select(sa.func.count()).select_from(t.quotes))
        timings, picked = run(store, args.days)
        store.close()
        results[n] = timings
        repeats = len(picked) - len(set(picked))
        p95 = statistics.quantiles(timings, n=20)[18]
        print(
            f"{total:>9,} quotes (built in {built:5.1f} s): {args.days} picks, "
            f"median {statistics.median(timings):.2f} ms, p95 {p95:.2f} ms, "
            f"max {max(timings):.2f} ms, repeats {repeats}"
        )
        if repeats:
            print("FAIL: a quote repeated within the period", file=sys.stderr)
            return 1
    small, large = (statistics.median(results[n]) for n in (args.small, args.quotes))
    print(f"median ratio {args.quotes:,} / {args.small:,} quotes: {large / small:.2f}")
    target = statistics.median(results[args.quotes]) < 10
    print(f"target: median pick under 10 ms with {args.quotes:,} quotes: {'met' if target else 'MISSED'}")
    return 0 if target else 1


if __name__ == "__main__":
    sys.exit(main())
