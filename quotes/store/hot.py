"""The store's hot path: a connection held across commits, and statements run on the driver's cursor.

For the few statements a loop runs once per message: the delivery journal's claim and outcome
(bot/delivery/ledger.py `Ledger.apply`). At the free tier's 30 a second every message is a
commit of its own, and SQLAlchemy's work around each one cost several times SQLite's. CPU per
commit of one outcome and one claim on SQLite, `python bench/ledger_commit.py` (medians of 3
rounds, load 0.4-1.3):

                                                        33 ms apart   back to back
    Core's Connection.execute, a pooled connection         2,058 µs        878 µs
    these statements, a pooled connection                    910 µs        199 µs
    these statements, the journal's held connection          688 µs        102 µs

So by hand, here, and only here: the SQL and its parameters' conversions stay SQLAlchemy's
(`Prepared` compiles the same Core statement for the engine's dialect and converts each value
with that dialect's bind processor, as `Connection.execute` would), and only the execution is
the driver's (DB-API `cursor.execute`). The tests check that a row written either way reads the
same and is stored the same (tests/bot/delivery/test_ledger_hot.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler


class Prepared:
    """One Core statement compiled once for a dialect, run on the DB-API cursor.

    The statement's parameters are plain `bindparam`s (an "expanding" IN list has no fixed SQL:
    build one statement per list length instead, as `Ledger` does).
    """

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect):
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)  # (a statement's, with its binds)
        self.sql = compiled.string
        self.positional = compiled.positional
        binds = compiled.binds
        # (name, fixed value or None, the dialect's conversion or None), in the SQL's order
        names: Sequence[str] = (compiled.positiontup or []) if compiled.positional else list(binds)
        self._params = [
            (
                name,
                None if binds[name].required else binds[name].value,
                binds[name].type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name in names
        ]
        self.required = frozenset(name for name, bind in binds.items() if bind.required)

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for `values` (by bind name), converted as SQLAlchemy would."""
        out = []
        for name, fixed, process in self._params:
            value = values[name] if name in self.required else fixed
            out.append(process(value) if process is not None else value)
        if self.positional:
            return tuple(out)
        return {name: value for (name, _, _), value in zip(self._params, out, strict=True)}

    def rows(self, cursor: Any, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute once; return the rows it answers (RETURNING, SELECT)."""
        cursor.execute(self.sql, self.parameters(values))
        return list(cursor.fetchall())

    def many(self, cursor: Any, values: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per mapping (DB-API executemany)."""
        cursor.executemany(self.sql, [self.parameters(v) for v in values])


def driver_cursor(conn: sa.Connection) -> Any:
    """A DB-API cursor on the connection's own driver connection, inside its transaction."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


class HeldWriter:
    """One connection kept for a run of write transactions from one thread (the journal's).

    Each `transaction()` begins and commits as `Store.write()` does (on SQLite, BEGIN IMMEDIATE,
    by the engine's event), without a pool checkout each time (on PostgreSQL also without the
    pre-ping). A transaction that fails drops the connection, so a broken one is never used
    again; the next transaction checks a fresh one out of the pool.
    """

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._conn: sa.Connection | None = None

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        conn = self._conn
        if conn is None:
            conn = self._conn = self.engine.connect().execution_options(qotd_write=True)
        try:
            with conn.begin():
                yield conn
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Give the connection back (call it from the thread that used it)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
