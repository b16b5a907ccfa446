"""The feeds: whole expected files, determinism, ids that survive corrections, validity."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import json
import os
import re
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from feed.published import feeds_for, site_for
from feed.render import EPOCH, Site, render
from tests.feed.conftest import CORRECTED, DAYS, FIRST, NOW, SITE, correct, settings_for

EXPECTED = Path(__file__).parent / "expected"
ATOM = "{http://www.w3.org/2005/Atom}"
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} [+-]\d{4}$"
)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def build(store, database_url):
    return feeds_for(store, site_for(settings_for(database_url)), 30, NOW.date())


@pytest.fixture
def feeds(week_store, database_url):
    """The week's feeds, after an admin corrected the quote of 22 November."""
    correct(week_store, week_store.stored_pick(NOW.date() - dt.timedelta(days=1)).quote.id)
    return build(week_store, database_url)


@pytest.mark.parametrize(
    ("name", "attribute"), [("rss.xml", "rss"), ("atom.xml", "atom"), ("feed.json", "json")]
)
def test_whole_feed_matches_the_expected_file(feeds, name, attribute):
    produced = getattr(feeds, attribute)
    if os.environ.get("UPDATE_EXPECTED"):
        (EXPECTED / name).write_bytes(produced)
    assert produced.decode("utf-8") == (EXPECTED / name).read_text(encoding="utf-8")


def test_same_data_gives_byte_identical_feeds(feeds, week_store, database_url):
    again = build(week_store, database_url)
    assert (again.rss, again.atom, again.json) == (feeds.rss, feeds.atom, feeds.json)


def test_entries_are_the_days_newest_first_and_dated_from_data(feeds):
    atom = feedparser.parse(feeds.atom)
    days = [FIRST + dt.timedelta(days=n) for n in reversed(range(DAYS))]
    ids = [f"tag:qotd.example,{d.isoformat()}:quote-of-the-day" for d in days]
    assert [e.id for e in atom.entries] == ids
    # published = the day's start in Moscow (when it becomes today's, quotes.days: 21:00 UTC the
    # evening before); feed updated = the newest entry's
    eves = [d - dt.timedelta(days=1) for d in days]
    assert [e.published for e in atom.entries] == [f"{d.isoformat()}T21:00:00+00:00" for d in eves]
    assert atom.feed.updated == "2026-11-22T21:00:00+00:00"
    corrected = atom.entries[1]
    assert corrected.updated == CORRECTED.isoformat()
    assert corrected.published == "2026-11-21T21:00:00+00:00"


def test_a_correction_changes_updated_never_the_id(week_store, database_url):
    before = feedparser.parse(build(week_store, database_url).atom)
    quote = week_store.stored_pick(FIRST).quote
    later = NOW + dt.timedelta(minutes=5)
    correct(week_store, quote.id, at=later)
    after = feedparser.parse(build(week_store, database_url).atom)
    assert [e.id for e in after.entries] == [e.id for e in before.entries]
    oldest = after.entries[-1]
    assert oldest.updated == later.isoformat()
    assert after.feed.updated == later.isoformat()  # the feed's updated follows its newest change
    assert "corrected" in [t.term for t in oldest.tags]


def test_first_loading_the_corpus_after_the_publish_time_is_not_a_correction(
    empty_store, corpus, database_url
):
    empty_store.upgrade()
    empty_store.load_corpus(corpus, NOW)  # a new deployment, during the day (13:00 in Moscow)
    empty_store.pick_for(NOW.date(), NOW)
    entry = feedparser.parse(build(empty_store, database_url).atom).entries[0]
    assert entry.updated == entry.published == "2026-11-22T21:00:00+00:00"
    assert "Corrected on" not in entry.content[0].value
    assert "corrected" not in [t.term for t in entry.get("tags", [])]


def test_content_shows_the_quote_its_attribution_date_and_source(feeds, week_store):
    pick = week_store.stored_pick(FIRST)
    source, cites = week_store.provenance(pick.quote)
    entry = feedparser.parse(feeds.atom).entries[-1]
    html = entry.content[0].value
    assert pick.quote.text.replace("'", "&#x27;") in html or pick.quote.text in html
    assert pick.quote.date.human() in html
    assert entry.link == f"{SITE}/q/{pick.quote.id}"
    related = {link.href for link in entry.links if link.rel == "related"}
    assert related == {s.url for s in (source, cites) if s is not None and s.url}
    assert entry.author == pick.quote.speaker
    assert [t.term for t in entry.tags] == list(pick.quote.topics)


def test_feedparser_reads_all_three_without_complaint(feeds):
    for body, version in ((feeds.rss, "rss20"), (feeds.atom, "atom10")):
        parsed = feedparser.parse(body)
        assert parsed.bozo is False, parsed.get("bozo_exception")
        assert parsed.version == version
        assert len(parsed.entries) == DAYS
    assert len(json.loads(feeds.json)["items"]) == DAYS


