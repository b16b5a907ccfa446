"""A quote's JSON form, and export/import of the whole set as JSON or CSV.

The JSON form carries a quote with its full provenance (its source and the work the source
cites, as objects), so an export stands on its own and an import can rebuild the sources.
CSV holds the same records flattened: `source.title`, `cites.url`, lists as JSON arrays.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, overload

from quotes.corpus import ID_PATTERN
from quotes.dates import DateError, PartialDate
from quotes.model import ADMIN, CURATED, Pick, Quote, Source

FORMAT = "qotd-quotes"
VERSION = 1
MAX_TEXT = 3500  # leaves room for the attribution inside Telegram's 4096-character message


def source_record(source: Source) -> dict[str, Any]:
    return source.as_dict()


def quote_record(quote: Quote, source: Source, cites: Source | None) -> dict[str, Any]:
    """Return a quote's JSON form, provenance included."""
    record: dict[str, Any] = {
        "id": quote.id,
        "text": quote.text,
        "speaker": quote.speaker,
        "speaker_role": quote.speaker_role,
        "date": quote.date.iso(),
        "date_precision": quote.date.precision,
        "date_text": quote.date.human(),
        "source": source_record(source),
        "cites": source_record(cites) if cites else None,
        "paragraph": quote.paragraph,
        "offset": quote.offset,
        "topics": list(quote.topics),
        "notes": list(quote.notes),
        "hidden": quote.hidden,
        "origin": quote.origin,
        "verification": quote.verification.as_dict(),  # derived on every write: never imported
    }
    if record["cites"] is None:
        del record["cites"]
    return record


def pick_record(pick: Pick, source: Source, cites: Source | None) -> dict[str, Any]:
    return {"day": pick.date.isoformat(), "stored": pick.stored, "pinned": pick.pinned} | quote_record(
        pick.quote, source, cites
    )


# --- export --------------------------------------------------------------------------------


def export_json(records: Iterable[dict[str, Any]]) -> str:
    return (
        json.dumps(
            {"format": FORMAT, "version": VERSION, "quotes": list(records)}, ensure_ascii=False, indent=2
        )
        + "\n"
    )


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            for inner, v in value.items():
                flat[f"{key}.{inner}"] = json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
        elif isinstance(value, list):
            flat[key] = json.dumps(value, ensure_ascii=False)
        else:
            flat[key] = value
    return flat


def export_csv(records: Iterable[dict[str, Any]]) -> str:
    rows = [_flatten(r) for r in records]
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()


# --- import --------------------------------------------------------------------------------


