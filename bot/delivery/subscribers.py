"""Who gets the daily quote: private chats, groups and channels, each with its own time.

A subscriber row is never deleted. Unsubscribing sets `active` false with the reason
"unsubscribed"; the delivery engine sets other reasons (the user blocked the bot, the group
migrated). `/start` revives a subscription that ended for any reason but the user's own wish,
since a user who writes to the bot again has evidently unblocked it.
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
    )


class Subscribers:
    """The subscribers table, behind methods that take the time as an argument."""

    def __init__(self, store: Store):
        self.store = store

    def get(self, chat_id: int) -> Subscriber | None:
        with self.store.read() as conn:
            row = conn.execute(sa.select(t.subscribers).where(t.subscribers.c.chat_id == chat_id)).first()
        return _from_row(row) if row else None

    def subscribe(self, chat_id: int, kind: str, title: str | None, now: dt.datetime) -> Subscribed:
        """Subscribe a chat (idempotent); keep its time settings if it had any."""
        if kind not in KINDS:
            raise ValueError(f"chat kind {kind!r} is not one of {', '.join(KINDS)}")
        table = t.subscribers
        with self.store.write() as conn:
            row = conn.execute(sa.select(table).where(table.c.chat_id == chat_id)).first()
            if row is None:
                conn.execute(
                    table.insert().values(
                        chat_id=chat_id,
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
                    conn.execute(
                        table.update().where(table.c.chat_id == chat_id).values(kind=kind, title=title)
                    )
                return Subscribed.ALREADY
            conn.execute(
                table.update()
                .where(table.c.chat_id == chat_id)
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

    def unsubscribe(self, chat_id: int, now: dt.datetime, reason: str = UNSUBSCRIBED) -> bool:
        """End a chat's subscription (idempotent); return whether it was active."""
        table = t.subscribers
        with self.store.write() as conn:
            result = conn.execute(
                table.update()
                .where(table.c.chat_id == chat_id, table.c.active.is_(True))
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
                    table.c.chat_id == chat_id,
                    table.c.active.is_(False),
                    table.c.migrated_to.is_(None),
                    sa.or_(table.c.inactive_reason.is_(None), table.c.inactive_reason != UNSUBSCRIBED),
                )
                .values(active=True, inactive_reason=None, updated_at=now)
            )
            return result.rowcount > 0

    def set_time(
        self, chat_id: int, at: dt.time | None, timezone: str | None, now: dt.datetime
    ) -> Subscriber:
        """Set an active subscriber's delivery time and timezone (None: the service's)."""
        table = t.subscribers
        with self.store.write() as conn:
            result = conn.execute(
                table.update()
                .where(table.c.chat_id == chat_id, table.c.active.is_(True))
                .values(
                    delivery_time=at.strftime("%H:%M") if at is not None else None,
                    timezone=timezone,
                    updated_at=now,
                )
            )
            if result.rowcount == 0:
                raise NotSubscribed(f"chat {chat_id} is not subscribed")
            return _from_row(conn.execute(sa.select(table).where(table.c.chat_id == chat_id)).one())

    def migrate(self, old_chat_id: int, new_chat_id: int, now: dt.datetime) -> bool:
        """Move a group's subscription to its new supergroup id; return whether there was one."""
        table = t.subscribers
        with self.store.write() as conn:
            old = conn.execute(sa.select(table).where(table.c.chat_id == old_chat_id)).first()
            if old is None or not old.active:
                return False
            conn.execute(
                table.update()
                .where(table.c.chat_id == old_chat_id)
                .values(active=False, inactive_reason="migrated", migrated_to=new_chat_id, updated_at=now)
            )
            if conn.execute(sa.select(table.c.chat_id).where(table.c.chat_id == new_chat_id)).first():
                conn.execute(
                    table.update()
                    .where(table.c.chat_id == new_chat_id)
                    .values(
                        active=True,
                        kind="supergroup",
                        inactive_reason=None,
                        delivery_time=old.delivery_time,
                        timezone=old.timezone,
                        updated_at=now,
                    )
                )
            else:
                conn.execute(
                    table.insert().values(
                        chat_id=new_chat_id,
                        kind="supergroup",
                        title=old.title,
                        active=True,
                        delivery_time=old.delivery_time,
                        timezone=old.timezone,
                        subscribed_at=old.subscribed_at,
                        updated_at=now,
                    )
                )
            return True

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
