"""The delivery ledger: one row per (date, chat) saying what became of that day's message.

It also streams the active subscribers, marks them inactive when Telegram says the bot was
blocked, and follows a group's migration to a supergroup. The ledger's SQL lives here (the
subscribers' own in bot/delivery/subscribers.py); time is passed in. The scheduler's
leadership lock is the service's (qotd/leadership.py).

Statuses (see docs/delivery.md for the argument):
    pending    due, not yet attempted
    sending    committed *before* the request; a row left here by a crash may have been sent
    sent       Telegram answered with a message id
    blocked    403: the bot was blocked or removed; the subscriber is made inactive
    migrated   the group became a supergroup; the delivery moved to a row for the new id
    failed     permanent error, or retries used up (the error is kept)
    uncertain  the request may have reached Telegram but no answer came (not resent by default)
    skipped    due longer ago than the catch-up window allows
    paused     the subscriber had paused the daily quote that day (/pause): not a miss

A row's key is (date, chat, topic): `thread_id` is the forum topic the message goes to (0: none).

Fencing: a claim made with the scheduler's leadership `epoch` (qotd/leadership.py) moves a row
only if that epoch is still the leader's, checked in the claim's own UPDATE (on PostgreSQL
the leadership row is read FOR SHARE, so a takeover waits for the claim or the claim sees the
takeover). A refused claim is written to `refused_claims` and the claimer gets `Fenced`. An
outcome carries the epoch of its claim and is written only over a row still claimed by it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from bot.delivery.subscribers import NO_TOPIC, Subscribers
from quotes.store import Store, dialect_insert
from quotes.store import schema as t
from quotes.store.hot import HeldWriter, Prepared, driver_cursor

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
BLOCKED = "blocked"
MIGRATED = "migrated"
FAILED = "failed"
UNCERTAIN = "uncertain"
SKIPPED = "skipped"
PAUSED = "paused"
STATUSES = (PENDING, SENDING, SENT, BLOCKED, MIGRATED, FAILED, UNCERTAIN, SKIPPED, PAUSED)
FINAL = frozenset({SENT, BLOCKED, MIGRATED, FAILED, UNCERTAIN, SKIPPED, PAUSED})
Key = tuple[dt.date, int, int] | tuple[dt.date, int]  # (date, chat id[, thread id]): one delivery

_d = t.deliveries
_s = t.subscribers
_l = t.chat_languages
_lead = t.leadership
LEADERSHIP = "scheduler"  # the leadership row whose epoch fences the claims (qotd/leadership.py)
FENCE_HOLD_MS = 2000  # a fenced claim's transaction may sit idle this long (a frozen claimer)


class Fenced(Exception):
    """A claim was refused: the claimer's leadership epoch is no longer the leader's."""

    def __init__(self, epoch: int, current: int | None, claimed: frozenset = frozenset()):
        if current is not None:
            why = f"was replaced by epoch {current}: claims refused"
        else:  # (by its own clock: the database refused nothing)
            why = "ran out of lease: sending nothing more"
        super().__init__(f"leadership epoch {epoch} {why}")
        self.epoch, self.current, self.claimed = epoch, current, claimed


@dataclass(frozen=True)
class Recipient:
    """An active subscriber as the broadcast sees it (the full record: subscribers.Subscriber)."""

    chat_id: int
    kind: str
    delivery_time: str | None
    timezone: str | None
    thread_id: int = NO_TOPIC


@dataclass(frozen=True)
class Group:
    """Subscribers who share a delivery time and timezone (None: the service's own)."""

    delivery_time: str | None
    timezone: str | None


@dataclass(frozen=True)
class Due:
    """A delivery row that is ready to go."""

    date: dt.date
    chat_id: int
    quote_id: str
    attempts: int
    thread_id: int = NO_TOPIC
    silent: bool = False  # send without a notification (/silent)
    language: str | None = None  # the chat's language (None: not chosen; bot/i18n.py decides)

    @property
    def key(self) -> Key:
        return (self.date, self.chat_id, self.thread_id)


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: a final status, or PENDING to hand it back unsent.

    A BLOCKED outcome ends the chat's subscriptions (all its topics: the bot was blocked or
    removed), or, with `ends` set, only this topic's, with `ends` as the reason (topic closed).
    """

    date: dt.date
    chat_id: int
    status: str
    message_id: int | None = None
    error: str | None = None
    thread_id: int = NO_TOPIC
    ends: str | None = None
    epoch: int | None = None  # the claim's leadership epoch: written only over a row it still holds

    def __post_init__(self):
        if self.status not in STATUSES or self.status == SENDING:
            raise ValueError(f"{self.status!r} is not an outcome")


def _is(column, value):
    return column.is_(None) if value is None else column == value


def _claim_statement(dialect: str, fenced: bool, chats: int) -> sa.Update:
    """The claim of up to `chats` rows of a date and forum topic (0: none).

    Parameters: c_date, c_chat_0 … c_chat_{chats-1} (the chat ids), c_thread, c_now, c_epoch
    (the claimer's, or None), and with `fenced` c_leader (the same epoch, checked in the
    statement). A fixed number of chat ids, so its SQL is fixed too (`Prepared`, below).
    """
    # status through a function: the planner then probes the primary key per chat id instead of
    # walking every pending row of the date (index on (date, status)), which made each claim
    # O(pending rows) on SQLite.
    where = [
        _d.c.date == sa.bindparam("c_date"),
        _d.c.chat_id.in_([sa.bindparam(f"c_chat_{i}", type_=_d.c.chat_id.type) for i in range(chats)]),
        _d.c.thread_id == sa.bindparam("c_thread"),
        sa.func.lower(_d.c.status) == PENDING,
    ]
    if fenced:
        # The fence, in the claim's own statement: moved only while the claimer's epoch leads
        # (Ledger.fence_clause, with the epoch bound).
        check = sa.select(_lead.c.epoch).where(
            _lead.c.name == LEADERSHIP, _lead.c.epoch == sa.bindparam("c_leader")
        )
        if dialect == "postgresql":
            check = check.with_for_update(read=True)
        where.append(check.exists())
    return (
        _d.update()
        .where(*where)
        .values(
            status=SENDING,
            attempts=_d.c.attempts + 1,
            updated_at=sa.bindparam("c_now"),
            epoch=sa.bindparam("c_epoch"),
        )
        .returning(_d.c.chat_id)
    )


_LEADER_EPOCH = sa.select(_lead.c.epoch).where(_lead.c.name == LEADERSHIP)  # (the fence's check, after)


def _claim_size(chats: int) -> int:
    """The claim statement's number of chat ids for `chats` (a power of two: few statements)."""
    return 1 << max(chats - 1, 0).bit_length()


