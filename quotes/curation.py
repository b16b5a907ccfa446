"""Admins' changes to the quotes: checked drafts, new ids, duplicates, and field edits.

Everything here validates first and writes once, through Store.save (one transaction, with
the admin and the time in the audit log), so bad input changes nothing. Every check raises
DraftError naming the field and what is wrong with it.

Ids of admin-added records start with "u-" (quotes) and "us-" (sources) followed by random
hex, so they never collide with the curated corpus's hand-chosen ids ("sb-01", "cfr-same-boat").
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Literal, overload

from quotes.corpus import ID_PATTERN
from quotes.dates import DateError, PartialDate
from quotes.documents import Document, Upload
from quotes.model import ADMIN, CURATED, EDITOR, NOT_FOUND, Quote, Source, Verification
from quotes.search import find_duplicate
from quotes.store import CuratedChange, NotFound, Store
from quotes.transfer import MAX_TEXT, ImportFileError, check_url
from quotes.verification import verify

QUOTE_PREFIX = "u-"
SOURCE_PREFIX = "us-"
MAX_NAME = 200  # speakers.name is String(200)
MAX_LINE = 500
MAX_TOPICS = 12
MAX_NOTES = 5
MAX_TOPIC = 60
MAX_URL = 2000

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\s+([a-z]+)\.?,?\s+(\d{4})$")
_MONTH_DAY_YEAR = re.compile(r"^([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$")
_MONTH_YEAR = re.compile(r"^([a-z]+)\.?,?\s+(\d{4})$")


class DraftError(ValueError):
    """A field an admin gave is missing or wrong; the message names the field."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.problem = message


class DuplicateQuote(DraftError):
    """The text is already in the store (the same after normalising space and quotes)."""

    def __init__(self, existing_id: str):
        super().__init__("text", f"this quote is already stored as {existing_id}")
        self.existing_id = existing_id


# --- checks on single values ---------------------------------------------------------------


def _bad_character(value: str, multiline: bool) -> str | None:
    for char in value:
        category = unicodedata.category(char)
        if char in "\n\t" and multiline:
            continue
        if category in ("Cc", "Cs") or (category in ("Zl", "Zp") and not multiline):
            return f"U+{ord(char):04X}"
    return None


@overload
def check_line(name: str, value: str | None, required: Literal[True], limit: int = MAX_LINE) -> str: ...


@overload
def check_line(name: str, value: str | None, required: bool = False, limit: int = MAX_LINE) -> str | None: ...


def check_line(name: str, value: str | None, required: bool = False, limit: int = MAX_LINE) -> str | None:
    """Return a one-line value stripped of outer space, or None if empty and not required."""
    value = (value or "").strip()
    if not value:
        if required:
            raise DraftError(name, "is required")
        return None
    if "\n" in value:
        raise DraftError(name, "must be a single line")
    if bad := _bad_character(value, multiline=False):
        raise DraftError(name, f"contains a control character ({bad})")
    if len(value) > limit:
        raise DraftError(name, f"is {len(value)} characters; at most {limit}")
    return value


def check_text(value: str | None) -> str:
    """Return a quote's text as given (outer white space removed), or raise DraftError."""
    text = (value or "").strip()
    if not text:
        raise DraftError("text", "is required")
    if bad := _bad_character(text, multiline=True):
        raise DraftError("text", f"contains a control character ({bad})")
    if len(text) > MAX_TEXT:
        raise DraftError("text", f"is {len(text)} characters; at most {MAX_TEXT} fit a Telegram message")
    return text


def check_source_url(value: str | None) -> str | None:
    url = check_line("url", value, limit=MAX_URL)
    if url is not None and (problem := check_url(url)):
        raise DraftError("url", f"{problem} (it must start with http:// or https://)")
    return url


def parse_date(name: str, value: str | None, today: dt.date) -> PartialDate:
    """Read a date with its precision: 2010-11-15, 15 November 2010, March 2013, 2013-03, 2013.

    Empty, "-" or "unknown" is an unknown date. A date after `today` is refused.
    """
    text = " ".join((value or "").split()).casefold()
    if text in ("", "-", "unknown", "none"):
        return PartialDate()
    try:
        if match := _DAY_MONTH_YEAR.match(text):
            day, month, year = match.groups()
            date = PartialDate(int(year), _month(month), int(day))
        elif match := _MONTH_DAY_YEAR.match(text):
            month, day, year = match.groups()
            date = PartialDate(int(year), _month(month), int(day))
        elif match := _MONTH_YEAR.match(text):
            month, year = match.groups()
            date = PartialDate(int(year), _month(month))
        else:
            date = PartialDate.parse(text)
    except (DateError, ValueError):
        raise DraftError(
            name,
            f"{(value or '').strip()!r} is not a real date; write 15 November 2010, March 2013, 2013, "
            "2010-11-15 or unknown",
        ) from None
    if date.year is not None and date.year < 1:
        raise DraftError(name, "the year must be 1 or later")
    first = date.first_day()
    if first is not None and first > today:
        raise DraftError(name, f"{date.human()} is in the future")
    return date


