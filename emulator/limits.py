"""Flood limits (token buckets over an injectable monotonic clock) and seeded fault injection.

Telegram's limits, as documented in the Bot API FAQ ("My bot is hitting limits, how do I avoid
this?", core.telegram.org/bots/faq) and in the Bot API reference for ``allow_paid_broadcast``:

* in a single chat, avoid sending more than one message per second; short bursts go through and
  are answered 429 only once they go on;
* in a group, no more than 20 messages per minute;
* for bulk notifications, no more than about 30 messages per second;
* with ``allow_paid_broadcast`` (paid in Telegram Stars), up to 1000 messages per second.

Over a limit Telegram answers 429 ``Too Many Requests: retry after N`` with
``parameters.retry_after`` = N whole seconds (``Client::fail_query_with_error`` turns the server's
FLOOD_WAIT into that; N is at least 1).

Faults are not Telegram's rules but the network's: a share of 5xx answers, dropped connections,
answers too slow for the client's timeout, and answers lost after the server did the work (the
case that makes a retrying client send a message twice).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

Clock = Callable[[], float]

# Methods that send a message and so count against the flood limits.
SENDING_METHODS = frozenset({"sendmessage", "senddocument", "sendphoto"})


@dataclass
class Limits:
    """Flood limits per bot; rates are per second, bursts are bucket sizes."""

    enabled: bool = True
    global_rate: float = 30.0
    global_burst: float = 30.0
    paid_rate: float = 1000.0
    paid_burst: float = 1000.0
    chat_rate: float = 1.0
    chat_burst: float = 3.0
    group_rate: float = 20.0 / 60.0
    group_burst: float = 20.0

    def update(self, **changes: Any) -> None:
        names = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in names:
                raise TypeError(f"unknown limit {key!r}")
            setattr(self, key, bool(value) if key == "enabled" else float(value))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Bucket:
    """A token bucket: ``burst`` tokens at most, refilled at ``rate`` per second."""

    __slots__ = ("last", "tokens")

    def __init__(self, burst: float, now: float):
        self.tokens = burst
        self.last = now

    def wait(self, now: float, rate: float, burst: float) -> float:
        """Seconds until one token is there (0 if it is there now); refills as a side effect."""
        if now > self.last:
            self.tokens = min(burst, self.tokens + (now - self.last) * rate)
            self.last = now
        if self.tokens >= 1.0 - 1e-9:  # float refills (1/30 s * 30) land a hair short
            return 0.0
        if rate <= 0:
            return math.inf
        return (1.0 - self.tokens) / rate

    def take(self) -> None:
        self.tokens -= 1.0


class FloodControl:
    """All the buckets of all bots; ``check`` answers a retry_after in seconds or 0."""

    def __init__(self, limits: Limits | None = None, clock: Clock | None = None):
        self.limits = limits or Limits()
        self.clock: Clock = clock or time.monotonic
        self._global: dict[int, Bucket] = {}
        self._paid: dict[int, Bucket] = {}
        self._chat: dict[tuple[int, int], Bucket] = {}
        self._group: dict[tuple[int, int], Bucket] = {}

    def reset(self) -> None:
        self._global.clear()
        self._paid.clear()
        self._chat.clear()
        self._group.clear()

    def check(self, bot_id: int, chat_id: int, is_group: bool, paid: bool) -> int:
        """Take a token from every bucket this message counts against, or none of them.

        Returns 0 when the message may go, else the whole seconds to wait (at least 1).
        """
        lim = self.limits
        if not lim.enabled:
            return 0
        now = self.clock()
        if paid:
            glob = self._bucket(self._paid, bot_id, lim.paid_burst, now)
            waits = [glob.wait(now, lim.paid_rate, lim.paid_burst)]
        else:
            glob = self._bucket(self._global, bot_id, lim.global_burst, now)
            waits = [glob.wait(now, lim.global_rate, lim.global_burst)]
        key = (bot_id, chat_id)
        chat = self._bucket(self._chat, key, lim.chat_burst, now)
        waits.append(chat.wait(now, lim.chat_rate, lim.chat_burst))
        group = None
        if is_group:
            group = self._bucket(self._group, key, lim.group_burst, now)
            waits.append(group.wait(now, lim.group_rate, lim.group_burst))
        worst = max(waits)
        if worst > 0:
            return max(1, math.ceil(worst)) if worst != math.inf else 3600
        glob.take()
        chat.take()
        if group is not None:
            group.take()
        return 0

    @staticmethod
    def _bucket(table: dict[Any, Bucket], key: Any, burst: float, now: float) -> Bucket:
        bucket = table.get(key)
        if bucket is None:
            bucket = table[key] = Bucket(burst, now)
        return bucket


FAULT_KINDS = ("error", "drop", "slow", "lost")


@dataclass
class Faults:
    """Seeded fault injection.

    * ``error_rate``: share of requests answered with ``error_status`` (500: JSON
      ``Internal Server Error``; 502: nginx's HTML Bad Gateway page) without being carried out;
    * ``drop_rate``: share of requests whose connection is closed before they are carried out;
    * ``slow_rate``: share carried out but answered only after ``slow_delay`` seconds (past the
      client's read timeout, the client gives up: TimedOut);
    * ``lost_rate``: share carried out whose answer never reaches the client (the connection is
      closed instead), so the client cannot tell it succeeded.

    ``methods`` limits faults to those Bot API methods (case-insensitive); empty means all but
    getUpdates.  Scripted faults (``script``) come first and are used up one request each.
    """

    seed: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_delay: float = 30.0
    lost_rate: float = 0.0
    methods: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultInjector:
    def __init__(self, faults: Faults | None = None):
        self._lock = threading.Lock()
        self.config = faults or Faults()
        self._rng = random.Random(self.config.seed)
        self._methods: frozenset[str] = frozenset()
        # scripted faults: [kind, remaining count, method (lower) or None, chat_id str or None]
        self._script: list[list[Any]] = []
        self._any = False
        self.served: dict[str, int] = {}
        self._apply()

    def configure(self, **changes: Any) -> Faults:
        with self._lock:
            names = {f.name for f in fields(Faults)}
            for key, value in changes.items():
                if key not in names:
                    raise TypeError(f"unknown fault setting {key!r}")
                if key == "methods":
                    value = list(value or [])
                elif key in ("seed", "error_status"):
                    value = int(value)
                else:
                    value = float(value)
                setattr(self.config, key, value)
            if "seed" in changes:
                self._rng = random.Random(self.config.seed)
            self._apply()
            return self.config

    def reset(self) -> None:
        with self._lock:
            self.config = Faults()
            self._rng = random.Random(0)
            self._script.clear()
            self.served.clear()
            self._apply()

    def _apply(self) -> None:
        c = self.config
        self._methods = frozenset(m.lower() for m in c.methods)
        self._any = bool(self._script or c.error_rate or c.drop_rate or c.slow_rate or c.lost_rate)

    def inject(
        self,
        kind: str,
        count: int = 1,
        method: str | None = None,
        chat_id: int | str | None = None,
    ) -> None:
        """Make the next ``count`` matching requests fail with ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        with self._lock:
            self._script.append(
                [kind, int(count), method.lower() if method else None,
                 None if chat_id is None else str(chat_id)]
            )  # fmt: skip
            self._any = True

    def draw(self, method: str, chat_id: Any) -> str | None:
        """The fault for this request, if any (one seeded draw per eligible request)."""
        if not self._any:
            return None
        with self._lock:
            for entry in self._script:
                kind, remaining, m, c = entry
                if remaining <= 0:
                    continue
                if m is not None and m != method:
                    continue
                if c is not None and c != str(chat_id):
                    continue
                entry[1] -= 1
                if entry[1] <= 0:
                    self._script.remove(entry)
                    self._apply()
                self.served[kind] = self.served.get(kind, 0) + 1
                return kind
            if self._methods:
                if method not in self._methods:
                    return None
            elif method == "getupdates":
                return None
            c = self.config
            r = self._rng.random()
            for kind, share in (
                ("error", c.error_rate),
                ("drop", c.drop_rate),
                ("slow", c.slow_rate),
                ("lost", c.lost_rate),
            ):
                if r < share:
                    self.served[kind] = self.served.get(kind, 0) + 1
                    return kind
                r -= share
            return None


def parse_methods(value: Iterable[str] | str | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [m for m in value.split(",") if m]
    return list(value)
