"""CPU per journal commit (one outcome and one claim, as at the free tier), three ways.

    python bench/ledger_commit.py                       # SQLite, 33 ms apart (30/s) and back to back
    python bench/ledger_commit.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

* `core`: each commit checks a connection out of the pool and runs the statements through
  SQLAlchemy Core's `Connection.execute` (how `Ledger.apply` ran them before quotes/store/hot.py);
* `pool`: `Ledger.apply` as it is, with a connection from the pool each time;
* `held`: `Ledger.apply` with the connection the journal holds (`Ledger.writer()`).

Each way gets a fresh database of its own. The figure is the process's CPU time per commit
(time.process_time around each commit only), the median of `--rounds` rounds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from bot.delivery import ledger as L
from bot.delivery.ledger import PENDING, SENT, Group, Ledger, Outcome, add_subscribers
from quotes.corpus import load_corpus
from quotes.store import Store

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DAY = NOW.date()


def core_apply(store: Store, outcome: Outcome | None, chat: int) -> None:
    """The commit as Core ran it: a pooled connection, `Connection.execute` for each statement."""
    claim = L._claim_statement(store.engine.dialect.name, False, 1)
    with store.write() as conn:
        if outcome is not None:
            conn.execute(Ledger._record_stmt, Ledger._record_params([outcome], NOW))
        values = {"c_date": DAY, "c_chat_0": chat, "c_thread": 0, "c_now": NOW, "c_epoch": None}
        assert conn.scalars(claim, values).all() == [chat]


def fresh(url: str | None, tmp: str, n: int, name: str) -> tuple[Store, list[int]]:
    store = Store.connect(url or f"sqlite:///{tmp}/{name}.sqlite3")
    if url:
        with store.write() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    store.upgrade()
    store.load_corpus(load_corpus(), NOW)
    ids = list(range(1_000_000, 1_000_000 + n))
    add_subscribers(store, ids, NOW - dt.timedelta(days=1))
    pick = store.pick_for(DAY, NOW)
    Ledger(store).plan(DAY, pick.quote.id, Group(None, None), NOW, PENDING, NOW)
    return store, ids


def run(way: str, url: str | None, n: int, gap: float) -> float:
    """Microseconds of CPU per commit."""
    with tempfile.TemporaryDirectory() as tmp:
        store, ids = fresh(url, tmp, n, way)
        ledger = Ledger(store)
        writer = ledger.writer() if way == "held" else None
        cpu, prev = 0.0, None
        for i, chat in enumerate(ids):
            if gap:
                time.sleep(gap)
            outcome = Outcome(DAY, prev, SENT, message_id=i) if prev is not None else None
            started = time.process_time()
            if way == "core":
                core_apply(store, outcome, chat)
            else:
                assert ledger.apply([outcome] if outcome else [], [(DAY, chat, 0)], NOW, None, writer)
            cpu += time.process_time() - started
            prev = chat
        if writer is not None:
            writer.close()
        assert ledger.counts(DAY)[SENT] == n - 1
        store.close()
    return cpu / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file per way")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--paced", type=int, default=300, help="commits 33 ms apart per round")
    parser.add_argument("--tight", type=int, default=2000, help="commits back to back per round")
    args = parser.parse_args()
    ways = ("core", "pool", "held")
    print(f"{'way':<6} {'33 ms apart µs':>15} {'back to back µs':>16}")
    figures = {}
    for way in ways:
        paced = [run(way, args.database_url, args.paced, 1 / 30) for _ in range(args.rounds)]
        tight = [run(way, args.database_url, args.tight, 0.0) for _ in range(args.rounds)]
        figures[way] = (statistics.median(paced), statistics.median(tight))
        print(f"{way:<6} {figures[way][0]:>15,.0f} {figures[way][1]:>16,.0f}", flush=True)
    core, held = figures["core"], figures["held"]
    print(f"held ÷ core: {held[0] / core[0]:.2f} (33 ms apart), {held[1] / core[1]:.2f} (back to back)")


if __name__ == "__main__":
    main()
