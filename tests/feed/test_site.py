"""The site in-process, lifespan running: pages, escaping, feeds over HTTP, healthz."""

from __future__ import annotations

import datetime as dt
import gzip
import re

import feedparser
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from feed.site import create_app
from quotes.model import ADMIN, Quote, Source
from tests.feed.conftest import FIRST, NOW, SITE, Clock, correct

FEEDS = [
    ("/rss.xml", "application/rss+xml; charset=utf-8"),
    ("/atom.xml", "application/atom+xml; charset=utf-8"),
    ("/feed.json", "application/feed+json; charset=utf-8"),
]


# --- pages ----------------------------------------------------------------------------------


def test_home_shows_todays_quote_recent_days_and_feed_links(client, week_store):
    today = week_store.stored_pick(NOW.date()).quote
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert "23 November 2026" in html
    assert today.text in html.replace("&quot;", '"')
    for day in range(1, 7):
        earlier = week_store.stored_pick(NOW.date() - dt.timedelta(days=day)).quote
        assert f'href="/q/{earlier.id}"' in html
    for path, media in [("/rss.xml", "application/rss+xml"), ("/atom.xml", "application/atom+xml")]:
        assert re.search(rf'<link rel="alternate" type="{re.escape(media)}" [^>]*href="{path}"', html)
    assert "t.me/" not in html  # no bot, no subscribe link
    assert "<script" not in html


def test_home_before_the_publish_time_shows_the_calendar_days_quote(settings, week_store):
    early = Clock(dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC))  # 08:00 in Moscow, before 09:00
    app = create_app(settings, week_store, clock=early, version_ttl=0)
    with TestClient(app, base_url=SITE) as client:
        html = client.get("/").text
    today = week_store.stored_pick(NOW.date()).quote
    assert "23 November 2026" in html.split("</h1>")[0]
    assert f'id="quote-{today.id}"' in html
    rule = (
        "Today&#39;s quote is the quote of the current date in Europe/Moscow, from midnight to "
        "midnight there, for every reader on every surface; the publish time (09:00) and a "
        "subscriber&#39;s own /time only say when it is sent to Telegram."
    )
    assert f'<p class="small rule">{rule}</p>' in html  # Jinja2 escapes the apostrophe


def test_the_site_fixes_the_days_quote_when_nobody_has(settings, week_store, clock):
    clock.now = NOW + dt.timedelta(days=1)
    app = create_app(settings, week_store, clock=clock, version_ttl=0)
    with TestClient(app, base_url=SITE) as client:
        entries = feedparser.parse(client.get("/atom.xml").content).entries
    assert week_store.stored_pick(NOW.date() + dt.timedelta(days=1)) is not None
    assert entries[0].id.endswith(f"{(NOW.date() + dt.timedelta(days=1)).isoformat()}:quote-of-the-day")


def test_quote_page_has_the_quote_attribution_date_provenance_and_a_link_into_its_source(client, week_store):
    quote = week_store.quote("fp-02")
    source, cites = week_store.provenance(quote)
    html = client.get("/q/fp-02").text
    assert quote.text in html
    assert "Sergey Lavrov, Russian Foreign Minister, March 2013" in html
    assert f'href="/sources/{source.id}#q-fp-02"' in html
    for record in (source, cites):
        assert record.url in html
        assert record.publisher in html
    assert "date unknown" in html  # the Comité page's date is unknown, and says so
    assert "29 April 2013" in html  # the interview's publication


def test_source_page_marks_every_quote_and_tells_the_speaker_from_the_editor(client, week_store):
    html = client.get("/sources/cfr-same-boat").text
    ids = sorted(q.id for q in week_store.quotes() if q.source == "cfr-same-boat")
    assert ids and sorted(re.findall(r'<a id="q-([\w-]+)" class="anchor">', html)) == ids
    assert "Quotes not located" not in html
    assert len(html.split('class="part speaker"')) == 3  # two runs of Lavrov's own paragraphs (7 and 9)
    assert "Sergey Lavrov&#39;s words" in html  # Jinja2 escapes the apostrophe
    # the title and the heading are the editor's, inside editor blocks
    text = html[html.index('<div class="doc">') :]
    for furniture in ("Raison", "What does Russia stand to gain", "Wales Summit Declaration"):
        block = text[: text.index(furniture)].rsplit('<section class="part ', 1)[1]
        assert block.startswith("editor")
    marked = re.findall(r"<mark[^>]*>(.*?)</mark>", html, flags=re.S)
    assert any("There is much talk today" in m for m in marked)


