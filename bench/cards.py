"""Benchmark the share card: drawing one (what a new data version costs per quote) and serving
one from the cache (what every later request costs), side by side.

    python bench/cards.py [--repeat 15]

Prints the median milliseconds of drawing the card of a 30-character, a corpus and a
1,000-character quote (PNG and JPEG), and of a cached GET of /q/<id>.png through the ASGI app
(httpx's ASGITransport, no network), with the load average beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from feed import cards
from feed.published import site_for
from feed.site import create_app
from qotd.settings import Settings
from quotes.corpus import load_corpus
from quotes.store import Store

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def cached_get_ms(app, path: str, repeat: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://qotd.example") as client:
        assert (await client.get(path)).status_code == 200  # drawn once here
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            response = await client.get(path)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        settings = Settings.from_env({"DATABASE_URL": url, "PUBLIC_URL": "https://qotd.example"})
        store = Store.connect(url)
        store.upgrade()
        store.load_corpus(load_corpus(), NOW)
        site = site_for(settings)
        quote = store.quote("sb-02")
        source, cites = store.provenance(quote)
        quotes = {
            "30 characters": dataclasses.replace(quote, text="Counteracting them is possible"),
            f"corpus ({len(quote.text)} characters)": quote,
            "1,000 characters": dataclasses.replace(quote, text=((quote.text + " ") * 9)[:1000]),
        }
        with open("/proc/loadavg") as f:
            print(f"load average: {f.read().split()[:3]}")
        for name, each in quotes.items():
            for kind in ("png", "jpg"):
                draw = lambda e=each, k=kind: cards.quote_card(e, source, cites, site, k)  # noqa: E731
                ms = median_ms(draw, args.repeat)
                print(f"draw {kind} {name:<28} {ms:8.1f} ms")
        app = create_app(settings, store, clock=lambda: NOW)
        ms = asyncio.run(cached_get_ms(app, "/q/sb-02.png", args.repeat * 20))
        print(f"cached GET /q/sb-02.png {' ' * 18} {ms:8.2f} ms")
        with open("/proc/loadavg") as f:
            print(f"load average: {f.read().split()[:3]}")
        store.close()


if __name__ == "__main__":
    main()
