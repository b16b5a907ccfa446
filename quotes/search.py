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
from collections.abc import Sequence

import sqlalchemy as sa

from quotes import schema as t
from quotes.model import Quote
from quotes.store import Store, quote_from_row

MAX_RESULTS = 50
MAX_TERMS = 8
_WORD = re.compile(r"\w+")


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


def search(store: Store, query: str, limit: int = MAX_RESULTS, include_hidden: bool = False) -> list[Quote]:
    """Return the quotes that match every word of `query`, best first (at most `limit`)."""
    words = terms(query)
    if not words or limit <= 0:
        return []
    q = t.quotes.c
    text = sa.func.lower(q.text)
    conditions = []
    score = []
    for word in words:
        pattern = _like(word)
        # Topics are a JSON array: match the word as JSON writes it (non-ASCII escaped).
        topic_pattern = _like(json.dumps(word)[1:-1])
        names = _speaker_names(store, word)
        in_speaker = sa.func.lower(q.speaker).like(pattern, escape="\\")
        if names:
            in_speaker = sa.or_(in_speaker, q.speaker.in_(names))
        in_role = sa.func.lower(sa.func.coalesce(q.speaker_role, "")).like(pattern, escape="\\")
        in_topics = sa.func.lower(sa.cast(q.topics, sa.String)).like(topic_pattern, escape="\\")
        in_text = text.like(pattern, escape="\\")
        word_start = sa.or_(
            text.like(pattern[1:], escape="\\"),
            text.like("% " + pattern[1:], escape="\\"),
            text.like("%\n" + pattern[1:], escape="\\"),
        )
        conditions.append(sa.or_(in_speaker, in_role, in_topics, in_text))
        score.append(
            sa.case((in_speaker, 4), else_=0)
            + sa.case((in_topics, 3), else_=0)
            + sa.case((in_role, 1), else_=0)
            + sa.case((word_start, 2), (in_text, 1), else_=0)
        )
    query_ = sa.select(t.quotes).where(*conditions)
    if not include_hidden:
        query_ = query_.where(q.hidden.is_(False))
    rank = sum(score[1:], score[0]).label("rank")
    query_ = query_.add_columns(rank).order_by(rank.desc(), q.id).limit(min(limit, MAX_RESULTS))
    with store.read() as conn:
        return [quote_from_row(row) for row in conn.execute(query_)]


def random_quote(store: Store, rng: random.Random, exclude: Sequence[str] = ()) -> Quote | None:
    """Return a random visible quote other than those in `exclude`, or None if there is none."""
    q = t.quotes.c
    visible = sa.and_(q.hidden.is_(False), q.id.not_in(list(exclude)) if exclude else sa.true())
    with store.read() as conn:
        count = conn.scalar(sa.select(sa.func.count()).select_from(t.quotes).where(visible))
        if not count:
            return None
        row = conn.execute(
            sa.select(t.quotes).where(visible).order_by(q.id).offset(rng.randrange(count)).limit(1)
        ).first()
    return quote_from_row(row) if row else None
