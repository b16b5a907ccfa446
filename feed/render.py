"""RSS 2.0, Atom 1.0 and JSON Feed 1.1 of the recent quotes of the day, built only from data.

Every timestamp comes from the picks and the quotes: an entry is published at the publish
time of the day it was the quote of the day, and updated when the quote was last corrected
(if that is later). The same data gives byte-identical feeds.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape as _escape
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from quotes.dates import day_text
from quotes.days import day_of, day_start, next_day_start
from quotes.model import Pick, Quote, Source
from quotes.verification import sentence

TITLE = "Quote of the day"
DESCRIPTION = "One curated quote a day, verbatim from a real document and linked to its source and date."
LANGUAGE = "en"
EDITOR = "qotd"
# The feed-level time of a feed with no entries: there is no data to take one from.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

RSS_PATH = "/rss.xml"
ATOM_PATH = "/atom.xml"
JSON_PATH = "/feed.json"


@dataclass(frozen=True)
class Site:
    """Where the feeds live and when a day's quote is published."""

    url: str  # the site's base URL, without a trailing slash
    timezone: ZoneInfo
    publish_time: dt.time

    def link(self, path: str) -> str:
        return self.url + path

    def quote_url(self, quote_id: str) -> str:
        return self.link(f"/q/{quote_id}")

    def source_url(self, source_id: str, quote_id: str | None = None) -> str:
        return self.link(f"/sources/{source_id}" + (f"#q-{quote_id}" if quote_id else ""))

    def published(self, day: dt.date) -> dt.datetime:
        """Return the moment `day`'s quote is published on the site and in the feeds: the day's
        start in the timezone, when it becomes today's (quotes.days, the one rule)."""
        return day_start(day, self.timezone)

    def published_day(self, now: dt.datetime) -> dt.date:
        """Return the day whose quote is today's at `now` (quotes.days.day_of)."""
        return day_of(now, self.timezone)

    def next_publish(self, now: dt.datetime) -> dt.datetime:
        """Return the next moment the quote of the day changes after `now`."""
        return next_day_start(now, self.timezone)


@dataclass(frozen=True)
class Entry:
    """One day of the feed: the pick, its provenance and its two timestamps."""

    pick: Pick
    source: Source
    cites: Source | None
    published: dt.datetime
    updated: dt.datetime

    @property
    def quote(self) -> Quote:
        return self.pick.quote

    def corrected_text(self, site: Site) -> str | None:
        """Return "Corrected on <day>." when the entry changed after it was published, else None."""
        if self.updated <= self.published:
            return None
        return f"Corrected on {day_text(self.updated.astimezone(site.timezone).date())}."


@dataclass(frozen=True)
class Feeds:
    rss: bytes
    atom: bytes
    json: bytes
    updated: dt.datetime  # the newest entry's update (EPOCH without entries)


def escape(text: object) -> str:
    """Escape text for HTML text and double-quoted attributes (apostrophes stay as they are).

    The escaping of the feeds' HTML content (the site's pages are Jinja2 templates, autoescaped).
    """
    return _escape(str(text), quote=False).replace('"', "&quot;")


def entry_id(site: Site, day: dt.date) -> str:
    """Return the id of a day's entry: a tag: URI on the date, so a correction never changes it."""
    host = urlsplit(site.url).hostname or "localhost"
    return f"tag:{host},{day.isoformat()}:quote-of-the-day"


def entry_title(entry: Entry) -> str:
    return f"{TITLE}, {day_text(entry.pick.date)}: {entry.quote.speaker}"


def _cite_html(source: Source) -> str:
    title = f"<cite>{escape(source.title)}</cite>"
    if source.url:
        title = f'<a href="{escape(source.url)}">{title}</a>'
    publisher = f", {escape(source.publisher)}" if source.publisher else ""
    return f"{title}{publisher} ({escape(source.dates_text())})"


