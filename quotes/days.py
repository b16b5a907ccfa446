"""Which quote is today's: the one rule every surface asks (site, feeds, /today, inline mode,
`qotd today`, /healthz, /today.json, the scheduler's deliveries).

THE RULE: today's quote is the quote of the current calendar date in the service's TIMEZONE,
from midnight to midnight there, for every reader on every surface; PUBLISH_TIME and a
subscriber's own /time only say when it is sent to Telegram.

So at one instant there is one quote of the day, whoever asks and wherever they are: a
subscriber whose /time comes before PUBLISH_TIME receives the quote that /today shows at that
moment, and so does one in another timezone.

Reading never writes the schedule. A day is fixed (stored for good, `Store.fix_day`) only when
it is the current day, by the scheduler at the day's start or by the first surface that needs
it, and days are fixed in order: never a day before the newest fixed one. A past day that was
never fixed was never published and says so; a future day is a preview computed without
storing anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from quotes.dates import day_text
from quotes.model import Pick
from quotes.selection import NoQuoteError

if TYPE_CHECKING:  # the store imports nothing of this module; only the type is needed here
    from quotes.store import Store

RULE = (
    "Today's quote is the quote of the current date in {zone}, from midnight to midnight there, "
    "for every reader on every surface; {publish} and a subscriber's own /time only say when it "
    "is sent to Telegram."
)

PUBLISHED = "published"  # the day is fixed and shown
PREVIEW = "preview"  # a future day: what it would be, stored nowhere
UNPUBLISHED = "unpublished"  # a past day that was never fixed
EMPTY = "empty"  # the current day, but every quote is hidden


def day_of(now: dt.datetime, zone: ZoneInfo) -> dt.date:
    """Return the day whose quote is today's at the instant `now` (THE RULE)."""
    return now.astimezone(zone).date()


def day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """Return the instant `day` begins in `zone` (its quote becomes today's), as UTC.

    A midnight skipped by a spring-forward change is read with the offset before the change.
    """
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone).replace(fold=0).astimezone(dt.UTC)


def next_day_start(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Return the instant the quote of the day next changes after `now`."""
    return day_start(day_of(now, zone) + dt.timedelta(days=1), zone)


def rule_text(zone: ZoneInfo, publish_time: dt.time) -> str:
    """The rule in one sentence, with this service's timezone and publish time."""
    return RULE.format(zone=zone.key, publish=f"the publish time ({publish_time.strftime('%H:%M')})")


@dataclass(frozen=True)
class DayQuote:
    """What a day's quote is, as every surface shows it."""

    day: dt.date
    state: str  # PUBLISHED, PREVIEW, UNPUBLISHED or EMPTY
    pick: Pick | None = None

    @property
    def shown(self) -> Pick | None:
        """The pick a surface shows as the day's quote (a preview only for a future day)."""
        return self.pick if self.state in (PUBLISHED, PREVIEW) else None

    def absent_text(self) -> str:
        """What a surface says when there is no quote to show for the day."""
        if self.state == UNPUBLISHED:
            return f"no quote was published on {day_text(self.day)}"
        if self.state == EMPTY:
            return f"there is no quote for {day_text(self.day)}: every quote is hidden"
        raise ValueError(f"{self.day} has a quote")


def quote_of(store: Store, day: dt.date, now: dt.datetime, zone: ZoneInfo) -> DayQuote:
    """Return `day`'s quote as seen at `now`: stored, fixed now if it is the current day, a
    preview if it is in the future, or never published if it is past and was not fixed."""
    today = day_of(now, zone)
    stored = store.stored_pick(day)
    if stored is not None:
        return DayQuote(day, PUBLISHED, stored)
    if day < today:
        return DayQuote(day, UNPUBLISHED)
    if day == today:
        try:
            pick = store.fix_day(day, now)
        except NoQuoteError:
            return DayQuote(day, EMPTY)
        return DayQuote(day, PUBLISHED, pick) if pick is not None else DayQuote(day, UNPUBLISHED)
    try:
        preview = store.schedule(today, (day - today).days + 1, now)[-1]
    except NoQuoteError:
        return DayQuote(day, EMPTY)
    return DayQuote(day, PREVIEW, preview)


def todays(store: Store, now: dt.datetime, zone: ZoneInfo) -> DayQuote:
    """Return today's quote at the instant `now` (fixing the day on first need)."""
    return quote_of(store, day_of(now, zone), now, zone)


def day_record(result: DayQuote, record: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON shape of a day (`qotd today --json`, GET /today.json): the pick's record, or
    the day and why it has none."""
    if record is not None:
        return {**record, "state": result.state}
    return {"date": result.day.isoformat(), "state": result.state, "message": result.absent_text()}
