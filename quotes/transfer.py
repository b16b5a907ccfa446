"""A quote's JSON form, and export/import of the whole set as JSON or CSV.

The JSON form carries a quote with its full provenance (its source and the work the source
cites, as objects), so an export stands on its own and an import can rebuild the sources.
CSV holds the same records flattened: `source.title`, `cites.url`, lists as JSON arrays; a
minimal CSV has the columns `id,text,speaker,source` (`source`: the id of a source the database
or the file already has) plus any others. A cell that a spreadsheet would run as a formula
(starting with = + - @, a tab or a carriage return) is written with a leading `'` (OWASP's
rule) and read back without it.

An import never blanks what it does not name: a record for a quote or source that exists
changes only the fields (keys, columns) it has; the others keep their stored values.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from quotes.corpus import ID_PATTERN
from quotes.dates import DateError, PartialDate
from quotes.model import ADMIN, CURATED, Pick, Quote, Source

FORMAT = "qotd-quotes"
VERSION = 1
MAX_TEXT = 3500  # leaves room for the attribution inside Telegram's 4096-character message
MAX_DEPTH = 8  # {"quotes": [{"source": {"notes": [...]}}]} is 5 deep; more is not a quotes file
FORMATS = ("json", "csv")

# OWASP's CSV injection rule: these first characters make a spreadsheet run the cell.
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def format_for(name: str) -> str | None:
    """Return the format a file's name says (its suffix: .json or .csv), or None."""
    suffix = name.rsplit(".", 1)[-1].casefold() if "." in name else ""
    return suffix if suffix in FORMATS else None


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


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading ' (and one that already starts
    with quotes before such a character gets one more, so `restore` is its exact inverse)."""
    return "'" + cell if _FORMULA.match(cell) else cell


def restore(cell: str) -> str:
    """Undo `neutralise`."""
    return cell[1:] if cell.startswith("'") and _FORMULA.match(cell[1:]) else cell


def export_csv(records: Iterable[dict[str, Any]]) -> str:
    rows = [{k: neutralise(v) if isinstance(v, str) else v for k, v in _flatten(r).items()} for r in records]
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    out = io.StringIO()
    # RFC 4180 line ends: the csv module then quotes every cell holding a \r or a \n, so it reads back
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()


# --- import --------------------------------------------------------------------------------


class ImportFileError(ValueError):
    """An import file that cannot be taken; the message names the row and the field."""

    def __init__(
        self, message: str, row: int | None = None, field: str | None = None, line: int | None = None
    ):
        if line is not None:  # a CSV file: its lines and columns
            parts = (f"line {line}", f"column {field!r}" if field else "")
        else:
            parts = (f"row {row}" if row else "", f"field {field!r}" if field else "")
        where = " ".join(p for p in parts if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.message, self.row, self.field, self.line = message, row, field, line


@dataclass(frozen=True)
class Parsed:
    sources: tuple[Source, ...]
    quotes: tuple[Quote, ...]
    refused: tuple[ImportFileError, ...] = field(default=())  # with collect=True: every bad row


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


def _over(base: dict[str, Any], named: dict[str, Any]) -> dict[str, Any]:
    """`named` over `base`: what a record names replaces, what it does not name stays.

    A date named without its precision takes the precision it has, not the stored one.
    """
    merged = base | named
    for key in ("date", "published"):
        if key in named and f"{key}_precision" not in named:
            merged.pop(f"{key}_precision", None)
    return merged


def parse_source(
    record: object, row: int, today: dt.date, prefix: str, known: Mapping[str, Source] | None = None
) -> Source:
    if not isinstance(record, dict):
        raise ImportFileError("must be an object", row, prefix.rstrip("."))
    source_id = _str(record, "id", row, True, prefix)
    if message := check_id(source_id):
        raise ImportFileError(message, row, prefix + "id")
    if known and source_id in known:
        record = _over(known[source_id].as_dict(), record)
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


def _stored(quote: Quote) -> dict[str, Any]:
    """A stored quote as a record whose source and cites are named by id."""
    record = quote_record(quote, Source(quote.source, ""), None)
    record.update(source=quote.source, cites=quote.cites)
    return record


def _reference(
    value: object, row: int, today: dt.date, key: str, known: Mapping[str, Source] | None
) -> tuple[str, Source | None]:
    """A record's `source` or `cites`: an object (a source it carries) or the id of one."""
    if isinstance(value, str):
        if message := check_id(value):
            raise ImportFileError(message, row, key)
        return value, None
    source = parse_source(value, row, today, key + ".", known)
    return source.id, source


