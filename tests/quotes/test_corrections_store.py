"""Corrections are data: a change to a published quote, by an admin or in the curated corpus,
is recorded once with what changed and why; an unpublished quote's change is no correction."""

from __future__ import annotations

import dataclasses
import datetime as dt

from tests.conftest import NOW, TODAY

LATER = NOW + dt.timedelta(hours=2)


def test_a_corpus_change_to_a_published_quote_is_a_correction(store, corpus):
    published = store.pick_for(TODAY, NOW).quote
    unpublished = next(q for q in corpus.quotes if q.id != published.id)
    changed = tuple(
        dataclasses.replace(q, speaker_role="Minister (corrected)")
        if q.id in (published.id, unpublished.id)
        else q
        for q in corpus.quotes
    )
    store.load_corpus(dataclasses.replace(corpus, quotes=changed), LATER)
    [correction] = store.corrections(published.id)
    assert (correction.at, correction.actor, correction.what, correction.why, correction.day) == (
        LATER,
        "corpus",
        "changed the speaker's role",
        "corrected in the curated corpus",
        None,
    )
    assert store.corrections(unpublished.id) == []
    store.load_corpus(dataclasses.replace(corpus, quotes=changed), LATER + dt.timedelta(hours=1))
    assert len(store.corrections(published.id)) == 1  # loading the same again corrects nothing