class ImportFileError(ValueError):
    """An import file that cannot be taken; the message names the row and the field."""

    def __init__(self, message: str, row: int | None = None, field: str | None = None):
        where = " ".join(p for p in (f"row {row}" if row else "", f"field {field!r}" if field else "") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.row, self.field = row, field


@dataclass(frozen=True)
class Parsed:
    sources: tuple[Source, ...]
    quotes: tuple[Quote, ...]


@overload
def _str(record: dict[str, Any], key: str, row: int, required: Literal[True], prefix: str = "") -> str: ...


@overload
def _str(
    record: dict[str, Any], key: str, row: int, required: bool = False, prefix: str = ""
) -> str | None: ...


def _str(record: dict[str, Any], key: str, row: int, required: bool = False, prefix: str = "") -> str | None:
    value = record.get(key)
    if value in (None, ""):
        if required:
            raise ImportFileError("is required", row, prefix + key)
        return None
    if not isinstance(value, str):
        raise ImportFileError(f"must be text, not {type(value).__name__}", row, prefix + key)
    return value


def _list(record: dict[str, Any], key: str, row: int, prefix: str = "") -> tuple[Any, ...]:
    value = record.get(key)
    if value in (None, ""):
        return ()
    if isinstance(value, str):  # CSV cells hold lists as JSON arrays
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ImportFileError('must be a JSON array, e.g. ["NATO"]', row, prefix + key) from None
    if not isinstance(value, list):
        raise ImportFileError("must be a list", row, prefix + key)
    return tuple(value)


def _strings(record: dict[str, Any], key: str, row: int, prefix: str = "") -> tuple[str, ...]:
    items = _list(record, key, row, prefix)
    if not all(isinstance(i, str) and i.strip() for i in items):
        raise ImportFileError("must be a list of non-empty texts", row, prefix + key)
    return items


def _int(record: dict[str, Any], key: str, row: int) -> int | None:
    value = record.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ImportFileError(f"must be a whole number, not {value!r}", row, key)


def _bool(record: dict[str, Any], key: str, row: int) -> bool:
    value = record.get(key, False)
    if isinstance(value, bool):
        return value
    if value in ("", "false", "False", "0"):
        return False
    if value in ("true", "True", "1"):
        return True
    raise ImportFileError(f"must be true or false, not {value!r}", row, key)


def _date(record: dict[str, Any], key: str, row: int, today: dt.date, prefix: str = "") -> PartialDate:
    precision = record.get(f"{key}_precision") or None
    try:
        date = PartialDate.of(record.get(key) or None, precision)
    except DateError as exc:
        raise ImportFileError(str(exc), row, prefix + key) from None
    first = date.first_day()
    if first is not None and first > today:
        raise ImportFileError(f"{date.iso()} is in the future", row, prefix + key)
    return date


def check_url(url: str | None) -> str | None:
    """Return an error message if `url` is not an absolute http(s) URL."""
    if url is None:
        return None
    if not url.startswith(("http://", "https://")) or len(url.split("//", 1)[1]) < 3 or " " in url:
        return f"{url!r} is not an http(s) URL"
    return None


def check_id(value: str) -> str | None:
    if not ID_PATTERN.match(value):
        return f"{value!r} is not a valid id (lowercase letters, digits, - and _, at most 48)"
    return None


def parse_source(record: object, row: int, today: dt.date, prefix: str) -> Source:
    if not isinstance(record, dict):
        raise ImportFileError("must be an object", row, prefix.rstrip("."))
    source_id = _str(record, "id", row, True, prefix)
    if message := check_id(source_id):
        raise ImportFileError(message, row, prefix + "id")
    url = _str(record, "url", row, prefix=prefix)
    if message := check_url(url):
        raise ImportFileError(message, row, prefix + "url")
    return Source(
        id=source_id,
        title=_str(record, "title", row, True, prefix),
        kind=_str(record, "kind", row, prefix=prefix) or "document",
        publisher=_str(record, "publisher", row, prefix=prefix),
        url=url,
        author=_str(record, "author", row, prefix=prefix),
        date=_date(record, "date", row, today, prefix),
        published=_date(record, "published", row, today, prefix),
        place=_str(record, "place", row, prefix=prefix),
        document=_str(record, "document", row, prefix=prefix),
        speaker_paragraphs=tuple(int(p) for p in _list(record, "speaker_paragraphs", row, prefix)),
        cites=_str(record, "cites", row, prefix=prefix),
        cites_confidence=_str(record, "cites_confidence", row, prefix=prefix),
        notes=_strings(record, "notes", row, prefix),
        origin=_str(record, "origin", row, prefix=prefix) or ADMIN,
    )


def parse_quote(record: object, row: int, today: dt.date) -> tuple[Quote, list[Source]]:
    """Validate one record of an import; return the quote and the sources it carries."""
    if not isinstance(record, dict):
        raise ImportFileError("must be an object", row)
    quote_id = _str(record, "id", row, True)
    if message := check_id(quote_id):
        raise ImportFileError(message, row, "id")
    text = _str(record, "text", row, True)
    if not text.strip():
        raise ImportFileError("is empty", row, "text")
    if len(text) > MAX_TEXT:
        raise ImportFileError(f"is {len(text)} characters; at most {MAX_TEXT} fit a message", row, "text")
    source = parse_source(record.get("source"), row, today, "source.")
    sources = [source]
    cites = None
    if record.get("cites"):
        cites_source = parse_source(record["cites"], row, today, "cites.")
        sources.insert(0, cites_source)
        cites = cites_source.id
    origin = _str(record, "origin", row) or ADMIN
    if origin not in (ADMIN, CURATED):
        raise ImportFileError(f"must be {ADMIN!r} or {CURATED!r}", row, "origin")
    quote = Quote(
        id=quote_id,
        text=text,
        speaker=_str(record, "speaker", row, True),
        speaker_role=_str(record, "speaker_role", row),
        source=source.id,
        cites=cites,
        date=_date(record, "date", row, today),
        paragraph=_int(record, "paragraph", row),
        offset=_int(record, "offset", row),
        topics=_strings(record, "topics", row),
        notes=_strings(record, "notes", row),
        hidden=_bool(record, "hidden", row),
        origin=origin,
    )
    return quote, sources


def _unflatten(row: dict[str | None, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            raise ImportFileError("has more cells than the header has columns")
        outer, dot, inner = key.partition(".")
        if dot:
            record.setdefault(outer, {})[inner] = value
        else:
            record[key] = value
    for nested in ("source", "cites"):
        if isinstance(record.get(nested), dict) and not any(record[nested].values()):
            record[nested] = None
    return record


def read_records(data: bytes, fmt: str) -> list[Any]:
    """Read the records of an import file (json or csv)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if fmt == "json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFileError(f"the file is not valid JSON (line {exc.lineno}: {exc.msg})") from None
        if isinstance(document, dict) and isinstance(quotes := document.get("quotes"), list):
            return quotes
        if isinstance(document, list):
            return document
        raise ImportFileError('the JSON must be a list of quotes or {"quotes": [...]}')
    if fmt == "csv":
        try:
            rows = list(csv.DictReader(io.StringIO(text)))
        except csv.Error as exc:
            raise ImportFileError(f"the file is not valid CSV ({exc})") from None
        records = []
        for number, row in enumerate(rows, 1):
            try:
                records.append(_unflatten(row))
            except ImportFileError as exc:
                raise ImportFileError(str(exc), number) from None
        return records
    raise ImportFileError(f"unknown format {fmt!r}: use json or csv")


def parse_import(data: bytes, fmt: str, today: dt.date, known_sources: dict[str, Source]) -> Parsed:
    """Validate a whole import file; raise ImportFileError on the first bad row."""
    records = read_records(data, fmt)
    if not records:
        raise ImportFileError("the file holds no quotes")
    sources: dict[str, Source] = {}
    quotes: list[Quote] = []
    seen: dict[str, int] = {}
    for row, record in enumerate(records, 1):
        quote, carried = parse_quote(record, row, today)
        if quote.id in seen:
            raise ImportFileError(f"quote {quote.id} is also in row {seen[quote.id]}", row, "id")
        seen[quote.id] = row
        for source in carried:
            prefix = "cites" if source.id == quote.cites else "source"
            earlier = sources.get(source.id)
            if earlier is not None and earlier != source:
                raise ImportFileError(
                    f"source {source.id} differs from its definition in an earlier row", row, prefix
                )
            sources[source.id] = source
        quotes.append(quote)
    for source in sources.values():
        if source.cites and source.cites not in sources and source.cites not in known_sources:
            raise ImportFileError(f"source {source.id} cites unknown source {source.cites!r}")
    return Parsed(tuple(sources.values()), tuple(quotes))
