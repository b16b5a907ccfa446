"""The quote of the day: fixed once, never repeated within a cycle, hidden never, pins kept."""

import datetime as dt
from collections import Counter

import pytest
import sqlalchemy as sa

from quotes.selection import WINDOW, NoQuoteError, Ranked, choose
from quotes.store import Store
from quotes.store import schema as t
from tests.conftest import NOW, TODAY

DAY = dt.timedelta(days=1)


def days(start, n):
    return [start + i * DAY for i in range(n)]


def test_choose_takes_the_first_ranked_quote_not_shown_nearby():
    ranked = [Ranked("a", 1, 5), Ranked("b", 1, 9), Ranked("c", 2, 1)]
    assert choose(1, ranked, nearby={"a"}, reserved=set()).quote_id == "b"
    assert choose(1, ranked, nearby={"a", "b"}, reserved=set()).cycle == 2  # a new cycle starts
    assert choose(1, ranked, nearby=set(), reserved={"a"}, pin="c").pinned
    assert choose(1, ranked[:1], nearby={"a"}, reserved=set()).quote_id == "a"  # one quote: it repeats
    with pytest.raises(NoQuoteError):
        choose(1, [], nearby=set(), reserved=set())


def test_the_pick_is_stored_once_and_survives_restarts_and_new_quotes(store, database_url, corpus):
    first = store.pick_for(TODAY, NOW)
    store.close()
    again = Store.connect(database_url)  # a restart
    try:
        again.load_corpus(corpus, NOW + DAY)
        assert again.pick_for(TODAY, NOW + DAY).quote.id == first.quote.id
        assert again.stored_pick(TODAY).quote.id == first.quote.id
    finally:
        again.close()


def test_no_quote_repeats_until_every_active_quote_was_used(store):
    store.set_hidden("sb-05", True, "cli", NOW)
    picks = [store.pick_for(d, NOW).quote.id for d in days(TODAY, 19 * 5)]
    active = {q.id for q in store.quotes(include_hidden=False)}
    assert len(active) == 19 and "sb-05" not in picks
    for cycle in range(5):
        assert set(picks[cycle * 19 : (cycle + 1) * 19]) == active
    # A new cycle never opens with one of the last cycle's final quotes,
    for boundary in range(19, 19 * 5, 19):
        assert picks[boundary] not in picks[boundary - WINDOW : boundary]
    # and no quote comes back within WINDOW days of itself, across cycles too.
    last_seen: dict[str, int] = {}
    for index, quote_id in enumerate(picks):
        assert index - last_seen.get(quote_id, -WINDOW - 1) > WINDOW
        last_seen[quote_id] = index
    assert picks[:19] != picks[19:38]  # each cycle has its own order


def test_a_pinned_quote_is_kept_for_its_date_and_not_used_before(store):
    store.pin(TODAY + 5 * DAY, "fp-07", "tg:1", NOW, today=TODAY)
    picks = {d: store.pick_for(d, NOW) for d in days(TODAY, 10)}
    assert picks[TODAY + 5 * DAY].quote.id == "fp-07" and picks[TODAY + 5 * DAY].pinned
    assert [d for d, p in picks.items() if p.quote.id == "fp-07"] == [TODAY + 5 * DAY]


@pytest.mark.parametrize(
    ("day", "quote_id", "message"),
    [
        (TODAY - DAY, "fp-07", "in the past"),
        (TODAY + DAY, "no-such", "there is no quote no-such"),
    ],
)
def test_bad_pins_are_refused_and_change_nothing(store, day, quote_id, message):
    with pytest.raises(LookupError if quote_id == "no-such" else ValueError, match=message):
        store.pin(day, quote_id, "tg:1", NOW, today=TODAY)
    with store.read() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(t.pins)) == 0


def test_the_schedule_preview_stores_nothing_and_matches_what_happens(store):
    preview = store.schedule(TODAY, 30, NOW)
    assert store.stored_pick(TODAY) is None
    assert [p.quote.id for p in preview] == [store.pick_for(d, NOW).quote.id for d in days(TODAY, 30)]
    assert all(p.stored for p in store.schedule(TODAY, 30, NOW))


def test_two_stores_picking_the_same_date_agree(store, database_url):
    other = Store.connect(database_url)
    try:
        ids = {other.pick_for(TODAY, NOW).quote.id, store.pick_for(TODAY, NOW).quote.id}
    finally:
        other.close()
    assert len(ids) == 1


def test_hidden_quotes_are_never_picked_and_an_empty_set_says_so(store):
    for quote in list(store.quotes()):
        store.set_hidden(quote.id, True, "cli", NOW)
    with pytest.raises(NoQuoteError, match="no active quote"):
        store.pick_for(TODAY, NOW)
    store.set_hidden("fp-01", False, "cli", NOW)
    assert Counter(store.pick_for(d, NOW).quote.id for d in days(TODAY, 3)) == {"fp-01": 3}
