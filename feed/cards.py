"""The share image of a quote: a 1200×630 PNG drawn with Pillow from the quote's data.

The card carries the quote (set as large as it fits; a quote too long for the card is cut at a
word with "…", and the card then says the page has the rest), the speaker, the quote's date as
people write it, the source, the site's name and the page's address. It is set in DejaVu
Serif and DejaVu Sans, shipped in feed/fonts/ with their licence (Bitstream Vera licence; the
DejaVu changes are in the public domain). Text is laid out with Pillow's basic layout engine
and the PNG written without metadata, so the same data gives the same bytes.
"""

from __future__ import annotations

import functools
import io
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from feed.pages import CARD_SIZE, SITE_NAME
from feed.render import DESCRIPTION, Site
from quotes.model import Quote, Source

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = CARD_SIZE
MARGIN = 80  # left and right, inside the accent bar
TEXT_TOP, TEXT_BOTTOM = 64, 420  # the box the quote is fitted into
LARGEST, SMALLEST = 64, 26  # the quote's type sizes, in pixels, tried from large to small
LEADING = 1.3
BACKGROUND, INK, MUTED, ACCENT = "#fdfcf9", "#1d1d1f", "#595e63", "#1a5fb4"
SERIF, SANS, SANS_BOLD = "DejaVuSerif.ttf", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"
ELLIPSIS = "…"


@functools.lru_cache(maxsize=64)
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    # Pillow when the first card is drawn (here and in _canvas), not in every start-up.
    from PIL import ImageFont

    data = resources.files("feed").joinpath("fonts", name).read_bytes()
    return ImageFont.truetype(io.BytesIO(data), size, layout_engine=ImageFont.Layout.BASIC)


def _width(text: str, face: ImageFont.FreeTypeFont) -> float:
    return face.getlength(text)


