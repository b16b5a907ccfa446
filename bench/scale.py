"""Flat cost as the corpus grows: every path at 1,000 and at 1,000,000 quotes, side by side.

    python bench/scale.py [--sizes 1000,1000000] [--rounds 3] [--seconds 5] [--connections 64]
                          [--dir /tmp/qotd-scale] [--code PATH] [--only store,startup,pages,sitemap]
                          [--bytecode cached|none]

Builds one SQLite database per size through the store (its migrations, the corpus loader, bulk
inserts into its schema's tables, the picks through Store.pick_for): `n` quotes in sources of
11 quotes each, 3% of them carrying the topic "sanctions", and a pick for each of the last
3,650 days (the service runs with FEED_DAYS at its default, 30). A database already in --dir
is reused. Then, in alternating rounds (every size once a round):

- in this process, every size's before any server of the round starts: the data-version
  check (Store.changes), a random quote, a topic search (median milliseconds of repeated calls);
- `qotd serve` on that database, started fresh each round: start-up to the first 200 of `/`
  (seconds), then wrk with 64 connections on /atom.xml, /q/<id>, /sources/<id> (a source with
  11 quotes) and / (requests per second), and the size of /;
- the sitemaps: the first answer of /sitemap.xml (milliseconds: the index's one render per
  data version), then of the middle sitemap of quotes it lists (the one render of its slice,
  per 1,000 URLs it lists: a sitemap holds up to 10,000, so 1,000 quotes fill a tenth of one),
  then wrk on both (the sitemap gzipped, as crawlers take it). Code whose /sitemap.xml is one file
  of every URL (the before build) has its first answer measured alone.

`qotd serve` runs with its compiled modules kept between starts (--bytecode cached, in --dir
under pycache/, outside the checkouts; one start before the rounds, not measured, compiles
them), as an installed service has them (pip compiles what it installs); --bytecode none
compiles the checkout's modules at every start instead (PYTHONDONTWRITEBYTECODE=1).

--only picks among those groups (store, startup, pages, sitemap; start-up is measured whenever
the service is started), so that a run can measure one thing in a short time.

Prints each path's figure at every size, the cost ratio of the largest size to the smallest
(time ÷ time, or rate ÷ rate inverted: above 1 means slower at scale) and ends with
`worst: PATH RATIO`. --code runs another checkout's code (the before build) with the same
measurements. Needs Debian's wrk (apt-get install -y wrk). `cat /proc/loadavg` is printed with
every round.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]


def _code_root() -> Path:
    """The checkout whose code is measured: --code if given (read before the imports)."""
    for i, arg in enumerate(sys.argv):
        if arg == "--code" and i + 1 < len(sys.argv):
            return Path(sys.argv[i + 1]).resolve()
        if arg.startswith("--code="):
            return Path(arg.split("=", 1)[1]).resolve()
    return ROOT


CODE = _code_root()
sys.path.insert(0, str(CODE))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from quotes.corpus import load_corpus  # noqa: E402
from quotes.search import random_quote, search  # noqa: E402
from quotes.selection import shuffle_key  # noqa: E402
from quotes.store import Store, quote_from_row  # noqa: E402
from quotes.store import schema as t  # noqa: E402

DAYS = 3650  # days of history in the database
FEED_DAYS = 30  # the service's default: the days in the feeds
PER_SOURCE = 11
TOPIC_SHARE = 33  # one quote in 33 (3%) carries the topic
TOPIC = "sanctions"
WORDS = "peace treaty border trade council embassy summit accord envoy charter".split()
TODAY = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
BUILT = TODAY - dt.timedelta(days=DAYS + 2)


def build(path: Path, n: int) -> None:
    """A database of `n` quotes (besides the corpus's) and DAYS days of picks."""
    store = Store.connect(f"sqlite:///{path}")
    try:
        store.upgrade()
        store.load_corpus(load_corpus(), BUILT)
        batch = 20_000
        with store.write() as conn:
            sources = [
                {
                    "id": f"bench-src-{s:06d}",
                    "kind": "speech",
                    "title": f"Benchmark source {s}",
                    "date_precision": "day",
                    "date": "2020-01-01",
                    "published_precision": "unknown",
                    "speaker_paragraphs": [],
                    "notes": [],
                    "origin": "admin",
                    "created_at": BUILT,
                    "updated_at": BUILT,
                }
                for s in range((n + PER_SOURCE - 1) // PER_SOURCE)
            ]
            for start in range(0, len(sources), batch):
                conn.execute(t.sources.insert(), sources[start : start + batch])
            for start in range(0, n, batch):
                rows = []
                for i in range(start, min(n, start + batch)):
                    quote_id = f"b-{i:07d}"
                    word = WORDS[i % len(WORDS)]
                    topics = [TOPIC, word] if i % TOPIC_SHARE == 0 else [word]
                    rows.append(
                        {
                            "id": quote_id,
                            "text": f"Benchmark quote {i} on the {word} and what follows from it.",
                            "speaker": "Sergey Lavrov",
                            "source_id": f"bench-src-{i // PER_SOURCE:06d}",
                            "date_precision": "unknown",
                            "topics": topics,
                            "notes": [],
                            "hidden": i % 97 == 0,
                            "origin": "admin",
                            "admin_edited": False,
                            "created_at": BUILT,
                            "updated_at": BUILT,
                            "updated_by": "bench",
                            "cycle_due": 1,
                            "shuffle_key": shuffle_key(quote_id, 1),
                        }
                    )
                conn.execute(t.quotes.insert(), rows)
        checked(store)
        for offset in reversed(range(DAYS)):
            store.pick_for(TODAY.date() - dt.timedelta(days=offset), BUILT)
    finally:
        store.close()


def checked(store: Store) -> None:
    """Store the verification of the benchmark's quotes as a write through the store would
    (quotes/store/held.py; its sources hold no document, so it is the same for all): without it
    the first `qotd serve` would spend minutes deciding a million of them one by one."""
    try:
        from quotes.store import held
    except ImportError:  # --code of a checkout from before verification (migration 0003): none to store
        return
    with store.write() as conn:
        row = conn.execute(sa.select(t.quotes).where(t.quotes.c.origin == "admin").limit(1)).first()
        if row is None:
            return
        quote = quote_from_row(row)
        values = held.placed(quote, held.verify_in(conn, quote, BUILT))
        pending = t.quotes.c.verification_reason == "not-checked"
        conn.execute(t.quotes.update().where(t.quotes.c.origin == "admin", pending).values(**values))


def database(folder: Path, n: int) -> Path:
    path = folder / f"scale-{n}.sqlite3"
    if not path.exists():
        partial = path.with_suffix(".partial")
        for leftover in folder.glob(partial.name + "*"):
            leftover.unlink()
        began = time.perf_counter()
        build(partial, n)
        partial.rename(path)
        print(f"built {path} ({n:,} quotes) in {time.perf_counter() - began:.1f} s", flush=True)
    else:
        store = Store.connect(f"sqlite:///{path}")
        try:
            checked(store)  # a database built before the benchmark stored the verification
        finally:
            store.close()
    return path


def timed(call: Callable[[], object], budget: float = 2.0, most: int = 200) -> float:
    """Median milliseconds of `call`, repeated for about `budget` seconds (at least 3 times)."""
    times: list[float] = []
    spent = 0.0
    while len(times) < 3 or (spent < budget and len(times) < most):
        began = time.perf_counter()
        call()
        took = time.perf_counter() - began
        times.append(took * 1000)
        spent += took
    return statistics.median(times)


def in_process(path: Path) -> dict[str, float]:
    store = Store.connect(f"sqlite:///{path}")
    rng = random.Random(7)
    try:
        day = TODAY.date()
        return {
            "data-version check (ms)": timed(lambda: store.changes(day)),
            "random quote (ms)": timed(lambda: random_quote(store, rng)),
            f"topic search {TOPIC!r} (ms)": timed(lambda: search(store, TOPIC)),
        }
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(path: Path, folder: Path, bytecode: str = "cached") -> tuple[subprocess.Popen[bytes], str, float]:
    """Start `qotd serve` on the database; return it, its URL and the seconds to the first 200.

    bytecode "cached": Python's compiled modules are kept (in --dir, outside the checkouts), as
    an installed service has them; "none": every start compiles the checkout's modules again.
    """
    port = free_port()
    dropped = ("BOT_TOKEN", "PUBLIC_URL", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    if bytecode == "cached":
        env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env |= {
        "DATABASE_URL": f"sqlite:///{path}",
        "DATA_DIR": str(folder / "data"),
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "FEED_DAYS": str(FEED_DAYS),
        "PYTHONPATH": str(CODE),
    }
    url = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "qotd", "serve"],
        cwd=CODE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / f"serve-{path.stem}.log").open("ab"),
    )
    deadline = began + 120
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"qotd serve exited with {process.returncode}: see {folder}/serve-{path.stem}.log"
            )
        try:
            if httpx.get(url + "/", timeout=60).status_code == 200:
                return process, url, time.perf_counter() - began
        except httpx.TransportError:
            time.sleep(0.02)
    stop(process)  # not left running (and holding the database) after the benchmark ends
    raise SystemExit(f"{url}/ gave no 200 within 120 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wrk(url: str, seconds: int, connections: int, gzip: bool = False) -> float:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", url]
    if gzip:
        command[1:1] = ["-H", "Accept-Encoding: gzip"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return float(found.group(1)) if found else 0.0


def sample_ids(path: Path) -> tuple[str, str]:
    """A visible quote and a source of PER_SOURCE quotes in the middle of the database."""
    store = Store.connect(f"sqlite:///{path}")
    try:
        with store.read() as conn:
            count = conn.scalar(
                sa.select(sa.func.count()).select_from(t.sources).where(t.sources.c.origin == "admin")
            )
        middle = max(0, (count or 1) // 2)
        return f"b-{middle * PER_SOURCE + 1:07d}", f"bench-src-{middle:06d}"
    finally:
        store.close()


SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


# One client for the first answers: a new httpx client builds an SSL context (~15 ms here),
# which would be timed with the server's render.
CLIENT = httpx.Client(timeout=120)


def first_answer(url: str) -> tuple[float, bytes]:
    """Milliseconds to a 200 of `url` (its first request: the render) and the body."""
    began = time.perf_counter()
    response = CLIENT.get(url)
    response.raise_for_status()
    return (time.perf_counter() - began) * 1000, response.content


def sitemaps(url: str, seconds: int, connections: int) -> dict[str, float]:
    """The sitemap index and the middle sitemap of quotes it lists: first answers, then wrk."""
    if CLIENT.head(url + "/sitemap.xml").status_code == 404:
        print("  no /sitemap.xml in this code", flush=True)
        return {}
    took, body = first_answer(url + "/sitemap.xml")
    figures = {"/sitemap.xml, first answer (ms)": took}
    root = ET.fromstring(body)
    if root.tag != f"{SITEMAP}sitemapindex":
        return figures  # one sitemap of every URL: served again, it is the same bytes
    parts = [loc.text or "" for loc in root.iter(f"{SITEMAP}loc") if "/sitemap-quotes-" in (loc.text or "")]
    part = urlsplit(parts[len(parts) // 2]).path
    took, body = first_answer(url + part)
    # A sitemap lists up to 10,000 quotes at any size: 1,000 quotes fill a tenth of one. Its
    # render is weighed by what it lists, so the two sizes compare the same work.
    listed = sum(1 for _ in ET.fromstring(body).iter(f"{SITEMAP}loc"))
    print(f"  {part} lists {listed:,} quotes", flush=True)
    figures["a sitemap of quotes, first answer per 1,000 URLs (ms)"] = took * 1000 / max(listed, 1)
    figures["/sitemap.xml (req/s)"] = wrk(url + "/sitemap.xml", seconds, connections)
    figures["a sitemap of quotes, gzip (req/s)"] = wrk(url + part, seconds, connections, gzip=True)
    return figures


GROUPS = ("store", "startup", "pages", "sitemap")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,1000000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/qotd-scale"))
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument(
        "--bytecode",
        choices=("cached", "none"),
        default="cached",
        help="cached (default): compiled modules kept between starts; none: compiled at each start",
    )
    parser.add_argument("--only", default=",".join(GROUPS), help=f"what to measure, of {','.join(GROUPS)}")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if not only <= set(GROUPS):
        parser.error(f"--only takes {', '.join(GROUPS)}, not {', '.join(sorted(only - set(GROUPS)))}")
    sizes = [int(s) for s in args.sizes.split(",")]
    folder = args.dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(CODE), "rev-parse", "--short", "HEAD"]
    print(f"code: {CODE} ({subprocess.run(git, capture_output=True, text=True).stdout.strip()})")
    paths = {n: database(folder, n) for n in sizes}
    samples = {n: sample_ids(paths[n]) for n in sizes}
    print(f"bytecode: {args.bytecode}", flush=True)
    if args.bytecode == "cached" and only != {"store"}:
        stop(serve(paths[sizes[0]], folder)[0])  # not measured: it compiles what the others find
    figures: dict[str, dict[int, list[float]]] = {}

    def note(name: str, n: int, value: float) -> None:
        figures.setdefault(name, {}).setdefault(n, []).append(value)

    for round_ in range(args.rounds):
        order = sizes if round_ % 2 == 0 else sizes[::-1]
        if "store" in only:  # every size's, before any server of the round has run wrk
            for n in order:
                for name, value in in_process(paths[n]).items():
                    note(name, n, value)
        for n in order:
            load = Path("/proc/loadavg").read_text().split()[:3]
            if only == {"store"}:
                print(f"round {round_ + 1}, {n:,} quotes done; load average {' '.join(load)}", flush=True)
                continue
            process, url, startup = serve(paths[n], folder, args.bytecode)
            try:
                note("start-up to the first 200 (s)", n, startup)
                if "sitemap" in only:  # first: its first answers are renders, before wrk's load
                    for name, value in sitemaps(url, args.seconds, args.connections).items():
                        note(name, n, value)
                if "pages" in only:
                    note("/ page size (bytes)", n, len(httpx.get(url + "/").content))
                    quote_id, source_id = samples[n]
                    for name, path in [
                        ("/atom.xml (req/s)", "/atom.xml"),
                        ("/q/<id> (req/s)", f"/q/{quote_id}"),
                        ("/ (req/s)", "/"),
                        # Last: where a request reads every quote, its backlog outlives the run.
                        ("/sources/<id>, 11 quotes (req/s)", f"/sources/{source_id}"),
                    ]:
                        note(name, n, wrk(url + path, args.seconds, args.connections))
            finally:
                stop(process)
            print(f"round {round_ + 1}, {n:,} quotes done; load average {' '.join(load)}", flush=True)

    small, large = sizes[0], sizes[-1]
    print(f"\nmedians of {args.rounds} alternating rounds; ratio = cost at {large:,} / cost at {small:,}")
    print(f"{'path':54}" + "".join(f"{n:>16,}" for n in sizes) + f"{'ratio':>10}")
    worst = ("", 0.0)
    for name, by_size in figures.items():
        if set(by_size) != set(sizes):
            continue  # measured at some sizes only
        medians = {n: statistics.median(by_size[n]) for n in sizes}
        rate = "req/s" in name
        if rate:
            ratio = medians[small] / medians[large] if medians[large] else float("inf")
        else:
            ratio = medians[large] / medians[small] if medians[small] else float("inf")
        print(f"{name:54}" + "".join(f"{medians[n]:16,.2f}" for n in sizes) + f"{ratio:10.2f}")
        if ratio > worst[1]:
            worst = (name, ratio)
    print(f"load average at the end: {Path('/proc/loadavg').read_text().strip()}")
    print(f"worst: {worst[0]} {worst[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
