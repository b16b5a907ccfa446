"""The site's HTML: plain pages built from data, everything escaped, no JavaScript."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from feed.render import ATOM_PATH, JSON_PATH, RSS_PATH, TITLE
from feed.render import escape as e
from quotes.corpus import paragraphs
from quotes.dates import day_text, month_text
from quotes.model import Pick, Quote, Source

STYLE = """
:root{
  color-scheme:light dark;
  --fg:#1d1d1f;
  --bg:#fdfcf9;
  --muted:#5f6368;
  --mark:#fff1a8;
  --line:#d9d4c7;
  --accent:#1a5fb4}
@media (prefers-color-scheme:dark){
:root{--fg:#e8e6e3;
  --bg:#17181a;
  --muted:#a0a4a8;
  --mark:#5a4a00;
  --line:#3a3a3a;
  --accent:#8fb8ff}}
*{box-sizing:border-box}
figure{margin:0}
body{
  margin:0 auto;
  max-width:42rem;
  padding:1rem 1.1rem 3rem;
  font:1.05rem/1.6 Georgia,"Times New Roman",serif;
  color:var(--fg);
  background:var(--bg)}
a{color:var(--accent)}
header{
  display:flex;
  justify-content:space-between;
  align-items:baseline;
  gap:1rem;
  flex-wrap:wrap;
  border-bottom:1px solid var(--line);
  padding-bottom:.4rem;
  font-family:system-ui,sans-serif;
  font-size:.95rem}
header a.home{font-weight:700;text-decoration:none;color:var(--fg)}
h1{font-size:1.5rem;line-height:1.25;margin:1.2rem 0 .6rem}
h2{font-size:1.15rem;margin:2rem 0 .5rem;font-family:system-ui,sans-serif}
blockquote{
  margin:1rem 0;
  padding:.2rem 0 .2rem 1rem;
  border-left:4px solid var(--accent);
  font-size:1.25rem;
  line-height:1.5}
blockquote p{margin:.3rem 0}
.attribution{margin:.2rem 0 1rem;font-style:italic}
.meta,.small,footer{font-family:system-ui,sans-serif;font-size:.9rem;color:var(--muted)}
dl{
  display:grid;
  grid-template-columns:max-content 1fr;
  gap:.2rem .9rem;
  font-family:system-ui,sans-serif;
  font-size:.92rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
ol.days{list-style:none;
  padding:0}ol.days li{margin:0 0 1rem;
  padding-bottom:.6rem;
  border-bottom:1px solid var(--line)}
.date{display:block;font-family:system-ui,sans-serif;font-size:.85rem;color:var(--muted)}
.doc .part{margin:1rem 0;padding:.1rem .9rem;border-left:4px solid var(--line)}
.doc .speaker{border-left-color:var(--accent)}
.doc .who{
  margin:.4rem 0 0;
  font-family:system-ui,sans-serif;
  font-size:.8rem;
  text-transform:uppercase;
  letter-spacing:.04em;
  color:var(--muted)}
.doc .editor p{color:var(--muted)}
mark{background:var(--mark);color:inherit;padding:0 .1em}
mark a{color:inherit;text-decoration:none}
:target+mark,mark:target{outline:2px solid var(--accent)}
footer{margin-top:3rem;border-top:1px solid var(--line);padding-top:.6rem}
footer a{margin-right:.8rem}
""".strip()

FEEDS = (
    (RSS_PATH, "application/rss+xml", "RSS"),
    (ATOM_PATH, "application/atom+xml", "Atom"),
    (JSON_PATH, "application/feed+json", "JSON Feed"),
)


def subscribe_link(bot_username: str | None) -> str:
    if not bot_username:
        return ""
    url = f"https://t.me/{bot_username}"
    return f'<a class="subscribe" href="{e(url)}">Get it on Telegram (@{e(bot_username)})</a>'


def page(title: str, body: str, bot_username: str | None = None) -> str:
    """Wrap a page's body in the site's layout, with feed autodiscovery links."""
    alternates = "\n".join(
        f'<link rel="alternate" type="{media}" title="{e(TITLE)} ({name})" href="{path}">'
        for path, media, name in FEEDS
    )
    feeds = " ".join(f'<a href="{path}">{name}</a>' for path, _, name in FEEDS)
    subscribe = subscribe_link(bot_username)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<link rel="icon" href="data:,">
{alternates}
<style>{STYLE}</style>
</head>
<body>
<header><a class="home" href="/">{e(TITLE)}</a>{subscribe}</header>
<main>
{body}
</main>
<footer>Feeds: {feeds}</footer>
</body>
</html>
"""


def _cite(source: Source, quote_id: str | None = None) -> str:
    """A source's title linked to its page on this site, its publisher and its dates."""
    href = f"/sources/{source.id}" + (f"#q-{quote_id}" if quote_id and source.document else "")
    publisher = f", {e(source.publisher)}" if source.publisher else ""
    return f'<a href="{e(href)}"><cite>{e(source.title)}</cite></a>{publisher} ({e(source.dates_text())})'


def attribution(quote: Quote) -> str:
    role = f", {e(quote.speaker_role)}" if quote.speaker_role else ""
    return f'<p class="attribution">— {e(quote.speaker)}{role}, {e(quote.date.human())}</p>'


def quote_figure(quote: Quote, source: Source, cites: Source | None) -> str:
    """The quote, its attribution, and where it comes from."""
    if cites is not None:
        where = f"From {_cite(cites)}, as quoted by {_cite(source, quote.id)}."
    else:
        where = f"From {_cite(source, quote.id)}."
    return (
        f'<figure class="quote" id="quote-{e(quote.id)}">\n'
        f"<blockquote><p>{e(quote.text)}</p></blockquote>\n"
        f'<figcaption>{attribution(quote)}<p class="meta">{where} '
        f'<a href="/q/{e(quote.id)}">Provenance</a></p></figcaption>\n'
        "</figure>"
    )


def _days(picks: Sequence[Pick], provenance: dict[str, tuple[Source, Source | None]]) -> str:
    """A list of days, each with its quote linked to the quote's page."""
    items = []
    for pick in picks:
        quote = pick.quote
        source, cites = provenance[quote.id]
        items.append(
            f'<li><span class="date">{e(day_text(pick.date))}</span>'
            f'<a href="/q/{e(quote.id)}">{e(quote.text)}</a>'
            f'<span class="small"> — {e(quote.speaker)}, {e(quote.date.human())}, '
            f"<cite>{e((cites or source).title)}</cite></span></li>"
        )
    return '<ol class="days">\n' + "\n".join(items) + "\n</ol>"


def month_path(month: dt.date) -> str:
    return f"/archive/{month:%Y-%m}"


def archive_index(months: Sequence[dt.date], bot_username: str | None) -> str:
    """The archive: one line per year, with a link to each month that has published days."""
    years: dict[int, list[dt.date]] = {}
    for month in months:
        years.setdefault(month.year, []).append(month)
    lines = [
        f"<li><strong>{year}</strong>: "
        + " · ".join(f'<a href="{month_path(m)}">{m:%B}</a>' for m in sorted(in_year))
        + "</li>"
        for year, in_year in sorted(years.items(), reverse=True)
    ]
    body = "<h1>Archive</h1>\n" + (
        '<ul class="years">\n' + "\n".join(lines) + "\n</ul>" if lines else "<p>Nothing published yet.</p>"
    )
    return page(f"Archive — {TITLE}", body, bot_username)


def archive_month(
    month: dt.date,
    picks: Sequence[Pick],
    provenance: dict[str, tuple[Source, Source | None]],
    earlier: dt.date | None,
    later: dt.date | None,
    bot_username: str | None,
) -> str:
    """One month of the archive, newest day first, with links to the months around it."""
    title = month_text(month)
    links = ['<a href="/archive">All months</a>']
    if earlier:
        links.insert(0, f'<a rel="prev" href="{month_path(earlier)}">← {e(month_text(earlier))}</a>')
    if later:
        links.append(f'<a rel="next" href="{month_path(later)}">{e(month_text(later))} →</a>')
    nav = '<p class="small">' + " · ".join(links) + "</p>"
    days = _days(picks, provenance) if picks else "<p>No quote was published this month.</p>"
    return page(f"{title} — {TITLE}", f"<h1>{e(title)}</h1>\n{nav}\n{days}\n{nav}", bot_username)


def home(
    today: Pick | None,
    provenance: dict[str, tuple[Source, Source | None]],
    recent: Sequence[Pick],
    bot_username: str | None,
    archive: bool = False,
) -> str:
    """The home page: today's quote, then the recent days (and a link to the archive)."""
    parts = []
    if today is None:
        parts.append(f"<h1>{e(TITLE)}</h1>\n<p>No quote has been published yet.</p>")
    else:
        parts.append(f'<h1>{e(TITLE)}<span class="date">{e(day_text(today.date))}</span></h1>')
        parts.append(quote_figure(today.quote, *provenance[today.quote.id]))
    subscribe = subscribe_link(bot_username)
    feeds = ", ".join(f'<a href="{path}">{name}</a>' for path, _, name in FEEDS)
    parts.append(
        f'<p class="small">{subscribe + " · " if subscribe else ""}'
        f"Follow it in your feed reader: {feeds}.</p>"
    )
    earlier = [p for p in recent if today is None or p.date != today.date]
    if earlier:
        parts.append("<h2>Recent days</h2>\n" + _days(earlier, provenance))
    if archive:
        parts.append('<p class="small"><a href="/archive">Every earlier day, month by month</a></p>')
    return page(TITLE, "\n".join(parts), bot_username)


def _source_dl(source: Source) -> str:
    rows = [("Title", f"<cite>{e(source.title)}</cite>"), ("Kind", e(source.kind))]
    if source.author:
        rows.append(("Author (as shown)", e(source.author)))
    rows.append(("Publisher", e(source.publisher or "unknown")))
    rows.append(("Date", f"{e(source.date.human())} ({e(source.date.precision)} precision)"))
    if source.published.known and source.published != source.date:
        rows.append(("Published", e(source.published.human())))
    if source.place:
        rows.append(("Place", e(source.place)))
    if source.url:
        rows.append(("Address", f'<a href="{e(source.url)}" rel="nofollow">{e(source.url)}</a>'))
    if source.cites_confidence:
        rows.append(("That it quotes the cited work", e(source.cites_confidence)))
    return "<dl>\n" + "\n".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "\n</dl>"


def _notes(notes: Iterable[str]) -> str:
    notes = list(notes)
    return "<ul>\n" + "\n".join(f"<li>{e(n)}</li>" for n in notes) + "\n</ul>" if notes else ""


def quote_page(quote: Quote, source: Source, cites: Source | None, bot_username: str | None = None) -> str:
    """A quote's permalink: the quote, its attribution and date, its full provenance."""
    parts = [f"<h1>{e(quote.speaker)}, {e(quote.date.human())}</h1>", quote_figure(quote, source, cites)]
    where = []
    if source.document:
        location = ""
        if quote.paragraph is not None:
            location = f" (paragraph {quote.paragraph}, character {quote.offset})"
        where.append(
            f'<p><a class="in-source" href="/sources/{e(source.id)}#q-{e(quote.id)}">'
            f"Read it in the source text</a>{e(location)}.</p>"
        )
    parts.append("<h2>Provenance</h2>\n" + "\n".join(where))
    rows = [
        ("Speaker", e(quote.speaker) + (f", {e(quote.speaker_role)}" if quote.speaker_role else "")),
        ("Date of the words", f"{e(quote.date.human())} ({e(quote.date.precision)} precision)"),
    ]
    if quote.topics:
        rows.append(("Topics", e(", ".join(quote.topics))))
    rows.append(("Id", e(quote.id)))
    parts.append("<dl>\n" + "\n".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "\n</dl>")
    parts.append(_notes(quote.notes))
    parts.append(f'<h2>Taken from: <a href="/sources/{e(source.id)}">{e(source.title)}</a></h2>')
    parts.append(_source_dl(source) + _notes(source.notes))
    if cites is not None:
        parts.append(f'<h2>Which quotes: <a href="/sources/{e(cites.id)}">{e(cites.title)}</a></h2>')
        parts.append(_source_dl(cites) + _notes(cites.notes))
    return page(f"{quote.speaker}: {quote.text}", "\n".join(p for p in parts if p), bot_username)


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


def _highlight(document: str, start: int, end: int, spans: Sequence[Span]) -> str:
    """Render document[start:end] with every quote marked, and an anchor where each one begins."""
    cuts = {start, end}
    for span in spans:
        cuts.update(c for c in (span.start, span.end) if start < c < end)
    out = []
    bounds = sorted(cuts)
    for lo, hi in itertools.pairwise(bounds):
        for span in spans:
            if span.start == lo:
                out.append(f'<a id="q-{e(span.quote.id)}" class="anchor"></a>')
        text = e(document[lo:hi])
        covering = [s for s in spans if s.start <= lo and hi <= s.end]
        if covering:
            first = covering[0].quote
            ids = " ".join(s.quote.id for s in covering)
            text = f'<mark data-quotes="{e(ids)}"><a href="/q/{e(first.id)}">{text}</a></mark>'
        out.append(text)
    return "".join(out)


def source_page(
    source: Source,
    document: str | None,
    quotes: Sequence[Quote],
    citing: Sequence[tuple[Quote, Source]],
    cites: Source | None,
    bot_username: str | None = None,
) -> str:
    """A source: its metadata, and its text with the speaker's and the editor's parts told apart."""
    parts = [f"<h1><cite>{e(source.title)}</cite></h1>", _source_dl(source), _notes(source.notes)]
    if cites is not None:
        parts.append(f'<p>It quotes <a href="/sources/{e(cites.id)}"><cite>{e(cites.title)}</cite></a>.</p>')
    if citing:
        items = "\n".join(
            f'<li><a href="/q/{e(q.id)}">{e(q.text)}</a> <span class="small">— quoted by '
            f'<a href="/sources/{e(s.id)}#q-{e(q.id)}">{e(s.title)}</a></span></li>'
            for q, s in citing
        )
        parts.append(f"<h2>Quotes from this work</h2>\n<ul>\n{items}\n</ul>")
    speakers = sorted({q.speaker for q in quotes}) or ([source.author] if source.author else [])
    speaker = " and ".join(speakers) or "the speaker"
    unlocated: list[Quote] = []
    if document is not None:
        spans = []
        for quote in quotes:
            span = locate(document, quote)
            if span is None:
                unlocated.append(quote)
            else:
                spans.append(span)
        spans.sort(key=lambda s: (s.start, s.quote.id))
        parts.append(
            "<h2>The text</h2>\n"
            f'<p class="small">Marked: the quotes taken from it. Blue-edged: {e(speaker)}\'s own words; '
            "grey: the editor's text and the page around them (not the speaker's).</p>"
        )
        blocks: list[tuple[bool, list[str]]] = []
        for number, (start, end) in enumerate(paragraphs(document), 1):
            own = number in source.speaker_paragraphs
            html = f'<p id="p-{number}">{_highlight(document, start, end, spans)}</p>'
            if blocks and blocks[-1][0] == own:
                blocks[-1][1].append(html)
            else:
                blocks.append((own, [html]))
        rendered = []
        for own, paras in blocks:
            label = f"{e(speaker)}'s words" if own else "Editor's text"
            kind = "speaker" if own else "editor"
            rendered.append(
                f'<section class="part {kind}"><p class="who">{label}</p>\n'
                + "\n".join(paras)
                + "\n</section>"
            )
        parts.append('<div class="doc">\n' + "\n".join(rendered) + "\n</div>")
    elif quotes:
        parts.append("<p>We do not hold this document's text.</p>")
    listed = unlocated if document is not None else list(quotes)
    if listed:
        heading = "Quotes not located in the text above" if document is not None else "Quotes taken from it"
        items = "\n".join(f'<li id="q-{e(q.id)}"><a href="/q/{e(q.id)}">{e(q.text)}</a></li>' for q in listed)
        parts.append(f"<h2>{heading}</h2>\n<ul>\n{items}\n</ul>")
    return page(source.title, "\n".join(p for p in parts if p), bot_username)


def not_found(message: str) -> str:
    return page(
        "Not found", f'<h1>Not found</h1>\n<p>{e(message)}</p>\n<p><a href="/">Today\'s quote</a></p>'
    )


def timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
