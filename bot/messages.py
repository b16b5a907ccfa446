"""How a quote reads in Telegram: HTML text and its buttons, built only from data."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html import escape as _escape
from html import unescape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import ENGLISH, N_, Words
from bot.limits import TELEGRAM
from quotes.model import (
    CHANGED,
    EDITOR,
    MISPLACED,
    NO_DOCUMENT,
    NOT_CHECKED,
    NOT_FOUND,
    Quote,
    Source,
    Verification,
)
from quotes.text import snippet

ANOTHER = "another"  # callback_data of the "Another" button
MAX_MESSAGE = TELEGRAM.message_length
HEADING = N_("Quote of the day")
# What a reply repeats of what the user typed (a search, an id) is cut to this many characters.
ECHO_LENGTH = 60
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class QuoteMessage:
    html: str
    markup: InlineKeyboardMarkup


# quotes.verification.sentence in the reader's language: the reasons of quotes.model.REASONS.
REASON_WORDS = {
    NO_DOCUMENT: N_("no copy of the source is held"),
    NOT_FOUND: N_("the text is not in the copy of the source held here"),
    EDITOR: N_("the text is the editor's, not the speaker's"),
    MISPLACED: N_("the text is not at the place recorded for it"),
    CHANGED: N_("the text or its source changed after it was checked"),
    NOT_CHECKED: N_("it has not been checked yet"),
}


def checked_sentence(verification: Verification, words: Words = ENGLISH) -> str:
    """A quote's verification, one sentence, in the reader's language (English: the same words
    as quotes.verification.sentence, which the site and feeds show)."""
    _ = words.gettext
    if verification.verified:
        return _("Checked against the copy of the source held here, paragraph {paragraph}").format(
            paragraph=verification.paragraph
        )
    reason = REASON_WORDS.get(verification.reason or "")
    return _("Not checked: {reason}").format(reason=_(reason) if reason else verification.reason_text)


def heading(day: dt.date, words: Words = ENGLISH) -> str:
    """Return the line above the day's quote: 'Quote of the day · 1 December 2026'."""
    return f"{words.gettext(HEADING)} · {words.day(day)}"


def escape(text: object) -> str:
    """Escape any dynamic text for Telegram's HTML, in a text node or a double-quoted attribute.

    The one escaping policy of the bot's messages: &, <, > and both quotes become entities, which
    Telegram decodes (it knows &lt; &gt; &amp; &quot; and every numeric entity).
    """
    return _escape(str(text), quote=True)


def _link(source: Source) -> str:
    title = f"<i>{escape(source.title)}</i>"
    return f'<a href="{escape(source.url)}">{title}</a>' if source.url else title


def attribution(quote: Quote, source: Source, cites: Source | None, words: Words = ENGLISH) -> str:
    """Return the HTML lines under the quote: speaker, role, source, date."""
    _ = words.gettext
    role = f", {escape(quote.speaker_role)}" if quote.speaker_role else ""
    lines = [f"— <b>{escape(quote.speaker)}</b>{role}"]
    where = _link(cites) if cites is not None else _link(source)
    publisher = (cites or source).publisher
    lines.append(f"{where}{', ' + escape(publisher) if publisher else ''} · {escape(words.date(quote.date))}")
    if cites is not None:
        by = f"{_link(source)}{', ' + escape(source.publisher) if source.publisher else ''}"
        lines.append(_("quoted by {source}").format(source=by))
    return "\n".join(lines)


def quote_message(
    quote: Quote, source: Source, cites: Source | None, heading: str | None = None, words: Words = ENGLISH
) -> QuoteMessage:
    """Build the message that carries a quote, with Source, Another and Share buttons."""
    _ = words.gettext
    parts = [f"<b>{escape(heading)}</b>\n"] if heading else []
    parts.append(f"“{escape(quote.text)}”\n")
    parts.append(attribution(quote, source, cites, words))
    if not quote.verification.verified:  # a quote that is not checked says so, plainly
        parts.append(f"<i>{escape(checked_sentence(quote.verification, words))}.</i>")
    buttons = []
    url = source.url or (cites.url if cites else None)
    if url:
        buttons.append(InlineKeyboardButton(_("Source"), url=url))
    buttons.append(InlineKeyboardButton(_("Another"), callback_data=ANOTHER))
    buttons.append(InlineKeyboardButton(_("Share"), switch_inline_query=quote.id))
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


