"""The scheduler's tasks under supervision: a database that fails is survived, seen and logged once."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from bot.delivery.ledger import SENT
from bot.supervise import Backoff
from qotd.leadership import Leadership, leadership_for
from tests.bot.delivery.conftest import DAY, PUBLISH, subscribe
from tests.qotd.test_scheduler import _until, service


class Unreachable(Leadership):
    """The real leadership, behind a database that refuses the first `failures` calls."""

    def __init__(self, inner: Leadership, failures: int):
        self.inner, self.failures = inner, failures

    def _maybe_fail(self) -> None:
        if self.failures:
            self.failures -= 1
            raise sa.exc.OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))

    @property
    def epoch(self):  # type: ignore[override]
        return self.inner.epoch

    def try_acquire(self) -> bool:
        self._maybe_fail()
        return self.inner.try_acquire()

    def holds(self) -> bool:
        self._maybe_fail()
        return self.inner.holds()

    def valid(self) -> bool:
        return self.inner.valid()

    def release(self) -> None:
        self.inner.release()

    @property
    def renew_every(self) -> float:
        return 0.05


async def test_a_leadership_that_cannot_be_reached_is_retried_shown_and_logged_once(
    emu, bot, store, ledger, caplog
):
    subscribe(store, [emu.create_user()])
    svc = service(store, bot, PUBLISH)
    svc.leadership = Unreachable(leadership_for(store), failures=4)
    svc.supervisors["leadership"].backoff = Backoff(first=0.05, cap=0.05, jitter=0)
    seen = []
    with caplog.at_level(logging.INFO, logger="qotd.scheduler"):
        await svc.start()
        try:
            await _until(lambda: svc.state == "retrying", within=20)
            seen.append(svc.health()["tasks"]["leadership"])
            await _until(lambda: svc.state == "leader", within=20)
            await _until(lambda: ledger.counts(DAY)[SENT] == 1, within=20)
        finally:
            await svc.stop()
    assert seen[0]["state"] == "retrying"
    assert seen[0]["error"] == "OperationalError: connection refused"
    failures = [r.getMessage() for r in caplog.records if "leadership failed" in r.getMessage()]
    assert failures == [
        "scheduler: leadership failed: OperationalError: connection refused; retrying with backoff up to 0s"
    ]
    assert "scheduler: leadership recovered after 4 failures" in caplog.text
    assert svc.state == "stopped"


async def test_a_leader_whose_database_fails_steps_down_and_leads_again(emu, bot, store, ledger):
    subscribe(store, [emu.create_user()])
    svc = service(store, bot, PUBLISH)
    flaky = svc.leadership = Unreachable(leadership_for(store), failures=0)
    svc.supervisors["leadership"].backoff = Backoff(first=0.05, cap=0.05, jitter=0)
    await svc.start()
    try:
        await _until(lambda: svc.role == "leader", within=20)
        await _until(lambda: ledger.counts(DAY)[SENT] == 1, within=20)
        flaky.failures = 2  # the next renewals fail: the leader cannot know it still leads
        await _until(lambda: svc.role == "standby", within=20)
        await _until(lambda: svc.state == "leader", within=20)
        assert svc.health()["tasks"]["leadership"] == {"state": "running", "restarts": 2}
    finally:
        await svc.stop()
    assert ledger.counts(DAY)[SENT] == 1
