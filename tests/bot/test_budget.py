"""The bot's one budget: replies take what they need, the broadcast paces in what is left, and
replicas share it (in Redis) or divide it (REPLICAS). Time is simulated, never slept on."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import uuid

import pytest
import redis

from bot.budget import REPLY_RESERVE, LocalBudget, RedisBudget, Shape, bot_budget
from bot.limits import BROADCAST_MARGIN, TELEGRAM, LimitSettings

REDIS_URL = "redis://127.0.0.1:6379/0"


class Sim:
    """Simulated time for tasks that only wait through `sleep`: each step wakes the earliest."""

    def __init__(self):
        self.now = 0.0
        self._waiting: list[tuple[float, int, asyncio.Future]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (self.now + seconds, next(self._order), future))
        await future

    async def run(self, until: float) -> None:
        while True:
            for _ in range(20):  # let every woken task run to its next sleep
                await asyncio.sleep(0)
            if not self._waiting or self._waiting[0][0] > until:
                return
            at, _, future = heapq.heappop(self._waiting)
            if future.done():  # its task was cancelled
                continue
            self.now = max(self.now, at)
            future.set_result(None)


async def load(
    budget, sim: Sim, seconds: float, reply_every: float
) -> tuple[list[float], list[float], list[float]]:
    """A broadcast sending flat out, and a reply to a new reader every `reply_every` seconds."""
    broadcast: list[float] = []
    replies: list[float] = []
    waits: list[float] = []

    async def broadcasting():
        while True:
            await budget.broadcast()
            broadcast.append(sim.now)

    async def readers():
        for reader in itertools.count(1):
            await sim.sleep(reply_every)
            asked = sim.now
            await budget.reply(reader)
            replies.append(sim.now)
            waits.append(sim.now - asked)

    tasks = [asyncio.create_task(broadcasting()), asyncio.create_task(readers())]
    await sim.run(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return broadcast, replies, waits


def most_in_a_second(times: list[float]) -> int:
    return max(sum(start <= t < start + 1 for t in times) for start in [0.0, *times])


async def test_replies_go_at_once_and_the_broadcast_takes_what_they_leave():
    sim = Sim()
    shape = Shape.for_limits(LimitSettings())
    broadcast, replies, waits = await load(LocalBudget(shape, sim, sim.sleep), sim, 20.0, reply_every=0.25)
    assert len(replies) == 80 and max(waits) == 0  # 4 a second, each at once
    # Together: Telegram's 30/s less the margin, the broadcast slowed by just the replies.
    assert shape.rate == pytest.approx(29.85)
    total = sorted(broadcast + replies)
    assert len(total) == pytest.approx(20 * shape.rate, abs=shape.burst + 1)
    assert len(broadcast) == pytest.approx(20 * (shape.rate - 4), abs=shape.burst + 1)
    assert most_in_a_second(total[int(shape.burst) :]) <= 30  # past the start's burst


async def test_readers_beyond_the_replies_cap_wait_and_the_broadcast_keeps_its_share():
    sim = Sim()
    shape = Shape.for_limits(LimitSettings(reply_rate=5, reply_burst=10))
    broadcast, replies, _ = await load(LocalBudget(shape, sim, sim.sleep), sim, 20.0, reply_every=0.05)
    assert len(replies) == pytest.approx(10 + 20 * 5, abs=1)  # 20 asked a second, 5 a second answered
    assert len(broadcast) + len(replies) == pytest.approx(20 * shape.rate, abs=shape.burst + 1)
    assert len(broadcast) >= 20 * (shape.rate - 5) - shape.reply_burst - shape.burst


async def test_without_redis_each_of_n_replicas_takes_its_share():
    sim = Sim()
    shape = Shape.for_limits(LimitSettings()).divided(3)
    assert (shape.rate, shape.reply_rate) == (pytest.approx(9.95), pytest.approx(5 / 3))
    assert shape.burst >= 1 + shape.reserve  # the broadcast can still take a token
    sent = []
    for _ in range(3):  # three replicas, each flat out on its own share
        broadcast, replies, _ = await load(LocalBudget(shape, sim, sim.sleep), sim, sim.now + 10, 0.5)
        sent.append(len(broadcast) + len(replies))
    assert sum(sent) <= 10 * TELEGRAM.bot_wide * BROADCAST_MARGIN + 3 * shape.burst


@pytest.fixture
def redis_prefix():
    prefix = f"qotd:test:{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


async def test_in_redis_two_replicas_take_from_one_bucket(redis_prefix):
    # A bucket that (nearly) does not refill: what one replica takes, the other cannot.
    shape = Shape(rate=0.001, burst=1 + REPLY_RESERVE, reserve=REPLY_RESERVE, reply_rate=0.001,
                  reply_burst=10, chat_rate=0.001, chat_burst=3, group_rate=0.001, group_burst=3)  # fmt: skip
    one, two = (RedisBudget(REDIS_URL, shape, LocalBudget(shape), prefix=redis_prefix) for _ in range(2))
    shared = (f"{redis_prefix}:shared", shape.rate, shape.burst, 1 + shape.reserve)
    assert await one._call("take", [shared]) == 0  # the broadcast's one token above the reserve
    assert await two._call("take", [shared]) > 100  # none left for the other replica's broadcast
    reply = [(f"{redis_prefix}:replies", shape.reply_rate, shape.reply_burst, 1.0), (*shared[:3], 1.0)]
    assert await two._call("take", reply) == 0  # a reply takes from the reserve
    assert await one._call("take", reply) == 0
    assert await one._call("take", reply) > 100  # the reserve is spent, on both replicas together
    assert one.fallbacks == two.fallbacks == 0
    await one.close()
    await two.close()


async def test_while_redis_is_away_a_replica_takes_its_local_share_and_says_so_once(caplog):
    sim = Sim()
    local = LocalBudget(Shape.for_limits(LimitSettings()).divided(2), sim, sim.sleep)
    budget = RedisBudget(
        "redis://127.0.0.1:9/0", Shape.for_limits(LimitSettings()), local, "qotd:x", sim, sim.sleep
    )
    with caplog.at_level(logging.WARNING, logger="bot.budget"):
        await budget.broadcast()  # (each takes a token at once from the local share)
        await budget.reply(42)
    assert budget.fallbacks == 2
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["budget: Redis unreachable"]
    await budget.close()


def test_the_service_budget_is_in_redis_only_with_redis_url():
    assert isinstance(
        bot_budget(LimitSettings(), paid=False, replicas=2, redis_url=None, bot_id="1"), LocalBudget
    )
    paid = bot_budget(LimitSettings(), paid=True, replicas=1, redis_url=REDIS_URL, bot_id="1")
    assert isinstance(paid, RedisBudget) and paid.shape.rate == pytest.approx(990)
    assert paid.fallback.shape.rate == pytest.approx(990)