class Ledger:
    """The deliveries and subscribers tables, as the delivery engine uses them."""

    def __init__(self, store: Store):
        self.store = store
        self._prepared: dict[tuple, Prepared] = {}

    def writer(self) -> HeldWriter:
        """A connection to hold across many `apply` commits from one thread (the journal's)."""
        return HeldWriter(self.store.engine)

    def _statement(self, key: tuple, build) -> Prepared:
        """The journal's statements, compiled once each for this store's dialect (quotes/store/hot.py)."""
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = Prepared(build(), self.store.engine.dialect)
        return prepared

    # --- subscribers -----------------------------------------------------------------------

    def active_subscribers(self, batch: int = 1000) -> Iterator[Recipient]:
        """Yield the active subscribers in (chat id, topic) order, `batch` rows per query (keyset)."""
        after: tuple[int, int] | None = None
        while True:
            query = (
                sa.select(_s.c.chat_id, _s.c.thread_id, _s.c.kind, _s.c.delivery_time, _s.c.timezone)
                .where(_s.c.active.is_(True))
                .order_by(_s.c.chat_id, _s.c.thread_id)
                .limit(batch)
            )
            if after is not None:
                query = query.where(sa.tuple_(_s.c.chat_id, _s.c.thread_id) > after)
            with self.store.read() as conn:
                rows = conn.execute(query).all()
            for row in rows:
                yield Recipient(row.chat_id, row.kind, row.delivery_time, row.timezone, row.thread_id)
            if len(rows) < batch:
                return
            after = (rows[-1].chat_id, rows[-1].thread_id)

    def groups(self) -> list[Group]:
        """Return the distinct (delivery time, timezone) pairs of the active subscribers."""
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(_s.c.delivery_time, _s.c.timezone).where(_s.c.active.is_(True)).distinct()
            ).all()
        return sorted(
            (Group(r.delivery_time, r.timezone) for r in rows),
            key=lambda g: (str(g.delivery_time), str(g.timezone)),
        )

    # --- planning deliveries ---------------------------------------------------------------

    def plan(
        self,
        day: dt.date,
        quote_id: str,
        group: Group,
        due_at: dt.datetime,
        status: str,
        now: dt.datetime,
        batch: int = 5000,
    ) -> int:
        """Add a row for `day` for every active subscriber of `group` subscribed by `due_at`.

        A subscriber paused on `day` gets a `paused` row instead. Rows that exist are left
        alone, so planning twice changes nothing. Works through the subscribers `batch` at a
        time (keyset on chat id), each batch its own transaction.
        Returns the number of rows added.
        """
        if status not in (PENDING, SKIPPED):
            raise ValueError(f"a delivery is planned as pending or skipped, not {status!r}")
        where = [
            _s.c.active.is_(True),
            _is(_s.c.delivery_time, group.delivery_time),
            _is(_s.c.timezone, group.timezone),
            _s.c.subscribed_at <= due_at,
        ]
        added = 0
        after: int | None = None
        while True:
            bound = [*where, _s.c.chat_id > after] if after is not None else where
            with self.store.write() as conn:
                last = conn.scalar(
                    sa.select(_s.c.chat_id).where(*bound).order_by(_s.c.chat_id).offset(batch - 1).limit(1)
                )
                chunk = [*bound, _s.c.chat_id <= last] if last is not None else bound
                paused = sa.and_(
                    _s.c.paused_at.is_not(None),
                    sa.or_(_s.c.resumes_on.is_(None), _s.c.resumes_on > day),
                )
                rows = sa.select(
                    sa.literal(day, sa.Date).label("date"),
                    _s.c.chat_id,
                    _s.c.thread_id,
                    sa.literal(quote_id, sa.String).label("quote_id"),
                    sa.case((paused, PAUSED), else_=sa.literal(status, sa.String)).label("status"),
                    sa.literal(0, sa.Integer).label("attempts"),
                    sa.literal(due_at, t.UTCDateTime).label("due_at"),
                    sa.literal(now, t.UTCDateTime).label("updated_at"),
                ).where(*chunk)
                stmt = (
                    dialect_insert(conn.dialect.name, _d)
                    .from_select(
                        [
                            "date",
                            "chat_id",
                            "thread_id",
                            "quote_id",
                            "status",
                            "attempts",
                            "due_at",
                            "updated_at",
                        ],
                        rows,
                    )
                    .on_conflict_do_nothing(index_elements=[_d.c.date, _d.c.chat_id, _d.c.thread_id])
                    .returning(_d.c.chat_id)  # psycopg gives no rowcount for INSERT ... SELECT
                )
                added += len(conn.execute(stmt).all())
            if last is None:
                return added
            after = last

    def add(
        self, day: dt.date, chat_id: int, quote_id: str, due_at: dt.datetime, now: dt.datetime, status=PENDING
    ) -> bool:
        """Add one row (a channel's post, a migrated group's new id); False if it exists."""
        with self.store.write() as conn:
            return self._add(conn, day, chat_id, quote_id, due_at, now, status)

    def _add(self, conn, day, chat_id, quote_id, due_at, now, status, thread_id=NO_TOPIC) -> bool:
        stmt = (
            dialect_insert(conn.dialect.name, _d)
            .values(
                date=day,
                chat_id=chat_id,
                thread_id=thread_id,
                quote_id=quote_id,
                status=status,
                attempts=0,
                due_at=due_at,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[_d.c.date, _d.c.chat_id, _d.c.thread_id])
            .returning(_d.c.chat_id)
        )
        return conn.execute(stmt).first() is not None

    def skip_overdue(self, due_before: dt.datetime, now: dt.datetime, since: dt.date | None = None) -> int:
        """Mark pending rows (of dates from `since`) due before `due_before` skipped: too late."""
        skipped = 0
        with self.store.write() as conn:
            for day in self._dates(conn, since, now):
                skipped += conn.execute(
                    _d.update()
                    .where(_d.c.date == day, _d.c.status == PENDING, _d.c.due_at < due_before)
                    .values(status=SKIPPED, error="past the catch-up window", updated_at=now)
                ).rowcount
        return skipped

    @staticmethod
    def _dates(conn, since: dt.date | None, now: dt.datetime) -> list[dt.date]:
        """The dates from `since` to the day after `now` (local dates run up to a day ahead of UTC).

        Each query then names one date, so the (date, status) index finds just that date's
        pending rows. Without `since`: every date that has rows.
        """
        if since is None:
            return sorted(conn.scalars(sa.select(_d.c.date).distinct()))
        last = now.date() + dt.timedelta(days=1)
        return [since + dt.timedelta(days=n) for n in range((last - since).days + 1)]

    def recover(self, now: dt.datetime, retry_uncertain: bool, due_after: dt.datetime) -> tuple[int, int]:
        """After a crash: rows left in `sending` become uncertain.

        With `retry_uncertain`, uncertain rows due after `due_after` go back to pending (a
        resend risks a duplicate). Returns (rows made uncertain, rows handed back to pending).
        """
        with self.store.write() as conn:
            uncertain = conn.execute(
                _d.update()
                .where(_d.c.status == SENDING)
                .values(status=UNCERTAIN, error="interrupted while sending", updated_at=now)
            ).rowcount
            retried = 0
            if retry_uncertain:
                retried = conn.execute(
                    _d.update()
                    .where(_d.c.status == UNCERTAIN, _d.c.due_at >= due_after)
                    .values(status=PENDING, updated_at=now)
                ).rowcount
        return uncertain, retried

    # --- delivering ------------------------------------------------------------------------

    def pending_dates(self, now: dt.datetime, since: dt.date | None = None) -> list[dt.date]:
        """Return the dates (from `since`) that have pending rows due by `now`, oldest first."""
        with self.store.read() as conn:
            return [
                day
                for day in self._dates(conn, since, now)
                if conn.scalar(
                    sa.select(_d.c.chat_id)
                    .where(_d.c.date == day, _d.c.status == PENDING, _d.c.due_at <= now)
                    .limit(1)
                )
                is not None
            ]

    def due(
        self, day: dt.date, now: dt.datetime, after: tuple[int, int] | int | None, limit: int
    ) -> list[Due]:
        """Return up to `limit` pending rows of `day` due by `now`, (chat, thread) keys above `after`.

        Each comes with how it goes: silently or not, and in which language (the subscriber's).
        """
        query = (
            sa.select(
                _d.c.date,
                _d.c.chat_id,
                _d.c.thread_id,
                _d.c.quote_id,
                _d.c.attempts,
                _s.c.silent,
                _l.c.language,
            )
            .select_from(
                _d.outerjoin(
                    _s, sa.and_(_s.c.chat_id == _d.c.chat_id, _s.c.thread_id == _d.c.thread_id)
                ).outerjoin(_l, _l.c.chat_id == _d.c.chat_id)
            )
            .where(_d.c.date == day, _d.c.status == PENDING, _d.c.due_at <= now)
            .order_by(_d.c.chat_id, _d.c.thread_id)
            .limit(limit)
        )
        if isinstance(after, int):  # chat ids above `after`, all their topics
            query = query.where(_d.c.chat_id > after)
        elif after is not None:
            query = query.where(sa.tuple_(_d.c.chat_id, _d.c.thread_id) > after)
        with self.store.read() as conn:
            return [
                Due(r.date, r.chat_id, r.quote_id, r.attempts, r.thread_id, bool(r.silent), r.language)
                for r in conn.execute(query)
            ]

    def count_due(self, now: dt.datetime, since: dt.date | None = None) -> int:
        """Return how many pending rows (of dates from `since`) are due by `now`."""
        with self.store.read() as conn:
            return sum(
                conn.scalar(
                    sa.select(sa.func.count())
                    .select_from(_d)
                    .where(_d.c.date == day, _d.c.status == PENDING, _d.c.due_at <= now)
                )
                for day in self._dates(conn, since, now)
            )

    def claim(self, keys: Iterable[Key], now: dt.datetime, epoch: int | None = None) -> set[Key]:
        """Move pending rows to `sending` (committed before any request); return those moved."""
        return self.apply([], list(keys), now, epoch)

    def apply(
        self,
        outcomes: list[Outcome],
        claims: list[Key],
        now: dt.datetime,
        epoch: int | None = None,
        writer: HeldWriter | None = None,
    ) -> set[Key]:
        """In one transaction: write outcomes (blocked subscribers become inactive), then claim rows.

        The delivery engine's group commit: one commit per batch of finished and starting sends.
        Returns the claimed keys. With `epoch`, a claim moves a row only while `epoch` is the
        leader's; when it is not, the outcomes are still written, the refused claims are recorded
        in `refused_claims`, and `Fenced` is raised after the commit. `writer`: the connection
        the journal holds across its commits (default: one from the pool for this one).

        The statements run for every message (outcomes, claims, the leader's epoch) go on the
        driver's cursor (`Prepared`, quotes/store/hot.py); the rare ones through SQLAlchemy.
        """
        claimed: set[Key] = set()
        fenced: Fenced | None = None
        dialect = self.store.engine.dialect.name
        with writer.transaction() if writer is not None else self.store.write() as conn:
            cursor = driver_cursor(conn)
            if epoch is not None and dialect == "postgresql":
                # A claimer frozen inside this transaction holds the leadership row FOR SHARE,
                # which would keep any other instance from taking over: the server ends such
                # a transaction (and its session) after FENCE_HOLD_MS idle.
                cursor.execute(f"SET LOCAL idle_in_transaction_session_timeout = {FENCE_HOLD_MS}")
            if outcomes:
                self._write_outcomes(cursor, outcomes, now)
                blocked = [o.chat_id for o in outcomes if o.status == BLOCKED and o.ends is None]
                if blocked:
                    conn.execute(
                        _s.update()
                        .where(_s.c.chat_id.in_(blocked), _s.c.active.is_(True))
                        .values(active=False, inactive_reason="blocked", updated_at=now)
                    )
                for o in outcomes:
                    if o.status == BLOCKED and o.ends is not None:
                        conn.execute(
                            _s.update()
                            .where(
                                _s.c.chat_id == o.chat_id,
                                _s.c.thread_id == o.thread_id,
                                _s.c.active.is_(True),
                            )
                            .values(active=False, inactive_reason=o.ends, updated_at=now)
                        )
            # Grouped by date and topic: nearly every claim is of topic 0, so one IN list per date.
            # A key may be (date, chat): the chat itself, no topic; it comes back as it was given.
            given = {(*key, NO_TOPIC) if len(key) == 2 else key: key for key in claims}
            by_day: dict[tuple[dt.date, int], list[int]] = {}
            for day, chat_id, thread_id in given:
                by_day.setdefault((day, thread_id), []).append(chat_id)
            for (day, thread_id), chat_ids in by_day.items():
                size = _claim_size(len(chat_ids))
                claim = self._statement(
                    ("claim", epoch is not None, size),
                    functools.partial(_claim_statement, dialect, epoch is not None, size),
                )
                values = {
                    "c_date": day,
                    "c_thread": thread_id,
                    "c_now": now,
                    "c_epoch": epoch,
                    "c_leader": epoch,
                }
                # (the list padded with its last id to the statement's length: IN (5, 5) is IN (5))
                values |= {f"c_chat_{i}": chat_ids[min(i, len(chat_ids) - 1)] for i in range(size)}
                moved = [chat_id for (chat_id,) in claim.rows(cursor, values)]
                claimed.update(given[(day, chat_id, thread_id)] for chat_id in moved)
            if epoch is not None and claims:
                leader = self._statement(("leader",), lambda: _LEADER_EPOCH)
                current = next(iter(leader.rows(cursor, {})), (None,))[0]
                if current != epoch:
                    refused = [full for full, key in given.items() if key not in claimed]
                    if refused:
                        conn.execute(
                            t.refused_claims.insert(),
                            [
                                {"date": d, "chat_id": c, "thread_id": th, "epoch": epoch}
                                | {"current_epoch": current, "refused_at": now}
                                for d, c, th in refused
                            ],
                        )
                    fenced = Fenced(epoch, current, frozenset(claimed))
        if fenced is not None:
            raise fenced
        return claimed

    @staticmethod
    def fence_clause(conn, epoch: int):
        """The claim's condition that `epoch` is still the leader's (its row read FOR SHARE on PostgreSQL)."""
        check = sa.select(_lead.c.epoch).where(_lead.c.name == LEADERSHIP, _lead.c.epoch == epoch)
        if conn.dialect.name == "postgresql":
            check = check.with_for_update(read=True)
        return check.exists()

    def _write_outcomes(self, cursor, outcomes: list[Outcome], now: dt.datetime) -> None:
        plain = [o for o in outcomes if o.epoch is None]
        fenced = [o for o in outcomes if o.epoch is not None]
        if plain:
            record = self._statement(("record",), lambda: self._record_stmt)
            record.many(cursor, self._record_params(plain, now))
        if fenced:
            record = self._statement(("record", "fenced"), lambda: self._record_fenced_stmt)
            record.many(cursor, self._record_params(fenced, now))

    def refused(self, day: dt.date | None = None) -> list:
        """The claims refused by the fence (date, chat_id, thread_id, epoch, current_epoch, refused_at)."""
        query = sa.select(t.refused_claims).order_by(t.refused_claims.c.id)
        if day is not None:
            query = query.where(t.refused_claims.c.date == day)
        with self.store.read() as conn:
            return list(conn.execute(query).all())

    def record(self, outcomes: Iterable[Outcome], now: dt.datetime) -> None:
        """Write the outcomes of sends in one transaction (only over rows in `sending`)."""
        outcomes = list(outcomes)
        if outcomes:
            with self.store.write() as conn:
                self._write_outcomes(driver_cursor(conn), outcomes, now)

    @staticmethod
    def _record_params(outcomes: Iterable[Outcome], now: dt.datetime) -> list[dict]:
        return [
            {
                "k_date": o.date,
                "k_chat": o.chat_id,
                "k_thread": o.thread_id,
                "v_status": o.status,
                "v_message_id": o.message_id,
                "v_error": o.error,
                "v_updated_at": now,
            }
            | ({"k_epoch": o.epoch} if o.epoch is not None else {})
            for o in outcomes
        ]

    _record_stmt = (
        _d.update()
        .where(
            _d.c.date == sa.bindparam("k_date"),
            _d.c.chat_id == sa.bindparam("k_chat"),
            _d.c.thread_id == sa.bindparam("k_thread"),
            _d.c.status == SENDING,
        )
        .values(
            status=sa.bindparam("v_status"),
            message_id=sa.bindparam("v_message_id"),
            error=sa.bindparam("v_error"),
            updated_at=sa.bindparam("v_updated_at"),
        )
    )

    # The same, only over a row its epoch still holds (an outcome that carries the claim's epoch).
    _record_fenced_stmt = _record_stmt.where(_d.c.epoch == sa.bindparam("k_epoch"))

    def migrate(self, day: dt.date, old: int, new: int, now: dt.datetime) -> bool:
        """Record a group's migration: its row becomes `migrated`, a pending row for `new` is added.

        The subscription moves too. Returns whether the new id's row was added (False: it
        already had one, so nothing more is sent).
        """
        Subscribers(self.store).migrate(old, new, now)
        key = (_d.c.date == day, _d.c.chat_id == old, _d.c.thread_id == NO_TOPIC)  # (a group has no topics)
        with self.store.write() as conn:
            row = conn.execute(sa.select(_d).where(*key)).one()
            conn.execute(
                _d.update().where(*key).values(status=MIGRATED, error=f"migrated to {new}", updated_at=now)
            )
            return self._add(conn, day, new, row.quote_id, row.due_at, now, PENDING)

    # --- reading the ledger ----------------------------------------------------------------

    def counts(self, day: dt.date) -> dict[str, int]:
        """Return the number of rows of `day` in each status (every status present)."""
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(_d.c.status, sa.func.count()).where(_d.c.date == day).group_by(_d.c.status)
            ).all()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({status: n for status, n in rows})
        return counts

    def get(self, day: dt.date, chat_id: int, thread_id: int = NO_TOPIC):
        """Return one row (date, chat_id, quote_id, status, message_id, attempts, error, ...)."""
        with self.store.read() as conn:
            return conn.execute(
                sa.select(_d).where(_d.c.date == day, _d.c.chat_id == chat_id, _d.c.thread_id == thread_id)
            ).first()

    def latest(self, chat_id: int, thread_id: int, first: dt.date, last: dt.date, status: str | None = None):
        """Return the newest row of a chat (and topic) dated `first` to `last` (in `status`), or None.

        One primary-key probe per date (the key leads with the date), newest first.
        """
        day = last
        key = [_d.c.chat_id == chat_id, _d.c.thread_id == thread_id]
        if status is not None:
            key.append(_d.c.status == status)
        with self.store.read() as conn:
            while day >= first:
                row = conn.execute(sa.select(_d).where(_d.c.date == day, *key)).first()
                if row is not None:
                    return row
                day -= dt.timedelta(days=1)
        return None

    def rows(self, day: dt.date, batch: int = 5000) -> Iterator:
        """Yield every row of `day` in chat id order (keyset batches)."""
        after = None
        while True:
            query = sa.select(_d).where(_d.c.date == day).order_by(_d.c.chat_id, _d.c.thread_id).limit(batch)
            if after is not None:
                query = query.where(sa.tuple_(_d.c.chat_id, _d.c.thread_id) > after)
            with self.store.read() as conn:
                rows = conn.execute(query).all()
            yield from rows
            if len(rows) < batch:
                return
            after = (rows[-1].chat_id, rows[-1].thread_id)

    def subscriber(self, chat_id: int, thread_id: int = NO_TOPIC):
        with self.store.read() as conn:
            return conn.execute(
                sa.select(_s).where(_s.c.chat_id == chat_id, _s.c.thread_id == thread_id)
            ).first()