PRECISION = {  # how precisely a date is known, as the provenance says it
    "day": N_("day precision"),
    "month": N_("month precision"),
    "year": N_("year precision"),
    "unknown": N_("date unknown"),
}


def _precision(date, words: Words) -> str:
    return words.gettext(PRECISION[date.precision])


def _dates(source: Source, words: Words) -> str:
    _ = words.gettext
    text = words.date(source.date)
    text += f" ({_precision(source.date, words)})" if source.date.known else ""
    if source.published.known and source.published != source.date:
        text += "; " + _("published {date} ({precision})").format(
            date=words.date(source.published), precision=_precision(source.published, words)
        )
    return text


def _source_block(label: str, source: Source, cut: int, words: Words) -> list[str]:
    _ = words.gettext
    lines = [f"<b>{label}</b>: {_link(source)} <code>{escape(source.id)}</code>"]
    if source.kind:
        lines.append(_("Kind: {kind}").format(kind=escape(source.kind)))
    if source.author:
        lines.append(_("Author as shown: {author}").format(author=escape(source.author)))
    publisher = escape(source.publisher) if source.publisher else _("unknown")
    lines.append(_("Publisher: {publisher}").format(publisher=publisher))
    if source.url:
        lines.append(_("Page: {url}").format(url=escape(snippet(source.url, cut))))
    lines.append(_("Date: {date}").format(date=_dates(source, words)))
    if source.place:
        lines.append(_("Place: {place}").format(place=escape(source.place)))
    if source.document:
        lines.append(_("Document: {document}").format(document=f"<code>{escape(source.document)}</code>"))
    if source.cites_confidence:
        lines.append(
            _("That it quotes the work below: {confidence} confidence").format(
                confidence=escape(source.cites_confidence)
            )
        )
    lines += [f"• {escape(snippet(note, cut))}" for note in source.notes]
    return lines


def provenance_html(
    quote: Quote, source: Source, cites: Source | None, cut: int = 2000, words: Words = ENGLISH
) -> str:
    """Return a quote's full provenance: document, publisher, page, cited work, dates, notes.

    Notes and URLs longer than `cut` characters are shortened with "…"; `fitting_provenance`
    picks a cut that keeps the message inside Telegram's limit.
    """
    _ = words.gettext
    role = f", {escape(quote.speaker_role)}" if quote.speaker_role else ""
    date = words.date(quote.date)
    precision = f" ({_precision(quote.date, words)})" if quote.date.known else ""
    said = _("said or written: {date}").format(date=f"{escape(date)}{precision}")
    lines = [
        _("<b>Provenance of</b> {id}").format(id=f"<code>{escape(quote.id)}</code>"),
        f"“{escape(snippet(quote.text, 160))}”",
        f"— {escape(quote.speaker)}{role}; {said}",
        "",
        *_source_block(_("Taken from"), source, cut, words),
    ]
    lines += ["", f"<b>{escape(checked_sentence(quote.verification, words))}</b>."]
    if quote.verification.verified:
        lines.append(
            _("Where: paragraph {paragraph}, character {offset}").format(
                paragraph=quote.verification.paragraph, offset=quote.verification.offset
            )
        )
    if cites is not None:
        lines += ["", *_source_block(_("Which quotes"), cites, cut, words)]
    if quote.notes:
        lines += ["", f"<b>{_('Notes')}</b>", *(f"• {escape(snippet(note, cut))}" for note in quote.notes)]
    origin = _("Origin: added by an admin.")
    if quote.origin == "curated":
        origin = _("Origin: curated (from the corpus file).")
    lines += ["", origin]
    return "\n".join(lines)


def fitting_provenance(quote: Quote, source: Source, cites: Source | None, words: Words = ENGLISH) -> str:
    """Return the provenance message, its long notes and URLs shortened until it fits a message."""
    for cut in (2000, 400, 120, 40):
        html = provenance_html(quote, source, cites, cut, words)
        if telegram_length(html) <= MAX_MESSAGE:
            return html
    return html
