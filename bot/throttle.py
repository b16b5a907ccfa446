"""Token buckets: the arithmetic under every pace the service keeps inside Telegram's limits.

A bucket holds up to `burst` tokens and refills at `rate` per second. Time is passed in
(`now`, monotonic seconds), so the arithmetic is tested without sleeping; `acquire` is the
one place that waits. The replies' guards (bot/replies.py) and the broadcast's pacer
(bot/delivery/broadcast.py) are built on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._tokens = burst
        self._stamp: float | None = None

    def _refill(self, now: float) -> None:
        if self._stamp is not None and now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        if self._stamp is None or now > self._stamp:
            self._stamp = now

    def wait_time(self, now: float, tokens: float = 1.0) -> float:
        """Return how long to wait before `tokens` are available (0 if they are now)."""
        self._refill(now)
        return max(0.0, (tokens - self._tokens) / self.rate)

    def try_take(self, now: float, tokens: float = 1.0) -> bool:
        """Take `tokens` if they are available now; return whether they were taken."""
        self._refill(now)
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False

    def penalise(self, now: float, seconds: float) -> None:
        """Empty the bucket for `seconds` (Telegram's retry_after)."""
        self._refill(now)
        self._tokens = min(self._tokens, 0.0) - seconds * self.rate

    async def acquire(self, tokens: float = 1.0) -> None:
        """Wait until `tokens` are available, then take them."""
        # Tokens arrive with time, not with an event, so sleeping the computed wait is right.
        while not self.try_take(self.clock(), tokens):  # noqa: ASYNC110
            await asyncio.sleep(self.wait_time(self.clock(), tokens))
