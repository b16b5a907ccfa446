"""One budget for the whole bot: the replies and the broadcast, on every replica, inside Telegram's limit.

Telegram allows a bot about 30 messages a second in all (1000 with paid broadcasts). Every
message the service sends takes a token from one shared bucket (`Shape.rate` a second, up to
`Shape.burst`): a reply takes one as soon as there is one, and also one from the replies' own
cap (`reply_rate`, so that readers can never starve the broadcast) and from its chat's bucket
(Telegram's per-chat limits); the broadcast takes one only while more than `Shape.reserve`
are left. Replies waiting for the cap queue in turn, first come first served. So replies
take what they need up to their cap, and the broadcast paces in what is left: it slows down
by exactly what the replies use, and the total stays at `rate`.

Where the buckets live:

* `RedisBudget` (REDIS_URL set): in Redis, shared by every replica, each take one atomic Lua
  script on Redis' own clock (redis-py's asyncio client). While Redis cannot be reached, each
  replica falls back to its share of a `LocalBudget` (below) and says so in the log once.
* `LocalBudget` (no REDIS_URL): in the process; with REPLICAS=N each replica takes 1/N of
  every rate (`Shape.divided`), so N of them together stay inside the limit.

bot/limits.py holds Telegram's numbers and the margins; this module how they are shared.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.limits import LimitSettings, broadcast_burst, broadcast_rate
from bot.throttle import TokenBucket

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Tokens the broadcast leaves in the shared bucket, so that a reply arriving mid-broadcast
# goes out at once instead of queueing behind it.
REPLY_RESERVE = 2.0
# After Redis failed, it is tried again this many seconds later (meanwhile: the local share).
REDIS_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Shape:
    """The rates and bursts of the buckets (per second; bursts in messages)."""

    rate: float  # every message of the bot
    burst: float
    reserve: float  # what the broadcast leaves for replies
    reply_rate: float  # the replies' cap
    reply_burst: float
    chat_rate: float
    chat_burst: float
    group_rate: float
    group_burst: float

    @classmethod
    def for_limits(cls, limits: LimitSettings, paid: bool = False) -> Shape:
        rate = broadcast_rate(paid)
        return cls(
            rate=rate,
            # The broadcast's small burst (bot/limits.py) above the replies' reserve.
            burst=broadcast_burst(rate) + REPLY_RESERVE,
            reserve=REPLY_RESERVE,
            reply_rate=min(limits.reply_rate, rate),
            reply_burst=limits.reply_burst,
            chat_rate=limits.chat_rate,
            chat_burst=limits.chat_burst,
            group_rate=limits.group_rate,
            group_burst=limits.group_burst,
        )

    def divided(self, replicas: int) -> Shape:
        """Each of `replicas` processes' share: 1/N of every rate (a burst is at least one)."""
        if replicas <= 1:
            return self
        n = float(replicas)
        reserve = self.reserve / n
        return replace(
            self,
            rate=self.rate / n,
            burst=max(1.0 + reserve, self.burst / n),
            reserve=reserve,
            reply_rate=self.reply_rate / n,
            reply_burst=max(1.0, self.reply_burst / n),
            chat_rate=self.chat_rate / n,
            chat_burst=max(1.0, self.chat_burst / n),
            group_rate=self.group_rate / n,
            group_burst=max(1.0, self.group_burst / n),
        )


def is_group(chat_id: object) -> bool:
    """Groups and channels have negative ids (or @names); private chats positive ones."""
    return not isinstance(chat_id, int) or chat_id < 0


class Budget(Protocol):
    shape: Shape

    async def reply(self, chat_id: object) -> None:
        """Wait until a reply to `chat_id` may go, and take its tokens."""

    async def broadcast(self) -> None:
        """Wait until a broadcast message may go (what replies leave), and take its token."""

    async def pause_reply(self, chat_id: object, seconds: float) -> None:
        """A reply was answered 429: no replies to that chat, nor replies at all, for `seconds`."""

    async def pause_all(self, seconds: float) -> None:
        """The broadcast was answered 429: nothing goes out for `seconds`."""


