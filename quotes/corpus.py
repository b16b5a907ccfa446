"""The curated corpus: its TOML file, its source documents, and the verbatim check."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quotes.dates import DateError, PartialDate
from quotes.model import Quote, Source, Speaker

_WS = re.compile(r"\s+")
_PARAGRAPH = re.compile(r"[^\n]+(?:\n[^\n]+)*")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")


class CorpusError(ValueError):
    """The corpus file is malformed; the message names the record and the field."""


@dataclass(frozen=True)
class Corpus:
    speakers: tuple[Speaker, ...]
    sources: tuple[Source, ...]
    quotes: tuple[Quote, ...]
    documents_dir: Path | None = None

    def source(self, source_id: str) -> Source:
        return next(s for s in self.sources if s.id == source_id)

    def document(self, source: Source) -> str:
        """Return the text of a source's document."""
        if source.document is None:
            # The TypeError that joining None to the documents' folder would raise, saying why.
            raise TypeError(f"source {source.id} has no document")
        if self.documents_dir is not None:
            return (self.documents_dir / source.document).read_text(encoding="utf-8")
        return document_text(source.document)


DATA_DIR = Path(__file__).parent / "data"


def document_text(name: str) -> str:
    """Return a shipped source document's text."""
    return (DATA_DIR / "documents" / name).read_text(encoding="utf-8")


