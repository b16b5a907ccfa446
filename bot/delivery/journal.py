"""Group commit for the delivery ledger: claims wait for their commit, outcomes just queue.

While one batch of claims and outcomes is being written (in the ledger's thread), the next one
gathers, so a broadcast costs one commit per batch, not one per message. A claim is the
commit *before* a request (the row is `sending`); an outcome is written after the answer.
Outcomes alone wait up to OUTCOME_WAIT for the next claim and go in its commit: at the free
tier's 30/s a batch holds one message, and a commit of its own for each answer doubled the
ledger's work (a crash in that wait leaves the row `sending`, so it becomes `uncertain`, as a
crash just before its commit would).

When the database fails, the failure goes to the journal's `Supervisor` (logged once with its
cause), the claims of that batch fail (their rows are handed back to `pending` in a later
commit, in case the claim did commit: nothing was sent for them), the outcomes are kept, and
the next commit is tried after the supervisor's backoff. A claim refused by the leadership fence
raises `Fenced` in every waiting `claim` and in every later one. `close(within)` gives up
waiting after `within` seconds and returns the outcomes still unwritten (the scheduler writes them when
the database is back, bot/delivery/broadcast.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.delivery.ledger import PENDING, Fenced, Key, Ledger, Outcome
from bot.delivery.subscribers import NO_TOPIC
from bot.supervise import Supervisor

log = logging.getLogger("bot.delivery.broadcast")

Clock = Callable[[], dt.datetime]  # the time the ledger records (the broadcast's clock)

OUTCOME_WAIT = 0.25  # seconds outcomes wait for a claim to share its commit
# Claims that come faster than commits (the paid tier's 990/s) gather this long before their
# commit, so a commit carries about two dozen sends rather than one or two; at the free tier's
# 30/s the last commit is long over when a claim comes, and it goes at once.
CLAIM_GATHER = 0.025
CLAIM_BATCH = 64  # claims that go without gathering longer
# Below that pace the dispatcher claims the rows it is about to send in runs of this many
# seconds of its pace, before their tokens (bot/delivery/broadcast.py `claim_run`): one commit
# for the run, and a crash leaves its unsent rows `uncertain`.
CLAIM_AHEAD = 1 / 6


class Journal:
    """Group commit for the ledger: claims wait for their commit, outcomes just queue."""

    def __init__(
        self,
        ledger: Ledger,
        executor: ThreadPoolExecutor,
        clock: Clock,
        *,
        epoch: int | None = None,
        supervisor: Supervisor | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        """monotonic: the clock that says whether claims come faster than commits (tests pass one)."""
        self.ledger = ledger
        self.monotonic = monotonic
        self.executor = executor
        self.clock = clock
        self.epoch = epoch
        self.supervisor = supervisor or Supervisor("the delivery ledger's journal", logger=log)
        self.fenced: Fenced | None = None
        self._writing: list[Outcome] = []
        self._claims: list[tuple[Key, asyncio.Future]] = []
        self._outcomes: list[Outcome] = []
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()  # a claim or a flush: outcomes wait no longer
        self._committed = -math.inf  # when the last commit ended (monotonic)
        self._task: asyncio.Task | None = None
        self._outcome_timer: asyncio.TimerHandle | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        # One connection for all its commits, used and closed in the ledger's thread.
        self._writer = ledger.writer()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ledger-journal")

    async def claim(self, day: dt.date, chat_id: int, thread_id: int = NO_TOPIC) -> bool:
        """Move a row to `sending` and wait until that is committed; False if it was not pending."""
        key = (day, chat_id, thread_id)
        return key in await self.claim_many([key])

    async def claim_many(self, keys: list[tuple[dt.date, int, int]]) -> set[tuple[dt.date, int, int]]:
        """Claim rows in one commit (a send's own, or the dispatcher's run); return those claimed."""
        if self.fenced is not None:
            raise self.fenced
        loop = asyncio.get_running_loop()
        entries = [(key, loop.create_future()) for key in keys]
        self._claims.extend(entries)
        self._wake.set()
        self._hurry.set()
        try:
            for _, future in entries:  # (all of them go in one commit: it answers them together)
                with contextlib.suppress(Exception):
                    await future
        except asyncio.CancelledError:
            for entry in entries:
                key, future = entry
                if entry in self._claims:  # not written yet: drop it
                    self._claims.remove(entry)
                elif not future.done() or (
                    not future.cancelled() and future.exception() is None and future.result()
                ):
                    # being written, or claimed: hand the row back in the commit after it (a
                    # failed commit hands its claims back itself; a refused one is not ours)
                    self.record(Outcome(key[0], key[1], PENDING, thread_id=key[2]))
            raise
        error = next((f.exception() for _, f in entries if f.exception() is not None), None)
        if error is not None:  # the commit failed, or the fence refused some: none of them is sent
            for key, future in entries:
                if future.exception() is None and future.result():
                    self.record(Outcome(key[0], key[1], PENDING, thread_id=key[2]))
            raise error
        return {key for key, future in entries if future.result()}

    def record(self, outcome: Outcome) -> None:
        if outcome.epoch is None and self.epoch is not None:
            outcome = dataclasses.replace(outcome, epoch=self.epoch)
        self._outcomes.append(outcome)
        if self._claims or self._hurry.is_set():
            self._wake.set()
        elif self._outcome_timer is None:
            # Alone, outcomes wait for the next claim's commit, or OUTCOME_WAIT at most: a timer,
            # not a wake-up per outcome (at 30/s the journal woke once more per message for it).
            self._outcome_timer = asyncio.get_running_loop().call_later(OUTCOME_WAIT, self._outcomes_due)

    def _outcomes_due(self) -> None:
        self._outcome_timer = None
        self._hurry.set()
        self._wake.set()

    async def flush(self, within: float | None = None) -> bool:
        """Wait until everything queued so far is committed (True), or `within` seconds (False)."""
        deadline = None if within is None else time.monotonic() + within
        while self._claims or self._outcomes or not self._idle.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._wake.set()
            self._hurry.set()
            await asyncio.sleep(0.005)
        return True

    async def close(self, within: float | None = None) -> list[Outcome]:
        """Flush (for at most `within` seconds) and stop; return the outcomes left unwritten."""
        await self.flush(within)
        if self._outcome_timer is not None:
            self._outcome_timer.cancel()
            self._outcome_timer = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._writer is not None:
            with contextlib.suppress(Exception):  # (a connection the database dropped: nothing to give back)
                await asyncio.get_running_loop().run_in_executor(self.executor, self._writer.close)
        # Being written when cancelled: maybe committed; writing them again changes nothing.
        left = self._writing + self._outcomes
        for _, future in self._claims:
            if not future.done():
                future.cancel()
        self._claims, self._outcomes, self._writing = [], [], []
        return left

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not (self._claims or self._outcomes):
                continue
            if not self._claims and not self._hurry.is_set():
                continue  # outcomes alone: their timer or the next claim wakes the journal
            if (
                self._claims
                and len(self._claims) < CLAIM_BATCH
                and self.monotonic() - self._committed < CLAIM_GATHER
            ):
                await asyncio.sleep(CLAIM_GATHER)
            self._hurry.clear()
            if self._outcome_timer is not None:  # (they go now)
                self._outcome_timer.cancel()
                self._outcome_timer = None
            claims, self._claims = self._claims, []
            outcomes, self._outcomes = self._outcomes, []
            self._writing = outcomes
            self._idle.clear()
            try:
                # Shielded: a cancelled journal still finishes the commit it started.
                claimed = await asyncio.shield(
                    loop.run_in_executor(
                        self.executor,
                        self.ledger.apply,
                        outcomes,
                        [k for k, _ in claims],
                        self.clock(),
                        self.epoch,
                        self._writer,
                    )
                )
            except Fenced as exc:  # the outcomes were written; the claims were refused
                self._writing = []
                self.fenced = exc
                log.error("delivery: %s; sending nothing more", exc)
                for key, future in claims:
                    if not future.done():
                        if key in exc.claimed:
                            future.set_result(True)
                        else:
                            future.set_exception(exc)
                self._idle.set()
                continue
            except Exception as exc:
                self._writing = []
                delay = self.supervisor.failed(exc)
                for _, future in claims:
                    if not future.done():
                        future.set_exception(exc)
                # Keep the outcomes for the next commit; a claim that failed may still have
                # committed, and nothing was sent for it: hand its row back to pending.
                handed_back = [
                    Outcome(
                        k[0], k[1], PENDING, thread_id=k[2] if len(k) == 3 else NO_TOPIC, epoch=self.epoch
                    )
                    for k, _ in claims
                ]
                self._outcomes[:0] = outcomes + handed_back
                self._idle.set()
                await asyncio.sleep(delay)
                continue
            self._writing = []
            self._committed = self.monotonic()
            self.supervisor.worked()
            self._idle.set()
            for key, future in claims:
                if not future.done():
                    future.set_result(key in claimed)
