"""What a shared link shows: preview tags, the share image, the about page, and what crawlers read."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageChops
from starlette.testclient import TestClient

from feed import cards
from feed.render import Site
from feed.site import create_app
from quotes.model import ADMIN
from tests.feed.conftest import NOW, SITE, correct

CARD_SITE = Site(SITE, ZoneInfo("Europe/Moscow"), dt.time(9))
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def og(html: str) -> dict[str, str]:
    return dict(re.findall(r'<meta property="(og:[\w:]+)" content="([^"]*)">', html))


# --- preview tags ---------------------------------------------------------------------------


def test_a_quote_page_has_a_short_title_a_description_and_preview_tags(client):
    html = client.get("/q/sb-02").text
    assert "<title>Sergey Lavrov, 15 November 2010 · Quote of the day</title>" in html
    assert '<meta name="description" content="“The world has become less predictable' in html
    assert og(html) == {
        "og:site_name": "Quote of the day",
        "og:type": "article",
        "og:title": "Sergey Lavrov, 15 November 2010",
        "og:description": "“The world has become less predictable and more dangerous: we all, regardless of "
        "the country in which we live, feel vulnerable.” — Sergey Lavrov, 15 November 2010",
        "og:url": f"{SITE}/q/sb-02",
        "og:locale": "en_GB",
        "og:image": f"{SITE}/q/sb-02.png",
        "og:image:type": "image/png",
        "og:image:width": "1200",
        "og:image:height": "630",
        "og:image:alt": "The quote “The world has become less predictable and more dangerous: we all, "
        "regardless of the country in which we live, feel…” by Sergey Lavrov, on a card of Quote of the day.",
    }
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    assert f'<meta name="twitter:image" content="{SITE}/q/sb-02.png">' in html
    assert f'<link rel="canonical" href="{SITE}/q/sb-02">' in html
    assert 'href="/q/sb-02">Where it comes from' not in html  # no link from the page to itself


def test_the_home_page_previews_todays_quote_and_says_its_name_once(client, week_store):
    today = week_store.stored_pick(NOW.date()).quote
    html = client.get("/").text
    assert og(html)["og:image"] == f"{SITE}/q/{today.id}.png"
    assert og(html)["og:title"] == f"Quote of the day, 23 November 2026: {today.speaker}"
    body = html[html.index("<body>") :]
    assert body.count("Quote of the day") == 1  # the site's name in the header; the h1 is the day's
    assert body.count('href="/rss.xml"') == 1
    assert len(re.findall(r"<h1[ >]", html)) == 1


def test_the_home_page_links_telegram_once_when_there_is_a_bot(settings, week_store, clock):
    app = create_app(settings, week_store, clock=clock, bot_username=lambda: "qotd_bot", version_ttl=0)
    with TestClient(app, base_url=SITE) as client:
        html = client.get("/").text
    assert html.count('href="https://t.me/qotd_bot"') == 1


def test_source_and_about_pages_preview_the_site_card(client):
    for path in ("/sources/cfr-same-boat", "/about"):
        tags = og(client.get(path).text)
        assert tags["og:image"] == f"{SITE}/card.png"
        assert tags["og:url"] == f"{SITE}{path}"
    card = client.get("/card.png")
    assert card.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(card.content)).size == (1200, 630)


def test_an_unknown_date_is_said_once_not_with_its_precision(client):
    html = client.get("/sources/comite-lavrov-fp").text
    assert "<dt>Date</dt><dd>date unknown</dd>" in html
    assert "unknown precision" not in html
    assert "<dt>Date</dt><dd>March 2013 (to the month)</dd>" in client.get("/q/fp-02").text


def test_the_about_page_says_when_quotes_come_out(client):
    response = client.get("/about")
    assert response.status_code == 200
    assert "every day at 09:00 (Europe/Moscow time)" in response.text
    assert "<h1>About Quote of the day</h1>" in response.text


# --- caching headers ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/q/sb-02", "/sources/cfr-same-boat", "/about"])
def test_pages_are_cached_for_at_most_an_hour(client, path):
    # NOW is 13:00 in Moscow; the day changes in 11 hours, so the hour's cap applies.
    assert client.get(path).headers["cache-control"] == "public, max-age=3600"


def test_the_home_page_is_cached_no_longer_than_until_the_day_changes(client, clock):
    # 23:40 in Moscow: today's quote (quotes.days, midnight to midnight in TIMEZONE) changes in 20 minutes
    clock.now = NOW.replace(hour=20, minute=40)
    assert client.get("/").headers["cache-control"] == "public, max-age=1200"


def test_error_pages_are_not_cached(client):
    assert client.get("/q/nope").headers["cache-control"] == "no-cache"


# --- the share image ------------------------------------------------------------------------


def test_the_card_is_a_1200_by_630_png_with_an_etag(client):
    response = client.get("/q/sb-02.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert Image.open(io.BytesIO(response.content)).size == (1200, 630)
    again = client.get("/q/sb-02.png", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_the_card_is_also_a_jpeg_for_telegrams_inline_results(client):
    response = client.get("/q/sb-02.jpg")
    assert response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == ("JPEG", (1200, 630))
    assert client.get("/q/sb-02.jpg").content == response.content


def test_the_card_is_the_same_bytes_for_the_same_data_and_changes_with_a_correction(
    client, week_store, settings, clock
):
    first = client.get("/q/sb-02.png").content
    other = create_app(settings, week_store, clock=clock, version_ttl=0)  # a second process, say
    with TestClient(other, base_url=SITE) as second:
        assert second.get("/q/sb-02.png").content == first
    quote = week_store.quote("sb-02")
    corrected = dataclasses.replace(quote, speaker_role="Minister of Foreign Affairs", origin="admin")
    week_store.save([], [corrected], "admin", NOW)
    after = client.get("/q/sb-02.png")
    assert after.content != first
    assert client.get("/q/sb-02.png", headers={"If-None-Match": after.headers["etag"]}).status_code == 304


def test_the_card_is_drawn_once_per_data_version(client, week_store, monkeypatch):
    import feed.cards

    drawn = []
    real = feed.cards.quote_card
    monkeypatch.setattr(feed.cards, "quote_card", lambda *a: drawn.append(a[0].id) or real(*a))
    for _ in range(3):
        assert client.get("/q/sb-02.png").status_code == 200
    assert drawn == ["sb-02"]
    correct(week_store, "sb-02", at=NOW)  # a new data version
    assert client.get("/q/sb-02.png").status_code == 200
    assert drawn == ["sb-02", "sb-02"]


def test_cards_of_unknown_and_withdrawn_quotes(client, week_store):
    assert client.get("/q/nope.png").status_code == 404
    week_store.set_hidden("sb-01", True, "admin", NOW)
    assert client.get("/q/sb-01.png").status_code == 410


@pytest.fixture
def quote_and_source(week_store):
    quote = week_store.quote("sb-02")
    return quote, *week_store.provenance(quote)


def _ink_box(png: bytes) -> tuple[int, int, int, int]:
    """The box of everything drawn on the card other than its background and accent bar."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    background = Image.new("RGB", image.size, cards.BACKGROUND)
    background.paste(image.crop((0, 0, 16, image.height)), (0, 0))
    box = ImageChops.difference(image, background).getbbox()
    assert box is not None
    return box


