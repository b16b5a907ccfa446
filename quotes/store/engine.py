"""The database engine: SQLite by default, PostgreSQL for deployments, as SQLAlchemy sees them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


def database_url(url: str) -> str:
    """Return a SQLAlchemy URL for a DATABASE_URL as hosting platforms hand it out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_engine(url: str) -> sa.Engine:
    """Create an engine; on SQLite, with WAL, foreign keys and explicit BEGINs."""
    url = database_url(url)
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)
    path = sa.engine.make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN below, not pysqlite's
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        # A write transaction takes the write lock up front, so two writers queue on the
        # busy timeout instead of failing when a read lock cannot be upgraded.
        # On the driver's own connection: through exec_driver_sql, SQLAlchemy's execution around
        # the BEGIN was a fifth of a free-tier broadcast's database CPU (bench/ledger_commit.py).
        # SQLAlchemy keeps no state about this BEGIN either way (pysqlite's own transaction
        # handling is off: isolation_level None, above).
        write = connection.get_execution_options().get("qotd_write", False)
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")  # type: ignore[union-attr]

    return engine


def dialect_insert(dialect: str, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `table` in the form of `dialect` (a connection's `dialect.name`), which has
    ON CONFLICT: `on_conflict_do_nothing`, `on_conflict_do_update` and `excluded`, the same on
    PostgreSQL and on SQLite.

    Each dialect's module is imported here, when a statement is built on it: it is the engine's,
    loaded already, and a service on SQLite never loads PostgreSQL's (some 30 ms of start-up).
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)
