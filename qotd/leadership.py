"""Leadership: which instance runs the scheduler. One holds the lock; the others stand by.

On PostgreSQL a session-level advisory lock on a connection of its own; on SQLite an exclusive
flock on a file beside the database. Either is released when the holder's process dies.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import sqlalchemy as sa

from quotes.store import Store

# pg_try_advisory_lock key of the scheduler's leadership ("qotdlead" in ASCII, as a bigint).
LEADER_LOCK = 0x716F74646C656164


class Leadership:
    """A lock only one scheduler holds; released when its process dies."""

    def try_acquire(self) -> bool:
        raise NotImplementedError

    def holds(self) -> bool:
        """Return whether the lock is still held (False if its connection was lost)."""
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class PostgresLeadership(Leadership):
    """A session-level advisory lock on a connection of its own, held while leader."""

    def __init__(self, store: Store, key: int = LEADER_LOCK):
        self.engine = sa.create_engine(store.engine.url, poolclass=sa.pool.NullPool)
        self.key = key
        self._conn: sa.Connection | None = None
        self._held = False

    def try_acquire(self) -> bool:
        if self._held:
            return True
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            self._held = bool(self._conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}))
        except sa.exc.DBAPIError:
            self._drop()
            return False
        return self._held

    def holds(self) -> bool:
        if self._conn is None or not self._held:
            return False
        try:
            # The lock lives as long as the session: a live connection still holds it.
            self._conn.scalar(sa.text("SELECT 1"))
            return True
        except sa.exc.DBAPIError:
            self._drop()
            return False

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except sa.exc.DBAPIError:
                pass
            self._conn = None

    def release(self) -> None:
        self._held = False
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.close()
            except sa.exc.DBAPIError:
                self._drop()
            self._conn = None
        self.engine.dispose()


class FileLeadership(Leadership):
    """An exclusive flock on a file beside the SQLite database."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holds(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def leadership_for(store: Store) -> Leadership:
    """Return the leadership lock that suits the store's database."""
    if store.is_sqlite:
        database = store.engine.url.database
        if not database or database == ":memory:":
            raise ValueError("an in-memory SQLite database has no file to lock")
        return FileLeadership(Path(database + ".leader"))
    return PostgresLeadership(store)
