"""Group commit for the delivery ledger: claims wait for their commit, outcomes just queue.

While one batch of claims and outcomes is being written (in the ledger's thread), the next one
gathers, so a broadcast costs one commit per batch, not one per message. A claim is the
commit *before* a request (the row is `sending`); an outcome is written after the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.delivery.ledger import PENDING, Key, Ledger, Outcome
from bot.delivery.subscribers import NO_TOPIC

log = logging.getLogger("bot.delivery.broadcast")

Clock = Callable[[], dt.datetime]  # the time the ledger records (the broadcast's clock)


class Journal:
    """Group commit for the ledger: claims wait for their commit, outcomes just queue."""

    def __init__(self, ledger: Ledger, executor: ThreadPoolExecutor, clock: Clock):
        self.ledger = ledger
        self.executor = executor
        self.clock = clock
        self._claims: list[tuple[Key, asyncio.Future]] = []
        self._outcomes: list[Outcome] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ledger-journal")

    async def claim(self, day: dt.date, chat_id: int, thread_id: int = NO_TOPIC) -> bool:
        """Move a row to `sending` and wait until that is committed; False if it was not pending."""
        future = asyncio.get_running_loop().create_future()
        entry = ((day, chat_id, thread_id), future)
        self._claims.append(entry)
        self._wake.set()
        try:
            return await future
        except asyncio.CancelledError:
            if entry in self._claims:  # not written yet: drop it
                self._claims.remove(entry)
            else:  # being written: hand the row back in the commit after it
                self.record(Outcome(day, chat_id, PENDING, thread_id=thread_id))
            raise

    def record(self, outcome: Outcome) -> None:
        self._outcomes.append(outcome)
        self._wake.set()

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        while self._claims or self._outcomes or not self._idle.is_set():
            self._wake.set()
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not (self._claims or self._outcomes):
                continue
            claims, self._claims = self._claims, []
            outcomes, self._outcomes = self._outcomes, []
            self._idle.clear()
            try:
                # Shielded: a cancelled journal still finishes the commit it started.
                claimed = await asyncio.shield(
                    loop.run_in_executor(
                        self.executor, self.ledger.apply, outcomes, [k for k, _ in claims], self.clock()
                    )
                )
            except Exception as exc:
                log.exception("could not write the delivery ledger")
                for _, future in claims:
                    if not future.done():
                        future.set_exception(exc)
                self._outcomes[:0] = outcomes  # keep them: the next commit tries again
                await asyncio.sleep(1)
                continue
            finally:
                self._idle.set()
            for key, future in claims:
                if not future.done():
                    future.set_result(key in claimed)
