"""Who gets the daily quote: private chats, groups and channels, each with its own time.

A subscriber row is never deleted. Unsubscribing sets `active` false with the reason
"unsubscribed"; the delivery engine sets other reasons (the user blocked the bot, the group
migrated). `/start` revives a subscription that ended for any reason but the user's own wish,
since a user who writes to the bot again has evidently unblocked it.

A subscription is a chat and a forum topic (`thread_id`; `NO_TOPIC`, 0, for the chat itself):
one forum group may subscribe several of its topics, each getting the quote in its thread.
A subscription may be paused (`/pause`, until `/resume` or a date) and silent (`/silent`); the
ledger records a paused subscriber's days as `paused` (bot/delivery/ledger.py).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

import sqlalchemy as sa

from quotes.dates import parse_time_of_day
from quotes.store import Store
from quotes.store import schema as t

UNSUBSCRIBED = "unsubscribed"
TOPIC_CLOSED = "topic closed"  # Telegram said TOPIC_CLOSED, or the topic is gone
NO_TOPIC = 0
EVERY_TOPIC = None  # unsubscribe(): the chat and all its topics (the bot was removed)
GROUP_KINDS = ("group", "supergroup")
KINDS = ("private", "channel", *GROUP_KINDS)


class NotSubscribed(LookupError):
    """The chat has no active subscription."""


class Subscribed(enum.Enum):
    """What subscribing did (what became of a day's delivery is bot.delivery.ledger.Outcome)."""

    NEW = "new"  # first subscription of this chat
    RESUMED = "resumed"  # was subscribed before, is again
    ALREADY = "already"  # was subscribed; nothing changed


@dataclass(frozen=True)
class Subscriber:
    chat_id: int
    kind: str
    title: str | None
    active: bool
    delivery_time: dt.time | None  # None: the service's publish time
    timezone: str | None  # None: the service's timezone
    subscribed_at: dt.datetime
    updated_at: dt.datetime
    inactive_reason: str | None = None
    migrated_to: int | None = None
    thread_id: int = NO_TOPIC
    paused_at: dt.datetime | None = None
    resumes_on: dt.date | None = None  # None while paused: until /resume
    silent: bool = False

    def paused_on(self, day: dt.date) -> bool:
        """Say whether the subscription is paused on the local date `day`."""
        return self.paused_at is not None and (self.resumes_on is None or day < self.resumes_on)


@dataclass(frozen=True)
class Counts:
    private: int = 0
    groups: int = 0
    channels: int = 0
    inactive: int = 0

    @property
    def active(self) -> int:
        return self.private + self.groups + self.channels


def _from_row(row) -> Subscriber:
    return Subscriber(
        chat_id=row.chat_id,
        kind=row.kind,
        title=row.title,
        active=row.active,
        delivery_time=parse_time_of_day(row.delivery_time) if row.delivery_time else None,
        timezone=row.timezone,
        subscribed_at=row.subscribed_at,
        updated_at=row.updated_at,
        inactive_reason=row.inactive_reason,
        migrated_to=row.migrated_to,
        thread_id=row.thread_id,
        paused_at=row.paused_at,
        resumes_on=row.resumes_on,
        silent=row.silent,
    )


def _key(chat_id: int, thread_id: int | None):
    table = t.subscribers
    if thread_id is EVERY_TOPIC:
        return [table.c.chat_id == chat_id]
    return [table.c.chat_id == chat_id, table.c.thread_id == thread_id]


class Subscribers:
    """The subscribers table, behind methods that take the time as an argument."""

    def __init__(self, store: Store):
        self.store = store

    def get(self, chat_id: int, thread_id: int = NO_TOPIC) -> Subscriber | None:
        with self.store.read() as conn:
            row = conn.execute(sa.select(t.subscribers).where(*_key(chat_id, thread_id))).first()
        return _from_row(row) if row else None

    def subscribe(
        self, chat_id: int, kind: str, title: str | None, now: dt.datetime, thread_id: int = NO_TOPIC
    ) -> Subscribed:
        """Subscribe a chat or one of its forum topics (idempotent); keep its settings if it had any."""
        if kind not in KINDS:
            raise ValueError(f"chat kind {kind!r} is not one of {', '.join(KINDS)}")
        if thread_id != NO_TOPIC and kind != "supergroup":
            raise ValueError("only a supergroup has forum topics")
        table = t.subscribers
        key = _key(chat_id, thread_id)
        with self.store.write() as conn:
            row = conn.execute(sa.select(table).where(*key)).first()
            if row is None:
                conn.execute(
                    table.insert().values(
                        chat_id=chat_id,
                        thread_id=thread_id,
                        kind=kind,
                        title=title,
                        active=True,
                        subscribed_at=now,
                        updated_at=now,
                    )
                )
                return Subscribed.NEW
            if row.active:
                if (row.kind, row.title) != (kind, title):
                    conn.execute(table.update().where(*key).values(kind=kind, title=title))
                return Subscribed.ALREADY
            conn.execute(
                table.update()
                .where(*key)
                .values(
                    kind=kind,
                    title=title,
                    active=True,
                    inactive_reason=None,
                    subscribed_at=now,
                    updated_at=now,
                )
            )
            return Subscribed.RESUMED

    def unsubscribe(
        self,
        chat_id: int,
        now: dt.datetime,
        reason: str = UNSUBSCRIBED,
        thread_id: int | None = NO_TOPIC,
    ) -> bool:
        """End a subscription (idempotent; EVERY_TOPIC: the chat's and its topics'); say if one was active."""
        table = t.subscribers
        with self.store.write() as conn:
            result = conn.execute(
                table.update()
                .where(*_key(chat_id, thread_id), table.c.active.is_(True))
                .values(active=False, inactive_reason=reason, updated_at=now)
            )
            return result.rowcount > 0

    def revive(self, chat_id: int, now: dt.datetime) -> bool:
        """Reactivate a subscription that ended without the user asking; return whether it did."""
        table = t.subscribers
        with self.store.write() as conn:
            result = conn.execute(
                table.update()
                .where(
                    *_key(chat_id, NO_TOPIC),
                    table.c.active.is_(False),
                    table.c.migrated_to.is_(None),
                    sa.or_(table.c.inactive_reason.is_(None), table.c.inactive_reason != UNSUBSCRIBED),
                )
                .values(active=True, inactive_reason=None, updated_at=now)
            )
            return result.rowcount > 0

    def set_time(
        self,
        chat_id: int,
        at: dt.time | None,
        timezone: str | None,
        now: dt.datetime,
        thread_id: int = NO_TOPIC,
    ) -> Subscriber:
        """Set an active subscriber's delivery time and timezone (None: the service's)."""
        return self._change(
            chat_id,
            thread_id,
            now,
            delivery_time=at.strftime("%H:%M") if at is not None else None,
            timezone=timezone,
        )

    def pause(
        self, chat_id: int, resumes_on: dt.date | None, now: dt.datetime, thread_id: int = NO_TOPIC
    ) -> Subscriber:
        """Pause an active subscription until the local date `resumes_on` (None: until resume()).

        A delivery already planned and not yet sent is recorded paused too (ledger rows are
        planned when due, so only one in the minute of its sending can be).
        """
        subscriber = self._change(chat_id, thread_id, now, paused_at=now, resumes_on=resumes_on)
        d = t.deliveries
        days = [now.date() + dt.timedelta(days=n) for n in range(-1, 2)]  # local dates run ±1 day
        with self.store.write() as conn:
            conn.execute(
                d.update()
                .where(
                    d.c.date.in_(days),
                    d.c.chat_id == chat_id,
                    d.c.thread_id == thread_id,
                    d.c.status == "pending",
                )
                .values(status="paused", updated_at=now)
            )
        return subscriber

    def resume(self, chat_id: int, now: dt.datetime, thread_id: int = NO_TOPIC) -> Subscriber:
        """End a pause (a subscription that is not paused stays as it is)."""
        return self._change(chat_id, thread_id, now, paused_at=None, resumes_on=None)

    def set_silent(
        self, chat_id: int, silent: bool, now: dt.datetime, thread_id: int = NO_TOPIC
    ) -> Subscriber:
        """Send the daily message without a notification sound (or with it again)."""
        return self._change(chat_id, thread_id, now, silent=silent)

    def _change(self, chat_id: int, thread_id: int, now: dt.datetime, **values) -> Subscriber:
        """Change an active subscription's settings; raise NotSubscribed when there is none."""
        table = t.subscribers
        key = _key(chat_id, thread_id)
        with self.store.write() as conn:
            result = conn.execute(
                table.update().where(*key, table.c.active.is_(True)).values(**values, updated_at=now)
            )
            if result.rowcount == 0:
                raise NotSubscribed(f"chat {chat_id} is not subscribed")
            return _from_row(conn.execute(sa.select(table).where(*key)).one())

    def migrate(self, old_chat_id: int, new_chat_id: int, now: dt.datetime) -> bool:
        """Move a group's subscription to its new supergroup id; return whether there was one."""
        table = t.subscribers
        with self.store.write() as conn:
            old = conn.execute(sa.select(table).where(*_key(old_chat_id, NO_TOPIC))).first()
            if old is None or not old.active:
                return False
            kept = {
                "delivery_time": old.delivery_time,
                "timezone": old.timezone,
                "paused_at": old.paused_at,
                "resumes_on": old.resumes_on,
                "silent": old.silent,
            }
            conn.execute(
                table.update()
                .where(*_key(old_chat_id, NO_TOPIC))
                .values(active=False, inactive_reason="migrated", migrated_to=new_chat_id, updated_at=now)
            )
            if conn.execute(sa.select(table.c.chat_id).where(*_key(new_chat_id, NO_TOPIC))).first():
                conn.execute(
                    table.update()
                    .where(*_key(new_chat_id, NO_TOPIC))
                    .values(active=True, kind="supergroup", inactive_reason=None, updated_at=now, **kept)
                )
            else:
                conn.execute(
                    table.insert().values(
                        chat_id=new_chat_id,
                        kind="supergroup",
                        title=old.title,
                        active=True,
                        subscribed_at=old.subscribed_at,
                        updated_at=now,
                        **kept,
                    )
                )
            return True

    # --- the chat's language (bot/i18n.py) ---------------------------------------------------

    def language(self, chat_id: int) -> str | None:
        """Return the language a chat chose (None: it has not; its users' language_code decides)."""
        table = t.chat_languages
        with self.store.read() as conn:
            return conn.scalar(sa.select(table.c.language).where(table.c.chat_id == chat_id))

    def set_language(self, chat_id: int, language: str, now: dt.datetime, keep: bool = False) -> None:
        """Store a chat's language (with `keep`, only if it has none yet: what subscribing does)."""
        table = t.chat_languages
        with self.store.write() as conn:
            if conn.scalar(sa.select(table.c.language).where(table.c.chat_id == chat_id)) is None:
                conn.execute(table.insert().values(chat_id=chat_id, language=language, updated_at=now))
            elif not keep:
                conn.execute(
                    table.update().where(table.c.chat_id == chat_id).values(language=language, updated_at=now)
                )

    def counts(self) -> Counts:
        """Count active subscribers by kind, and the inactive ones."""
        table = t.subscribers
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(table.c.kind, table.c.active, sa.func.count()).group_by(
                    table.c.kind, table.c.active
                )
            ).all()
        counts = {"private": 0, "groups": 0, "channels": 0, "inactive": 0}
        for kind, active, number in rows:
            if not active:
                counts["inactive"] += number
            elif kind in GROUP_KINDS:
                counts["groups"] += number
            elif kind == "channel":
                counts["channels"] += number
            else:
                counts["private"] += number
        return Counts(**counts)

    def deliveries(self, first: dt.date, last: dt.date) -> dict[dt.date, dict[str, int]]:
        """Count the deliveries of each date from `first` to `last` by status, newest first."""
        table = t.deliveries
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(table.c.date, table.c.status, sa.func.count())
                .where(table.c.date.between(first, last))
                .group_by(table.c.date, table.c.status)
            ).all()
        days: dict[dt.date, dict[str, int]] = {}
        for day, status, number in sorted(rows, key=lambda r: (r[0], r[1]), reverse=True):
            days.setdefault(day, {})[status] = number
        return dict(sorted(days.items(), reverse=True))
