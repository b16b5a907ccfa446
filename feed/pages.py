"""The site's HTML from Jinja2 templates (feed/templates/, autoescaped, one base layout).

This module turns data into what the templates show: which quote, its provenance, its text
cut into marked pieces on a source page, the page's title, description and share image. It
writes no markup: every value reaches the page through Jinja2's autoescaping.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from feed.render import ATOM_PATH, DESCRIPTION, JSON_PATH, RSS_PATH, TITLE, Site
from quotes.corpus import paragraphs
from quotes.dates import day_text, month_name, month_text
from quotes.model import Correction, Pick, Quote, Source
from quotes.text import snippet
from quotes.verification import sentence

SITE_NAME = TITLE
CARD_SIZE = (1200, 630)  # the share image, Open Graph's recommended size
SITE_CARD_PATH = "/card.png"  # the share image of the pages that are not one quote's


def card_path(quote_id: str, kind: str = "png") -> str:
    """Where a quote's share image is: /q/<id>.png (or .jpg, for Telegram's inline results)."""
    return f"/q/{quote_id}.{kind}"


@dataclass(frozen=True)
class Feed:
    path: str
    media: str
    name: str


FEEDS = (
    Feed(RSS_PATH, "application/rss+xml", "RSS"),
    Feed(ATOM_PATH, "application/atom+xml", "Atom"),
    Feed(JSON_PATH, "application/feed+json", "JSON Feed"),
)

ENV = Environment(
    loader=PackageLoader("feed", "templates"),
    autoescape=select_autoescape(["html", "xml"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
ENV.globals.update(
    site_name=SITE_NAME,
    feeds=FEEDS,
    card_size=CARD_SIZE,
    day_text=day_text,
    month_text=month_text,
    month_name=month_name,
    sentence=sentence,
)


@dataclass(frozen=True)
class Meta:
    """What a page says of itself to browsers, search engines and link previews."""

    title: str  # the short <title>
    description: str
    path: str | None  # the canonical address (None: a page with none, such as a 404)
    image: str = SITE_CARD_PATH
    image_alt: str = f"{SITE_NAME}: one curated quote a day, verbatim from a real document."
    og_title: str = ""
    kind: str = "website"

    def __post_init__(self) -> None:
        if not self.og_title:
            object.__setattr__(self, "og_title", self.title)


@dataclass(frozen=True)
class QuoteView:
    """A quote with what is shown with it wherever it appears.

    `lines`: the quote's provenance lines (a verification sentence and the like), shown under
    its attribution on every page that shows the quote; `corrections`: listed on its page.
    """

    quote: Quote
    source: Source
    cites: Source | None
    pick: Pick | None = None
    lines: tuple[str, ...] = ()
    corrections: tuple[Correction, ...] = field(default=())


def provenance_lines(quote: Quote, source: Source, cites: Source | None) -> tuple[str, ...]:
    """The sentences every page shows under a quote's attribution (none are recorded yet)."""
    return ()


def view_of(quote: Quote, source: Source, cites: Source | None, pick: Pick | None = None) -> QuoteView:
    return QuoteView(quote, source, cites, pick, provenance_lines(quote, source, cites))


def _render(template: str, site: Site, meta: Meta, bot_username: str | None, **context: Any) -> str:
    return ENV.get_template(template).render(site=site, meta=meta, bot_username=bot_username, **context)


def quote_description(quote: Quote) -> str:
    return f"“{snippet(quote.text, 180)}” — {quote.speaker}, {quote.date.human()}"


def quote_alt(quote: Quote) -> str:
    return f"The quote “{snippet(quote.text, 120)}” by {quote.speaker}, on a card of {SITE_NAME}."


def home(
    today: Pick | None,
    provenance: Mapping[str, tuple[Source, Source | None]],
    recent: Sequence[Pick],
    bot_username: str | None,
    checked: tuple[int, int] | None = None,
    rule: str = "",
    *,
    site: Site,
    archive: bool = False,
) -> str:
    """The home page: today's quote, the rule that makes it today's, the recent days (and, with
    `archive`, a link to the earlier ones), and how many quotes are checked."""
    views = [view_of(p.quote, *provenance[p.quote.id], pick=p) for p in recent]
    current = next((v for v in views if today is not None and v.pick == today), None)
    earlier = [v for v in views if today is None or v.pick is None or v.pick.date != today.date]
    if current is None:
        meta = Meta(SITE_NAME, DESCRIPTION, "/")
    else:
        quote = current.quote
        meta = Meta(
            SITE_NAME,
            quote_description(quote),
            "/",
            image=card_path(quote.id),
            image_alt=quote_alt(quote),
            og_title=f"{SITE_NAME}, {day_text(current.pick.date) if current.pick else ''}: {quote.speaker}",
        )
    return _render(
        "home.html",
        site,
        meta,
        bot_username,
        today=current,
        earlier=earlier,
        checked=checked,
        rule=rule,
        archive=archive,
    )


