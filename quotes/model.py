"""The records the service deals in: speakers, sources, quotes and the daily pick."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from quotes.dates import PartialDate

CURATED = "curated"
ADMIN = "admin"


@dataclass(frozen=True)
class Speaker:
    name: str
    aliases: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """A document a quote is taken from, or a work such a document cites."""

    id: str
    title: str
    kind: str = "document"
    publisher: str | None = None
    url: str | None = None
    author: str | None = None
    date: PartialDate = field(default_factory=PartialDate)
    published: PartialDate = field(default_factory=PartialDate)
    place: str | None = None
    document: str | None = None
    speaker_paragraphs: tuple[int, ...] = ()
    cites: str | None = None
    cites_confidence: str | None = None
    notes: tuple[str, ...] = ()
    origin: str = CURATED

    def dates_text(self) -> str:
        """Return the source's date as people write it, and when it was published if that differs."""
        text = self.date.human()
        if self.published.known and self.published != self.date:
            text += f", published {self.published.human()}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "publisher": self.publisher,
            "url": self.url,
            "author": self.author,
            "date": self.date.iso(),
            "date_precision": self.date.precision,
            "published": self.published.iso(),
            "published_precision": self.published.precision,
            "place": self.place,
            "document": self.document,
            "speaker_paragraphs": list(self.speaker_paragraphs),
            "cites": self.cites,
            "cites_confidence": self.cites_confidence,
            "notes": list(self.notes),
            "origin": self.origin,
        }


VERIFIED = "verified"
UNVERIFIED = "unverified"

NO_DOCUMENT = "no-document"
NOT_FOUND = "not-found"
EDITOR = "editor"
MISPLACED = "misplaced"
CHANGED = "changed"
NOT_CHECKED = "not-checked"
REASONS = {
    NO_DOCUMENT: "no copy of the source is held",
    NOT_FOUND: "the text is not in the copy of the source held here",
    EDITOR: "the text is the editor's, not the speaker's",
    MISPLACED: "the text is not at the place recorded for it",
    CHANGED: "the text or its source changed after it was checked",
    NOT_CHECKED: "it has not been checked yet",
}


@dataclass(frozen=True)
class Verification:
    state: str = UNVERIFIED
    reason: str | None = NOT_CHECKED  # a key of REASONS when unverified
    detail: str | None = None  # the checker's own words (where the text departs from the document)
    document: str | None = None
    sha256: str | None = None  # the document's bytes, when checked
    paragraph: int | None = None
    offset: int | None = None
    digest: str | None = None  # text_digest() of what was checked
    checked_at: dt.datetime | None = None

    @property
    def verified(self) -> bool:
        return self.state == VERIFIED

    @property
    def reason_text(self) -> str | None:
        return REASONS.get(self.reason or "", self.reason) if not self.verified else None

    def as_dict(self) -> dict[str, Any]:
        """The export's `verification` object."""
        return {
            "state": self.state,
            "reason": self.reason,
            "reason_text": self.reason_text,
            "document": self.document,
            "sha256": self.sha256,
            "paragraph": self.paragraph,
            "offset": self.offset,
            "digest": self.digest,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
        }


@dataclass(frozen=True)
class Quote:
    """A quote, verbatim, with where and when it comes from."""

    id: str
    text: str
    speaker: str
    source: str
    date: PartialDate = field(default_factory=PartialDate)
    speaker_role: str | None = None
    cites: str | None = None
    paragraph: int | None = None
    offset: int | None = None
    topics: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    hidden: bool = False
    origin: str = CURATED
    corrected_at: dt.datetime | None = None  # the last change after it was first stored
    verification: Verification = field(default_factory=Verification)


@dataclass(frozen=True)
class Pick:
    """The quote of a calendar date; `stored` is False for a preview."""

    date: dt.date
    quote: Quote
    cycle: int
    pinned: bool = False
    stored: bool = True
    replaced_at: dt.datetime | None = None  # when a fixed day's quote was last replaced


@dataclass(frozen=True)
class Correction:
    """A correction of a published quote (`day` None) or the replacement of a fixed day's quote."""

    id: int
    at: dt.datetime
    actor: str
    quote_id: str  # the quote corrected, or the day's new quote
    what: str
    why: str
    day: dt.date | None = None
    replaced_id: str | None = None  # the quote a replacement took the place of