def parse_quote(
    record: object,
    row: int,
    today: dt.date,
    known_sources: Mapping[str, Source] | None = None,
    known_quotes: Mapping[str, Quote] | None = None,
) -> tuple[Quote, list[Source]]:
    """Validate one record of an import; return the quote and the sources it carries.

    A record for a quote in `known_quotes` changes only what it names (see the module's doc).
    """
    if not isinstance(record, dict):
        raise ImportFileError("must be an object", row)
    quote_id = _str(record, "id", row, True)
    if message := check_id(quote_id):
        raise ImportFileError(message, row, "id")
    if known_quotes and quote_id in known_quotes:
        record = _over(_stored(known_quotes[quote_id]), record)
    text = _str(record, "text", row, True)
    if not text.strip():
        raise ImportFileError("is empty", row, "text")
    if len(text) > MAX_TEXT:
        raise ImportFileError(f"is {len(text)} characters; at most {MAX_TEXT} fit a message", row, "text")
    if record.get("source") in (None, ""):
        raise ImportFileError("is required: a source's id, or an object with its id and title", row, "source")
    source_id, source = _reference(record["source"], row, today, "source", known_sources)
    sources = [source] if source else []
    cites = None
    if record.get("cites"):
        cites, cites_source = _reference(record["cites"], row, today, "cites", known_sources)
        if cites_source:
            sources.insert(0, cites_source)
    origin = _str(record, "origin", row) or ADMIN
    if origin not in (ADMIN, CURATED):
        raise ImportFileError(f"must be {ADMIN!r} or {CURATED!r}", row, "origin")
    quote = Quote(
        id=quote_id,
        text=text,
        speaker=_str(record, "speaker", row, True),
        speaker_role=_str(record, "speaker_role", row),
        source=source_id,
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


def _columns() -> tuple[set[str], set[str]]:
    """The columns an export writes: the quote's keys, and its source's (as source.x, cites.x)."""
    sample = Source("x", "x")
    return set(quote_record(Quote("x", "x", "x", "x"), sample, sample)), set(sample.as_dict())


def _unflatten(row: dict[str | None, Any], line: int) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            raise ImportFileError(
                f"has {len(row) - 1 + len(value)} cells, the header has {len(row) - 1} columns", line=line
            )
        if value is None:  # a short line: the columns it lacks are not named
            continue
        value = restore(value)
        outer, dot, inner = key.partition(".")
        if dot:
            if isinstance(record.get(outer), str):
                raise ImportFileError(f"use either column {outer!r} or {outer}.* columns", line=line)
            record.setdefault(outer, {})[inner] = value
        elif isinstance(record.get(key), dict):
            raise ImportFileError(f"use either column {key!r} or {key}.* columns", line=line)
        else:
            record[key] = value
    for nested in ("source", "cites"):  # a row whose source.* (cites.*) cells are all empty names none
        if isinstance(record.get(nested), dict) and not any(record[nested].values()):
            del record[nested]
    return record


def _check_header(header: Sequence[str] | None) -> None:
    if not header:
        raise ImportFileError("the CSV has no header line (id,text,speaker,source …)")
    quote_keys, source_keys = _columns()
    seen: set[str] = set()
    for name in header:
        outer, dot, inner = name.partition(".")
        if name in seen:
            raise ImportFileError(f"column {name!r} appears twice in the header", line=1)
        seen.add(name)
        known = (outer in ("source", "cites") and inner in source_keys) if dot else name in quote_keys
        if not known and not (dot and outer in quote_keys and outer not in ("source", "cites")):
            raise ImportFileError(
                f"column {name!r} is not a field of a quote (see the CSV columns in the README)", line=1
            )
    if "id" not in seen:  # the others are needed for a new quote: each row says which it lacks
        raise ImportFileError("the header has no id column (a minimal CSV: id,text,speaker,source)", line=1)


def _depth(document: Any) -> int:
    """How deeply a parsed JSON document nests (iteratively: no recursion limit to hit)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _json_records(text: str) -> list[Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"the file is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise ImportFileError(
            f"the JSON nests too deeply (a quotes file nests {MAX_DEPTH} levels at most)"
        ) from None
    if _depth(document) > MAX_DEPTH:
        raise ImportFileError(f"the JSON nests more than {MAX_DEPTH} levels (a quotes file needs fewer)")
    if isinstance(document, dict):
        if "format" in document and document["format"] != FORMAT:
            raise ImportFileError(f"the file's format is {document['format']!r}, not {FORMAT!r}")
        if "version" in document and document["version"] != VERSION:
            raise ImportFileError(
                f"the file is version {document['version']!r} of {FORMAT}; this qotd reads version {VERSION}"
            )
        if isinstance(quotes := document.get("quotes"), list):
            return quotes
    if isinstance(document, list):
        return document
    raise ImportFileError('the JSON must be a list of quotes or {"quotes": [...]}')


def read_records(data: bytes, fmt: str) -> list[tuple[int | None, Any]]:
    """Read the records of an import file (json or csv), each with its CSV line (None in JSON)."""
    if fmt not in FORMATS:
        raise ImportFileError(f"unknown format {fmt!r}: use json or csv")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if "\x00" in text:
        raise ImportFileError(
            f"the file is binary (a NUL character at position {text.index(chr(0))}), not {fmt}"
        )
    if fmt == "json":
        return [(None, record) for record in _json_records(text)]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    records: list[tuple[int | None, Any]] = []
    try:
        _check_header(reader.fieldnames)
        line = reader.line_num + 1
        for row in reader:
            records.append((line, _unflatten(row, line)))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(f"the file is not valid CSV ({exc})", line=reader.line_num) from None
    return records


def parse_import(
    data: bytes,
    fmt: str,
    today: dt.date,
    known_sources: Mapping[str, Source],
    known_quotes: Mapping[str, Quote] | None = None,
    collect: bool = False,
) -> Parsed:
    """Validate a whole import file; raise ImportFileError on the first bad row.

    With collect=True, every bad row is checked and returned in `refused` instead (what
    `--dry-run` reports); the file-wide errors (not JSON, no header …) still raise.
    """
    records = read_records(data, fmt)
    if not records:
        raise ImportFileError("the file holds no quotes")
    sources: dict[str, Source] = {}
    quotes: list[Quote] = []
    refused: list[ImportFileError] = []
    seen: dict[str, int] = {}
    labels: dict[str, str] = {}  # where each quote is: "row 3" in JSON, "line 4" in CSV
    for row, (line, record) in enumerate(records, 1):
        try:
            quote = _parse_row(record, row, today, known_sources, known_quotes, seen, sources, labels)
            labels[quote.id] = f"line {line}" if line is not None else f"row {row}"
        except ImportFileError as exc:
            error = ImportFileError(exc.message, row, exc.field, line) if line is not None else exc
            if not collect:
                raise error from None
            refused.append(error)
            continue
        quotes.append(quote)
    for source in list(sources.values()):
        if source.cites and source.cites not in sources and source.cites not in known_sources:
            refused.append(ImportFileError(f"source {source.id} cites unknown source {source.cites!r}"))
            del sources[source.id]
    kept: list[Quote] = []
    for quote in quotes:  # a quote's source and cites must exist: in the file or in the database
        missing = [
            (key, source_id)
            for key, source_id in (("source", quote.source), ("cites", quote.cites))
            if source_id and source_id not in sources and source_id not in known_sources
        ]
        for key, source_id in missing:
            row = seen[quote.id]
            refused.append(
                ImportFileError(
                    f"no source has the id {source_id!r} (give its title and url in {key}.* columns, "
                    "or add the source first)",
                    row,
                    key,
                    records[row - 1][0],
                )
            )
        if not missing:
            kept.append(quote)
    refused.sort(key=lambda error: error.row or 0)
    if refused and not collect:
        raise refused[0]
    return Parsed(tuple(sources.values()), tuple(kept), tuple(refused))


def _parse_row(
    record: Any,
    row: int,
    today: dt.date,
    known_sources: Mapping[str, Source],
    known_quotes: Mapping[str, Quote] | None,
    seen: dict[str, int],
    sources: dict[str, Source],
    labels: dict[str, str],
) -> Quote:
    quote, carried = parse_quote(record, row, today, known_sources, known_quotes)
    if quote.id in seen:
        raise ImportFileError(f"quote {quote.id} is also in {labels[quote.id]}", row, "id")
    for source in carried:
        prefix = "cites" if source.id == quote.cites else "source"
        earlier = sources.get(source.id)
        if earlier is not None and earlier != source:
            raise ImportFileError(
                f"source {source.id} differs from its definition in an earlier row", row, prefix
            )
    seen[quote.id] = row
    for source in carried:
        sources[source.id] = source
    return quote