ARCHIVE_PATH = "/archive"


def month_path(month: dt.date) -> str:
    """Where a month of the archive is: /archive/YYYY-MM."""
    return f"{ARCHIVE_PATH}/{month:%Y-%m}"


ENV.globals["month_path"] = month_path


def archive_index(months: Sequence[dt.date], bot_username: str | None, *, site: Site) -> str:
    """The archive: one line per year (newest first), with a link to each month that has days."""
    years: dict[int, list[dt.date]] = {}
    for month in sorted(months):
        years.setdefault(month.year, []).append(month)
    meta = Meta(
        f"Archive · {SITE_NAME}",
        f"Every quote {SITE_NAME} has published, month by month.",
        ARCHIVE_PATH,
        og_title=f"The archive of {SITE_NAME}",
    )
    return _render("archive.html", site, meta, bot_username, years=sorted(years.items(), reverse=True))


def archive_month(
    month: dt.date,
    picks: Sequence[Pick],
    provenance: Mapping[str, tuple[Source, Source | None]],
    earlier: dt.date | None,
    later: dt.date | None,
    bot_username: str | None,
    *,
    site: Site,
) -> str:
    """One month of the archive, newest day first, with links to the months around it."""
    title = month_text(month)
    views = [view_of(p.quote, *provenance[p.quote.id], pick=p) for p in picks]
    meta = Meta(
        f"{title} · {SITE_NAME}",
        f"The quotes {SITE_NAME} published in {title}.",
        month_path(month),
        og_title=f"{SITE_NAME}, {title}",
    )
    return _render(
        "archive_month.html",
        site,
        meta,
        bot_username,
        title=title,
        days=views,
        earlier=earlier,
        later=later,
    )


def quote_page(
    quote: Quote,
    source: Source,
    cites: Source | None,
    bot_username: str | None = None,
    *,
    site: Site,
    corrections: Sequence[Correction] = (),
) -> str:
    """A quote's permalink: the quote, its attribution and date, its full provenance, and its
    corrections (oldest first), dated in the site's time zone."""
    view = dataclasses.replace(view_of(quote, source, cites), corrections=tuple(corrections))
    when = f", {quote.date.human()}" if quote.date.known else ""
    meta = Meta(
        f"{quote.speaker}{when} · {SITE_NAME}",
        quote_description(quote),
        f"/q/{quote.id}",
        image=card_path(quote.id),
        image_alt=quote_alt(quote),
        og_title=f"{quote.speaker}{when}",
        kind="article",
    )
    return _render("quote.html", site, meta, bot_username, view=view, zone=site.timezone)


@dataclass(frozen=True)
class Mark:
    ids: tuple[str, ...]  # the quotes covering this piece, the first one's link is the piece's
    shade: int  # 0 or 1: neighbouring quotes alternate


@dataclass(frozen=True)
class Piece:
    text: str
    starts: tuple[str, ...]  # quotes that begin here (an anchor each)
    mark: Mark | None


@dataclass(frozen=True)
class Paragraph:
    number: int
    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class Part:
    own: bool  # the speaker's own words, or the editor's
    paragraphs: list[Paragraph]


@dataclass(frozen=True)
class Document:
    parts: list[Part]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    quote: Quote


def locate(document: str, quote: Quote) -> Span | None:
    """Find a quote in its document (runs of white space may differ), at its offset if it is there."""
    words = quote.text.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    match = None
    if quote.offset is not None and 0 <= quote.offset <= len(document):
        match = pattern.match(document, quote.offset)
    match = match or pattern.search(document)
    return Span(match.start(), match.end(), quote) if match else None


def _pieces(document: str, start: int, end: int, spans: Sequence[Span]) -> tuple[Piece, ...]:
    """Cut document[start:end] where quotes begin and end; each piece knows the quotes covering it."""
    cuts = {start, end}
    for span in spans:
        cuts.update(c for c in (span.start, span.end) if start < c < end)
    shade = {span.quote.id: number % 2 for number, span in enumerate(spans)}
    pieces = []
    for lo, hi in itertools.pairwise(sorted(cuts)):
        starts = tuple(s.quote.id for s in spans if s.start == lo)
        covering = tuple(s.quote.id for s in spans if s.start <= lo and hi <= s.end)
        mark = Mark(covering, shade[covering[0]]) if covering else None
        pieces.append(Piece(document[lo:hi], starts, mark))
    return tuple(pieces)