def _wrap(words: list[str], face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break words into lines no wider than `width`; a word wider than a line is split."""
    lines: list[str] = []
    line = ""
    for word in words:
        while _width(word, face) > width:  # a long URL or a word in a narrow script
            head = word
            while len(head) > 1 and _width(head, face) > width:
                head = head[:-1]
            if line:
                lines.append(line)
                line = ""
            lines.append(head)
            word = word[len(head) :]
        candidate = f"{line} {word}" if line else word
        if _width(candidate, face) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _fit_line(text: str, face: ImageFont.FreeTypeFont, width: int) -> str:
    """One line of `text`, cut at a word with "…" if it is wider than `width`."""
    if _width(text, face) <= width:
        return text
    words = text.split()
    while len(words) > 1 and _width(" ".join(words) + ELLIPSIS, face) > width:
        words.pop()
    line = " ".join(words)
    while len(line) > 1 and _width(line + ELLIPSIS, face) > width:
        line = line[:-1]
    return line.rstrip(" ,;:") + ELLIPSIS


@dataclass(frozen=True)
class Layout:
    """Where everything on a card goes: the quote's lines at their size, and the lines under it."""

    size: int  # the quote's type size in pixels
    lines: tuple[str, ...]  # the quote as set, opening and closing marks included
    cut: bool  # the quote did not fit and ends in "…"
    speaker: str
    where: str  # the date and the source
    address: str  # the page's address, without the scheme


def layout(quote: Quote, source: Source, cites: Source | None, site: Site) -> Layout:
    """Fit the quote to the card: the largest size at which it all fits, else cut at the smallest."""
    width = WIDTH - 2 * MARGIN
    height = TEXT_BOTTOM - TEXT_TOP
    words = f"“{' '.join(quote.text.split())}”".split(" ")
    cut = False

    def fits(size: int) -> list[str] | None:
        lines = _wrap(words, font(SERIF, size), width)
        return lines if len(lines) * size * LEADING <= height else None

    # The largest size at which it fits: a smaller size never needs more lines, so halve.
    sizes = list(range(SMALLEST, LARGEST + 1, 2))
    low, high, best = 0, len(sizes) - 1, None
    while low <= high:
        middle = (low + high) // 2
        found = fits(sizes[middle])
        if found is not None:
            best, low = (sizes[middle], found), middle + 1
        else:
            high = middle - 1
    if best is not None:
        size, lines = best
    else:
        size = SMALLEST
        face = font(SERIF, size)
        lines = _wrap(words, face, width)
        room = int(height // (size * LEADING))
        kept = lines[:room]
        # Cut at a word: drop words from the last line until "…" fits after it.
        last = kept[-1].split(" ")
        while len(last) > 1 and _width(" ".join(last) + ELLIPSIS, face) > width:
            last.pop()
        kept[-1] = " ".join(last).rstrip(" ,;:—-") + ELLIPSIS
        lines, cut = kept, True
    role = f", {quote.speaker_role}" if quote.speaker_role else ""
    work = cites or source
    date = f"{quote.date.human()} · " if quote.date.known else ""
    publisher = f", {work.publisher}" if work.publisher else ""
    url = site.quote_url(quote.id)
    address = url.split("://", 1)[-1]
    return Layout(
        size=size,
        lines=tuple(lines),
        cut=cut,
        speaker=_fit_line(f"— {quote.speaker}{role}", font(SANS_BOLD, 32), width),
        where=_fit_line(f"{date}{work.title}{publisher}", font(SANS, 26), width),
        address=address,
    )


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    from PIL import Image, ImageDraw  # see font

    image = Image.new("RGB", CARD_SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 15, HEIGHT), fill=ACCENT)
    return image, draw


def _footer(draw: ImageDraw.ImageDraw, right: str) -> None:
    y = HEIGHT - 70
    draw.line((MARGIN, y - 18, WIDTH - MARGIN, y - 18), fill="#d9d4c7", width=2)
    draw.text((MARGIN, y), SITE_NAME, font=font(SANS_BOLD, 26), fill=INK)
    face = font(SANS, 24)
    room = WIDTH - 2 * MARGIN - int(_width(SITE_NAME, font(SANS_BOLD, 26))) - 40
    text = _fit_line(right, face, room)
    draw.text((WIDTH - MARGIN - _width(text, face), y + 2), text, font=face, fill=MUTED)


# The formats a card is served in: PNG for the pages' previews, JPEG where Telegram asks for one
# (an inline query's photo result must be a JPEG).
FORMATS = {"png": "image/png", "jpg": "image/jpeg"}


def _encode(image: Image.Image, kind: str = "png") -> bytes:
    out = io.BytesIO()
    if kind == "jpg":
        image.save(out, format="JPEG", quality=90, optimize=True)
    else:
        image.save(out, format="PNG")
    return out.getvalue()


def draw(card: Layout, kind: str = "png") -> bytes:
    """The card as a PNG (or a JPEG: `kind` "jpg")."""
    image, draw = _canvas()
    face = font(SERIF, card.size)
    step = card.size * LEADING
    block = len(card.lines) * step
    y = TEXT_TOP + (TEXT_BOTTOM - TEXT_TOP - block) / 2  # centred in its box
    for line in card.lines:
        draw.text((MARGIN, y), line, font=face, fill=INK)
        y += step
    draw.text((MARGIN, TEXT_BOTTOM + 22), card.speaker, font=font(SANS_BOLD, 32), fill=INK)
    draw.text((MARGIN, TEXT_BOTTOM + 66), card.where, font=font(SANS, 26), fill=MUTED)
    _footer(draw, f"Read it all: {card.address}" if card.cut else card.address)
    return _encode(image, kind)


def quote_card(quote: Quote, source: Source, cites: Source | None, site: Site, kind: str = "png") -> bytes:
    """A quote's share image (`/q/<id>.png`, `/q/<id>.jpg`)."""
    return draw(layout(quote, source, cites, site), kind)


def site_card(site: Site) -> bytes:
    """The share image of the pages that are not one quote's: the site's name and what it is."""
    image, draw = _canvas()
    width = WIDTH - 2 * MARGIN
    draw.text((MARGIN, 150), f"“{SITE_NAME}”", font=font(SERIF, 84), fill=INK)
    y = 290
    for line in _wrap(DESCRIPTION.split(), font(SANS, 36), width):
        draw.text((MARGIN, y), line, font=font(SANS, 36), fill=MUTED)
        y += 50
    _footer(draw, urlsplit(site.url).netloc or site.url)
    return _encode(image)


class CardCache:
    """Cards rendered for one data version; a new version empties it. At most `size` cards."""

    def __init__(self, size: int = 256):
        self.size = size
        self._version: Hashable = None
        self._cards: OrderedDict[str, bytes] = OrderedDict()

    def get(self, version: Hashable, name: str) -> bytes | None:
        if version != self._version:
            return None
        body = self._cards.get(name)
        if body is not None:
            self._cards.move_to_end(name)
        return body

    def put(self, version: Hashable, name: str, body: bytes) -> None:
        if version != self._version:
            self._version, self._cards = version, OrderedDict()
        self._cards[name] = body
        while len(self._cards) > self.size:
            self._cards.popitem(last=False)
