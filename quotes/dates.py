"""Dates that carry their precision (a day, a month, a year, or unknown), and times of day.

The one formatter of dates as people write them ("15 November 2010", `PartialDate.human`,
`day_text`), in English or, through Babel's CLDR data, in a reader's language ("15 ноября
2010"), and the one parser of a time of day written HH:MM (`parse_time_of_day`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from babel.dates import format_date

PRECISIONS = ("day", "month", "year", "unknown")

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# CLDR patterns of a date in words, by precision: the day in the month's inflected form ("15
# ноября 2010"), a month on its own in the standalone form ("ноябрь 2010").
_PATTERNS = {"day": "d MMMM y", "month": "LLLL y", "year": "y"}
ENGLISH = "en"
_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class DateError(ValueError):
    """A date that is not a valid YYYY, YYYY-MM or YYYY-MM-DD."""


@dataclass(frozen=True, order=True)
class PartialDate:
    """A calendar date known to a day, a month, a year, or not at all."""

    year: int | None = None
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.year is None and (self.month or self.day):
            raise DateError("a month or day needs a year")
        if self.month is None and self.day is not None:
            raise DateError("a day needs a month")
        if self.day is not None:
            if self.year is None or self.month is None:
                # Only PartialDate(None, 0, 0) gets here (the first check tests the month and the
                # day for truth, not for None); date() would raise TypeError on the missing year.
                raise DateError("a month or day needs a year")
            dt.date(self.year, self.month, self.day)  # raises ValueError on 2013-02-30
        elif self.month is not None and not 1 <= self.month <= 12:
            raise DateError(f"month {self.month} is not 1-12")

    @classmethod
    def parse(cls, value: str | None) -> PartialDate:
        """Read '', 'unknown', 'YYYY', 'YYYY-MM' or 'YYYY-MM-DD'."""
        if value is None or value.strip() in ("", "unknown"):
            return cls()
        match = _ISO.match(value.strip())
        if not match:
            raise DateError(f"{value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        year, month, day = (int(part) if part else None for part in match.groups())
        try:
            return cls(year, month, day)
        except ValueError as exc:
            raise DateError(f"{value!r} is not a real date ({exc})") from None

    @classmethod
    def of(cls, value: str | None, precision: str | None) -> PartialDate:
        """Read a stored (value, precision) pair and check that they agree."""
        date = cls.parse(value)
        if precision is not None and precision != date.precision:
            raise DateError(f"{value!r} has {date.precision} precision, not {precision!r}")
        return date

    @property
    def precision(self) -> str:
        if self.day is not None:
            return "day"
        if self.month is not None:
            return "month"
        if self.year is not None:
            return "year"
        return "unknown"

    @property
    def known(self) -> bool:
        return self.year is not None

    def iso(self) -> str | None:
        """Return 'YYYY-MM-DD', 'YYYY-MM', 'YYYY', or None when unknown."""
        if self.year is None:
            return None
        parts = [f"{self.year:04d}"]
        if self.month is not None:
            parts.append(f"{self.month:02d}")
        if self.day is not None:
            parts.append(f"{self.day:02d}")
        return "-".join(parts)

    def human(self, locale: str = ENGLISH) -> str:
        """Return the date as people write it: '15 November 2010', 'March 2013', '2013'.

        In another `locale` (a language code Babel knows): '15 ноября 2010', 'март 2013'. An
        unknown date is 'date unknown' (the bot translates that phrase itself).
        """
        if self.year is None:
            return "date unknown"
        if locale != ENGLISH:
            first = self.first_day()
            assert first is not None  # (the year is known)
            return format_date(first, _PATTERNS[self.precision], locale=locale)
        if self.month is None:
            return str(self.year)
        if self.day is None:
            return f"{_MONTHS[self.month - 1]} {self.year}"
        return f"{self.day} {_MONTHS[self.month - 1]} {self.year}"

    def first_day(self) -> dt.date | None:
        """Return the earliest calendar day the date could be, or None when unknown."""
        if self.year is None:
            return None
        return dt.date(self.year, self.month or 1, self.day or 1)

    def __str__(self) -> str:
        return self.iso() or "unknown"


def day_text(day: dt.date, locale: str = ENGLISH) -> str:
    """Return a calendar date as people write it: '23 November 2026' ('23 ноября 2026' in ru)."""
    return PartialDate(day.year, day.month, day.day).human(locale)


def due_instant(day: dt.date, at: dt.time, zone: dt.tzinfo) -> dt.datetime:
    """Return the UTC instant of wall-clock `at` on `day` in `zone`.

    A time skipped by a spring-forward change is read with the offset before the change (02:30
    → 03:30 new time); a time that happens twice on a fall-back day means its first occurrence.
    """
    return dt.datetime.combine(day, at, tzinfo=zone).replace(fold=0).astimezone(dt.UTC)


def month_text(day: dt.date) -> str:
    """Return a date's month as people write it: 'November 2026'."""
    return PartialDate(day.year, day.month).human()


def month_name(day: dt.date) -> str:
    """Return a date's month's name alone: 'November'."""
    return _MONTHS[day.month - 1]


def parse_time_of_day(value: str) -> dt.time:
    """Read a time of day written HH:MM (or H:MM) in ASCII digits; raise ValueError saying what is wrong."""
    hours, _, minutes = value.partition(":")
    digits = f"{hours}{minutes}"
    if not (digits.isascii() and digits.isdigit() and len(minutes) == 2 and 1 <= len(hours) <= 2):
        raise ValueError(f"“{value}” is not a time as HH:MM")
    if not (int(hours) < 24 and int(minutes) < 60):
        raise ValueError(f"“{value}” is not a time of day (00:00 to 23:59)")
    return dt.time(int(hours), int(minutes))
