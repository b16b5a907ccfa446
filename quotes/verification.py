"""A quote's verification: whether its text stands in the held copy of its source, and where.

`verify()` is the one function that decides it; the store calls it on every write of a quote
(the corpus load, /add, /edit, imports, `qotd quotes add`) and keeps the result in the quote's
row. Reading never re-decides: `as_read()` only compares the row's text and source with the
digest that was checked, and reads the mark the database itself sets on a row whose text or
source changes behind the application's back (plain SQL; migration 0009_tallies), so such a row
reads as unverified, "changed since it was checked", never as checked; the home page's count
(kept by the database) agrees. `sentence()` is the one wording every surface shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

from quotes.corpus import Problem, check_place, find_text
from quotes.documents import Document
from quotes.model import (
    CHANGED,
    CURATED,
    EDITOR,
    MISPLACED,
    NO_DOCUMENT,
    NOT_FOUND,
    REASONS,
    UNVERIFIED,
    VERIFIED,
    Quote,
    Source,
    Verification,
)

__all__ = [
    "REASONS",
    "UNVERIFIED",
    "VERIFIED",
    "Verification",
    "as_read",
    "sentence",
    "text_digest",
    "verify",
]


def text_digest(text: str, source_id: str) -> str:
    """The digest of what a verification vouches for: the text, in that source."""
    return hashlib.sha256(f"{source_id}\n{text}".encode()).hexdigest()


def _parts(source: Source) -> tuple[int, ...] | None:
    """The paragraphs that are the speaker's: a curated source says; an admin's copy is all theirs."""
    if source.origin == CURATED or source.speaker_paragraphs:
        return source.speaker_paragraphs
    return None


def locate(quote: Quote, source: Source, document: Document) -> Verification:
    """Find a quote's text in a held document; a curated quote must stand at its recorded place."""
    found = find_text(quote.text, document.text, _parts(source), quote.id, document.id)
    base = Verification(document=document.id, sha256=document.sha256)
    if isinstance(found, Problem):
        reason = EDITOR if found.editors else NOT_FOUND
        return replace(base, state=UNVERIFIED, reason=reason, detail=found.message)
    if quote.origin == CURATED and (problems := check_place(quote, found, document.text)):
        return replace(base, reason=MISPLACED, detail="; ".join(p.message for p in problems))
    offset = quote.offset if quote.origin == CURATED else found.offset
    return replace(
        base,
        state=VERIFIED,
        reason=None,
        paragraph=found.paragraph,
        offset=offset,
        digest=text_digest(quote.text, quote.source),
    )


def verify(quote: Quote, source: Source, document: Document | None, now: dt.datetime | None) -> Verification:
    """Decide a quote's verification against the held copy of its source (None: none is held)."""
    if document is None:
        return Verification(reason=NO_DOCUMENT, checked_at=now)
    return replace(locate(quote, source, document), checked_at=now)


def as_read(stored: Verification, text: str, source_id: str) -> Verification:
    """What a stored verification says of a row as it is now: a changed row is not verified
    (its digest fails, or the database marked it "changed" as it changed: migration 0009_tallies)."""
    if stored.verified and (stored.reason == CHANGED or stored.digest != text_digest(text, source_id)):
        return replace(stored, state=UNVERIFIED, reason=CHANGED)
    return stored


def sentence(verification: Verification) -> str:
    """The one line every surface shows."""
    if verification.verified:
        return f"Checked against the copy of the source held here, paragraph {verification.paragraph}"
    return f"Not checked: {verification.reason_text}"
