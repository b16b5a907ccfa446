"""What the database keeps as rows are written (migration 0009_tallies): the count of visible and
of verified quotes the home page and the bot show, and each row's number, where the sitemaps
split. Every write path is followed, plain SQL behind the store's back included."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from alembic import command

from quotes.model import ADMIN, Quote
from quotes.store import Store
from quotes.store import schema as t
from tests.conftest import NOW

VERBATIM = "the Russia-NATO Council"


def shown(store: Store) -> tuple[int, int]:
    """The counts as every quote's own page shows it: read row by row (what the tallies replace)."""
    visible = list(store.quotes(include_hidden=False))
    return sum(q.verification.verified for q in visible), len(visible)


def test_the_counts_follow_every_write_through_the_store_and_behind_its_back(store, corpus):
    assert store.verification_counts() == shown(store) == (20, 20)
    store.set_hidden("sb-01", True, "admin", NOW)
    assert store.verification_counts() == shown(store) == (19, 19)
    mine = Quote(
        id="u-00000001", text="Words in no document.", speaker="Someone", source="cfr-same-boat", origin=ADMIN
    )
    store.save([], [mine], "tg:1", NOW, action="add")
    assert store.verification_counts() == shown(store) == (19, 20)
    store.save([], [dataclasses.replace(mine, text=VERBATIM)], "tg:1", NOW, action="edit")
    # in the document, but in the editor's summary: still not verified
    assert store.verification_counts() == shown(store) == (19, 20)
    with store.write() as conn:  # behind the store's back: a verified quote's text changes
        conn.execute(t.quotes.update().where(t.quotes.c.id == "sb-02").values(text="Made up words."))
    assert store.quote("sb-02").verification.reason == "changed"
    assert store.verification_counts() == shown(store) == (18, 20)
    with store.write() as conn:  # and put back by hand: it stays unchecked until the store checks it
        conn.execute(
            t.quotes.update()
            .where(t.quotes.c.id == "sb-02")
            .values(text=corpus.quotes[[q.id for q in corpus.quotes].index("sb-02")].text)
        )
    assert store.verification_counts() == shown(store) == (18, 20)
    store.set_hidden("sb-01", False, "admin", NOW)
    with store.write() as conn:
        conn.execute(t.quotes.delete().where(t.quotes.c.id == "u-00000001"))
    assert store.verification_counts() == shown(store) == (19, 20)


def test_a_store_write_checks_a_row_marked_changed_again(store, corpus):
    with store.write() as conn:  # an older version's admin edit of a curated quote
        conn.execute(
            t.quotes.update()
            .where(t.quotes.c.id == "fp-01")
            .values(text="NATO has lost its way.", admin_edited=True)
        )
    assert store.quote("fp-01").verification.reason == "changed"
    assert store.verification_counts() == (19, 20)
    assert store.load_corpus(corpus, NOW).restored == ("fp-01",)
    assert store.quote("fp-01").verification.verified
    assert store.verification_counts() == (20, 20)


def test_each_new_row_is_numbered_after_every_other(store):
    last = store.last_seq("quotes")
    assert last == 20 and store.last_seq("sources") == 3
    mine = Quote(id="aa-00000001", text=VERBATIM, speaker="Someone", source="cfr-same-boat", origin=ADMIN)
    store.save([], [mine], "tg:1", NOW, action="add")
    assert store.last_seq("quotes") == 21
    assert store.seq_ids("quotes", 21, 30) == ["aa-00000001"]
    store.set_hidden("aa-00000001", True, "admin", NOW)
    assert store.seq_ids("quotes", 20, 30) == ["fp-11"]  # a hidden quote keeps its number, unlisted


def _to(store: Store, revision: str, down: bool = False) -> None:
    config = store._alembic()
    with store.write() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_the_migration_numbers_the_rows_of_before_in_id_order_and_counts_them(store):
    store.set_hidden("fp-03", True, "admin", NOW)
    _to(store, "0008_fencing", down=True)
    with store.write() as conn:  # changed before the database could mark it
        conn.execute(sa.text("UPDATE quotes SET text = 'Made up words.' WHERE id = 'sb-05'"))
    _to(store, "0009_tallies")
    with store.read() as conn:
        numbered = conn.execute(sa.select(t.quotes.c.id).order_by(t.quotes.c.seq)).scalars().all()
    assert numbered == sorted(numbered) and len(numbered) == 20
    assert store.quote("sb-05").verification.reason == "changed"
    assert store.verification_counts() == shown(store) == (18, 19)
    mine = Quote(id="aa-00000001", text=VERBATIM, speaker="Someone", source="cfr-same-boat", origin=ADMIN)
    store.save([], [mine], "tg:1", NOW, action="add")
    assert store.last_seq("quotes") == 21  # the numbering goes on from the rows of before
