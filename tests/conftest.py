"""Shared fixtures: a fresh store per test on SQLite and on the machine's PostgreSQL.

PostgreSQL tests run in a database of their own, created for the test session on the server
at TEST_DATABASE_URL (default: the local server's `test` database as `postgres`) and dropped
afterwards, so parallel runs never see each other. In CI (CI=true) an unreachable PostgreSQL
fails the run; elsewhere its tests skip with the reason.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets

import pytest
import sqlalchemy as sa

from quotes.corpus import load_corpus
from quotes.store import Store, create_engine

pytest_plugins = ["emulator.pytest_plugin"]  # the `emulator` fixture, for every test folder

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")

# The tests' "now": every test passes time in, none reads the clock.
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """A database of this test session's own on the PostgreSQL server; dropped at the end."""
    admin = create_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"qotd_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL is not reachable at {PG_URL}: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must test PostgreSQL)")
        pytest.skip(reason)
    url = sa.engine.make_url(create_engine(PG_URL).url).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """The URL of an empty database: a new SQLite file, or an emptied PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'qotd.sqlite3'}"
    url = request.getfixturevalue("pg_server_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def now() -> dt.datetime:
    return NOW


@pytest.fixture
def corpus():
    return load_corpus()


@pytest.fixture
def empty_store(database_url):
    """A store on an empty database (no schema yet)."""
    store = Store.connect(database_url)
    yield store
    store.close()


@pytest.fixture
def store(empty_store, corpus):
    """A store with the schema and the curated corpus loaded."""
    empty_store.upgrade()
    empty_store.load_corpus(corpus, NOW)
    return empty_store


@pytest.fixture
def env(database_url, tmp_path) -> dict[str, str]:
    """The environment a `qotd` command sees in a test."""
    return {"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url}


@pytest.fixture
def qotd(env, capsys):
    """Run `qotd ARGS...` in-process; return (exit code, stdout, stderr)."""
    from qotd.cli import main

    def run(*argv: str, at: dt.datetime = NOW, extra_env: dict[str, str] | None = None):
        code = main(list(argv), env | (extra_env or {}), now=at)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
