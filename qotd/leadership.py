"""Leadership: which instance runs the scheduler, for how long, and under which epoch.

One row of the `leadership` table (migration 0008_fencing) names the leader and its **epoch**,
a number that goes up by one each time an instance becomes the leader. Every claim the
broadcast makes in the ledger names the claimer's epoch, and the database refuses it unless the
epoch is still the row's (bot/delivery/ledger.py): a leader that was replaced cannot send.

- PostgreSQL: a **lease**. The leader renews `lease_until` (the database's clock) every few
  seconds on a connection of its own; a standby takes over when the lease has run out
  (`LEADER_LEASE_SECONDS`: a frozen or cut-off leader) or at once when the leader's database
  session is gone (a dead process, a restarted database). Taking over raises the epoch.
- SQLite: as before, an exclusive flock on a file beside the database (released when the
  holder's process dies); becoming the leader raises the same epoch.

Database errors are raised to the caller (the scheduler's supervised loop, qotd/scheduler.py),
which logs them once, steps down, and tries again with backoff.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from quotes.store import Store, dialect_insert
from quotes.store import schema as t

NAME = "scheduler"  # the row of the scheduler's leadership
_l = t.leadership


def holder_id() -> str:
    """This process's name in the leadership row: host, pid and a random tag."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def current_epoch(conn: sa.Connection, name: str = NAME) -> int | None:
    return conn.scalar(sa.select(_l.c.epoch).where(_l.c.name == name))


def _ensure_row(conn: sa.Connection, name: str) -> None:
    if current_epoch(conn, name) is None:
        conn.execute(
            dialect_insert(conn.dialect.name, _l)
            .values(name=name, epoch=0)
            .on_conflict_do_nothing(index_elements=[_l.c.name])
        )


class Leadership:
    """Only one scheduler leads; `epoch` is its fencing token while it does."""

    epoch: int | None = None

    def try_acquire(self) -> bool:
        raise NotImplementedError

    def holds(self) -> bool:
        """Renew and return whether leadership is still held (False: another instance has it)."""
        raise NotImplementedError

    def valid(self) -> bool:
        """Whether this instance may still act as the leader by its own clock (no database)."""
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    @property
    def renew_every(self) -> float:
        """How often the leader should call `holds()`, in seconds."""
        return 5.0


class PostgresLeadership(Leadership):
    """A lease in the `leadership` row, renewed on a connection of its own."""

    def __init__(
        self,
        store: Store,
        lease: float = 30.0,
        *,
        name: str = NAME,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.engine = sa.create_engine(
            store.engine.url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 5}
        )
        self.lease = lease
        self.name = name
        self.holder = holder_id()
        self.monotonic = monotonic
        self._conn: sa.Connection | None = None
        self.epoch = None
        self._valid_until = -float("inf")

    @property
    def renew_every(self) -> float:
        return max(0.2, self.lease / 4)

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                # A renewal that hangs must not outlast the lease it renews.
                conn.execute(sa.text(f"SET statement_timeout = {int(self.lease * 1000 / 2)}"))
                _ensure_row(conn, self.name)
            except BaseException:
                conn.invalidate()
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _run(self, statement, params: dict) -> int | None:
        try:
            return self._connection().scalar(statement, params)
        except sa.exc.DBAPIError:
            self._drop()
            raise

    _take = sa.text(
        """UPDATE leadership
           SET epoch = epoch + 1, holder = :me, backend_pid = pg_backend_pid(),
               lease_until = now() + make_interval(secs => :lease), acquired_at = now()
           WHERE name = :name AND (
               holder IS NULL OR holder = :me OR lease_until IS NULL OR lease_until < now()
               OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = leadership.backend_pid))
           RETURNING epoch"""
    )
    _renew = sa.text(
        """UPDATE leadership SET lease_until = now() + make_interval(secs => :lease)
           WHERE name = :name AND epoch = :epoch AND holder = :me RETURNING epoch"""
    )

    def try_acquire(self) -> bool:
        if self.epoch is not None:
            return self.holds()
        started = self.monotonic()
        epoch = self._run(self._take, {"me": self.holder, "lease": self.lease, "name": self.name})
        if epoch is None:
            return False
        self.epoch = epoch
        self._valid_until = started + self.lease * 0.8
        return True

    def holds(self) -> bool:
        if self.epoch is None:
            return False
        started = self.monotonic()
        try:
            renewed = self._run(
                self._renew, {"lease": self.lease, "name": self.name, "epoch": self.epoch, "me": self.holder}
            )
        except sa.exc.DBAPIError:
            self.epoch = None  # unknown now: act as if lost; a new acquire raises the epoch
            raise
        if renewed is None:
            self.epoch = None
            return False
        self._valid_until = started + self.lease * 0.8
        return True

    def valid(self) -> bool:
        return self.epoch is not None and self.monotonic() < self._valid_until

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except sa.exc.DBAPIError:
                pass
            self._conn = None

    def release(self) -> None:
        if self.epoch is not None and self._conn is not None:
            try:  # hand over at once rather than after the lease
                self._conn.execute(
                    sa.text(
                        "UPDATE leadership SET holder = NULL, lease_until = NULL "
                        "WHERE name = :name AND epoch = :epoch AND holder = :me"
                    ),
                    {"name": self.name, "epoch": self.epoch, "me": self.holder},
                )
            except sa.exc.DBAPIError:
                pass
        self.epoch = None
        self._drop()
        self.engine.dispose()


class FileLeadership(Leadership):
    """An exclusive flock on a file beside the SQLite database; acquiring it raises the epoch."""

    def __init__(self, path: Path, store: Store, *, name: str = NAME):
        self.path = Path(path)
        self.store = store
        self.name = name
        self.holder = holder_id()
        self._fd: int | None = None
        self.epoch = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        try:
            with self.store.write() as conn:
                _ensure_row(conn, self.name)
                self.epoch = conn.scalar(
                    _l.update()
                    .where(_l.c.name == self.name)
                    .values(epoch=_l.c.epoch + 1, holder=self.holder, acquired_at=dt.datetime.now(dt.UTC))
                    .returning(_l.c.epoch)
                )
        except BaseException:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} epoch {self.epoch}\n".encode())
        self._fd = fd
        return True

    def holds(self) -> bool:
        return self._fd is not None

    def valid(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self.epoch = None


def leadership_for(store: Store, lease: float = 30.0) -> Leadership:
    """Return the leadership that suits the store's database."""
    if store.is_sqlite:
        database = store.engine.url.database
        if not database or database == ":memory:":
            raise ValueError("an in-memory SQLite database has no file to lock")
        return FileLeadership(Path(database + ".leader"), store)
    return PostgresLeadership(store, lease)