@pytest.mark.parametrize("length", [30, 1000])
def test_a_short_and_a_long_quote_both_fit_the_card(quote_and_source, length):
    quote, source, cites = quote_and_source
    words = "Counteracting them is possible only through collective efforts of all nations. " * 20
    text = words[: length - 1] + "."
    assert len(text) == length
    quote = dataclasses.replace(quote, text=text)
    card = cards.layout(quote, source, cites, CARD_SITE)
    set_text = " ".join(card.lines).removeprefix("“").removesuffix("”").removesuffix("…")
    assert " ".join(text.split()).startswith(set_text)
    if length == 30:
        assert (card.size, card.cut) == (cards.LARGEST, False) and set_text == text
    else:
        assert card.cut and card.size == cards.SMALLEST and card.lines[-1].endswith("…")
        assert text.startswith(set_text + " ")  # cut at a word
    for line in card.lines:
        assert cards.font(cards.SERIF, card.size).getlength(line) <= cards.WIDTH - 2 * cards.MARGIN
    assert len(card.lines) * card.size * cards.LEADING <= cards.TEXT_BOTTOM - cards.TEXT_TOP
    left, top, right, bottom = _ink_box(cards.draw(card))
    assert left >= cards.MARGIN - 2 and right <= cards.WIDTH - cards.MARGIN + 2
    assert top >= cards.TEXT_TOP - 4 and bottom <= cards.HEIGHT - 20


