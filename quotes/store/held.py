"""The store's documents (held copies of sources), each quote's verification, and the check of both.

The SQL of the `documents` table and of the quotes' verification columns. `verify_in()` is how
every write of a quote in quotes/store/db.py decides its verification (quotes.verification.verify
against the document held for its source); `check()` is `qotd quotes check` on the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from quotes.corpus import DATA_DIR, Corpus
from quotes.documents import Document, sha256
from quotes.model import CURATED, Quote, Source, Verification
from quotes.store import schema as t
from quotes.store.rows import (
    document_fields,
    document_from_row,
    quote_from_row,
    source_from_row,
    stored_verification,
    verification_fields,
)
from quotes.verification import locate, verify


class CuratedChange(ValueError):
    """A write that would change what only the corpus file says; names the record and the field."""

    def __init__(self, record_id: str, field_name: str, message: str, kind: str = "quote"):
        super().__init__(f"{kind} {record_id}: field {field_name!r}: {message}")
        self.record_id, self.field, self.problem, self.kind = record_id, field_name, message, kind

    def row(self, quotes: Sequence[Quote]) -> int:
        """The row of an import (1-based) that carries the refused record."""
        return next(i for i, q in enumerate(quotes, 1) if self.record_id in (q.id, q.source, q.cites))


PROTECTED = (("text", "text"), ("speaker", "speaker"), ("source_id", "source"))


def refuse_curated(quote: Quote, row: Any) -> None:
    """Refuse a write of `quote` over `row` (None: a new row) that the corpus file alone may make."""
    if row is None or row.origin != CURATED:
        if quote.origin == CURATED:
            raise CuratedChange(quote.id, "origin", "it calls itself curated, but it is not in the corpus")
        return
    values = {"text": quote.text, "speaker": quote.speaker, "source_id": quote.source}
    for column, name in PROTECTED:
        if getattr(row, column) != values[column]:
            raise CuratedChange(
                quote.id,
                name,
                f"it is curated: its {name} is the corpus file's and is never changed here "
                "(hide it and add a corrected quote instead)",
            )


def refuse_curated_source(source: Source, row: Any, fields: dict[str, Any]) -> None:
    """Refuse a write of `source` over `row` (None: new) that the corpus file alone may make."""
    if row is None or row.origin != CURATED:
        if source.origin == CURATED:
            raise CuratedChange(
                source.id, "origin", "it calls itself curated, but it is not in the corpus", "source"
            )
        return
    for name, value in fields.items():
        if getattr(row, name) != value:
            raise CuratedChange(
                source.id,
                name.removesuffix("_id"),
                "it is curated: it is the corpus file's and is never changed here",
                "source",
            )


def document_in(conn: sa.Connection, document_id: str) -> Document | None:
    row = conn.execute(sa.select(t.documents).where(t.documents.c.id == document_id)).first()
    return document_from_row(row) if row else None


def verify_in(conn: sa.Connection, quote: Quote, now: dt.datetime) -> Verification:
    """Decide a quote's verification against its source's held copy, inside a write."""
    row = conn.execute(sa.select(t.sources).where(t.sources.c.id == quote.source)).first()
    assert row is not None, f"quote {quote.id}'s source {quote.source} is written before it"
    source = source_from_row(row)
    document = document_in(conn, source.document) if source.document else None
    if document is not None and document.source != source.id:
        document = None  # another source's copy: it vouches for nothing here
    return verify(quote, source, document, now)


def placed(quote: Quote, verification: Verification) -> dict[str, Any]:
    """The columns a quote's write sets from its verification (an admin's quote takes its place)."""
    values = verification_fields(verification)
    if quote.origin != CURATED:
        values |= {"paragraph": verification.paragraph, "char_offset": verification.offset}
    return values


def insert_document(conn: sa.Connection, document: Document) -> None:
    conn.execute(t.documents.insert().values(id=document.id, **document_fields(document)))


def shipped_document(source: Source, corpus: Corpus, now: dt.datetime) -> Document:
    """A curated source's document as the corpus ships it (its text is the file, as it is)."""
    assert source.document is not None
    folder = corpus.documents_dir or DATA_DIR / "documents"
    data = (folder / source.document).read_bytes()
    text = data.decode("utf-8")
    return Document(
        id=source.document,
        source=source.id,
        media_type="text/plain",
        data=data,
        text=text,
        sha256=sha256(data),
        text_sha256=sha256(text),
        file_name=source.document,
        obtained_from=f"corpus: quotes/data/documents/{source.document}",
        obtained_at=now,
    )


