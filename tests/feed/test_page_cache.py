"""Pages from the cache: rendered once per data version, served with validators and gzip; the
home page's recent days and the monthly archive."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip

import pytest
from starlette.testclient import TestClient

import feed.pages
from feed.cache import PageCache, Rendered
from feed.site import HOME_DAYS, create_app
from tests.feed.conftest import NOW, SITE, Clock, correct

PAGES = ["/", "/q/fp-02", "/sources/cfr-same-boat", "/archive", "/archive/2026-11"]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_answers_304_to_its_etag(client, path):
    first = client.get(path, headers={"accept-encoding": "identity"})
    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, max-age=3600"  # page_cache: at most an hour
    assert first.headers["content-type"] == "text/html; charset=utf-8"
    assert "frame-ancestors 'none'" in first.headers["content-security-policy"]
    again = client.get(path, headers={"if-none-match": first.headers["etag"], "accept-encoding": "identity"})
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == first.headers["etag"]


def test_a_page_is_gzipped_with_its_own_etag(client):
    plain = client.get("/q/fp-02", headers={"accept-encoding": "identity"})
    packed = client.get("/q/fp-02", headers={"accept-encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gz"'
    assert packed.content == plain.content  # httpx undid the gzip
    assert packed.headers["vary"] == "Accept-Encoding"


def test_head_of_a_page_has_the_headers_and_no_body(client):
    response = client.head("/q/fp-02", headers={"accept-encoding": "identity"})
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == len(client.get("/q/fp-02").content)


def test_a_page_is_rendered_once_per_data_version(client, week_store, monkeypatch):
    calls = []
    real = feed.pages.quote_page
    monkeypatch.setattr(feed.pages, "quote_page", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = client.get("/q/fp-02").headers["etag"]
    for _ in range(3):
        assert client.get("/q/fp-02").headers["etag"] == first
    assert len(calls) == 1
    correct(week_store, "fp-02", NOW - dt.timedelta(minutes=1))
    client.get("/q/fp-02")
    assert len(calls) == 2


def test_unknown_and_withdrawn_pages_come_from_the_cache_with_their_status(client, week_store):
    assert client.get("/q/no-such-quote").status_code == 404
    assert client.get("/sources/no-such-source").status_code == 404
    week_store.set_hidden("fp-02", True, "tg:1", NOW - dt.timedelta(minutes=1))
    gone = client.get("/q/fp-02")
    assert gone.status_code == 410 and "withdrawn" in gone.text
    # A path no cached page has is left to the routes.
    assert client.get("/q/Not.An.Id").status_code == 404


async def test_concurrent_requests_share_one_read_of_the_data_version(settings, week_store):
    app = create_app(settings, week_store, clock=Clock(), version_ttl=60)
    web = app.state.web
    reads = []
    real = week_store.changes
    week_store.changes = lambda until: reads.append(until) or real(until)  # type: ignore[method-assign]
    versions = await asyncio.gather(*(web.version(NOW) for _ in range(20)))
    assert len(reads) == 1
    assert len(set(versions)) == 1


@pytest.fixture
def history(week_store):
    """The week's store with picks from 20 October on (a month and a week of history)."""
    day = dt.date(2026, 10, 20)
    while day < dt.date(2026, 11, 17):
        week_store.pick_for(day, dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC))
        day += dt.timedelta(days=1)
    return week_store


def test_the_home_page_shows_the_recent_days_and_links_the_archive(settings, history):
    app = create_app(settings, history, clock=Clock(), version_ttl=0)
    with TestClient(app, base_url=SITE) as client:
        html = client.get("/").text
    shown = [NOW.date() - dt.timedelta(days=d) for d in range(HOME_DAYS)]
    for day in shown:
        assert f'href="/q/{history.stored_pick(day).quote.id}"' in html
    older = history.stored_pick(NOW.date() - dt.timedelta(days=HOME_DAYS + 3)).quote.id
    assert f'href="/q/{older}"' not in html
    assert '<a href="/archive">Every earlier day, month by month</a>' in html


def test_a_week_of_history_needs_no_archive_link(client):
    assert 'href="/archive"' not in client.get("/").text


def test_the_archive_lists_the_months_and_each_month_its_days(settings, history):
    app = create_app(settings, history, clock=Clock(), version_ttl=0)
    with TestClient(app, base_url=SITE) as client:
        index = client.get("/archive").text
        october = client.get("/archive/2026-10")
        november = client.get("/archive/2026-11").text
        missing = [
            client.get(f"/archive/{m}").status_code for m in ("2026-09", "2026-12", "2026-13", "10-2026")
        ]
    assert (
        '<li><strong>2026</strong>: <a href="/archive/2026-10">October</a> · '
        '<a href="/archive/2026-11">November</a></li>' in index
    )
    assert october.status_code == 200
    assert october.text.count('<li><a class="day"') == 12  # 20 to 31 October
    assert "31 October 2026" in october.text and "20 October 2026" in october.text
    assert '<a rel="next" href="/archive/2026-11">November 2026 →</a>' in october.text
    assert 'rel="prev"' not in october.text
    assert november.count('<li><a class="day"') == 23  # 1 to 23 November
    assert '<a rel="prev" href="/archive/2026-10">← October 2026</a>' in november
    assert missing == [404, 404, 404, 404]


def test_gzip_is_real_gzip(settings, week_store):
    app = create_app(settings, week_store, clock=Clock(), version_ttl=0)
    with TestClient(app, base_url=SITE) as client:
        raw = client.get("/sources/cfr-same-boat", headers={"accept-encoding": "gzip"})
        plain = client.get("/sources/cfr-same-boat", headers={"accept-encoding": "identity"})
    assert gzip.compress(plain.content, compresslevel=9, mtime=0)[:2] == b"\x1f\x8b"
    assert raw.headers["content-encoding"] == "gzip"


async def test_the_page_cache_keeps_the_recently_used_pages_within_its_bytes():
    cache = PageCache(max_bytes=2500)
    renders: list[str] = []

    def page(path: str) -> Rendered:
        renders.append(path)
        return Rendered.of(b"x" * 1000, "text/html; charset=utf-8", NOW)  # and a few dozen bytes gzipped

    for path in ("/a", "/b", "/a", "/c"):
        await cache.get(1, path, lambda p=path: page(p))
    assert renders == ["/a", "/b", "/c"]  # the second /a came from the cache
    assert len(cache) == 2 and cache.bytes <= 2500  # /b, used least recently, made room for /c
    await cache.get(1, "/b", lambda: page("/b"))
    assert renders[-1] == "/b"
    await cache.get(2, "/a", lambda: page("/a"))  # a new data version renders again
    assert renders[-1] == "/a" and len(cache) == 1


async def test_requests_for_one_page_at_once_share_one_render():
    cache = PageCache(max_bytes=1 << 20)
    renders = []

    def page() -> Rendered:
        renders.append(1)
        return Rendered.of(b"<p>hello</p>", "text/html; charset=utf-8", NOW)

    pages = await asyncio.gather(*(cache.get(1, "/q/x", page) for _ in range(10)))
    assert len(renders) == 1 and len({id(p) for p in pages}) == 1