def test_rss_follows_the_rss_2_rules(feeds):
    channel = etree.fromstring(feeds.rss).find("channel")
    for required in ("title", "link", "description"):
        assert channel.findtext(required)
    assert channel.findtext("link") == f"{SITE}/"  # the site, not the feed
    self_links = [link for link in channel.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert [(link.get("href"), link.get("type")) for link in self_links] == [
        (f"{SITE}/rss.xml", "application/rss+xml")
    ]
    dates = [channel.findtext("lastBuildDate"), channel.findtext("pubDate")]
    items = channel.findall("item")
    dates += [item.findtext("pubDate") for item in items]
    for date in dates:
        assert RFC822.match(date), date
        assert email.utils.parsedate_to_datetime(date).tzinfo is not None
    guids = [item.find("guid") for item in items]
    assert len({g.text for g in guids}) == len(items)
    assert all(g.get("isPermaLink") == "false" for g in guids)  # a tag: URI is not a URL
    assert all(item.findtext("title") and item.findtext("description") for item in items)
    assert all(item.findtext("{http://purl.org/dc/elements/1.1/}creator") for item in items)
    assert not [item for item in items if item.find("author") is not None]  # RSS author must be an email


def test_atom_follows_the_atom_1_rules(feeds):
    feed = etree.fromstring(feeds.atom)
    for required in ("id", "title", "updated"):
        assert feed.findtext(f"{ATOM}{required}")
    self_links = [link for link in feed.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert [link.get("href") for link in self_links] == [f"{SITE}/atom.xml"]
    assert RFC3339.match(feed.findtext(f"{ATOM}updated"))
    entries = feed.findall(f"{ATOM}entry")
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(set(ids)) == len(ids) and all(i.startswith("tag:") for i in ids)
    for entry in entries:
        for stamp in ("updated", "published"):
            assert RFC3339.match(entry.findtext(f"{ATOM}{stamp}"))
        assert entry.find(f"{ATOM}author/{ATOM}name").text
        links = entry.findall(f"{ATOM}link")
        assert all(link.get("rel") in ("alternate", "related") for link in links)
        alternates = [(ln.get("type"), ln.get("hreflang")) for ln in links if ln.get("rel") == "alternate"]
        assert len(alternates) == len(set(alternates)) == 1
        assert entry.find(f"{ATOM}content").get("type") == "html"


def test_json_feed_follows_version_1_1(feeds):
    feed = json.loads(feeds.json)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == f"{SITE}/feed.json" and feed["home_page_url"] == f"{SITE}/"
    ids = [item["id"] for item in feed["items"]]
    assert len(set(ids)) == len(ids)
    for item in feed["items"]:
        assert RFC3339.match(item["date_published"]) and RFC3339.match(item["date_modified"])
        assert item["content_html"] and item["content_text"] and item["url"].startswith(SITE)


def test_an_empty_history_gives_valid_feeds_without_the_clock():
    site = Site(SITE, dt.UTC, dt.time(9))
    feeds = render([], {}, site)
    assert feeds.updated == EPOCH
    assert feedparser.parse(feeds.atom).bozo is False
    assert feedparser.parse(feeds.rss).bozo is False
    assert render([], {}, site) == feeds


def test_hidden_quotes_are_withdrawn_from_the_feeds(week_store, database_url):
    quote = week_store.stored_pick(FIRST).quote
    week_store.set_hidden(quote.id, True, "admin", NOW)
    entries = feedparser.parse(build(week_store, database_url).atom).entries
    assert len(entries) == DAYS - 1
    assert f"/q/{quote.id}" not in " ".join(e.link for e in entries)


def test_feed_build_writes_the_three_files(qotd, tmp_path, week_store, env):
    out = tmp_path / "public"
    code, stdout, err = qotd("feed", "build", "--out", str(out), extra_env={"PUBLIC_URL": SITE})
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["atom.xml", "feed.json", "rss.xml"]
    atom = feedparser.parse((out / "atom.xml").read_bytes())
    assert atom.bozo is False and len(atom.entries) == DAYS
    assert "wrote rss.xml, atom.xml, feed.json" in stdout


def test_feed_build_into_a_file_says_what_is_wrong(qotd, tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    code, _, err = qotd("feed", "build", "--out", str(blocker))
    assert (code, err) == (2, f"qotd: cannot create {blocker}: File exists\n")


def test_a_quote_marked_up_as_html_is_escaped_in_the_feeds(week_store, database_url):
    pick = week_store.stored_pick(FIRST)
    hostile = dataclasses.replace(pick.quote, speaker_role="<script>alert(1)</script>")
    week_store.save([], [hostile], "admin", NOW)
    feeds = build(week_store, database_url)
    content = feedparser.parse(feeds.atom).entries[-1].content[0].value
    assert "<script>" not in content and "&lt;script&gt;" in content
