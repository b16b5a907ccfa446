"""FEED_DIR: the scheduler keeps rss.xml, atom.xml and feed.json there, byte-identical to what the
site serves, rewritten atomically at the day's start, the publish and every correction."""

from __future__ import annotations

import datetime as dt

import httpx

from feed.site import create_app
from qotd.scheduler import SchedulerService
from tests.bot.delivery.conftest import DAY, PUBLISH, settings_for

SITE = "https://qotd.example"
FILES = {"rss.xml": "/rss.xml", "atom.xml": "/atom.xml", "feed.json": "/feed.json"}


async def served(settings, store, at) -> dict[str, bytes]:
    app = create_app(settings, store, clock=lambda: at, version_ttl=0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as web:
        return {name: (await web.get(path)).content for name, path in FILES.items()}


async def test_feed_dir_holds_the_sites_bytes_and_follows_corrections(store, tmp_path):
    folder = tmp_path / "public"
    url = store.engine.url.render_as_string(hide_password=False)
    settings = settings_for(url, PUBLIC_URL=SITE, FEED_DIR=str(folder))
    start = dt.datetime.combine(DAY, dt.time(0, 0, 5), tzinfo=dt.UTC)  # just after midnight (UTC)

    await SchedulerService(settings, store, None, clock=lambda: start).run_once()
    files = {name: (folder / name).read_bytes() for name in FILES}
    assert files == await served(settings, store, start)
    assert b"tag:qotd.example,2026-11-23:quote-of-the-day" in files["atom.xml"]

    reader = (folder / "atom.xml").open("rb")  # a static server in the middle of sending it
    later = PUBLISH + dt.timedelta(minutes=5)
    store.set_hidden(store.stored_pick(DAY).quote.id, True, "tg:1", later, today=DAY, why="wrong date")
    await SchedulerService(settings, store, None, clock=lambda: later).run_once()
    after = {name: (folder / name).read_bytes() for name in FILES}
    assert after == await served(settings, store, later)
    assert after["atom.xml"] != files["atom.xml"] and b"Corrected on 23 November 2026." in after["atom.xml"]
    assert reader.read() == files["atom.xml"]  # replaced by a rename: the old file stays whole
    reader.close()
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # no temporary file left