def _strings(record: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CorpusError(f"{where}: {key!r} must be a list of strings")
    return tuple(value)


def _date(record: dict[str, Any], key: str, where: str) -> PartialDate:
    try:
        return PartialDate.of(record.get(key), record.get(f"{key}_precision"))
    except DateError as exc:
        raise CorpusError(f"{where}: {key!r}: {exc}") from None


def _required(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CorpusError(f"{where}: {key!r} is required")
    return value


def parse_corpus(data: dict[str, Any], documents_dir: Path | None = None) -> Corpus:
    """Turn the corpus file's tables into records, checking every field's form."""
    speakers = tuple(
        Speaker(
            name=_required(s, "name", f"speaker #{i}"),
            aliases=_strings(s, "aliases", f"speaker #{i}"),
            notes=_strings(s, "notes", f"speaker #{i}"),
        )
        for i, s in enumerate(data.get("speakers", []), 1)
    )
    sources = []
    for i, s in enumerate(data.get("sources", []), 1):
        where = f"source {s.get('id', f'#{i}')}"
        sources.append(
            Source(
                id=_required(s, "id", where),
                title=_required(s, "title", where),
                kind=s.get("kind", "document"),
                publisher=s.get("publisher"),
                url=s.get("url"),
                author=s.get("author"),
                date=_date(s, "date", where),
                published=_date(s, "published", where),
                place=s.get("place"),
                document=s.get("document"),
                speaker_paragraphs=tuple(s.get("speaker_paragraphs", [])),
                cites=s.get("cites"),
                cites_confidence=s.get("cites_confidence"),
                notes=_strings(s, "notes", where),
            )
        )
    quotes = []
    for i, q in enumerate(data.get("quotes", []), 1):
        where = f"quote {q.get('id', f'#{i}')}"
        for key in ("paragraph", "offset"):
            if not isinstance(q.get(key), int):
                raise CorpusError(f"{where}: {key!r} must be a whole number")
        quotes.append(
            Quote(
                id=_required(q, "id", where),
                text=_required(q, "text", where),
                speaker=_required(q, "speaker", where),
                speaker_role=q.get("speaker_role"),
                source=_required(q, "source", where),
                cites=q.get("cites"),
                date=_date(q, "date", where),
                paragraph=q["paragraph"],
                offset=q["offset"],
                topics=_strings(q, "topics", where),
                notes=_strings(q, "notes", where),
            )
        )
    corpus = Corpus(tuple(speakers), tuple(sources), tuple(quotes), documents_dir)
    _check_references(corpus)
    return corpus


def _check_references(corpus: Corpus) -> None:
    source_ids = [s.id for s in corpus.sources]
    speaker_names = {s.name for s in corpus.speakers}
    for kind, ids in (("source", source_ids), ("quote", [q.id for q in corpus.quotes])):
        seen = set()
        for record_id in ids:
            if not ID_PATTERN.match(record_id):
                raise CorpusError(f"{kind} {record_id}: id must be lowercase letters, digits, - or _")
            if record_id in seen:
                raise CorpusError(f"{kind} {record_id}: id is used twice")
            seen.add(record_id)
    for s in corpus.sources:
        if s.cites is not None and s.cites not in source_ids:
            raise CorpusError(f"source {s.id}: 'cites' names unknown source {s.cites!r}")
    for q in corpus.quotes:
        if q.source not in source_ids:
            raise CorpusError(f"quote {q.id}: 'source' names unknown source {q.source!r}")
        if q.cites is not None and q.cites not in source_ids:
            raise CorpusError(f"quote {q.id}: 'cites' names unknown source {q.cites!r}")
        if q.speaker not in speaker_names:
            raise CorpusError(f"quote {q.id}: 'speaker' {q.speaker!r} is not in [[speakers]]")
        if corpus.source(q.source).document is None:
            raise CorpusError(f"quote {q.id}: source {q.source} has no document to check it against")


def load_corpus(path: Path | None = None) -> Corpus:
    """Read the curated corpus (the shipped one unless a path is given)."""
    if path is None:
        path = DATA_DIR / "corpus.toml"
        documents_dir = None
        raw = path.read_bytes()
    else:
        raw = Path(path).read_bytes()
        documents_dir = Path(path).parent / "documents"
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CorpusError(f"corpus file is not valid TOML: {exc}") from None
    return parse_corpus(data, documents_dir)


# --- the verbatim check ------------------------------------------------------------------


def normalise_space(text: str) -> tuple[str, list[int]]:
    """Collapse runs of white space to one space; map each kept character to its origin."""
    out: list[str] = []
    origin: list[int] = []
    last = 0
    for match in _WS.finditer(text):
        out.append(text[last : match.start()])
        origin.extend(range(last, match.start()))
        out.append(" ")
        origin.append(match.start())
        last = match.end()
    out.append(text[last:])
    origin.extend(range(last, len(text)))
    return "".join(out), origin


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of each paragraph: blocks separated by blank lines."""
    return [(m.start(), m.end()) for m in _PARAGRAPH.finditer(text)]


def paragraph_of(text: str, offset: int) -> int | None:
    """Return the 1-based paragraph that holds character `offset`."""
    for number, (start, end) in enumerate(paragraphs(text), 1):
        if start <= offset < end:
            return number
    return None


@dataclass(frozen=True)
class Problem:
    quote_id: str
    message: str
    editors: bool = False  # the text stands in the document, but in the editor's part

    def __str__(self) -> str:
        return f"{self.quote_id}: {self.message}"


def _departure(quote_id: str, doc_name: str | None, text: str, norm_q: str, doc: str) -> Problem:
    norm_d, origin = normalise_space(doc)
    low, high = 0, len(norm_q)  # longest prefix of the quote found in the document
    while low < high:
        mid = (low + high + 1) // 2
        if norm_q[:mid] in norm_d:
            low = mid
        else:
            high = mid - 1
    at = norm_d.find(norm_q[:low]) + low if low else 0
    para = paragraph_of(doc, origin[min(at, len(origin) - 1)])
    lead = 30
    shown_q = norm_q[max(0, low - lead) : low + lead]
    shown_d = norm_d[max(0, at - lead) : at + lead]
    caret = " " * (min(low, lead) + len("  document: "))
    return Problem(
        quote_id,
        f"text departs from {doc_name} after {low} matching characters "
        f"(paragraph {para}, document character {origin[min(at, len(origin) - 1)]}):\n"
        f"  quote:    {shown_q!s}\n  document: {shown_d!s}\n{caret}^",
    )


@dataclass(frozen=True)
class Found:
    """Where a text stands in a document: every start in the speaker's part, and its paragraph."""

    starts: tuple[int, ...]
    paragraph: int

    @property
    def offset(self) -> int:
        return self.starts[0]


def find_text(
    text: str,
    doc: str,
    speaker_paragraphs: tuple[int, ...] | None,
    quote_id: str = "text",
    doc_name: str | None = None,
) -> Found | Problem:
    """Find a quote's text in the speaker's part of a document (runs of white space may differ).

    `speaker_paragraphs` None means the whole document is the speaker's (a held copy whose parts
    nobody has told apart). Returns where it stands, or the Problem that says why not.
    """
    norm_q = _WS.sub(" ", text.strip())
    if norm_q != text:
        return Problem(quote_id, "text has leading, trailing or doubled white space")
    norm_d, origin = normalise_space(doc)
    starts = [origin[m.start()] for m in re.finditer(re.escape(norm_q), norm_d)]
    if not starts:
        return _departure(quote_id, doc_name, text, norm_q, doc)
    spoken = [s for s in starts if speaker_paragraphs is None or paragraph_of(doc, s) in speaker_paragraphs]
    if not spoken:
        para = paragraph_of(doc, starts[0])
        return Problem(
            quote_id,
            f"text is the editor's, not the speaker's: it stands in paragraph {para} of "
            f"{doc_name}, and the speaker's paragraphs are "
            f"{', '.join(map(str, speaker_paragraphs or ())) or 'none'}",
            editors=True,
        )
    found_para = paragraph_of(doc, spoken[0])
    assert found_para is not None  # a start is a character of the text, inside a paragraph
    return Found(tuple(spoken), found_para)


def check_place(quote: Quote, found: Found, doc: str) -> list[Problem]:
    """Check a curated quote's recorded paragraph and offset against where its text stands."""
    problems = []
    if quote.offset not in found.starts:
        problems.append(Problem(quote.id, f"offset is {quote.offset}, but the text starts at {found.offset}"))
    if quote.paragraph != found.paragraph:
        problems.append(
            Problem(quote.id, f"paragraph is {quote.paragraph}, but the text is in {found.paragraph}")
        )
    return problems


def check_quote(quote: Quote, source: Source, doc: str) -> list[Problem]:
    """Check that a quote stands verbatim in the speaker's part of its document, at its place."""
    found = find_text(quote.text, doc, source.speaker_paragraphs, quote.id, source.document)
    if isinstance(found, Problem):
        return [found]
    return check_place(quote, found, doc)


def check_corpus(corpus: Corpus) -> list[Problem]:
    """Check every curated quote against its document, and that no two share a text."""
    problems: list[Problem] = []
    docs: dict[str | None, str] = {}  # each document's text, read once (corpus.document refuses None)
    seen: dict[str, str] = {}
    for quote in corpus.quotes:
        source = corpus.source(quote.source)
        if source.document not in docs:
            docs[source.document] = corpus.document(source)
        problems.extend(check_quote(quote, source, docs[source.document]))
        key = _WS.sub(" ", quote.text.strip()).casefold()
        if key in seen:
            problems.append(Problem(quote.id, f"same text as quote {seen[key]}"))
        seen.setdefault(key, quote.id)
    return problems
