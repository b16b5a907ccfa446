"""Supervision: the one way a long-lived task fails, waits and tries again.

Every background task of the service (the scheduler's leadership, its wake-ups, the broadcast,
the ledger's journal, Telegram's start-up) runs under a `Supervisor`: when it raises, the
failure is logged once with its cause and traceback (the failures after it, until the task
works again, only at DEBUG: a database that is down for an hour is one ERROR, not 400, and
its cause changes as it goes: shutting down, refused, ...), the task is restarted after a
backoff that doubles up to a cap, and `state` / `snapshot()` say where it stands for /healthz,
with the latest cause. When it works again, one line says it recovered and after how long.

`announce_retries=True` (Telegram's start-up) logs one line per retry instead, with the reason
and the delay; the traceback only at DEBUG.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("qotd.supervise")

RUNNING = "running"
RETRYING = "retrying"
STOPPED = "stopped"
IDLE = "idle"


@dataclass(frozen=True)
class Backoff:
    """Delays before each retry: `first` seconds, doubled per failure, at most `cap`, jittered."""

    first: float = 0.5
    cap: float = 30.0
    jitter: float = 0.2  # each delay is shortened by up to this share, so instances spread out

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        base = min(self.cap, self.first * 2 ** max(0, failures - 1))
        return base * (1 - self.jitter * rand())


def describe(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """One line naming an exception and its cause: `OperationalError: connection refused`.

    Each of `secrets` (a bot token quoted in an error) is written as `***`.
    """
    inner = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError: the driver's message is the cause
    shown = inner if isinstance(inner, BaseException) else exc
    first = (str(shown).strip().splitlines() or [""])[0][:300]
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    cause = exc.__cause__
    if cause is None and not exc.__suppress_context__:
        cause = exc.__context__
    if cause is not None and cause is not inner and type(cause) is not type(exc):
        text += f" (from {type(cause).__name__}: {(str(cause).strip().splitlines() or [''])[0][:200]})"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class Supervisor:
    """The failures of one long-lived task: logged once each, retried with backoff, shown in health."""

    def __init__(
        self,
        name: str,
        *,
        backoff: Backoff | None = None,
        announce_retries: bool = False,
        secrets: Sequence[str] = (),
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        self.name = name
        self.backoff = backoff or Backoff()
        self.announce_retries = announce_retries
        self.secrets = tuple(s for s in secrets if s)
        self.log = logger or log
        self.clock = clock
        self.sleep = sleep
        self.state = IDLE
        self.failures = 0  # in a row, since it last worked
        self.restarts = 0  # in all
        self.last_error: str | None = None
        self.failing_since: float | None = None
        self.retry_in: float | None = None

    @property
    def healthy(self) -> bool:
        return self.state != RETRYING

    def snapshot(self) -> dict[str, Any]:
        """What /healthz shows of it."""
        shown: dict[str, Any] = {"state": self.state}
        if self.state == RETRYING:
            shown |= {"error": self.last_error, "failures": self.failures}
            if self.failing_since is not None:
                shown["failing_for"] = round(self.clock() - self.failing_since, 1)
        if self.restarts:
            shown["restarts"] = self.restarts
        return shown

    def failed(self, exc: BaseException) -> float:
        """Record a failure, log it if it is news, and return how long to wait before retrying."""
        cause = describe(exc, self.secrets)
        self.failures += 1
        self.restarts += 1
        delay = self.retry_in = self.backoff.delay(self.failures)
        if self.failing_since is None:
            self.failing_since = self.clock()
        if self.announce_retries:
            self.log.warning("%s failed: %s; retry %d in %.0fs", self.name, cause, self.failures, delay)
            if not self.secrets:  # a traceback would repeat the secret
                self.log.debug("%s failure", self.name, exc_info=exc)
        elif self.failures == 1:
            self.log.error(
                "%s failed: %s; retrying with backoff up to %.0fs",
                self.name,
                cause,
                self.backoff.cap,
                exc_info=None if self.secrets else exc,
            )
        else:
            self.log.debug("%s failed again (%d in a row): %s", self.name, self.failures, cause)
        self.last_error = cause
        self.state = RETRYING
        return delay

    def worked(self) -> None:
        """Record that the task works (again)."""
        if self.state == RETRYING and self.failures:
            now = self.clock()
            since = now - (now if self.failing_since is None else self.failing_since)
            self.log.warning("%s recovered after %d failures in %.0fs", self.name, self.failures, since)
        self.state = RUNNING
        self.failures = 0
        self.failing_since = None
        self.retry_in = None
        self.last_error = None

    def stopped(self) -> None:
        self.state = STOPPED

    def settle(self) -> None:
        """The task ended without failing: stopped, its failures forgotten (no "recovered" line:
        that is for a task that was seen to work, `worked()`)."""
        self.failures = 0
        self.failing_since = None
        self.retry_in = None
        self.last_error = None
        self.state = STOPPED

    async def run(
        self,
        body: Callable[[], Awaitable[Any]],
        *,
        on_failure: Callable[[BaseException], Awaitable[Any]] | None = None,
    ) -> Any:
        """Run `body` until it returns (its result is returned); restart it after each failure.

        A long-lived `body` calls `worked()` when it has done a unit of work (this logs the
        recovery after failures); one that returns is `settle()`d.

        `on_failure` runs after a failure is recorded and before the wait (to step down, say);
        its own failure is recorded the same way. Cancelling stops it.
        """
        while True:
            try:
                result = await body()
            except asyncio.CancelledError:
                self.stopped()
                raise
            except Exception as exc:
                delay = self.failed(exc)
                if on_failure is not None:
                    try:
                        await on_failure(exc)
                    except asyncio.CancelledError:
                        self.stopped()
                        raise
                    except Exception as inner:
                        self.log.error(
                            "%s: clean-up after the failure failed: %s", self.name, describe(inner)
                        )
                await self.sleep(delay)
                continue
            self.settle()
            return result
