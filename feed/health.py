"""Health that tells the truth: /healthz answers from state the services keep current.

`DatabaseProbe` checks the database every second from a thread of its own, on a connection of
its own with its own timeouts, so neither a busy event loop nor a full thread pool (a thousand
readers at once) can make it late, and a request to /healthz touches no database at all: it
reads the probe's last answer and the services' states. An answer older than `stale_after`
seconds counts as a failure (the probe is stuck: the database does not answer).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from quotes.store import Store

log = logging.getLogger(__name__)

# A service whose state is one of these is healthy; any other state makes /healthz answer 503.
# "leader" and "standby" are the scheduler's (qotd/scheduler.py): a standby instance is healthy.
HEALTHY_STATES = frozenset({"running", "idle", "off", "leader", "standby"})


class Service(Protocol):
    """A background service the web process runs: the scheduler, the Telegram runner."""

    @property
    def state(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Reading:
    """One answer of the probe."""

    ok: bool
    error: str | None
    last_publish: dt.date | None
    at: float  # time.monotonic() of the answer
    day: dt.date | None = None  # the published day it was asked about
    today: dict[str, Any] | None = None  # that day's quote and state, as /healthz shows it


def _probe_engine(store: Store, timeout: float) -> sa.Engine:
    url = store.engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return store.engine  # nothing else can open an in-memory database
        return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"timeout": timeout})
    millis = int(timeout * 1000)
    return sa.create_engine(
        url,
        pool_size=1,
        max_overflow=0,
        pool_timeout=timeout,
        pool_pre_ping=False,
        connect_args={"connect_timeout": max(1, int(timeout)), "options": f"-c statement_timeout={millis}"},
    )


class DatabaseProbe:
    """Checks the database every `every` seconds from its own thread and keeps the last answer."""

    def __init__(
        self,
        store: Store,
        day: Callable[[], dt.date],
        today: Callable[[Store, dt.date], dict[str, Any]] | None = None,
        *,
        every: float = 1.0,
        timeout: float = 2.0,
        stale_after: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.day = day
        self.today = today
        self.every, self.timeout, self.stale_after = every, timeout, stale_after
        self.monotonic = monotonic
        self.reading: Reading | None = None
        self._engine: sa.Engine | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> Reading:
        """Ask the database once (the newest published day) and keep the answer."""
        try:
            if self._engine is None:
                self._engine = _probe_engine(self.store, self.timeout)
            store, day = Store(self._engine), self.day()
            changes = store.changes(day)
            today = self.today(store, day) if self.today is not None else None
            reading = Reading(True, None, changes[0], self.monotonic(), day, today)
        except Exception as exc:  # any failure to reach the database is the answer here
            first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0][:200]
            reading = Reading(False, f"unreachable: {type(exc).__name__}: {first}", None, self.monotonic())
            if self.reading is None or self.reading.ok:
                log.error("database probe: %s", reading.error)
        else:
            if self.reading is not None and not self.reading.ok:
                log.warning("database probe: the database answers again")
        self.reading = reading
        return reading

    def current(self) -> Reading:
        """The last answer, or a failure if there is none recent enough."""
        reading = self.reading
        now = self.monotonic()
        if reading is None:
            return Reading(False, "unknown: not checked yet", None, now)
        if now - reading.at > self.stale_after:
            return Reading(False, f"unreachable: no answer for {now - reading.at:.0f}s", None, reading.at)
        return reading

    @property
    def running(self) -> bool:
        """Whether its thread checks (the site's lifespan started it)."""
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="database-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.check()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)
            self._thread = None
        if self._engine is not None and self._engine is not self.store.engine:
            self._engine.dispose()
        self._engine = None


def service_name(service: object) -> str:
    return getattr(service, "name", type(service).__name__)


def health_answer(
    probe: DatabaseProbe, services: Sequence[Service], fixed: Mapping[str, str]
) -> tuple[int, dict[str, Any]]:
    """The status and body of /healthz, from the probe's last answer and the services' states."""
    reading = probe.current()
    body: dict[str, Any] = {
        "database": "ok" if reading.ok else reading.error,
        "last_publish": reading.last_publish.isoformat() if reading.last_publish else None,
    }
    if reading.ok and reading.today is not None:
        body["today"] = reading.today
    body.update(fixed)
    states = {service_name(s): s.state for s in services}
    body["services"] = states
    body["scheduler"] = states.get("scheduler", "not running")
    details = {
        service_name(s): getattr(s, "health")()  # noqa: B009 - optional, not in the protocol
        for s in services
        if callable(getattr(s, "health", None))
    }
    if details:
        body["details"] = details
    healthy = reading.ok and all(state in HEALTHY_STATES for state in states.values())
    body["status"] = "ok" if healthy else "unavailable"
    return (200 if healthy else 503), body
