"""Which quote a date gets: pure logic over the few rows the store hands in.

The quotes are used in cycles. Every active quote carries the cycle in which it is next due
(`cycle_due`) and its place in that cycle's order (`shuffle_key`, a hash of its id and that
cycle, so every cycle has a fresh order and the same data gives the same schedule on every
machine). A quote picked in cycle C becomes due in C + 1, so no quote repeats until every
active quote has been used once. The store ranks active quotes by (cycle_due, shuffle_key,
id) with an index and hands in only the first few, which keeps a pick fast at any corpus size.

Quotes shown within `WINDOW` days of the date are avoided, which is what stops a new cycle
from opening with one of the last cycle's final quotes; quotes pinned to a later date are
kept for that date.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence, Set
from dataclasses import dataclass

WINDOW = 7


class NoQuoteError(LookupError):
    """There is no active quote to pick."""


@dataclass(frozen=True)
class Ranked:
    """An active quote's selection state, as the store ranks it."""

    id: str
    cycle_due: int
    shuffle_key: int


@dataclass(frozen=True)
class Choice:
    quote_id: str
    cycle: int
    pinned: bool


def shuffle_key(quote_id: str, cycle: int) -> int:
    """Return the quote's place in a cycle's order: stable, and fresh for every cycle."""
    digest = hashlib.blake2b(f"{cycle}:{quote_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 2  # fits a signed 64-bit column


def choose(
    cycle: int,
    ranked: Sequence[Ranked],
    nearby: Set[str],
    reserved: Set[str],
    pin: str | None = None,
) -> Choice:
    """Choose a date's quote.

    cycle: the cycle of the latest pick (1 before any); ranked: active quotes in
    (cycle_due, shuffle_key, id) order, at least len(nearby | reserved) + 1 of them when
    there are that many; nearby: ids shown within WINDOW days of the date; reserved: ids
    pinned to later dates; pin: the id pinned to this date, if it is active.
    """
    if pin is not None:
        return Choice(pin, cycle, pinned=True)
    for avoid in (nearby | reserved, reserved, frozenset()):
        for quote in ranked:
            if quote.id not in avoid:
                return Choice(quote.id, max(cycle, quote.cycle_due), pinned=False)
    raise NoQuoteError("there is no active quote to pick")
