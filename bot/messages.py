"""How a quote reads in Telegram: HTML text and its buttons, built only from data."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from quotes.model import Quote, Source

ANOTHER = "another"  # callback_data of the "Another" button


@dataclass(frozen=True)
class QuoteMessage:
    html: str
    markup: InlineKeyboardMarkup


def _e(text: str) -> str:
    """Escape text for Telegram's HTML (a text node; attributes use escape(..., quote=True))."""
    return escape(text, quote=False)


def _link(source: Source) -> str:
    title = f"<i>{_e(source.title)}</i>"
    return f'<a href="{escape(source.url, quote=True)}">{title}</a>' if source.url else title


def attribution(quote: Quote, source: Source, cites: Source | None) -> str:
    """Return the HTML lines under the quote: speaker, role, source, date."""
    role = f", {_e(quote.speaker_role)}" if quote.speaker_role else ""
    lines = [f"— <b>{_e(quote.speaker)}</b>{role}"]
    where = _link(cites) if cites is not None else _link(source)
    publisher = (cites or source).publisher
    lines.append(f"{where}{', ' + _e(publisher) if publisher else ''} · {_e(quote.date.human())}")
    if cites is not None:
        lines.append(f"quoted by {_link(source)}{', ' + _e(source.publisher) if source.publisher else ''}")
    return "\n".join(lines)


def quote_message(
    quote: Quote, source: Source, cites: Source | None, heading: str | None = None
) -> QuoteMessage:
    """Build the message that carries a quote, with Source, Another and Share buttons."""
    parts = [f"<b>{_e(heading)}</b>\n"] if heading else []
    parts.append(f"“{_e(quote.text)}”\n")
    parts.append(attribution(quote, source, cites))
    buttons = []
    url = source.url or (cites.url if cites else None)
    if url:
        buttons.append(InlineKeyboardButton("Source", url=url))
    buttons.append(InlineKeyboardButton("Another", callback_data=ANOTHER))
    buttons.append(InlineKeyboardButton("Share", switch_inline_query=quote.id))
    return QuoteMessage("\n".join(parts), InlineKeyboardMarkup([buttons]))