def test_a_long_card_says_the_page_has_the_rest(quote_and_source):
    quote, source, cites = quote_and_source
    long = cards.layout(dataclasses.replace(quote, text="word " * 300), source, cites, CARD_SITE)
    short = cards.layout(quote, source, cites, CARD_SITE)
    assert (long.cut, long.address) == (True, "qotd.example/q/sb-02")
    assert short.cut is False
    assert cards.draw(long) != cards.draw(dataclasses.replace(long, cut=False))  # "Read it all: …"
    assert short.speaker == "— Sergey Lavrov, Russian Foreign Minister"
    assert short.where == "15 November 2010 · In the Same Boat, Council on Foreign Relations"


# --- what crawlers read ---------------------------------------------------------------------


def locations(response) -> list[str]:
    """The addresses a sitemap or a sitemap index lists, in order."""
    return [loc.text for loc in ET.fromstring(response.content).iter(f"{SITEMAP}loc")]


def sitemap_urls(client) -> list[str]:
    """Every URL of the site's sitemaps, read from the index down, in order."""
    index = client.get("/sitemap.xml")
    assert index.status_code == 200
    assert ET.fromstring(index.content).tag == f"{SITEMAP}sitemapindex"
    urls = []
    for part in locations(index):
        response = client.get(part.removeprefix(SITE))
        assert (response.status_code, response.headers["content-type"]) == (200, "application/xml")
        assert ET.fromstring(response.content).tag == f"{SITEMAP}urlset"
        urls += locations(response)
    return urls


# In the order they were added: the corpus file's.
QUOTE_IDS = [*(f"sb-{n:02d}" for n in range(1, 10)), *(f"fp-{n:02d}" for n in range(1, 12))]
SOURCE_IDS = ["cfr-same-boat", "fp-law-of-politics", "comite-lavrov-fp"]  # a citing source after the cited


def test_the_sitemap_is_an_index_of_the_site_s_pages_the_quotes_and_the_sources(client):
    response = client.get("/sitemap.xml")
    assert response.headers["content-type"] == "application/xml"
    assert locations(response) == [
        f"{SITE}/sitemap-site.xml",
        f"{SITE}/sitemap-quotes-1.xml",
        f"{SITE}/sitemap-sources-1.xml",
    ]
    assert sitemap_urls(client) == [
        f"{SITE}/",
        f"{SITE}/about",
        f"{SITE}/archive",
        f"{SITE}/archive/2026-11",  # the week's picks are all in November
        *(f"{SITE}/q/{i}" for i in QUOTE_IDS),
        *(f"{SITE}/sources/{i}" for i in SOURCE_IDS),
    ]


def test_the_sitemaps_list_no_withdrawn_quote(client, week_store):
    week_store.set_hidden("sb-01", True, "admin", NOW)
    urls = sitemap_urls(client)
    assert f"{SITE}/q/sb-01" not in urls
    assert [u for u in urls if "/q/" in u] == [f"{SITE}/q/{i}" for i in QUOTE_IDS if i != "sb-01"]