class Buckets:
    """Token buckets by key (a chat), created on first use, dropped once full again."""

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


class LocalBudget:
    """The budget in this process (its share of the bot's, with REPLICAS > 1)."""

    def __init__(self, shape: Shape, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep):
        self.shape = shape
        self.clock, self.sleep = clock, sleep
        self.shared = TokenBucket(shape.rate, shape.burst, clock)
        self.replies = TokenBucket(shape.reply_rate, shape.reply_burst, clock)
        self._chats = Buckets(shape.chat_rate, shape.chat_burst, clock)
        self._groups = Buckets(shape.group_rate, shape.group_burst, clock)
        self._queue = asyncio.Lock()

    def _reply_buckets(self, chat_id: object) -> list[TokenBucket]:
        buckets = [self._chats.get(chat_id), self.replies]
        if is_group(chat_id):
            buckets.insert(0, self._groups.get(chat_id))
        return buckets

    async def _take(self, wants: list[tuple[TokenBucket, float]]) -> None:
        """Take one token from each bucket at once, when each holds `need`; wait until then."""
        while True:
            now = self.clock()
            wait = max(bucket.wait_time(now, need) for bucket, need in wants)
            if wait <= 0:
                for bucket, _ in wants:
                    bucket.try_take(now)
                return
            await self.sleep(max(wait, 0.001))

    async def reply(self, chat_id: object) -> None:
        *chat, cap = self._reply_buckets(chat_id)
        await self._take([(b, 1.0) for b in chat])
        # Replies waiting for the cap queue in turn (FIFO) instead of all waking at each token.
        async with self._queue:
            await self._take([(cap, 1.0), (self.shared, 1.0)])

    async def broadcast(self) -> None:
        await self._take([(self.shared, 1.0 + self.shape.reserve)])

    async def pause_reply(self, chat_id: object, seconds: float) -> None:
        now = self.clock()
        for bucket in self._reply_buckets(chat_id):
            bucket.penalise(now, seconds)

    async def pause_all(self, seconds: float) -> None:
        self.shared.penalise(self.clock(), seconds)


# KEYS: the buckets; ARGV: mode ("take" or "pause"), then per key: rate, burst, need (take) or
# seconds (pause). A bucket is a hash {tokens, stamp}; time is Redis' own (TIME), so replicas
# with drifting clocks share one. "take" takes a token from every bucket or from none, and
# answers the seconds to wait ("0": taken). Keys expire once they would be full again.
SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local mode = ARGV[1]
local levels = {}
local worst = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[3 * i - 1])
  local burst = tonumber(ARGV[3 * i])
  local arg = tonumber(ARGV[3 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'stamp')
  local tokens = tonumber(state[1]) or burst
  local stamp = tonumber(state[2]) or now
  if now > stamp then
    tokens = math.min(burst, tokens + (now - stamp) * rate)
  end
  if mode == 'take' and tokens < arg then
    worst = math.max(worst, (arg - tokens) / rate)
  end
  if mode == 'pause' then
    tokens = math.min(tokens, 0) - arg * rate
  end
  levels[i] = {tokens, rate, burst}
end
if worst > 0 then
  return tostring(worst)
end
for i, key in ipairs(KEYS) do
  local tokens = levels[i][1]
  if mode == 'take' then
    tokens = tokens - 1
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'stamp', tostring(now))
  local full_in = (levels[i][3] - tokens) / levels[i][2]
  redis.call('PEXPIRE', key, math.ceil(full_in * 1000) + 1000)
