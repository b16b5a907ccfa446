"""Telegram's limits, in one table, and how replies stay inside them without eating the broadcast's.

`TELEGRAM` is the one table of what Telegram allows a bot; every user of a limit takes it from
there with its own margin, named beside it: the replies (`REPLY_MARGIN`, in `LimitSettings`),
the daily broadcast (`BROADCAST_MARGIN`, `PAID_BROADCAST_MARGIN`, `BROADCAST_BURST_SHARE`, used
by bot/delivery/broadcast.py), message lengths (bot/messages.py).

Two guards keep the replies in their share, both token buckets (bot/throttle.py):

* UserThrottle, before any handler: each user may send `user_burst` commands at once and
  `user_rate` a second after that; further updates are dropped (the user is told once). A user
  hammering the bot costs one cheap check per update and no replies. Inline queries, which
  come with every keystroke, have a budget of their own (`inline_burst`, `inline_rate`).
* ReplyLimiter, PTB's rate limiter for requests the handlers mark as replies (rate_limit_args
  REPLY): every reply waits for its chat's bucket (Telegram's 1/s, and 20/minute in groups and
  channels, less REPLY_MARGIN: 0.9/s with a burst of 3, 18/minute) and for the replies' own
  global bucket, `reply_rate` a second, a share of Telegram's 30/s per bot. The broadcast is
  not marked, passes through untouched and paces itself.

A reply that still meets a 429 waits Telegram's retry_after, empties the buckets it counts
against for that long, and is retried (at most `max_retries` times).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.throttle import TokenBucket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TelegramLimits:
    """What Telegram allows one bot (Bot API FAQ "My bot is hitting limits", and the methods' docs)."""

    per_chat: float = 1.0  # messages a second to one private chat
    per_group: float = 20.0 / 60.0  # messages a second to one group or channel
    bot_wide: float = 30.0  # messages a second, all chats together
    paid_bot_wide: float = 1000.0  # with allow_paid_broadcast (paid in Telegram Stars)
    message_length: int = 4096  # a message's text after entity parsing, in UTF-16 code units
    callback_answer_length: int = 200  # the text of an answerCallbackQuery


TELEGRAM = TelegramLimits()

# Replies keep 10% under the per-chat limits, so a reply our bucket lets through is never one
# Telegram's bucket (started a little later) refuses.
REPLY_MARGIN = 0.9
# The broadcast paces just under the bot-wide limit. Its pacer holds a small burst (4% of the
# rate, at least 1.25 messages) so that a wake-up that comes late on a busy loop is made up for,
# not lost; the margin keeps rate x 1 s + burst within the limit: 29.7 + 1.25 = 30.95 (30 whole
# messages) on the free tier, 960 + 38.4 = 998.4 with paid broadcasts.
BROADCAST_MARGIN = 0.99
PAID_BROADCAST_MARGIN = 0.96
BROADCAST_BURST_SHARE = 0.04
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
    chat_rate: float = TELEGRAM.per_chat * REPLY_MARGIN  # replies a second to one private chat
    chat_burst: float = 3.0
    group_rate: float = TELEGRAM.per_group * REPLY_MARGIN  # replies a second to one group or channel
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
        return TELEGRAM.bot_wide - self.reply_rate


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
    """Return Telegram's retry_after in seconds (PTB 22 warns on reading it unless PTB_TIMEDELTA is set)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


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