def test_cited_work_page_lists_the_quotes_from_it(client):
    html = client.get("/sources/fp-law-of-politics").text
    assert "Quotes from this work" in html
    assert 'href="/sources/comite-lavrov-fp#q-fp-02"' in html


@pytest.mark.parametrize("path", ["/q/nope", "/sources/nope", "/no/such/page"])
def test_unknown_pages_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Not found" in response.text


def test_a_withdrawn_quote_is_gone(client, week_store):
    week_store.set_hidden("sb-01", True, "admin", NOW)
    assert client.get("/q/sb-01").status_code == 410


def test_html_in_a_quote_or_source_is_escaped_everywhere(client, week_store):
    hostile = Source(
        id="x-src",
        title="<script>alert('title')</script>",
        publisher='"><img src=x onerror=alert(1)>',
        url="https://example.org/?a=1&b=<2>",
        document=None,
        origin=ADMIN,
    )
    quote = Quote(
        id="x-1",
        text="<script>alert('quote')</script> & more",
        speaker="<b>Someone</b>",
        source="x-src",
        topics=("<i>t</i>",),
        origin=ADMIN,
    )
    week_store.save([hostile], [quote], "admin", NOW)
    for path in ("/q/x-1", "/sources/x-src"):
        html = client.get(path).text
        assert "<script>" not in html and "<img" not in html and "<b>Someone" not in html
        assert "&lt;script&gt;" in html
        assert 'href="https://example.org/?a=1&amp;b=&lt;2&gt;"' in html


