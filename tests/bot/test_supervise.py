"""The supervisor: a failing streak is logged once with its cause, retried with backoff, shown."""

from __future__ import annotations

import logging

import pytest

from bot.supervise import RETRYING, STOPPED, Backoff, Supervisor, describe


class Sleeps:
    def __init__(self):
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_backoff_doubles_up_to_its_cap():
    backoff = Backoff(first=0.5, cap=4, jitter=0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 4, 4]
    assert Backoff(first=1, cap=8, jitter=0.5).delay(2, rand=lambda: 1.0) == 1.0


def test_describe_names_the_exception_and_its_cause_on_one_line_without_secrets():
    try:
        try:
            raise ConnectionRefusedError("refused\nsecond line")
        except OSError as exc:
            raise RuntimeError("token 123:ABC rejected") from exc
    except RuntimeError as exc:
        assert (
            describe(exc, ["123:ABC"])
            == "RuntimeError: token *** rejected (from ConnectionRefusedError: refused)"
        )


async def test_a_failing_streak_is_logged_once_then_its_recovery(caplog):
    causes = [OSError("refused"), OSError("shutting down"), TimeoutError("slow")]
    sleeps = Sleeps()
    ticks = iter(range(100))
    supervisor = Supervisor(
        "task", backoff=Backoff(first=1, cap=3, jitter=0), sleep=sleeps, clock=lambda: next(ticks)
    )
    seen = []

    async def body():
        if causes:
            seen.append(supervisor.snapshot())
            raise causes.pop(0)
        supervisor.worked()
        return "done"

    with caplog.at_level(logging.DEBUG, logger="qotd.supervise"):
        assert await supervisor.run(body) == "done"
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in errors] == [
        "task failed: OSError: refused; retrying with backoff up to 3s",
        "task recovered after 3 failures in 3s",
    ]
    assert errors[0].exc_info is not None  # the first failure with its traceback
    assert sleeps.slept == [1, 2, 3]
    assert seen[1]["state"] == RETRYING and seen[1]["error"] == "OSError: refused"
    assert seen[2]["error"] == "OSError: shutting down" and seen[2]["failures"] == 2
    assert supervisor.state == STOPPED and supervisor.healthy


async def test_announced_retries_are_one_line_each_without_traceback(caplog):
    sleeps = Sleeps()
    failures = [OSError("down"), OSError("down")]
    supervisor = Supervisor(
        "start-up", announce_retries=True, backoff=Backoff(first=2, jitter=0), sleep=sleeps
    )

    async def body():
        if failures:
            raise failures.pop()

    with caplog.at_level(logging.INFO, logger="qotd.supervise"):
        await supervisor.run(body)
    assert [(r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("start-up failed: OSError: down; retry 1 in 2s", None),
        ("start-up failed: OSError: down; retry 2 in 4s", None),
    ]


async def test_cancelling_a_supervised_task_stops_it():
    supervisor = Supervisor("task", sleep=Sleeps())

    async def body():
        raise OSError("down")

    async def failing_sleep(seconds):
        raise __import__("asyncio").CancelledError

    supervisor.sleep = failing_sleep
    with pytest.raises(__import__("asyncio").CancelledError):
        await supervisor.run(body)
    assert supervisor.state == RETRYING  # the failure stays shown until someone stops it
    supervisor.stopped()
    assert supervisor.healthy
