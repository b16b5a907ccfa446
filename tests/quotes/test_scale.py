"""The store's reads that must not grow with the corpus: what they return (their cost is
bench/scale.py's to show)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import sqlalchemy as sa

import quotes.search
from quotes.model import ADMIN, Quote
from quotes.search import random_quote, search
from quotes.store import schema as t
from tests.conftest import NOW, TODAY


def test_every_index_the_schema_declares_is_in_the_migrated_database(store):
    inspector = sa.inspect(store.engine)
    for table in (t.quotes, t.sources, t.daily_picks):
        made = {index["name"] for index in inspector.get_indexes(table.name)}
        declared = {index.name for index in table.indexes}
        assert declared <= made, table.name


def test_a_source_reads_its_own_quotes_and_those_citing_it(store):
    every = list(store.quotes(include_hidden=False))
    own, citing = store.source_quotes("cfr-same-boat")
    assert [q.id for q in own] == sorted(q.id for q in every if q.source == "cfr-same-boat")
    assert citing == []
    own, citing = store.source_quotes("fp-law-of-politics")
    expected = sorted(q.id for q in every if q.cites == "fp-law-of-politics" and q.source != q.cites)
    assert [q.id for q, _ in citing] == expected and expected
    assert {s.id for _, s in citing} == {q.source for q in every if q.id in expected}


def test_a_hidden_quote_leaves_its_source(store):
    own, _ = store.source_quotes("cfr-same-boat")
    store.set_hidden(own[0].id, True, "tg:1", NOW)
    assert [q.id for q in store.source_quotes("cfr-same-boat")[0]] == [q.id for q in own[1:]]


def test_the_data_version_moves_with_a_pick_and_with_a_correction(store):
    before = store.changes(TODAY)
    store.pick_for(TODAY, NOW)
    picked = store.changes(TODAY)
    assert picked[0] == TODAY and picked[1] == NOW and picked != before
    quote = store.quote("fp-02")
    later = NOW + dt.timedelta(minutes=5)
    store.save([], [dataclasses.replace(quote, topics=(*quote.topics, "x"))], "admin", later)
    assert store.changes(TODAY) == (TODAY, NOW, later, picked[3], None)
    # Hiding the day's quote gives the day a replacement, recorded as a correction: the version moves.
    hidden_at = later + dt.timedelta(minutes=5)
    store.set_hidden(store.recent_picks(TODAY, 1)[0].quote.id, True, "admin", hidden_at, TODAY, "wrong date")
    assert picked[4] is None and store.changes(TODAY)[4] is not None


def test_first_and_last_pick(store):
    assert store.first_and_last_pick(TODAY) is None
    for offset in (3, 2, 0):
        store.pick_for(TODAY - dt.timedelta(days=offset), NOW)
    assert store.first_and_last_pick(TODAY) == (TODAY - dt.timedelta(days=3), TODAY)
    assert store.first_and_last_pick(TODAY - dt.timedelta(days=1)) == (
        TODAY - dt.timedelta(days=3),
        TODAY - dt.timedelta(days=2),
    )


def test_corpus_loading_leaves_an_admins_quotes_alone(store, corpus):
    added = Quote(
        id="u-00000001", text="An admin's quote.", speaker="Someone", source="cfr-same-boat", origin=ADMIN
    )
    store.save([], [added], "admin", NOW)
    report = store.load_corpus(corpus, NOW + dt.timedelta(days=1))
    assert (report.added, report.updated, report.unchanged) == (0, 0, len(corpus.quotes))
    assert store.quote("u-00000001").text == "An admin's quote."


def test_a_random_quote_can_be_any_visible_one(store):
    visible = {q.id for q in store.quotes(include_hidden=False)}
    rng = random.Random(0)
    drawn = {random_quote(store, rng).id for _ in range(3000)}
    assert drawn == visible


def test_a_search_ranks_a_bounded_number_of_matches(store, monkeypatch):
    every = search(store, "the")
    assert len(every) > 3
    monkeypatch.setattr(quotes.search, "MAX_CANDIDATES", 3)
    bounded = search(store, "the")
    assert len(bounded) == 3
    assert {q.id for q in bounded} <= {q.id for q in search(store, "the", include_hidden=True)}
