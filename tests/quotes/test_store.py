"""The store on SQLite and PostgreSQL: schema, corpus loading, admin changes."""

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from quotes.model import ADMIN, Quote
from quotes.store import SchemaOutdated, Store, database_url
from quotes.store import schema as t
from tests.conftest import NOW

LATER = NOW + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///data/qotd.sqlite3", "sqlite:///data/qotd.sqlite3"),
    ],
)
def test_platform_database_urls_are_accepted(given, expected):
    assert database_url(given) == expected


def test_migrations_create_every_table(empty_store):
    assert empty_store.schema_revision() is None
    empty_store.upgrade()
    assert empty_store.schema_revision() == empty_store.head_revision()
    names = set(sa.inspect(empty_store.engine).get_table_names())
    assert {"sources", "quotes", "daily_picks", "subscribers", "deliveries", "audit_log", "pins"} <= names


def test_the_head_revision_read_from_the_migration_files_is_alembic_s(empty_store):
    from alembic.script import ScriptDirectory

    alembic_head = ScriptDirectory.from_config(empty_store._alembic()).get_current_head()
    assert empty_store.head_revision() == alembic_head


def test_an_upgrade_from_the_revision_before_the_head_runs_the_last_migration(empty_store):
    from alembic import command
    from alembic.script import ScriptDirectory

    config = empty_store._alembic()
    head = ScriptDirectory.from_config(config).get_current_head()
    before = ScriptDirectory.from_config(config).get_revision(head).down_revision
    with empty_store.write() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, before)
    assert empty_store.upgrade() == (before, head)
    assert empty_store.schema_revision() == head
    assert empty_store.upgrade() == (head, head)  # at the head: nothing runs


@pytest.mark.postgres
def test_an_outdated_postgres_schema_is_reported_with_the_fix(pg_server_url, corpus):
    from tests.conftest import _empty_postgres

    _empty_postgres(pg_server_url)
    store = Store.connect(pg_server_url)
    try:
        with pytest.raises(SchemaOutdated, match="run `qotd db upgrade`"):
            store.prepare(corpus, NOW)
        assert "quotes" not in sa.inspect(store.engine).get_table_names()
    finally:
        store.close()


def test_loading_the_corpus_twice_changes_nothing(store, corpus):
    report = store.load_corpus(corpus, LATER)
    assert (report.added, report.updated, report.unchanged) == (0, 0, 20)
    assert {q.corrected_at for q in store.quotes()} == {None}  # loading is not a correction


def test_a_corrected_curated_quote_is_updated_on_load(store, corpus):
    fixed = dataclasses.replace(corpus.quotes[0], topics=("world order",))
    report = store.load_corpus(dataclasses.replace(corpus, quotes=(fixed, *corpus.quotes[1:])), LATER)
    assert (report.added, report.updated) == (0, 1)
    quote = store.quote(fixed.id)
    assert quote.topics == ("world order",) and quote.corrected_at == LATER


def test_loading_never_overwrites_an_admins_edit_or_deletes_an_admins_quote(store, corpus):
    edited = dataclasses.replace(corpus.quotes[1], topics=("admin's topic",))
    mine = Quote(
        id="u-abc123", text="An admin's quote.", speaker="Sergey Lavrov", source="cfr-same-boat", origin=ADMIN
    )
    store.save([], [edited, mine], "tg:42", NOW)
    report = store.load_corpus(corpus, LATER)
    assert report.kept == (edited.id,)
    assert store.quote(edited.id).topics == ("admin's topic",)
    assert store.quote("u-abc123").text == "An admin's quote."
    actions = [(e["actor"], e["action"], e["target"]) for e in store.audit_log()]
    assert ("tg:42", "import.quote.update", edited.id) in actions
    assert ("tg:42", "import.quote.add", "u-abc123") in actions


def test_hiding_keeps_the_quote_and_is_audited(store):
    assert store.set_hidden("sb-01", True, "tg:7", NOW)
    assert not store.set_hidden("sb-01", True, "tg:7", NOW)
    assert store.quote("sb-01").hidden
    assert "sb-01" not in {q.id for q in store.quotes(include_hidden=False)}
    assert store.audit_log(1)[0]["action"] == "hide"


def test_timestamps_come_back_aware_in_utc(store):
    with store.read() as conn:
        created = conn.scalar(sa.select(t.quotes.c.created_at).limit(1))
    assert created == NOW and created.tzinfo is not None
