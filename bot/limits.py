"""How replies stay inside Telegram's flood limits without eating the daily broadcast's budget.

Two guards, both token buckets (bot/throttle.py):

* UserThrottle, before any handler: each user may send `user_burst` commands at once and
  `user_rate` a second after that; further updates are dropped (the user is told once). A user
  hammering the bot costs one cheap check per update and no replies. Inline queries, which
  come with every keystroke, have a budget of their own (`inline_burst`, `inline_rate`).
* ReplyLimiter, PTB's rate limiter for requests the handlers mark as replies (rate_limit_args
  REPLY): every reply waits for its chat's bucket (0.9/s with a burst of 3; 18/minute in
  groups and channels: just under Telegram's 1/s and 20/minute) and for the replies' own
  global bucket, `reply_rate` a second, a share of Telegram's ~30/s per bot. The broadcast
  (bot/delivery.py) is not marked, passes through untouched and paces itself; it can count on
  BROADCAST_RATE = 30 - reply_rate a second.

A reply that still meets a 429 waits Telegram's retry_after, empties the buckets it counts
against for that long, and is retried (at most `max_retries` times).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.throttle import TokenBucket

log = logging.getLogger(__name__)

TELEGRAM_RATE = 30.0  # messages a second per bot (Bot API FAQ)
REPLY = {"reply": True}  # rate_limit_args that mark a request as a reply
# Methods that put a message in a chat and so count against the flood limits.
SENDING = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageReplyMarkup",
    }
)


@dataclass(frozen=True)
class LimitSettings:
    reply_rate: float = 5.0  # replies a second, all chats together
    reply_burst: float = 10.0
    # Telegram: about 1 a second per chat, 20 a minute per group; kept 10% under, so a reply
    # our bucket lets through is never one Telegram's bucket (started a little later) refuses.
    chat_rate: float = 0.9  # replies a second to one private chat
    chat_burst: float = 3.0
    group_rate: float = 18.0 / 60.0  # replies a second to one group or channel
    group_burst: float = 5.0
    user_rate: float = 0.5  # updates a second one user may send
    user_burst: float = 8.0
    # Inline queries come with every keystroke (clients debounce a little) and their answers
    # are not messages, so they get a budget of their own.
    inline_rate: float = 3.0
    inline_burst: float = 20.0
    max_retries: int = 2

    @property
    def broadcast_rate(self) -> float:
        """What the daily broadcast may use while replies take their whole share."""
        return TELEGRAM_RATE - self.reply_rate


BROADCAST_RATE = LimitSettings().broadcast_rate

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Buckets:
    """Token buckets by key (a chat, a user), created on first use, dropped once full again."""

    def __init__(self, rate: float, burst: float, clock: Clock, prune_above: int = 10_000):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.prune_above = prune_above
        self._buckets: dict[object, TokenBucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def get(self, key: object) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.prune_above:
                self.prune()
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
        return bucket

    def prune(self) -> None:
        """Forget buckets that have refilled: a fresh one is the same."""
        now = self.clock()
        for key in [k for k, b in self._buckets.items() if b.wait_time(now, self.burst) == 0]:
            del self._buckets[key]


async def acquire(bucket: TokenBucket, clock: Clock, sleep: Sleep) -> None:
    """Wait until the bucket has a token, then take it."""
    # Tokens arrive with time, not with an event, so sleeping the computed wait is right.
    while not bucket.try_take(clock()):
        await sleep(max(bucket.wait_time(clock()), 0.001))


class UserThrottle:
    """Per-user command throttling: say whether a user's update may be handled now."""

    def __init__(self, limits: LimitSettings, clock: Clock = time.monotonic, inline: bool = False):
        self.clock = clock
        rate, burst = (
            (limits.inline_rate, limits.inline_burst) if inline else (limits.user_rate, limits.user_burst)
        )
        self._buckets = Buckets(rate, burst, clock)
        self._warned: set[int] = set()

    def allow(self, user_id: int) -> tuple[bool, bool]:
        """Return (allowed, warn): warn is True for the first refused update of a burst."""
        if self._buckets.get(user_id).try_take(self.clock()):
            self._warned.discard(user_id)
            return True, False
        if user_id in self._warned:
            return False, False
        self._warned.add(user_id)
        return False, True

    def retry_in(self, user_id: int) -> float:
        return self._buckets.get(user_id).wait_time(self.clock())


def retry_after_seconds(exc: RetryAfter) -> float:
    """Return Telegram's retry_after in seconds (read as PTB's own limiter does, without its warning)."""
    wait = getattr(exc, "_retry_after", None)
    if wait is None:  # a later PTB without the private attribute
        wait = exc.retry_after
    return float(wait.total_seconds() if hasattr(wait, "total_seconds") else wait)


class ReplyLimiter(BaseRateLimiter[dict]):
    """PTB rate limiter: replies wait for their chat's and their share's tokens."""

    def __init__(
        self,
        limits: LimitSettings | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ):
        self.limits = limits or LimitSettings()
        self.clock, self.sleep = clock, sleep
        lim = self.limits
        self.replies = TokenBucket(lim.reply_rate, lim.reply_burst, clock)
        self._chats = Buckets(lim.chat_rate, lim.chat_burst, clock)
        self._groups = Buckets(lim.group_rate, lim.group_burst, clock)
        self.waited = 0.0  # seconds replies spent waiting for tokens (for logs and tests)
        self.retried = 0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def buckets_for(self, chat_id: object) -> list[TokenBucket]:
        """Return the buckets a reply to `chat_id` counts against, the scarcest first."""
        buckets = [self._chats.get(chat_id)]
        # Groups and channels have negative ids (or @names); private chats positive ones.
        if not isinstance(chat_id, int) or chat_id < 0:
            buckets.insert(0, self._groups.get(chat_id))
        return [*buckets, self.replies]

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict | list[dict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict | None,
    ) -> bool | dict | list[dict]:
        if not (rate_limit_args or {}).get("reply") or endpoint not in SENDING:
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        buckets = self.buckets_for(chat_id)
        for attempt in range(self.limits.max_retries + 1):
            started = self.clock()
            for bucket in buckets:
                await acquire(bucket, self.clock, self.sleep)
            self.waited += self.clock() - started
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                if attempt == self.limits.max_retries:
                    raise
                log.warning("%s to %s: 429, retry in %.1f s", endpoint, chat_id, seconds)
                now = self.clock()
                for bucket in buckets:
                    bucket.penalise(now, seconds)
                self.retried += 1
        raise AssertionError("unreachable")  # pragma: no cover
