"""One truth for the day: every surface shows the same quote at the same instant (quotes.days).

The surfaces: quotes.days.todays itself, the site's home page, the newest feed entry,
GET /today.json, /healthz, `qotd today --json`, the bot's /today and inline mode (through the
emulator). They are asked in turn at instants around midnight, the publish time and both DST
changes of Europe/Berlin, on SQLite and PostgreSQL, and must name the same day and quote.
"""

from __future__ import annotations

import datetime as dt
import json

import feedparser
import httpx
import pytest

from bot.app import build_application
from feed.site import create_app
from qotd.settings import Settings
from quotes.days import day_of, todays
from quotes.store import Store
from tests.bot.conftest import FAST, Harness

ZONE = "Europe/Berlin"
SITE = "https://qotd.example"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# (instant, the day whose quote is today's then), in the order they are asked.
AROUND_MIDNIGHT_AND_PUBLISH = [
    (utc(2026, 11, 22, 22, 59, 59), dt.date(2026, 11, 22)),  # 23:59:59 in Berlin
    (utc(2026, 11, 22, 23, 0, 0), dt.date(2026, 11, 23)),  # midnight in Berlin: the day turns
    (utc(2026, 11, 23, 7, 59, 59), dt.date(2026, 11, 23)),  # 08:59:59, before PUBLISH_TIME
    (utc(2026, 11, 23, 8, 0, 0), dt.date(2026, 11, 23)),  # 09:00, the publish: nothing changes
    (utc(2026, 11, 23, 22, 59, 59), dt.date(2026, 11, 23)),
    (utc(2026, 11, 23, 23, 0, 0), dt.date(2026, 11, 24)),
]
SPRING_FORWARD = [
    (utc(2026, 3, 28, 22, 59, 59), dt.date(2026, 3, 28)),  # 23:59:59 CET
    (utc(2026, 3, 28, 23, 0, 0), dt.date(2026, 3, 29)),  # 00:00 CET
    (utc(2026, 3, 29, 0, 59, 59), dt.date(2026, 3, 29)),  # 01:59:59 CET, then clocks jump to 03:00
    (utc(2026, 3, 29, 1, 0, 0), dt.date(2026, 3, 29)),  # 03:00 CEST
    (utc(2026, 3, 29, 21, 59, 59), dt.date(2026, 3, 29)),  # 23:59:59 CEST
    (utc(2026, 3, 29, 22, 0, 0), dt.date(2026, 3, 30)),  # midnight CEST: one hour earlier in UTC
]
FALL_BACK = [
    (utc(2026, 10, 24, 21, 59, 59), dt.date(2026, 10, 24)),  # 23:59:59 CEST
    (utc(2026, 10, 24, 22, 0, 0), dt.date(2026, 10, 25)),  # 00:00 CEST
    (utc(2026, 10, 25, 0, 30, 0), dt.date(2026, 10, 25)),  # 02:30 CEST, the first one
    (utc(2026, 10, 25, 1, 30, 0), dt.date(2026, 10, 25)),  # 02:30 CET, the second one
    (utc(2026, 10, 25, 22, 59, 59), dt.date(2026, 10, 25)),  # 23:59:59 CET
    (utc(2026, 10, 25, 23, 0, 0), dt.date(2026, 10, 26)),
]


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def settings_for(database_url: str, tmp_path, **extra: str) -> Settings:
    env = {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "PUBLIC_URL": SITE,
        "TIMEZONE": ZONE,
        "PUBLISH_TIME": "09:00",
    }
    return Settings.from_env(env | extra)


@pytest.mark.parametrize(
    "instants",
    [AROUND_MIDNIGHT_AND_PUBLISH, SPRING_FORWARD, FALL_BACK],
    ids=["midnight-and-publish", "spring-forward", "fall-back"],
)
async def test_every_surface_shows_the_same_quote_at_the_same_instant(
    instants, store: Store, database_url, tmp_path, emulator, qotd
):
    emulator.configure_limits(enabled=False)
    token = emulator.new_bot_token(username="qotd_truth_bot")
    reader = emulator.create_user(first_name="Rob")
    settings = settings_for(database_url, tmp_path, BOT_TOKEN=token, TELEGRAM_API_URL=emulator.url)
    clock = Clock(instants[0][0])
    site = create_app(settings, store, clock=clock, version_ttl=0)
    application = build_application(settings, store, updater=False, limits=FAST, clock=clock)
    seen: dict[dt.date, str] = {}
    async with application, httpx.AsyncClient(transport=httpx.ASGITransport(app=site), base_url=SITE) as web:
        bot = Harness(emulator, application, store, reader, reader)
        for instant, day in instants:
            clock.now = instant
            assert day_of(instant, settings.timezone) == day
            pick = todays(store, instant, settings.timezone).shown
            assert pick is not None and pick.date == day
            quote_id = pick.quote.id
            assert seen.setdefault(day, quote_id) == quote_id  # a day keeps its quote all day

            home = (await web.get("/")).text
            assert f"{day.day} {day.strftime('%B')} {day.year}" in home.split("</h1>")[0]
            assert f'id="quote-{quote_id}"' in home

            entry = feedparser.parse((await web.get("/atom.xml")).content).entries[0]
            assert entry.id == f"tag:qotd.example,{day.isoformat()}:quote-of-the-day"
            assert entry.link == f"{SITE}/q/{quote_id}"

            today_json = (await web.get("/today.json")).json()
            assert (today_json["day"], today_json["id"], today_json["state"]) == (
                day.isoformat(),
                quote_id,
                "published",
            )

            health = (await web.get("/healthz")).json()["today"]
            assert health == {"date": day.isoformat(), "state": "published", "quote_id": quote_id}

            code, out, err = qotd("today", "--json", at=instant, extra_env={"TIMEZONE": ZONE})
            assert (code, err) == (0, "")
            cli = json.loads(out)
            assert (cli["day"], cli["id"]) == (day.isoformat(), quote_id)
            assert {k: v for k, v in cli.items()} == {k: v for k, v in today_json.items() if k != "url"}

            (message,) = await bot.say(reader, "/today")
            assert message["text"].startswith(f"Quote of the day · {day.day} {day.strftime('%B')} {day.year}")
            assert pick.quote.text in message["text"]

            inline = await bot.inline(reader, "")
            assert [r["id"] for r in inline["results"]] == [quote_id]
    assert len(set(seen.values())) == len(seen)  # consecutive days, different quotes
