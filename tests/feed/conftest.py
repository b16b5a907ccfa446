"""Fixtures for the site and the feeds: a store with a week of picks and one correction."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from starlette.testclient import TestClient

from feed.site import create_app
from qotd.settings import Settings
from quotes.store import Store

SITE = "https://qotd.example"
LOADED = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # 13:00 in Moscow: today's quote is out
FIRST = dt.date(2026, 11, 17)
DAYS = 7
CORRECTED = dt.datetime(2026, 11, 22, 12, 30, tzinfo=dt.UTC)


def settings_for(database_url: str, **extra: str) -> Settings:
    env = {
        "DATABASE_URL": database_url,
        "PUBLIC_URL": SITE,
        "TIMEZONE": "Europe/Moscow",
        "PUBLISH_TIME": "09:00",
        "FEED_DAYS": "30",
    }
    return Settings.from_env(env | extra)


def publish_week(store: Store) -> None:
    """Fix the picks of FIRST..FIRST+6, each at its publish time (09:00 Moscow = 06:00 UTC)."""
    for offset in range(DAYS):
        day = FIRST + dt.timedelta(days=offset)
        store.pick_for(day, dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC))


def correct(store: Store, quote_id: str, at: dt.datetime = CORRECTED) -> None:
    """An admin correction: the quote's topics change (its text never does)."""
    quote = store.quote(quote_id)
    store.save([], [dataclasses.replace(quote, topics=(*quote.topics, "corrected"))], "admin", at)


@pytest.fixture
def week_store(empty_store, corpus):
    """A store whose quotes were loaded on 1 November, with a week of picks up to NOW's date."""
    empty_store.upgrade()
    empty_store.load_corpus(corpus, LOADED)
    publish_week(empty_store)
    return empty_store


@pytest.fixture
def settings(database_url) -> Settings:
    return settings_for(database_url)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime = NOW):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(settings, week_store, clock):
    """The site on the week's store, its lifespan running, reached at PUBLIC_URL."""
    app = create_app(settings, week_store, clock=clock, version_ttl=0)
    with TestClient(app, base_url=SITE) as test_client:
        yield test_client