end
return '0'
"""


class RedisBudget:
    """The bot's budget in Redis, shared by every replica; a local share while Redis is away."""

    def __init__(
        self,
        url: str,
        shape: Shape,
        fallback: LocalBudget,
        prefix: str,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ):
        self.shape = shape
        self.fallback = fallback
        self.prefix = prefix
        self.clock, self.sleep = clock, sleep
        import redis.asyncio  # only with REDIS_URL: a twentieth of every start-up without it

        self._redis: Any = redis.asyncio.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
        self._script = self._redis.register_script(SCRIPT)
        self._errors: tuple[type[BaseException], ...] = (redis.asyncio.RedisError, OSError)
        self._down_since: float | None = None
        self._queue = asyncio.Lock()
        self.fallbacks = 0  # takes served by the local share while Redis was away

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def _reply_keys(self, chat_id: object) -> list[tuple[str, float, float]]:
        s = self.shape
        keys = [(self._key(f"chat:{chat_id}"), s.chat_rate, s.chat_burst)]
        if is_group(chat_id):
            keys.insert(0, (self._key(f"group:{chat_id}"), s.group_rate, s.group_burst))
        return [*keys, (self._key("replies"), s.reply_rate, s.reply_burst)]

    def _available(self) -> bool:
        return self._down_since is None or self.clock() - self._down_since >= REDIS_RETRY_SECONDS

    async def _call(self, mode: str, buckets: list[tuple[str, float, float, float]]) -> float | None:
        """Run the script; return the seconds to wait (0: done), or None when Redis failed."""
        args: list[str | float] = [mode]
        for _, rate, burst, arg in buckets:
            args += [rate, burst, arg]
        try:
            answer = await self._script(keys=[key for key, *_ in buckets], args=args)
        except self._errors as exc:
            if self._down_since is None:
                log.warning("budget: Redis unreachable (%s): this replica takes its local share", exc)
            self._down_since = self.clock()
            return None
        if self._down_since is not None:
            log.info("budget: Redis reachable again: the budget is shared again")
            self._down_since = None
        return float(answer)

    async def _take(self, buckets: list[tuple[str, float, float, float]]) -> bool:
        """Take from `buckets` in Redis, waiting as long as it says; False if Redis failed."""
        while self._available():
            wait = await self._call("take", buckets)
            if wait is None:
                return False
            if wait <= 0:
                return True
            await self.sleep(wait)
        return False

    async def reply(self, chat_id: object) -> None:
        *chat, cap = [(key, rate, burst, 1.0) for key, rate, burst in self._reply_keys(chat_id)]
        if await self._take(chat):
            # This process's replies queue in turn for the cap (as in LocalBudget.reply).
            async with self._queue:
                if await self._take([cap, (self._key("shared"), self.shape.rate, self.shape.burst, 1.0)]):
                    return
        self.fallbacks += 1
        await self.fallback.reply(chat_id)

    async def broadcast(self) -> None:
        need = 1.0 + self.shape.reserve
        if not await self._take([(self._key("shared"), self.shape.rate, self.shape.burst, need)]):
            self.fallbacks += 1
            await self.fallback.broadcast()

    async def pause_reply(self, chat_id: object, seconds: float) -> None:
        await self.fallback.pause_reply(chat_id, seconds)
        if self._available():
            await self._call("pause", [(k, r, b, seconds) for k, r, b in self._reply_keys(chat_id)])

    async def pause_all(self, seconds: float) -> None:
        await self.fallback.pause_all(seconds)
        if self._available():
            await self._call("pause", [(self._key("shared"), self.shape.rate, self.shape.burst, seconds)])

    async def close(self) -> None:
        await self._redis.aclose()


def bot_budget(
    limits: LimitSettings,
    *,
    paid: bool,
    replicas: int,
    redis_url: str | None,
    bot_id: str,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> LocalBudget | RedisBudget:
    """The budget `qotd serve` uses: shared in Redis with REDIS_URL, else this replica's 1/replicas."""
    shape = Shape.for_limits(limits, paid)
    local = LocalBudget(shape.divided(replicas), clock, sleep)
    if not redis_url:
        return local
    return RedisBudget(redis_url, shape, local, prefix=f"qotd:budget:{bot_id}", clock=clock, sleep=sleep)
