"""Reading never writes the schedule: look-ups of past and future days, page views and the
bot's commands leave every pick, stored or to come, as it was; days are fixed in order."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import sqlalchemy as sa

from feed.site import create_app
from quotes.days import PREVIEW, PUBLISHED, UNPUBLISHED, quote_of
from quotes.store import schema as t
from tests.conftest import NOW, TODAY

SITE = "https://qotd.example"
DAY = dt.timedelta(days=1)


def picks(store) -> list[tuple]:
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(sa.select(t.daily_picks).order_by(t.daily_picks.c.date))]


async def test_schedule_is_the_same_before_and_after_look_ups_of_past_days_and_page_views(
    store, qotd, env, tmp_path
):
    code, today, _ = qotd("today")  # today is fixed on first need
    assert code == 0
    code, before, _ = qotd("schedule", "--days", "30")
    assert code == 0
    stored = picks(store)

    code, out, err = qotd("today", "--date", "2020-01-01")
    assert (code, out, err) == (0, "No quote was published on 1 January 2020.\n", "")
    code, out, _ = qotd("today", "--date", "2020-01-01", "--json")
    assert json.loads(out) == {
        "date": "2020-01-01",
        "state": "unpublished",
        "message": "no quote was published on 1 January 2020",
    }
    code, future, _ = qotd("today", "--date", (TODAY + 10 * DAY).isoformat())
    assert code == 0 and "(preview: not fixed yet)" in future
    code, yesterday, _ = qotd("today", "--date", (TODAY - DAY).isoformat())
    assert yesterday == f"No quote was published on {(TODAY - DAY).day} November 2026.\n"
    qotd("schedule", "--days", "30", "--from", "2020-01-01")
    qotd("schedule", "--days", "30", "--from", (TODAY - 5 * DAY).isoformat())

    from qotd.settings import Settings

    settings = Settings.from_env(env | {"PUBLIC_URL": SITE})
    app = create_app(settings, store, clock=lambda: NOW, version_ttl=0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as web:
        for path in ("/", "/atom.xml", "/rss.xml", "/feed.json", "/today.json", "/healthz", "/q/sb-01"):
            assert (await web.get(path)).status_code == 200

    assert picks(store) == stored
    code, after, _ = qotd("schedule", "--days", "30")
    assert after == before
    code, again, _ = qotd("today")
    assert again == today


def test_days_are_fixed_in_order_and_a_skipped_day_stays_unpublished(store):
    zone = dt.UTC
    later = NOW + 2 * DAY
    assert quote_of(store, TODAY + 2 * DAY, later, zone).state == PUBLISHED  # the first day
    # The day before was never fixed: looking at it afterwards, even "as of then", stores nothing.
    for seen_at in (NOW + DAY, later):
        result = quote_of(store, TODAY + DAY, seen_at, zone)
        assert (result.state, result.pick, result.absent_text()) == (
            UNPUBLISHED,
            None,
            "no quote was published on 24 November 2026",
        )
    assert store.stored_pick(TODAY + DAY) is None
    assert store.fix_day(TODAY + DAY, later) is None
    preview = quote_of(store, TODAY + 3 * DAY, later, zone)
    assert preview.state == PREVIEW and not preview.pick.stored
    assert store.stored_pick(TODAY + 3 * DAY) is None
