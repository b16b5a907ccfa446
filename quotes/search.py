"""Finding quotes: by words over the text, the speaker (and the speaker's aliases) and topics.

The database does the filtering and the ranking, so a search never loads the quote table: every
word must match somewhere (text, speaker, role or topic), and a quote scores more for a word
found in its speaker or topics than in its text, and more for a word at the start of a word of
the text than inside one. Matching ignores ASCII case on SQLite and all case on PostgreSQL.

A word that names a speaker's alias ("Sergei") also finds the speaker's quotes ("Sergey
Lavrov"): the speakers table is small (one row per person), so it is read whole.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from quotes.model import Quote
from quotes.store import Store, quote_from_row
from quotes.store import schema as t

MAX_RESULTS = 50
# A search ranks at most this many matching quotes (the first the index finds), so its cost is
# bounded however many quotes a word matches.
MAX_CANDIDATES = 100
MAX_TERMS = 8
_WORD = re.compile(r"\w+")
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u301d\u301e\uff02"
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2039\u203a\u2032`\u00b4"
_QUOTE_MAP = str.maketrans({**dict.fromkeys(_DOUBLE_QUOTES, '"'), **dict.fromkeys(_SINGLE_QUOTES, "'")})
_WS = re.compile(r"\s+")
_FRAGMENTS = re.compile(r"[^\s\"'" + _DOUBLE_QUOTES + _SINGLE_QUOTES + r"]+")


def terms(query: str) -> list[str]:
    """Return the distinct words of a query, case-folded, at most MAX_TERMS of them."""
    words: list[str] = []
    for word in _WORD.findall(query.casefold()):
        if word not in words:
            words.append(word)
    return words[:MAX_TERMS]


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _speaker_names(store: Store, word: str) -> list[str]:
    """Return the speakers whose name or an alias contains `word`."""
    return [
        speaker.name
        for speaker in store.speakers()
        if any(word in name.casefold() for name in (speaker.name, *speaker.aliases))
    ]


def phrase(text: str) -> str:
    """Return `text` as an FTS5 phrase (a substring, for the trigram tokenizer)."""
    return '"' + text.replace('"', '""') + '"'


def _fts_query(words: list[tuple[str, list[str]]]) -> str | None:
    """Return the FTS5 trigram MATCH that every match of `words` satisfies (None: none can say).

    A word shorter than three characters has no trigram, so it narrows nothing and is left to
    the LIKE conditions; so is a word whose alias names a speaker in fewer than three.
    """
    parts = []
    for word, names in words:
        if len(word) < 3 or any(len(name) < 3 for name in names):
            continue
        options = [phrase(word)]
        if (escaped := json.dumps(word)[1:-1]) != word:  # as the topics' JSON writes it
            options.append(phrase(escaped))
        options += [f"speaker : {phrase(name)}" for name in names]
        parts.append("(" + " OR ".join(options) + ")")
    return " AND ".join(parts) or None


_HAS_INDEX = sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'quote_search'")
MATCHING = sa.text(
    "SELECT r.quote_id FROM quote_search_rows r WHERE r.search_rowid IN "
    "(SELECT rowid FROM quote_search WHERE quote_search MATCH :fts)"
).columns(quote_id=sa.String)


_FTS = sa.table("quote_search", sa.column("rowid", sa.Integer))
_FTS_ROWS = sa.table(
    "quote_search_rows", sa.column("quote_id", sa.String), sa.column("search_rowid", sa.Integer)
)


def has_index(conn: sa.Connection) -> bool:
    """Say whether the database has the FTS5 trigram index of migration 0002_bot (SQLite)."""
    return conn.dialect.name == "sqlite" and conn.execute(_HAS_INDEX).first() is not None


def search(store: Store, query: str, limit: int = MAX_RESULTS, include_hidden: bool = False) -> list[Quote]:
    """Return the quotes that match every word of `query`, best first (at most `limit`)."""
    words = terms(query)
    if not words or limit <= 0:
        return []
    q = t.quotes.c
    sqlite = store.is_sqlite

    def contains(column: sa.ColumnElement[Any], pattern: str) -> sa.ColumnElement[bool]:
        # SQLite's LIKE already ignores ASCII case (lower() would cost a call per row); on
        # PostgreSQL, ILIKE with its default escape (backslash) is what pg_trgm indexes serve.
        return column.like(pattern, escape="\\") if sqlite else column.ilike(pattern)

    conditions = []
    score = []
    named = []
    for word in words:
        pattern = _like(word)
        # Topics are a JSON array: match the word as JSON writes it (non-ASCII escaped).
        topic_pattern = _like(json.dumps(word)[1:-1])
        names = _speaker_names(store, word)
        named.append((word, names))
        in_speaker = contains(q.speaker, pattern)
        if names:
            in_speaker = sa.or_(in_speaker, q.speaker.in_(names))
        in_role = contains(sa.func.coalesce(q.speaker_role, sa.literal_column("''")), pattern)
        in_topics = contains(sa.cast(q.topics, sa.Text), topic_pattern)
        in_text = contains(q.text, pattern)
        word_start = sa.or_(
            contains(q.text, pattern[1:]),
            contains(q.text, "% " + pattern[1:]),
            contains(q.text, "%\n" + pattern[1:]),
        )
        conditions.append(sa.or_(in_speaker, in_role, in_topics, in_text))
        score.append(
            sa.case((in_speaker, 4), else_=0)
            + sa.case((in_topics, 3), else_=0)
            + sa.case((in_role, 1), else_=0)
            + sa.case((word_start, 2), (in_text, 1), else_=0)
        )
    rank = sum(score[1:], score[0]).label("rank")
    with store.read() as conn:
        fts = _fts_query(named) if has_index(conn) else None
        # The first MAX_CANDIDATES matches (in the index's order), so a common word costs no
        # more than a rare one; the ranking below orders those.
        if fts is not None:
            # The trigram index drives the loop, so the scan stops at the limit.
            found = (
                sa.select(q.id)
                .select_from(_FTS.join(_FTS_ROWS, _FTS_ROWS.c.search_rowid == _FTS.c.rowid))
                .join(t.quotes, q.id == _FTS_ROWS.c.quote_id)
                .where(sa.text("quote_search MATCH :fts").bindparams(fts=fts), *conditions)
            )
        else:
            found = sa.select(q.id).where(*conditions)
        if not include_hidden:
            # Wrapped, so SQLite does not walk the selection index (hidden first) and fetch
            # every row from it, which is several times slower.
            found = found.where(sa.func.coalesce(q.hidden, sa.false()).is_(sa.false()))
        candidates = found.limit(MAX_CANDIDATES).scalar_subquery()
        # Rank the candidates' ids first, then read only the rows that made the cut.
        best = (
            sa.select(q.id, rank)
            .where(q.id.in_(candidates))
            .order_by(rank.desc(), q.id)
            .limit(min(limit, MAX_RESULTS))
        )
        order = [row.id for row in conn.execute(best)]
        rows = (
            {row.id: row for row in conn.execute(sa.select(t.quotes).where(q.id.in_(order)))} if order else {}
        )
    return [quote_from_row(rows[quote_id]) for quote_id in order]


# shuffle_key is a 62-bit hash (quotes/selection.py), spread evenly over [0, 2**62).
_KEY_SPACE = 1 << 62


def random_quote(store: Store, rng: random.Random, exclude: Sequence[str] = ()) -> Quote | None:
    """Return a random visible quote other than those in `exclude`, or None if there is none.

    One seek in the (hidden, shuffle_key) index: the first visible quote at or after a random
    key, wrapping round to the first one. The keys are hashes, so each quote's chance is the gap
    before its key: even on average, whatever the number of quotes, at the cost of one lookup.
    """
    q = t.quotes.c
    visible = [q.hidden.is_(False)] + ([q.id.not_in(list(exclude))] if exclude else [])
    start = rng.randrange(_KEY_SPACE)
    first = sa.select(t.quotes).where(*visible).order_by(q.shuffle_key).limit(1)
    with store.read() as conn:
        row = conn.execute(first.where(q.shuffle_key >= start)).first() or conn.execute(first).first()
    return quote_from_row(row) if row else None


def texts_containing(
    store: Store, fragment: str | None, exclude: str | None = None
) -> Iterator[tuple[str, str]]:
    """Yield (id, text) of the quotes whose text holds `fragment` (any case), in id order.

    Without a fragment every quote is a candidate. The trigram index (SQLite) or pg_trgm's
    index on LIKE (PostgreSQL, where backslash is the default escape) does the filtering.
    """
    query = sa.select(t.quotes.c.id, t.quotes.c.text).order_by(t.quotes.c.id)
    if exclude is not None:
        query = query.where(t.quotes.c.id != exclude)
    with store.engine.connect() as conn:
        if fragment:
            if len(fragment) >= 3 and has_index(conn):
                query = query.where(t.quotes.c.id.in_(MATCHING.bindparams(fts="text : " + phrase(fragment))))
            else:
                escape = "\\" if conn.dialect.name == "sqlite" else None
                query = query.where(t.quotes.c.text.like(_like(fragment), escape=escape))
        with conn.execution_options(yield_per=500).execute(query) as rows:
            for row in rows:
                yield row.id, row.text


# --- duplicates ------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Return text with typographic quotes made plain and runs of white space made one space."""
    return _WS.sub(" ", text.translate(_QUOTE_MAP)).strip()


def find_duplicate(store: Store, text: str, exclude: str | None = None) -> str | None:
    """Return the id of a stored quote whose text equals `text` after normalising, if any."""
    target = normalise(text)
    # A duplicate holds every run of characters that normalising leaves alone, verbatim: the
    # longest run filters the candidates in the database.
    fragments = _FRAGMENTS.findall(text)
    longest = max(fragments, key=len) if fragments else None
    for quote_id, candidate in texts_containing(store, longest, exclude):
        if normalise(candidate) == target:
            return quote_id
    return None