def _month(name: str) -> int:
    if name not in _MONTHS:
        raise DateError(f"{name!r} is not a month")
    return _MONTHS[name]


def parse_topics(value: str | None) -> tuple[str, ...]:
    """Read comma-separated topics ("-" or empty: none)."""
    text = (value or "").strip()
    if text in ("", "-"):
        return ()
    topics: list[str] = []
    for item in text.split(","):
        topic = check_line("topics", item, limit=MAX_TOPIC)
        if topic is None:
            raise DraftError("topics", "has an empty topic; separate topics with commas")
        if topic not in topics:
            topics.append(topic)
    if len(topics) > MAX_TOPICS:
        raise DraftError("topics", f"has {len(topics)} topics; at most {MAX_TOPICS}")
    return tuple(topics)


# --- duplicates and ids --------------------------------------------------------------------


def new_quote_id(store: Store) -> str:
    return store.unused_id("quotes", QUOTE_PREFIX)


def new_source_id(store: Store) -> str:
    return store.unused_id("sources", SOURCE_PREFIX)


# --- adding a quote ------------------------------------------------------------------------


@dataclass
class NewSource:
    title: str | None = None
    url: str | None = None
    publisher: str | None = None
    date: str | None = None
    upload: Upload | None = None  # the source's copy, if the admin brought one


@dataclass
class Draft:
    """What an admin has given so far for a new quote; every field as typed."""

    text: str | None = None
    speaker: str | None = None
    role: str | None = None
    source_id: str | None = None  # an existing source, or None for `new_source`
    new_source: NewSource | None = None
    date: str | None = None
    topics: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Checked:
    """A draft that passed every check: the quote and, if it brings one, its new source."""

    quote: Quote
    source: Source
    cites: Source | None
    new_source: Source | None
    document: Document | None = None  # the new source's copy, stored with it
    found: Verification = field(default_factory=Verification)  # what the save will decide

    @property
    def missing(self) -> bool:
        """The source's copy is held and the text is not in it (saved only when asked for)."""
        return self.found.reason in (NOT_FOUND, EDITOR)


def is_id(value: str) -> bool:
    """Say whether `value` has the form of a quote or source id (checked before any lookup)."""
    return bool(ID_PATTERN.fullmatch(value))


def find_quote(store: Store, quote_id: str) -> Quote:
    """Return the quote `quote_id`, or raise NotFound naming it."""
    quote_id = quote_id.strip()
    quote = store.quote(quote_id) if is_id(quote_id) else None
    if quote is None:
        raise NotFound(f"there is no quote {quote_id!r}")
    return quote


def existing_source(store: Store, source_id: str | None) -> Source:
    source_id = (source_id or "").strip()
    if not source_id:
        raise DraftError("source", "is required: give an existing source id or a new source")
    source = store.source(source_id) if is_id(source_id) else None
    if source is None:
        raise DraftError("source", f"there is no source {source_id!r}; /sources lists them")
    return source


def check_new_source(
    store: Store,
    given: NewSource,
    today: dt.date,
    now: dt.datetime | None = None,
    source_id: str | None = None,
) -> tuple[Source, Document | None]:
    """Check a new source's fields; return it, and the held copy of the upload it brings."""
    title = check_line(
        "source title", given.title or (given.upload.extracted.title if given.upload else None), required=True
    )
    if source_id is not None:
        if not is_id(source_id):
            raise DraftError("id", f"{source_id!r} is not an id (lowercase letters, digits, - and _)")
        if store.source(source_id) is not None:
            raise DraftError("id", f"there is already a source {source_id}")
    source_id = source_id or new_source_id(store)
    document = None
    if given.upload is not None:
        assert now is not None, "a source bringing its copy is checked with the time it is obtained"
        document = given.upload.held_copy(source_id, now)
    source = Source(
        id=source_id,
        title=title,
        kind="document",
        publisher=check_line("publisher", given.publisher),
        url=check_source_url(given.url),
        date=parse_date("source date", given.date, today),
        document=document.id if document else None,
        origin=ADMIN,
    )
    return source, document


def add_source(
    store: Store, given: NewSource, actor: str, now: dt.datetime, today: dt.date, source_id: str | None = None
) -> tuple[Source, Document | None]:
    """Store a new source with the copy the admin brought (`qotd sources add`, the bot's /document)."""
    source, document = check_new_source(store, given, today, now, source_id)
    store.add_source(source, document, actor, now)
    return source, document


