"""How replies stay inside Telegram's limits without eating the broadcast's share (bot/limits.py).

Two guards, both on token buckets (bot/throttle.py): `UserThrottle`, before any handler, and
`ReplyLimiter`, PTB's rate limiter for the requests the handlers mark as replies (`REPLY`),
which takes each reply's tokens from the bot's one budget (bot/budget.py), shared with the
broadcast. bot/limits.py says what each allows and why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.budget import Buckets, Budget, LocalBudget, Shape
from bot.limits import LimitSettings, retry_after_seconds

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
    """PTB rate limiter: each reply waits for its tokens in the bot's budget (bot/budget.py):
    its chat's, the replies' cap and the bot-wide bucket the broadcast shares."""

    def __init__(
        self,
        limits: LimitSettings | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        budget: Budget | None = None,
    ):
        self.limits = limits or LimitSettings()
        self.clock, self.sleep = clock, sleep
        self.budget: Budget = budget or LocalBudget(Shape.for_limits(self.limits), clock, sleep)
        self.waited = 0.0  # seconds replies spent waiting for tokens (for logs and tests)
        self.retried = 0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

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
        for attempt in range(self.limits.max_retries + 1):
            started = self.clock()
            await self.budget.reply(chat_id)
            self.waited += self.clock() - started
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                if attempt == self.limits.max_retries:
                    raise
                log.warning("%s to %s: 429, retry in %.1f s", endpoint, chat_id, seconds)
                await self.budget.pause_reply(chat_id, seconds)
                self.retried += 1
        raise AssertionError("unreachable")  # pragma: no cover
