"""Source documents as data: a held copy's bytes, the readable text extracted from them, its digests.

A document's `text` is what quotes are located in: paragraphs separated by blank lines, as the
shipped documents in quotes/data/documents/ are written. It is extracted once, when the
document is stored, by a real parser for each kind:

- plain text: decoded as UTF-8 (a byte-order mark dropped, line ends made "\\n");
- HTML: BeautifulSoup over lxml; every block element (p, h1-h6, li, blockquote, pre, td, …)
  that holds text becomes a paragraph, scripts, styles and the page's navigation dropped;
- Markdown: markdown-it-py renders it to HTML, which is then read as HTML.

PDF is refused: pypdf's text comes out as lines without the paragraph boundaries that a
quote's "paragraph 7" is counted in, so the place of a quote could not be trusted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bs4 import Tag

MAX_DOCUMENT = 20 * 1024 * 1024  # the largest copy held (Telegram lets a bot download no more either)
MEDIA_TYPES = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "text/html",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
}
_MEDIA_ALIASES = {
    "text/plain": "text/plain",
    "text/html": "text/html",
    "application/xhtml+xml": "text/html",
    "text/markdown": "text/markdown",
    "text/x-markdown": "text/markdown",
}
_BLOCKS = frozenset(
    "p h1 h2 h3 h4 h5 h6 li blockquote pre td th dt dd figcaption caption address div section "
    "article main aside header footer nav ul ol dl table tr tbody thead form fieldset".split()
)
_DROPPED = ("script", "style", "noscript", "template", "nav", "svg", "iframe", "head")
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")


class DocumentError(ValueError):
    """A file that cannot be held as a source document; the message says why."""


@dataclass(frozen=True)
class Extracted:
    """What a file gave: its media type, a title (if it names one) and its readable text."""

    media_type: str
    title: str | None
    text: str

    @property
    def paragraphs(self) -> int:
        return len([p for p in self.text.split("\n\n") if p.strip()])


@dataclass(frozen=True)
class Document:
    """A held copy of a source: the bytes as obtained, the text quotes are located in."""

    id: str
    source: str
    media_type: str
    data: bytes
    text: str
    sha256: str  # of `data`, the bytes as obtained
    text_sha256: str  # of `text`, as extracted when it was stored
    file_name: str | None
    obtained_from: str
    obtained_at: dt.datetime


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def media_type_of(file_name: str | None, declared: str | None) -> str:
    """Say what kind a file is, from its name's suffix or else the type it was sent with."""
    suffix = PurePath(file_name or "").suffix.casefold()
    if suffix in MEDIA_TYPES:
        return MEDIA_TYPES[suffix]
    declared = (declared or "").split(";")[0].strip().casefold()
    if declared in _MEDIA_ALIASES:
        return _MEDIA_ALIASES[declared]
    if suffix == ".pdf" or declared == "application/pdf":
        raise DocumentError(
            "PDF is not taken: its text comes without paragraphs, so a quote's place could not be "
            "checked; send the page as HTML or plain text"
        )
    shown = file_name or declared or "the file"
    raise DocumentError(f"{shown} is not plain text, HTML or Markdown (.txt, .html, .md)")


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _clean(text: str) -> str:
    """One paragraph's text: runs of spaces made one, lines stripped, no blank lines inside."""
    lines = [_WS.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _html_paragraphs(node: Tag, out: list[str]) -> None:
    """Append the text of each block of `node`: a block's own text runs, split at nested blocks."""
    from bs4 import Tag  # loaded by extract_html, which calls this (see there)

    run: list[str] = []

    def flush() -> None:
        text = _clean("".join(run))
        if text:
            out.append(text)
        run.clear()

    for child in node.children:
        if isinstance(child, Tag):
            if child.name in _BLOCKS:
                flush()
                _html_paragraphs(child, out)
            elif child.name == "br":
                run.append("\n")
            else:
                run.append(child.get_text())
        else:
            run.append(str(child))
    flush()


def extract_html(data: bytes | str) -> tuple[str | None, str]:
    """Return an HTML page's title and its text, one paragraph per block element."""
    # BeautifulSoup (and markdown-it, in extract) only for a file an admin brings: their imports
    # are a tenth of every start-up, which reads no HTML.
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    title_tag = soup.find("title")
    title = _clean(title_tag.get_text()) if title_tag else None
    for name in _DROPPED:
        for tag in soup.find_all(name):
            tag.decompose()
    body = soup.body or soup
    out: list[str] = []
    _html_paragraphs(body, out)
    if not title:
        heading = soup.find(["h1", "h2"])
        title = _clean(heading.get_text()) if heading else None
    return title or None, "\n\n".join(out)


def extract(data: bytes, media_type: str) -> Extracted:
    """Extract the readable text of a file of `media_type` (see media_type_of)."""
    if len(data) > MAX_DOCUMENT:
        raise DocumentError(f"the file is {len(data)} bytes; at most {MAX_DOCUMENT // 1024 // 1024} MB")
    if media_type == "text/html":
        title, text = extract_html(_decode(data))
    elif media_type == "text/markdown":
        from markdown_it import MarkdownIt  # only for such a file (see extract_html)

        md = MarkdownIt("commonmark")
        source = _decode(data)
        tokens = md.parse(source)
        heading = next(
            (tokens[i + 1].content for i, tok in enumerate(tokens) if tok.type == "heading_open"), None
        )
        _, text = extract_html(md.render(source))
        title = _clean(heading) if heading else None
    elif media_type == "text/plain":
        raw = _decode(data)
        text = "\n\n".join(p for p in (_clean(b) for b in re.split(r"\n\s*\n", raw)) if p)
        first = next((line for line in text.split("\n") if line.strip()), None)
        title = first[:200] if first else None
    else:
        raise DocumentError(f"{media_type} is not plain text, HTML or Markdown")
    if not text.strip():
        raise DocumentError("the file holds no readable text")
    return Extracted(media_type, title, text)


@dataclass(frozen=True)
class Upload:
    """A file an admin brought as a source's copy, with its text extracted (not stored yet)."""

    data: bytes
    file_name: str | None
    extracted: Extracted
    obtained_from: str  # "telegram: sent by tg:42", "cli: page.html"

    def held_copy(self, source_id: str, now: dt.datetime) -> Document:
        """The document this upload becomes, held for `source_id`."""
        digest = sha256(self.data)
        return Document(
            id=f"{source_id}.{digest[:12]}",
            source=source_id,
            media_type=self.extracted.media_type,
            data=self.data,
            text=self.extracted.text,
            sha256=digest,
            text_sha256=sha256(self.extracted.text),
            file_name=self.file_name,
            obtained_from=self.obtained_from,
            obtained_at=now,
        )


def read_upload(data: bytes, file_name: str | None, declared: str | None, obtained_from: str) -> Upload:
    """Read a file brought as a source's copy; raise DocumentError saying what is wrong with it."""
    return Upload(data, file_name, extract(data, media_type_of(file_name, declared)), obtained_from)