def check_draft(store: Store, draft: Draft, today: dt.date, now: dt.datetime | None = None) -> Checked:
    """Check every field of a draft; return the quote to save, or raise DraftError.

    The result says what the save's check will find: where the text stands in the source's
    held copy, or where the closest passage departs from it (Checked.found).
    """
    text = check_text(draft.text)
    speaker = check_line("speaker", draft.speaker, required=True, limit=MAX_NAME)
    role = check_line("role", draft.role)
    document = None
    if draft.new_source is not None:
        source, document = check_new_source(store, draft.new_source, today, now)
        new_source = source
    else:
        source = existing_source(store, draft.source_id)
        new_source = None
    date = parse_date("date", draft.date, today)
    topics = parse_topics(draft.topics)
    notes = tuple(n for n in (check_line("notes", note, limit=MAX_TEXT) for note in draft.notes) if n)
    if len(notes) > MAX_NOTES:
        raise DraftError("notes", f"there are {len(notes)}; at most {MAX_NOTES}")
    if existing := find_duplicate(store, text):
        raise DuplicateQuote(existing)
    cites = store.source(source.cites) if source.cites else None
    quote = Quote(
        id=new_quote_id(store),
        text=text,
        speaker=speaker,
        speaker_role=role,
        source=source.id,
        cites=cites.id if cites else None,
        date=date,
        topics=topics,
        notes=notes,
        origin=ADMIN,
    )
    held = document if document else (store.document(source.document) if source.document else None)
    found = verify(quote, source, held, now)  # a preview: the save decides again
    return Checked(quote, source, cites, new_source, document, found)


def add_quote(
    store: Store, checked: Checked, actor: str, now: dt.datetime, unverified: bool = False
) -> Quote:
    """Save a checked draft (its new source too) as the admin `actor`; return the stored quote.

    A text that is not in its source's held copy is refused (DraftError showing where it
    departs) unless the admin chose, explicitly, to save it as unverified.
    """
    # The store may have changed since the draft was checked (another admin, a second tap).
    if existing := find_duplicate(store, checked.quote.text):
        raise DuplicateQuote(existing)
    if checked.missing and not unverified:
        raise DraftError("text", f"it is not in the source's copy: {checked.found.detail}")
    sources = [checked.new_source] if checked.new_source else []
    documents = [checked.document] if checked.document else []
    store.save(sources, [checked.quote], actor, now, action="add", documents=documents)
    return _stored(store, checked.quote.id)


def _stored(store: Store, quote_id: str) -> Quote:
    """Return a quote the store is known to hold: one just saved or read (nothing deletes quotes)."""
    quote = store.quote(quote_id)
    assert quote is not None, f"quote {quote_id} is not in the store"
    return quote


# --- editing -------------------------------------------------------------------------------

QUOTE_FIELDS = ("text", "speaker", "role", "date", "topics", "notes", "source", "cites")
SOURCE_FIELDS = ("source.title", "source.url", "source.publisher", "source.date")
EDITABLE = QUOTE_FIELDS + SOURCE_FIELDS
CLEAR = "-"


@dataclass(frozen=True)
class Edit:
    quote: Quote
    field: str
    before: object
    after: object
    changed: bool


def _quote_source(store: Store, value: str) -> Source:
    """Return the existing source `value` names for a quote (a quote's source cannot be cleared)."""
    value = value.strip()
    if value in ("", CLEAR):
        raise DraftError("source", "is required: give an existing source id")
    return existing_source(store, value)


def _cites_or_none(store: Store, value: str) -> str | None:
    """Return the id of the existing source `value` names for a quote to cite, or None to clear it."""
    value = value.strip()
    if value in ("", CLEAR):
        return None
    return _cited(store, value)


def _cited(store: Store, value: str) -> str:
    try:
        return existing_source(store, value).id
    except DraftError as exc:
        raise DraftError("cites", exc.problem) from None