def load_documents(conn: sa.Connection, corpus: Corpus, now: dt.datetime) -> None:
    """Hold each curated source's shipped document; replace one only when the shipped file changed.

    A held row whose bytes no longer match its own sha256 (changed behind the application's
    back) is left as it is, for `qotd quotes check` to report.
    """
    for source in corpus.sources:
        if source.document is None:
            continue
        shipped = shipped_document(source, corpus, now)
        row = conn.execute(sa.select(t.documents.c.sha256).where(t.documents.c.id == shipped.id)).first()
        if row is None:
            insert_document(conn, shipped)
        elif row.sha256 != shipped.sha256:
            conn.execute(
                t.documents.update().where(t.documents.c.id == shipped.id).values(**document_fields(shipped))
            )


def verify_unchecked(conn: sa.Connection, now: dt.datetime) -> int:
    """Decide the verification of rows that have none yet (those the migration added it to)."""
    rows = conn.execute(sa.select(t.quotes).where(t.quotes.c.verification_reason == "not-checked")).all()
    for row in rows:
        quote = quote_from_row(row)
        values = placed(quote, verify_in(conn, quote, now))
        conn.execute(t.quotes.update().where(t.quotes.c.id == quote.id).values(**values))
    return len(rows)


@dataclass
class CheckReport:
    """What `qotd quotes check` found in the database."""

    quotes: int = 0
    verified: int = 0
    documents: int = 0
    unverified: list[tuple[str, str]] = field(default_factory=list)  # (quote id, reason)
    failures: list[str] = field(default_factory=list)  # a verified claim or a document that fails

    @property
    def ok(self) -> bool:
        return not self.failures


def check(conn: sa.Connection) -> CheckReport:
    """Check every held document against its sha256, and every quote's verification against them."""
    report = CheckReport()
    documents: dict[str, Document] = {}
    broken: set[str] = set()
    for row in conn.execute(sa.select(t.documents).order_by(t.documents.c.id)):
        document = document_from_row(row)
        documents[document.id] = document
        report.documents += 1
        if sha256(document.data) != document.sha256:
            broken.add(document.id)
            report.failures.append(f"document {document.id}: its bytes no longer match its sha256")
        elif sha256(document.text) != document.text_sha256:
            broken.add(document.id)
            report.failures.append(f"document {document.id}: its text no longer matches what was extracted")
    sources = {r.id: source_from_row(r) for r in conn.execute(sa.select(t.sources))}
    for row in conn.execute(sa.select(t.quotes).order_by(t.quotes.c.id)):
        report.quotes += 1
        quote = quote_from_row(row)
        shown, stored = quote.verification, stored_verification(row)
        problem = _failure(quote, shown, stored, sources[quote.source], documents, broken)
        if problem:
            report.failures.append(f"quote {quote.id}: {problem}")
        if shown.verified and not problem:
            report.verified += 1
        else:
            report.unverified.append((quote.id, problem or shown.reason_text or ""))
    return report


def _failure(
    quote: Quote,
    shown: Verification,
    stored: Verification,
    source: Source,
    documents: dict[str, Document],
    broken: set[str],
) -> str | None:
    """Why a quote stored as verified fails its check now (None: it holds, or it claims nothing)."""
    if not stored.verified:
        return None
    if not shown.verified:
        return "stored as verified, but its text or source changed after it was checked"
    document = documents.get(stored.document or "")
    if document is None or source.document != stored.document:
        return f"verified against document {stored.document}, which is not its source's held copy"
    if document.id in broken or document.sha256 != stored.sha256:
        return f"verified against document {document.id}, whose bytes have changed since"
    again = locate(quote, source, document)
    if not again.verified or (again.paragraph, again.offset) != (stored.paragraph, stored.offset):
        return f"its text is no longer at paragraph {stored.paragraph} of {document.id}: {again.detail or ''}"
    return None
