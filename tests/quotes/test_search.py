"""Search: every word must match; speakers by alias; topics; ranked; hidden quotes left out."""

from __future__ import annotations

import random
from dataclasses import replace

import sqlalchemy as sa

from quotes.model import ADMIN, Quote
from quotes.search import MAX_RESULTS, random_quote, search, terms


def ids(quotes):
    return [q.id for q in quotes]


def test_terms_are_case_folded_words():
    assert terms("  NATO, nato; Security!! ") == ["nato", "security"]
    assert terms("“”‘’ ...") == []


def test_an_alias_finds_the_speaker(store):
    by_alias = search(store, "Sergei")
    assert by_alias and ids(by_alias) == ids(search(store, "Sergey"))
    assert all(q.speaker == "Sergey Lavrov" for q in by_alias)


def test_every_word_must_match(store):
    found = search(store, "NATO Russia")
    assert found
    for quote in found:
        haystack = " ".join([quote.text, *quote.topics, quote.speaker, quote.speaker_role or ""]).lower()
        assert "nato" in haystack and "russia" in haystack
    assert search(store, "NATO zzzzzz") == []


def test_a_topic_match_ranks_above_a_passing_mention(store):
    quotes = {q.id: q for q in store.quotes()}
    topic = next(t for q in quotes.values() for t in q.topics)
    word = topic.split()[0]
    found = search(store, word)
    tagged = [q.id for q in found if any(word.lower() in t.lower() for t in q.topics)]
    untagged = [q.id for q in found if q.id not in tagged]
    assert tagged
    assert ids(found) == tagged + untagged  # every tagged quote comes first


def test_hidden_quotes_are_not_found(store, now):
    first = search(store, "NATO")[0]
    store.set_hidden(first.id, True, "tg:1", now)
    assert first.id not in ids(search(store, "NATO"))
    assert first.id in ids(search(store, "NATO", include_hidden=True))


def test_like_wildcards_are_literal(store):
    assert search(store, "%") == []
    assert search(store, "_") == []


def test_results_are_capped(store):
    assert len(search(store, "the", limit=500)) <= MAX_RESULTS
    assert len(search(store, "the", limit=3)) == 3


def test_random_quote_skips_the_excluded_and_hidden(store, now):
    every = ids(store.quotes())
    for quote_id in every[1:]:
        store.set_hidden(quote_id, True, "tg:1", now)
    assert random_quote(store, random.Random(1)).id == every[0]
    assert random_quote(store, random.Random(1), exclude=[every[0]]) is None


def test_the_search_index_follows_adds_and_edits(store, now):
    if store.is_sqlite:
        with store.read() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM quote_search")).scalar() == len(
                list(store.quotes())
            )
    quote = Quote(id="u-0000aaaa", text="Glasnost was a word.", speaker="Someone", source="cfr-same-boat",
                  topics=("Comité", "perestroika"), origin=ADMIN)  # fmt: skip
    store.save([], [quote], "tg:1", now, action="add")
    assert ids(search(store, "glasnost")) == ["u-0000aaaa"]
    assert ids(search(store, "comité")) == ["u-0000aaaa"]  # a non-ASCII topic
    assert ids(search(store, "someone perestroika")) == ["u-0000aaaa"]
    store.save([], [replace(quote, text="Uskorenie was another.")], "tg:1", now, action="edit")
    assert search(store, "glasnost") == []
    assert ids(search(store, "uskorenie")) == ["u-0000aaaa"]


def test_short_words_match_without_the_index(store):
    found = search(store, "us")  # fewer than three characters: no trigram
    assert found and all(
        "us" in " ".join([q.text, q.speaker, q.speaker_role or "", *q.topics]).lower() for q in found
    )
