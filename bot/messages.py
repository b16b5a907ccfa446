"""How a quote reads in Telegram: HTML text and its buttons, built only from data."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html import escape as _escape
from html import unescape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.limits import TELEGRAM
from quotes.dates import day_text
from quotes.model import Quote, Source

ANOTHER = "another"  # callback_data of the "Another" button
MAX_MESSAGE = TELEGRAM.message_length
# What a reply repeats of what the user typed (a search, an id) is cut to this many characters.
ECHO_LENGTH = 60
HEADING = "Quote of the day"
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class QuoteMessage:
    html: str
    markup: InlineKeyboardMarkup


def heading(day: dt.date) -> str:
    """Return the line above the day's quote: 'Quote of the day · 1 December 2026'."""
    return f"{HEADING} · {day_text(day)}"


def escape(text: object) -> str:
    """Escape any dynamic text for Telegram's HTML, in a text node or a double-quoted attribute.

    The one escaping policy of the bot's messages: &, <, > and both quotes become entities, which
    Telegram decodes (it knows &lt; &gt; &amp; &quot; and every numeric entity).
    """
    return _escape(str(text), quote=True)


def _link(source: Source) -> str:
    title = f"<i>{escape(source.title)}</i>"
    return f'<a href="{escape(source.url)}">{title}</a>' if source.url else title


def attribution(quote: Quote, source: Source, cites: Source | None) -> str:
    """Return the HTML lines under the quote: speaker, role, source, date."""
    role = f", {escape(quote.speaker_role)}" if quote.speaker_role else ""
    lines = [f"— <b>{escape(quote.speaker)}</b>{role}"]
    where = _link(cites) if cites is not None else _link(source)
    publisher = (cites or source).publisher
    lines.append(f"{where}{', ' + escape(publisher) if publisher else ''} · {escape(quote.date.human())}")
    if cites is not None:
        lines.append(
            f"quoted by {_link(source)}{', ' + escape(source.publisher) if source.publisher else ''}"
        )
    return "\n".join(lines)


def quote_message(
    quote: Quote, source: Source, cites: Source | None, heading: str | None = None
) -> QuoteMessage:
    """Build the message that carries a quote, with Source, Another and Share buttons."""
    parts = [f"<b>{escape(heading)}</b>\n"] if heading else []
    parts.append(f"“{escape(quote.text)}”\n")
    parts.append(attribution(quote, source, cites))
    buttons = []
    url = source.url or (cites.url if cites else None)
    if url:
        buttons.append(InlineKeyboardButton("Source", url=url))
    buttons.append(InlineKeyboardButton("Another", callback_data=ANOTHER))
    buttons.append(InlineKeyboardButton("Share", switch_inline_query=quote.id))
    return QuoteMessage("\n".join(parts), InlineKeyboardMarkup([buttons]))


def inline_markup(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    """Return a quote's buttons for a message sent inline: no "Another" (it has no chat to answer in)."""
    rows = [[b for b in row if b.callback_data != ANOTHER] for row in markup.inline_keyboard]
    return InlineKeyboardMarkup([row for row in rows if row])


def shared_quote_id(markup: InlineKeyboardMarkup | None) -> str | None:
    """Return the id of the quote a message carries, read from its Share button."""
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.switch_inline_query:
                return button.switch_inline_query
    return None


def snippet(text: str, limit: int = 90) -> str:
    """Return the start of a text on one line, cut at a word with "…" when longer than `limit`."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0]
    return (cut if len(cut) > limit // 2 else line[: limit - 1]) + "…"


def echo(text: str) -> str:
    """What a user typed, as a reply repeats it: one line, cut to ECHO_LENGTH, escaped."""
    return escape(snippet(text, ECHO_LENGTH))


def fit_message(html: str) -> str:
    """Return `html` if Telegram takes its length, else its text cut to the limit, as plain text.

    The last guard before a reply is sent (bot/handlers/common.py `reply`): a reply built
    longer than MAX_MESSAGE loses its formatting rather than being refused by Telegram.
    """
    if telegram_length(html) <= MAX_MESSAGE:
        return html
    text = unescape(_TAG.sub("", html)).strip()
    cut = []
    length = 0
    for char in text:
        units = len(char.encode("utf-16-le")) // 2
        if length + units > MAX_MESSAGE - 1:
            break
        cut.append(char)
        length += units
    return escape("".join(cut)) + "…"


def telegram_length(html: str) -> int:
    """Return the length Telegram counts for an HTML message: its text, in UTF-16 code units."""
    text = unescape(_TAG.sub("", html)).strip()
    return len(text.encode("utf-16-le")) // 2


def _dates(source: Source) -> str:
    text = source.date.human() if source.date.known else "date unknown"
    text += f" ({source.date.precision} precision)" if source.date.known else ""
    if source.published.known and source.published != source.date:
        text += f"; published {source.published.human()} ({source.published.precision} precision)"
    return text


def _source_block(label: str, source: Source, cut: int) -> list[str]:
    lines = [f"<b>{label}</b>: {_link(source)} <code>{escape(source.id)}</code>"]
    if source.kind:
        lines.append(f"Kind: {escape(source.kind)}")
    if source.author:
        lines.append(f"Author as shown: {escape(source.author)}")
    lines.append(f"Publisher: {escape(source.publisher) if source.publisher else 'unknown'}")
    if source.url:
        lines.append(f"Page: {escape(snippet(source.url, cut))}")
    lines.append(f"Date: {_dates(source)}")
    if source.place:
        lines.append(f"Place: {escape(source.place)}")
    if source.document:
        lines.append(f"Document: <code>{escape(source.document)}</code>")
    if source.cites_confidence:
        lines.append(f"That it quotes the work below: {escape(source.cites_confidence)} confidence")
    lines += [f"• {escape(snippet(note, cut))}" for note in source.notes]
    return lines


def provenance_html(quote: Quote, source: Source, cites: Source | None, cut: int = 2000) -> str:
    """Return a quote's full provenance: document, publisher, page, cited work, dates, notes.

    Notes and URLs longer than `cut` characters are shortened with "…"; `fitting_provenance`
    picks a cut that keeps the message inside Telegram's limit.
    """
    role = f", {escape(quote.speaker_role)}" if quote.speaker_role else ""
    date = quote.date.human()
    precision = f" ({quote.date.precision} precision)" if quote.date.known else ""
    lines = [
        f"<b>Provenance of</b> <code>{escape(quote.id)}</code>",
        f"“{escape(snippet(quote.text, 160))}”",
        f"— {escape(quote.speaker)}{role}; said or written: {escape(date)}{precision}",
        "",
        *_source_block("Taken from", source, cut),
    ]
    if quote.paragraph is not None:
        lines.append(f"Where: paragraph {quote.paragraph}, character {quote.offset}")
    if cites is not None:
        lines += ["", *_source_block("Which quotes", cites, cut)]
    if quote.notes:
        lines += ["", "<b>Notes</b>", *(f"• {escape(snippet(note, cut))}" for note in quote.notes)]
    origin = "added by an admin"
    if quote.origin == "curated":
        origin = "curated and checked verbatim against its document"
    lines += ["", f"Origin: {origin}."]
    return "\n".join(lines)


def fitting_provenance(quote: Quote, source: Source, cites: Source | None) -> str:
    """Return the provenance message, its long notes and URLs shortened until it fits a message."""
    for cut in (2000, 400, 120, 40):
        html = provenance_html(quote, source, cites, cut)
        if telegram_length(html) <= MAX_MESSAGE:
            return html
    return html