def add_subscribers(
    store: Store,
    chat_ids: Iterable[int],
    now: dt.datetime,
    *,
    kind: str | None = None,
    delivery_time: str | None = None,
    timezone: str | None = None,
    thread_id: int = NO_TOPIC,
    silent: bool = False,
    paused_at: dt.datetime | None = None,
    resumes_on: dt.date | None = None,
    batch: int = 10000,
) -> int:
    """Insert active subscribers in bulk (tests and benchmarks; the bot has its own /start)."""
    added = 0
    chunk: list[dict] = []

    def flush():
        nonlocal added
        if chunk:
            with store.write() as conn:
                conn.execute(_s.insert(), chunk)
            added += len(chunk)
            chunk.clear()

    for chat_id in chat_ids:
        chunk.append(
            {
                "chat_id": chat_id,
                "thread_id": thread_id,
                "kind": kind or ("private" if chat_id > 0 else "supergroup" if thread_id else "group"),
                "title": None,
                "active": True,
                "delivery_time": delivery_time,
                "timezone": timezone,
                "subscribed_at": now,
                "updated_at": now,
                "inactive_reason": None,
                "migrated_to": None,
                "silent": silent,
                "paused_at": paused_at,
                "resumes_on": resumes_on,
            }
        )
        if len(chunk) >= batch:
            flush()
    flush()
    return added