def document_view(document: str, source: Source, spans: Sequence[Span]) -> Document:
    """A document's paragraphs with the quotes marked, in runs of the speaker's and the editor's."""
    parts: list[Part] = []
    told_apart = bool(source.speaker_paragraphs)  # a held copy nobody has divided is all one text
    for number, (start, end) in enumerate(paragraphs(document), 1):
        own = number in source.speaker_paragraphs or not told_apart
        paragraph = Paragraph(number, _pieces(document, start, end, spans))
        if parts and parts[-1].own == own:
            parts[-1].paragraphs.append(paragraph)
        else:
            parts.append(Part(own, [paragraph]))
    return Document(parts)


def source_page(
    source: Source,
    document: str | None,
    quotes: Sequence[Quote],
    citing: Sequence[tuple[Quote, Source]],
    cites: Source | None,
    bot_username: str | None = None,
    *,
    site: Site,
) -> str:
    """A source: its metadata, and its text with the speaker's and the editor's parts told apart."""
    speakers = sorted({q.speaker for q in quotes}) or ([source.author] if source.author else [])
    unlocated: list[Quote] = []
    shown = None
    if document is not None:
        spans = []
        for quote in quotes:
            span = locate(document, quote)
            if span is None:
                unlocated.append(quote)
            else:
                spans.append(span)
        spans.sort(key=lambda s: (s.start, s.quote.id))
        shown = document_view(document, source, spans)
    held = len(quotes) + len(citing)
    what = f"{held} quote{'s' if held != 1 else ''} taken from it" if held else "its details"
    meta = Meta(
        f"{snippet(source.title, 50)} · {SITE_NAME}",
        f"{source.title} ({source.kind}"
        + (f", {source.publisher}" if source.publisher else "")
        + f", {source.dates_text()}): {what}.",
        f"/sources/{source.id}",
        og_title=snippet(source.title, 90),
    )
    return _render(
        "source.html",
        site,
        meta,
        bot_username,
        source=source,
        cites=cites,
        citing=citing,
        quotes=quotes,
        document=shown,
        speaker=" and ".join(speakers) or "the speaker",
        listed=unlocated if document is not None else list(quotes),
        told_apart=bool(source.speaker_paragraphs),
    )


def about(
    site: Site,
    bot_username: str | None,
    publish_time: str,
    timezone: str,
    checked: tuple[int, int] | None = None,
) -> str:
    """What the site is, where its quotes come from, when they come out and how to follow them."""
    meta = Meta(f"About · {SITE_NAME}", DESCRIPTION, "/about", og_title=f"About {SITE_NAME}")
    return _render(
        "about.html",
        site,
        meta,
        bot_username,
        description=DESCRIPTION,
        publish_time=publish_time,
        timezone=timezone,
        checked=checked,
    )


def not_found(message: str, site: Site) -> str:
    return _render(
        "not_found.html", site, Meta(f"Not found · {SITE_NAME}", message, None), None, message=message
    )


SITEMAP_PATH = "/sitemap.xml"  # the index robots.txt names; it lists the sitemaps below
SITEMAP_SITE_PATH = "/sitemap-site.xml"
# Quotes' and sources' pages, `size` (feed.site.SITEMAP_URLS) to a sitemap: /sitemap-quotes-1.xml, ...
SITEMAP_PARTS = {"quotes": "/q/", "sources": "/sources/"}
_SITEMAP_PART = re.compile(r"^/sitemap-(quotes|sources)-([1-9][0-9]{0,8})\.xml$")


def sitemap_part_path(kind: str, number: int) -> str:
    """Where the `number`th sitemap (from 1) of `kind` ("quotes", "sources") is."""
    return f"/sitemap-{kind}-{number}.xml"


def sitemap_part(path: str) -> tuple[str, int] | None:
    """The kind and number of the sitemap at `path`, or None: not one of the parts."""
    found = _SITEMAP_PART.match(path)
    return (found[1], int(found[2])) if found else None


def site_paths(months: Iterable[dt.date] = ()) -> list[str]:
    """The pages besides the quotes' and the sources': the home and about pages, the archive
    and its months (when there are any)."""
    months = list(months)
    archive = [ARCHIVE_PATH, *(month_path(m) for m in months)] if months else []
    return ["/", "/about", *archive]


def sitemap(site: Site, paths: Iterable[str]) -> str:
    """A sitemap of these pages (at most 50,000: the sitemaps protocol's limit of one file)."""
    return ENV.get_template("sitemap.xml").render(site=site, paths=paths)


def sitemap_index(site: Site, paths: Iterable[str]) -> str:
    """The sitemap index: where each sitemap is."""
    return ENV.get_template("sitemap_index.xml").render(site=site, paths=paths)


def robots(site: Site) -> str:
    return ENV.get_template("robots.txt").render(site=site)