def test_the_quotes_and_the_sources_are_split_into_sitemaps_of_at_most_the_page_size(
    settings, week_store, clock
):
    week_store.set_hidden("sb-01", True, "admin", NOW)
    app = create_app(settings, week_store, clock=clock, version_ttl=0, sitemap_urls=3)
    with TestClient(app, base_url=SITE) as client:
        index = locations(client.get("/sitemap.xml"))
        assert index == [
            f"{SITE}/sitemap-site.xml",
            *(f"{SITE}/sitemap-quotes-{n}.xml" for n in range(1, 8)),
            f"{SITE}/sitemap-sources-1.xml",
        ]
        parts = [[u.rsplit("/", 1)[1] for u in locations(client.get(p.removeprefix(SITE)))] for p in index]
        # The runs count the withdrawn quote (its run lists one fewer): no page moves.
        assert parts[1:] == [
            ["sb-02", "sb-03"],
            ["sb-04", "sb-05", "sb-06"],
            ["sb-07", "sb-08", "sb-09"],
            ["fp-01", "fp-02", "fp-03"],
            ["fp-04", "fp-05", "fp-06"],
            ["fp-07", "fp-08", "fp-09"],
            ["fp-10", "fp-11"],
            SOURCE_IDS,
        ]
        for path in ("/sitemap-quotes-8.xml", "/sitemap-sources-2.xml", "/sitemap-quotes-0.xml"):
            assert client.get(path).status_code == 404, path


def test_a_sitemap_answers_304_to_its_etag_and_is_gzipped(client):
    first = client.get("/sitemap-quotes-1.xml")
    assert first.headers["content-encoding"] == "gzip"
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = client.get("/sitemap-quotes-1.xml", headers={"If-None-Match": first.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    index = client.get("/sitemap.xml")
    assert client.get("/sitemap.xml", headers={"If-None-Match": index.headers["etag"]}).status_code == 304


def test_a_new_quote_is_in_the_sitemaps_within_the_data_version(client, week_store):
    before = sitemap_urls(client)
    quote = dataclasses.replace(week_store.quote("fp-01"), id="fp-00", origin=ADMIN)
    week_store.save([], [quote], "admin", NOW)
    quotes_end = 4 + len(QUOTE_IDS)  # after the site's four pages and the quotes: the sources
    assert sitemap_urls(client) == [*before[:quotes_end], f"{SITE}/q/fp-00", *before[quotes_end:]]


def every_sitemap(client) -> dict[str, list[str]]:
    """Each sitemap the index lists, with the URLs it lists."""
    return {p: locations(client.get(p.removeprefix(SITE))) for p in locations(client.get("/sitemap.xml"))}


def test_a_quote_added_later_joins_the_last_sitemap_and_moves_no_other(settings, week_store, clock):
    app = create_app(settings, week_store, clock=clock, version_ttl=0, sitemap_urls=7)
    with TestClient(app, base_url=SITE) as client:
        before = every_sitemap(client)
        # an id that sorts first: where it stands in the order of ids does not matter
        quote = dataclasses.replace(week_store.quote("fp-01"), id="aa-00", origin=ADMIN)
        week_store.save([], [quote], "admin", NOW)
        after = every_sitemap(client)
    last = f"{SITE}/sitemap-quotes-3.xml"
    assert list(after) == list(before)  # 21 quotes: still three sitemaps of 7
    assert after[last] == [*before[last], f"{SITE}/q/aa-00"]
    assert {p: urls for p, urls in after.items() if p != last} == {
        p: urls for p, urls in before.items() if p != last
    }


def test_robots_txt_points_at_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == f"User-agent: *\nAllow: /\nDisallow: /healthz\n\nSitemap: {SITE}/sitemap.xml\n"


def test_the_favicon_is_svg_and_favicon_ico_leads_to_it(client):
    svg = client.get("/favicon.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.content.startswith(b"<svg ")
    ico = client.get("/favicon.ico", follow_redirects=False)
    assert (ico.status_code, ico.headers["location"]) == (301, "/favicon.svg")
    assert '<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in client.get("/").text
