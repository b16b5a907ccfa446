"""How replies stay inside Telegram's limits without eating the broadcast's share (bot/limits.py).

Two guards, both on token buckets (bot/throttle.py): `UserThrottle`, before any handler, and
`ReplyLimiter`, PTB's rate limiter for the requests the handlers mark as replies (`REPLY`).
bot/limits.py says what each allows and why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.limits import LimitSettings, retry_after_seconds
from bot.throttle import TokenBucket

log = logging.getLogger(__name__)

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
