"""Benchmark the bot's database reads at corpus sizes: search, duplicate check, random quote.

    python bench/bot_search.py [--sizes 10000,100000,1000000] [--repeat 7] [--url sqlite:///...]

Builds a SQLite database per size (the curated corpus plus synthetic quotes: random words,
1,000 speakers, 60 topics), then prints the median time of each operation and, beside it,
the time of reading every quote (what a search that loads the table would cost at least).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from quotes.corpus import load_corpus
from quotes.search import find_duplicate, random_quote, search
from quotes.selection import shuffle_key
from quotes.store import Store
from quotes.store import schema as t

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
BATCH = 20_000


def fill(store: Store, size: int, rng: random.Random) -> None:
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnoprstuvwy") for _ in range(rng.randint(3, 9))) for _ in range(8000)
    ]
    vocabulary += ["security", "nato", "cooperation", "peace", "treaty", "europe"]
    speakers = [f"Speaker {n:04d}" for n in range(1000)]
    topics = [f"topic{n:02d}" for n in range(60)]
    with store.write() as conn:
        for start in range(0, size, BATCH):
            rows = []
            for n in range(start, min(size, start + BATCH)):
                quote_id = f"x-{n:07d}"
                rows.append(
                    {
                        "id": quote_id,
                        "text": " ".join(rng.choices(vocabulary, k=rng.randint(12, 40))).capitalize() + ".",
                        "speaker": rng.choice(speakers),
                        "speaker_role": None,
                        "source_id": "cfr-same-boat",
                        "cites_id": None,
                        "date": "2010",
                        "date_precision": "year",
                        "paragraph": None,
                        "char_offset": None,
                        "topics": rng.sample(topics, 2),
                        "notes": [],
                        "hidden": False,
                        "origin": "admin",
                        "admin_edited": False,
                        "curated_digest": None,
                        "created_at": NOW,
                        "updated_at": NOW,
                        "updated_by": "bench",
                        "cycle_due": 1,
                        "shuffle_key": shuffle_key(quote_id, 1),
                    }
                )
            conn.execute(t.quotes.insert(), rows)


def median_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def read_all(store: Store) -> int:
    with store.read() as conn:
        return sum(1 for _ in conn.execute(sa.select(t.quotes.c.id, t.quotes.c.text, t.quotes.c.topics)))


def measure(store: Store, size: int, rng: random.Random, repeat: int) -> None:
    sample = store.quote(f"x-{size // 2:07d}").text
    variant = sample.replace(" ", "  ")  # a duplicate with other spacing
    assert find_duplicate(store, variant) is not None
    operations = {
        "search 'Sergei NATO' (alias+word)": lambda: search(store, "Sergei NATO"),
        "search 'security peace' (common)": lambda: search(store, "security peace"),
        "search 'topic07' (topic)": lambda: search(store, "topic07"),
        "search 'qqqzzz' (no match)": lambda: search(store, "qqqzzz"),
        "duplicate check (found)": lambda: find_duplicate(store, variant),
        "duplicate check (new text)": lambda: find_duplicate(store, "An entirely new sentence here."),
        "random quote": lambda: random_quote(store, rng),
        "reference: read every quote": lambda: read_all(store),
    }
    for name, call in operations.items():
        print(f"{size:>9}  {name:<34} {median_ms(call, repeat):>10.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"{'quotes':>9}  {'operation':<34} {'median ms':>10}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            store = Store.connect(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
            store.upgrade()
            store.load_corpus(load_corpus(), NOW)
            fill(store, size, rng)
            measure(store, size, rng, args.repeat)
            store.close()


if __name__ == "__main__":
    main()
