"""Quotes and sources to and from their table rows: the one mapping between the model and the schema."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa

from quotes.dates import PartialDate
from quotes.model import Quote, Source


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
    )


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