def test_pages_are_gzipped_for_clients_that_take_it(client):
    response = client.get("/sources/cfr-same-boat", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    plain = client.get("/sources/cfr-same-boat", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert response.text == plain.text


# --- feeds over HTTP ------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "media"), FEEDS)
def test_feeds_are_served_with_their_types_validators_and_self_link(client, path, media):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == media
    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"] == "Sun, 22 Nov 2026 21:00:00 GMT"
    assert response.headers["vary"] == "Accept-Encoding"
    assert f"{SITE}{path}" in response.text  # rel=self / feed_url is the URL it was served at
    if path != "/feed.json":
        assert feedparser.parse(response.content).bozo is False


def test_cache_control_expires_when_the_day_changes(client):
    # NOW is 13:00 in Moscow; the quote of the day changes at midnight there, 11 hours on.
    assert client.get("/atom.xml").headers["cache-control"] == f"public, max-age={11 * 3600}"


@pytest.mark.parametrize(("path", "media"), FEEDS)
def test_if_none_match_gives_304_with_no_body(client, path, media):
    first = client.get(path)
    again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert "content-type" not in again.headers
    assert client.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_if_none_match_wins_over_if_modified_since(client):
    first = client.get("/atom.xml")
    stale = client.get(
        "/atom.xml", headers={"If-None-Match": '"other"', "If-Modified-Since": first.headers["last-modified"]}
    )
    assert stale.status_code == 200 and stale.content == first.content
    fresh = client.get(
        "/atom.xml",
        headers={
            "If-None-Match": first.headers["etag"],
            "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT",
        },
    )
    assert fresh.status_code == 304


def test_if_modified_since_alone(client):
    modified = client.get("/rss.xml").headers["last-modified"]
    assert client.get("/rss.xml", headers={"If-Modified-Since": modified}).status_code == 304
    before = "Sun, 22 Nov 2026 06:00:00 GMT"
    assert client.get("/rss.xml", headers={"If-Modified-Since": before}).status_code == 200
    assert client.get("/rss.xml", headers={"If-Modified-Since": "garbage"}).status_code == 200


def test_feeds_are_gzipped_with_their_own_etag(client):
    plain = client.get("/atom.xml", headers={"Accept-Encoding": "identity"})
    packed = client.get("/atom.xml", headers={"Accept-Encoding": "gzip, deflate"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert packed.content == plain.content  # httpx decodes it
    assert packed.headers["etag"] != plain.headers["etag"]
    refused = client.get("/atom.xml", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    raw = client.get(
        "/atom.xml", headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]}
    )
    assert raw.status_code == 304


def test_gzipped_body_is_real_gzip(settings, week_store, clock):
    app = create_app(settings, week_store, clock=clock)
    with TestClient(app, base_url=SITE) as client:
        with client.stream("GET", "/feed.json", headers={"Accept-Encoding": "gzip"}) as response:
            body = b"".join(response.iter_raw())
    assert gzip.decompress(body).startswith(b"{")


def test_a_correction_changes_the_feed_and_its_etag(client, week_store):
    first = client.get("/atom.xml")
    correct(week_store, week_store.stored_pick(FIRST).quote.id, at=NOW)
    second = client.get("/atom.xml", headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200
    assert second.headers["etag"] != first.headers["etag"]
    assert second.headers["last-modified"] == "Mon, 23 Nov 2026 10:00:00 GMT"


def test_feeds_are_not_rendered_again_while_the_data_is_unchanged(client, monkeypatch):
    import feed.site

    renders = []
    real = feed.site.feeds_for
    monkeypatch.setattr(feed.site, "feeds_for", lambda *a: renders.append(a) or real(*a))
    for _ in range(3):
        for path, _media in FEEDS:
            assert client.get(path).status_code == 200
    assert len(renders) <= 1  # the first request may render (the lifespan cache can be cold)


def test_the_next_day_brings_the_next_entry(client, clock, week_store):
    before = feedparser.parse(client.get("/atom.xml").content)
    clock.now = NOW + dt.timedelta(days=1)
    after = feedparser.parse(client.get("/atom.xml").content)
    assert len(after.entries) == len(before.entries) + 1
    assert after.entries[1].id == before.entries[0].id


# --- health ---------------------------------------------------------------------------------


def test_healthz_reports_database_services_and_last_publish(settings, week_store, clock):
    class Scheduler:
        name, state = "scheduler", "running"

        async def start(self):
            pass

        async def stop(self):
            pass

    scheduler = Scheduler()
    app = create_app(settings, week_store, services=[scheduler], health={"telegram": "off"}, clock=clock)
    with TestClient(app, base_url=SITE) as client:
        healthy = client.get("/healthz")
        assert healthy.status_code == 200
        assert healthy.json() == {
            "database": "ok",
            "last_publish": "2026-11-23",
            "today": {"date": "2026-11-23", "state": "published", "quote_id": "fp-02"},
            "telegram": "off",
            "services": {"scheduler": "running"},
            "scheduler": "running",
            "status": "ok",
        }
        scheduler.state = "failed"
        failed = client.get("/healthz")
        assert failed.status_code == 503 and failed.json()["scheduler"] == "failed"


def test_healthz_is_503_when_the_database_is_unreachable(settings, week_store, clock, tmp_path):
    from quotes.store import Store

    broken = Store(sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"))
    app = create_app(settings, broken, clock=clock)
    with TestClient(app, base_url=SITE) as client:
        response = client.get("/healthz")
    broken.close()
    assert response.status_code == 503
    assert response.json()["database"].startswith("unreachable")
    assert response.json()["status"] == "unavailable"


def test_services_start_with_the_app_and_stop_in_reverse(settings, week_store, clock):
    events = []

    class Recorder:
        def __init__(self, name):
            self.name, self.state = name, "idle"

        async def start(self):
            events.append(f"start {self.name}")

        async def stop(self):
            events.append(f"stop {self.name}")

    app = create_app(settings, week_store, services=[Recorder("a"), Recorder("b")], clock=clock)
    with TestClient(app, base_url=SITE) as client:
        assert client.get("/healthz").status_code == 200
        assert events == ["start a", "start b"]
    assert events == ["start a", "start b", "stop b", "stop a"]


def test_head_of_a_feed_has_the_headers_and_no_body(client):
    plain = {"Accept-Encoding": "identity"}
    get = client.get("/rss.xml", headers=plain)
    head = client.head("/rss.xml", headers=plain)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["etag"] == get.headers["etag"]


def test_other_methods_on_a_feed_are_refused(client):
    assert client.post("/atom.xml").status_code == 405


@pytest.mark.parametrize("name", ["../corpus.toml", "../../../../etc/passwd", "/etc/passwd"])
def test_a_source_document_name_never_leaves_the_documents_folder(client, week_store, name):
    source = Source(id="x-doc", title="Imported", document=name, origin=ADMIN)
    week_store.save([source], [], "admin", NOW)
    response = client.get("/sources/x-doc")
    assert response.status_code == 200
    assert "root:" not in response.text and "[[quotes]]" not in response.text
    assert "The text" not in response.text
