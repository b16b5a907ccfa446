"""Message building: provenance that always fits, escaping, lengths as Telegram counts them."""

from __future__ import annotations

from bot.messages import (
    MAX_MESSAGE,
    fitting_provenance,
    inline_markup,
    quote_message,
    snippet,
    telegram_length,
)
from quotes.dates import PartialDate
from quotes.model import Quote, Source

SOURCE = Source(id="us-1", title="A <b>title</b>", url="https://example.org/?a=1&b=2", publisher="P & Q",
                date=PartialDate(2013, 3), origin="admin")  # fmt: skip


def test_provenance_always_fits_a_message():
    long_notes = tuple("n" * 3500 for _ in range(5))
    quote = Quote(id="u-1", text="t" * 3500, speaker="S", source="us-1", notes=long_notes, origin="admin")
    source = Source(**{**SOURCE.__dict__, "notes": long_notes, "url": "https://example.org/" + "x" * 1900})
    html = fitting_provenance(quote, source, source)
    assert telegram_length(html) <= MAX_MESSAGE
    assert "…" in html and "<code>u-1</code>" in html


def test_dynamic_strings_are_escaped_and_counted_as_telegram_does():
    quote = Quote(id="u-1", text="1 < 2 & “x”", speaker="<i>S</i>", source="us-1", origin="admin")
    message = quote_message(quote, SOURCE, None)
    assert "&lt;i&gt;S&lt;/i&gt;" in message.html and "A &lt;b&gt;title&lt;/b&gt;" in message.html
    assert 'href="https://example.org/?a=1&amp;b=2"' in message.html
    assert telegram_length("<b>a&amp;b</b> 😀") == len("a&b ") + 2  # an emoji is two UTF-16 units
    assert [b.text for row in inline_markup(message.markup).inline_keyboard for b in row] == [
        "Source",
        "Share",
    ]


def test_snippet_cuts_at_a_word():
    assert snippet("one two three four", 12) == "one two…"
    assert snippet("short", 12) == "short"