def verification_html(quote: Quote, highlight: str) -> str:
    """A quote's verification, one sentence: linked to its highlight in the held copy when checked."""
    verification = quote.verification
    text = escape(sentence(verification))
    if verification.verified:
        return f'<a class="verification verified" href="{escape(highlight)}">{text}</a>'
    return f'<span class="verification unverified">{text}</span>'


def content_html(entry: Entry, site: Site) -> str:
    """Return an entry's content: the quote, its attribution and date, its source."""
    quote = entry.quote
    role = f", {escape(quote.speaker_role)}" if quote.speaker_role else ""
    parts = [
        f"<blockquote><p>{escape(quote.text)}</p></blockquote>",
        f"<p>— {escape(quote.speaker)}{role}, {escape(quote.date.human())}</p>",
    ]
    if entry.cites is not None:
        parts.append(f"<p>From {_cite_html(entry.cites)}, as quoted by {_cite_html(entry.source)}.</p>")
    else:
        parts.append(f"<p>From {_cite_html(entry.source)}.</p>")
    highlight = site.source_url(entry.source.id, quote.id)
    parts.append(f"<p>{verification_html(quote, highlight)}.</p>")
    parts.append(
        f'<p><a href="{escape(site.quote_url(quote.id))}">Provenance</a> · '
        f'<a href="{escape(highlight)}">the quote in its source</a></p>'
    )
    corrected = entry.corrected_text(site)
    if corrected:
        changes = escape(site.quote_url(quote.id) + "#corrections")
        parts.append(f'<p>{escape(corrected)} <a href="{changes}">What changed</a></p>')
    return "\n".join(parts)


def content_text(entry: Entry, site: Site) -> str:
    quote = entry.quote
    role = f", {quote.speaker_role}" if quote.speaker_role else ""
    lines = [f"“{quote.text}”", f"— {quote.speaker}{role}, {quote.date.human()}"]
    source = entry.cites or entry.source
    lines.append(f"From {source.title}{', ' + source.publisher if source.publisher else ''}")
    if entry.cites is not None:
        lines.append(f"as quoted by {entry.source.title}")
    lines.append(sentence(quote.verification))
    corrected = entry.corrected_text(site)
    if corrected:
        lines.append(corrected)
    return "\n".join(lines)


def entries(picks: Sequence[Pick], sources: Mapping[str, Source], site: Site) -> list[Entry]:
    """Pair each pick with its provenance and timestamps, newest day first."""
    result = []
    for pick in sorted(picks, key=lambda p: p.date, reverse=True):
        quote = pick.quote
        source = sources[quote.source]
        cites = sources[quote.cites] if quote.cites else None
        published = site.published(pick.date)
        changes = [c for c in (quote.corrected_at, pick.replaced_at) if c is not None and c > published]
        result.append(Entry(pick, source, cites, published, max(changes, default=published)))
    return result


def _updated(items: Sequence[Entry]) -> dt.datetime:
    return max((e.updated for e in items), default=EPOCH)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


class _NoFeedLinks(BaseExtension):  # type: ignore[misc]  # feedgen has no types: its classes are Any
    pass


