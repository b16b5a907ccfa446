"""Quotes and sources to and from their table rows: the one mapping between the model and the schema."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa

from quotes.dates import PartialDate
from quotes.documents import Document
from quotes.model import Quote, Source, Verification
from quotes.verification import as_read


def digest(record: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def quote_fields(quote: Quote) -> dict[str, Any]:
    """Return the columns that hold a quote's content and provenance."""
    return {
        "text": quote.text,
        "speaker": quote.speaker,
        "speaker_role": quote.speaker_role,
        "source_id": quote.source,
        "cites_id": quote.cites,
        "date": quote.date.iso(),
        "date_precision": quote.date.precision,
        "paragraph": quote.paragraph,
        "char_offset": quote.offset,
        "topics": list(quote.topics),
        "notes": list(quote.notes),
    }


def source_fields(source: Source) -> dict[str, Any]:
    return {
        "kind": source.kind,
        "title": source.title,
        "publisher": source.publisher,
        "url": source.url,
        "author": source.author,
        "date": source.date.iso(),
        "date_precision": source.date.precision,
        "published": source.published.iso(),
        "published_precision": source.published.precision,
        "place": source.place,
        "document": source.document,
        "speaker_paragraphs": list(source.speaker_paragraphs),
        "cites_id": source.cites,
        "cites_confidence": source.cites_confidence,
        "notes": list(source.notes),
    }


def quote_from_row(row: sa.Row[*tuple[Any, ...]]) -> Quote:
    return Quote(
        id=row.id,
        text=row.text,
        speaker=row.speaker,
        speaker_role=row.speaker_role,
        source=row.source_id,
        cites=row.cites_id,
        date=PartialDate.of(row.date, row.date_precision),
        paragraph=row.paragraph,
        offset=row.char_offset,
        topics=tuple(row.topics),
        notes=tuple(row.notes),
        hidden=row.hidden,
        origin=row.origin,
        corrected_at=row.updated_at if row.updated_at > row.created_at else None,
        verification=as_read(stored_verification(row), row.text, row.source_id),
    )


def stored_verification(row: sa.Row[*tuple[Any, ...]]) -> Verification:
    """A quote row's verification as it was decided when the row was written."""
    return Verification(
        state=row.verification,
        reason=row.verification_reason,
        detail=row.verification_detail,
        document=row.checked_document,
        sha256=row.checked_sha256,
        paragraph=row.checked_paragraph,
        offset=row.checked_offset,
        digest=row.checked_digest,
        checked_at=row.checked_at,
    )


def verification_fields(verification: Verification) -> dict[str, Any]:
    return {
        "verification": verification.state,
        "verification_reason": verification.reason,
        "verification_detail": verification.detail,
        "checked_document": verification.document,
        "checked_sha256": verification.sha256,
        "checked_paragraph": verification.paragraph,
        "checked_offset": verification.offset,
        "checked_digest": verification.digest,
        "checked_at": verification.checked_at,
    }


def document_from_row(row: sa.Row[*tuple[Any, ...]]) -> Document:
    return Document(
        id=row.id,
        source=row.source_id,
        media_type=row.media_type,
        data=bytes(row.data),
        text=row.text,
        sha256=row.sha256,
        text_sha256=row.text_sha256,
        file_name=row.file_name,
        obtained_from=row.obtained_from,
        obtained_at=row.obtained_at,
    )


def document_fields(document: Document) -> dict[str, Any]:
    return {
        "source_id": document.source,
        "media_type": document.media_type,
        "file_name": document.file_name,
        "data": document.data,
        "text": document.text,
        "sha256": document.sha256,
        "text_sha256": document.text_sha256,
        "obtained_from": document.obtained_from,
        "obtained_at": document.obtained_at,
    }


def source_from_row(row: sa.Row[*tuple[Any, ...]]) -> Source:
    return Source(
        id=row.id,
        title=row.title,
        kind=row.kind,
        publisher=row.publisher,
        url=row.url,
        author=row.author,
        date=PartialDate.of(row.date, row.date_precision),
        published=PartialDate.of(row.published, row.published_precision),
        place=row.place,
        document=row.document,
        speaker_paragraphs=tuple(row.speaker_paragraphs),
        cites=row.cites_id,
        cites_confidence=row.cites_confidence,
        notes=tuple(row.notes),
        origin=row.origin,
    )