def edit_quote(
    store: Store, quote_id: str, name: str, value: str, actor: str, now: dt.datetime, today: dt.date
) -> Edit:
    """Change one field of a quote (or of its own admin-added source) as the admin `actor`.

    A curated quote's text is verbatim from its document and cannot be edited (hide it and
    add a corrected quote instead); neither can a curated source, which comes from the corpus
    file. "-" clears an optional field.
    """
    quote = find_quote(store, quote_id)
    name = name.strip().casefold()
    if name not in EDITABLE:
        raise DraftError(name or "field", f"is not a field; the fields are {', '.join(EDITABLE)}")
    if name in SOURCE_FIELDS:
        return _edit_source(store, quote, name, value, actor, now, today)
    if name == "text":
        if quote.origin == CURATED:
            raise DraftError(
                "text",
                f"{quote.id} is curated: its text is verbatim from its document and is never edited "
                "(hide it and /add a corrected quote instead)",
            )
        text = check_text(value)
        if text != quote.text and (existing := find_duplicate(store, text, exclude=quote.id)):
            raise DuplicateQuote(existing)
        changes: dict[str, Any] = {"text": text}
    elif name == "speaker":
        changes = {"speaker": check_line("speaker", value, required=True, limit=MAX_NAME)}
    elif name == "role":
        changes = {"speaker_role": None if value.strip() == CLEAR else check_line("role", value)}
    elif name == "date":
        changes = {"date": parse_date("date", value, today)}
    elif name == "topics":
        changes = {"topics": parse_topics(value)}
    elif name == "notes":
        note = None if value.strip() == CLEAR else check_line("notes", value, limit=MAX_TEXT)
        changes = {"notes": (note,) if note else ()}
    elif name == "source":
        source = _quote_source(store, value)
        changes = {"source": source.id, "cites": source.cites}
    else:  # cites
        changes = {"cites": _cites_or_none(store, value)}
    edited = replace(quote, **changes)
    key = next(iter(changes))
    before, after = getattr(quote, key), getattr(edited, key)
    try:
        counts = store.save([], [edited], actor, now, action="edit")
    except CuratedChange as exc:
        raise DraftError(name, exc.problem) from None
    return Edit(_stored(store, quote.id), name, before, after, counts["updated"] > 0)


def _edit_source(
    store: Store, quote: Quote, name: str, value: str, actor: str, now: dt.datetime, today: dt.date
) -> Edit:
    source = store.source(quote.source)
    assert source is not None  # quotes.source_id is a NOT NULL foreign key to sources.id
    if source.origin == CURATED:
        raise DraftError(
            name,
            f"source {source.id} is curated: it is edited in the corpus file, not here "
            "(or give the quote another source with: source <id>)",
        )
    key = name.split(".", 1)[1]
    if key == "title":
        changes: dict[str, Any] = {"title": check_line("source title", value, required=True)}
    elif key == "url":
        changes = {"url": None if value.strip() == CLEAR else check_source_url(value)}
    elif key == "publisher":
        changes = {"publisher": None if value.strip() == CLEAR else check_line("publisher", value)}
    else:
        changes = {"date": parse_date("source date", value, today)}
    edited = replace(source, **changes)
    before, after = getattr(source, key), getattr(edited, key)
    if before != after:
        store.save([edited], [], actor, now, action="edit")
    return Edit(quote, name, before, after, before != after)


def pin_date(value: str, today: dt.date) -> dt.date:
    """Read the date of a pin (YYYY-MM-DD, today or later: today's replaces a fixed quote)."""
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise DraftError("date", f"{value.strip()!r} is not a date as YYYY-MM-DD") from None
    if day < today:
        raise DraftError(
            "date", f"{day.isoformat()} is in the past: only today or a future date can be pinned"
        )
    return day


# --- imports -------------------------------------------------------------------------------

# Column widths the database enforces (PostgreSQL refuses longer values; SQLite does not).
_SOURCE_WIDTHS = {"kind": 40, "document": 200}
_TEXT_FIELDS = ("text", "speaker", "speaker_role")


def check_import(quotes: tuple[Quote, ...], sources: tuple[Source, ...]) -> None:
    """Check what an import would store beyond its form: characters and column widths.

    Raises ImportFileError naming the row (or the source) and the field.
    """
    for row, quote in enumerate(quotes, 1):
        if len(quote.speaker) > MAX_NAME:
            raise ImportFileError(f"is {len(quote.speaker)} characters; at most {MAX_NAME}", row, "speaker")
        values = [(name, getattr(quote, name)) for name in _TEXT_FIELDS]
        values += [("topics", v) for v in quote.topics] + [("notes", v) for v in quote.notes]
        for name, value in values:
            if value and (bad := _bad_character(value, multiline=True)):
                raise ImportFileError(f"contains a control character ({bad})", row, name)
    for source in sources:
        where = f"source {source.id}"
        if source.origin not in (ADMIN, CURATED):
            raise ImportFileError(f"{where}: origin must be {ADMIN!r} or {CURATED!r}", field="origin")
        for name, width in _SOURCE_WIDTHS.items():
            value = getattr(source, name)
            if value and len(value) > width:
                raise ImportFileError(f"{where}: is {len(value)} characters; at most {width}", field=name)
        values = [(name, getattr(source, name)) for name in ("title", "kind", "publisher", "url", "author")]
        values += [(name, getattr(source, name)) for name in ("place", "document", "cites_confidence")]
        values += [("notes", v) for v in source.notes]
        for name, value in values:
            if value and (bad := _bad_character(value, multiline=True)):
                raise ImportFileError(f"{where}: contains a control character ({bad})", field=name)