class _EntryLinks(BaseEntryExtension):  # type: ignore[misc]  # feedgen has no types: its classes are Any
    """Atom entry links with their rel, type and title.

    feedgen 1.0's FeedEntry.link() drops every attribute but href when it writes Atom (a
    variable is shadowed in atom_entry), which would turn the related links into duplicate
    alternates; this writes them itself.
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def add(self, **attributes: str) -> None:
        self.links.append(attributes)

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        for attributes in self.links:
            etree.SubElement(entry, "link", attrib=attributes)
        return entry


def _generator(site: Site, self_path: str, updated: dt.datetime) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.register_extension("links", _NoFeedLinks, _EntryLinks, atom=True, rss=False)
    fg.id(site.link("/"))
    fg.title(TITLE)
    fg.subtitle(DESCRIPTION)
    fg.language(LANGUAGE)
    fg.author({"name": EDITOR, "uri": site.link("/")})
    fg.generator("qotd", uri=site.link("/"))
    # feedgen: the RSS <channel><link> is the last link() added, so the site comes last.
    fg.link(href=site.link(self_path), rel="self", type=_TYPES[self_path])
    fg.link(href=site.link("/"), rel="alternate", type="text/html")
    fg.updated(_utc(updated))  # atom:updated and rss:lastBuildDate; feedgen would use now()
    return fg


_TYPES = {
    RSS_PATH: "application/rss+xml",
    ATOM_PATH: "application/atom+xml",
    JSON_PATH: "application/feed+json",
}


def _add(fg: FeedGenerator, entry: Entry, site: Site, *, rss: bool) -> None:
    quote = entry.quote
    # append: entries stay in the newest-first order given (feedgen prepends by default).
    fe = fg.add_entry(order="append")
    fe.id(entry_id(site, entry.pick.date))
    fe.guid(entry_id(site, entry.pick.date), permalink=False)
    fe.title(entry_title(entry))
    if rss:
        fe.link(href=site.quote_url(quote.id))
    else:
        fe.links.add(href=site.quote_url(quote.id), rel="alternate", type="text/html")
        for related in (entry.cites, entry.source):
            if related is not None and related.url:
                fe.links.add(href=related.url, rel="related", type="text/html", title=related.title)
    if rss:
        fe.description(content_html(entry, site))
        fe.dc.dc_creator(quote.speaker)
    else:
        fe.content(content_html(entry, site), type="html")
        fe.summary(content_text(entry, site))
        fe.author({"name": quote.speaker})
    fe.published(_utc(entry.published))
    fe.updated(_utc(entry.updated))
    for topic in quote.topics:
        fe.category(term=topic)


def rss(items: Sequence[Entry], site: Site) -> bytes:
    """Render RSS 2.0 (with atom:link rel=self at /rss.xml)."""
    fg = _generator(site, RSS_PATH, _updated(items))
    fg.description(DESCRIPTION)
    fg.pubDate(_utc(_updated(items)))
    for entry in items:
        _add(fg, entry, site, rss=True)
    body: bytes = fg.rss_str(pretty=True)  # feedgen is untyped: rss_str returns the document's bytes
    return body


def atom(items: Sequence[Entry], site: Site) -> bytes:
    """Render Atom 1.0 (with rel=self at /atom.xml)."""
    fg = _generator(site, ATOM_PATH, _updated(items))
    for entry in items:
        _add(fg, entry, site, rss=False)
    body: bytes = fg.atom_str(pretty=True)  # feedgen is untyped: atom_str returns the document's bytes
    return body


def _rfc3339(moment: dt.datetime) -> str:
    return _utc(moment).isoformat().replace("+00:00", "Z")


def json_feed(items: Sequence[Entry], site: Site) -> bytes:
    """Render JSON Feed 1.1."""
    json_items: list[dict[str, Any]] = []
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": TITLE,
        "home_page_url": site.link("/"),
        "feed_url": site.link(JSON_PATH),
        "description": DESCRIPTION,
        "language": LANGUAGE,
        "authors": [{"name": EDITOR, "url": site.link("/")}],
        "items": json_items,
    }
    for entry in items:
        quote = entry.quote
        item: dict[str, Any] = {
            "id": entry_id(site, entry.pick.date),
            "url": site.quote_url(quote.id),
            "title": entry_title(entry),
            "content_html": content_html(entry, site),
            "content_text": content_text(entry, site),
            "date_published": _rfc3339(entry.published),
            "date_modified": _rfc3339(entry.updated),
            "authors": [{"name": quote.speaker}],
            "tags": list(quote.topics),
        }
        external = (entry.cites or entry.source).url or entry.source.url
        if external:
            item["external_url"] = external
        json_items.append(item)
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def render(picks: Sequence[Pick], sources: Mapping[str, Source], site: Site) -> Feeds:
    """Render the three feeds of `picks` (each with its quote's sources in `sources`)."""
    items = entries(picks, sources, site)
    return Feeds(rss(items, site), atom(items, site), json_feed(items, site), _updated(items))
