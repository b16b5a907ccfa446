"""Real processes: two schedulers on one database (one leads), and SIGKILL at random points.

These run `qotd deliver` in subprocesses against an emulator served from the test
process, on SQLite (leadership: a flock beside the file) and PostgreSQL (an advisory lock).
"""

from __future__ import annotations

import datetime as dt
import random
import time

from bot.delivery.ledger import PENDING, SENDING, SENT, UNCERTAIN, Ledger
from bot.messages import heading
from tests.bot.delivery.conftest import DAY, PUBLISH, subscribe
from tests.qotd.processes import Delivery


def messages_of_day(emu, chat_id: int, day: dt.date) -> int:
    return sum(1 for text in emu.texts(chat_id) if text.startswith(heading(day)))


def wait_until(condition, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_two_schedulers_only_one_publishes_and_the_other_takes_over(
    emu, token, store, database_url, tmp_path
):
    channel = emu.create_channel()
    users = subscribe(store, [emu.create_user() for _ in range(60)])
    ledger = Ledger(store)
    args = ("--serve", "--standby-poll", "0.2", "--rate", "20")
    env = {"CHANNEL_IDS": str(channel)}
    first = Delivery(emu, token, database_url, tmp_path / "a.log", *args, now=PUBLISH, env=env)
    second = None
    try:
        first.wait_for("leader now")
        second = Delivery(emu, token, database_url, tmp_path / "b.log", *args, now=PUBLISH, env=env)
        second.wait_for("standing by")
        wait_until(lambda: ledger.counts(DAY)[SENT] >= 15)
        assert "leader now" not in second.text()  # while the first lives, the second waits
        first.kill()
        second.wait_for("leader now")
        wait_until(lambda: ledger.counts(DAY)[PENDING] == 0 and ledger.counts(DAY)[SENDING] == 0)
        assert second.terminate() == 0
    finally:
        first.kill()
        if second is not None and second.running():
            second.kill()
    counts = ledger.counts(DAY)
    assert "publishing" in first.text()
    assert [t.startswith(heading(DAY)) for t in emu.texts(channel)] == [True]  # posted once
    for user in users:
        row = ledger.get(DAY, user)
        expected = {SENT: {1}, UNCERTAIN: {0, 1}}[row.status]
        assert messages_of_day(emu, user, DAY) in expected
    assert counts[SENT] + counts[UNCERTAIN] == 61
    assert emu.counters(per_chat=False)["duplicates"] == 0


def test_sigterm_stops_the_broadcast_in_time_and_the_next_start_resumes(
    emu, token, store, database_url, tmp_path
):
    users = subscribe(store, [emu.create_user() for _ in range(200)])
    ledger = Ledger(store)
    run = Delivery(emu, token, database_url, tmp_path / "a.log", "--once", "--rate", "25", now=PUBLISH)
    wait_until(lambda: ledger.counts(DAY)[SENT] >= 10)
    started = time.monotonic()
    assert run.terminate() == 0
    assert time.monotonic() - started < 10
    counts = ledger.counts(DAY)
    assert counts[SENDING] == 0 and counts[PENDING] > 0
    again = Delivery(emu, token, database_url, tmp_path / "b.log", "--once", "--rate", "400", now=PUBLISH)
    assert again.wait() == 0
    counts = ledger.counts(DAY)
    assert counts[SENT] + counts[UNCERTAIN] == 200 and counts[PENDING] == 0
    assert all(messages_of_day(emu, u, DAY) == 1 for u in users if ledger.get(DAY, u).status == SENT)
    assert emu.counters(per_chat=False)["duplicates"] == 0


def test_sigkill_at_random_points_never_sends_twice_nor_skips_anyone(
    emu, token, store, database_url, tmp_path
):
    """At least 20 SIGKILLs at random (seeded) points of broadcasts to 200 subscribers: each
    day's broadcast is killed up to three times, then restarted until it finishes."""
    rng = random.Random(20261123)
    users = subscribe(store, [emu.create_user() for _ in range(200)], at=PUBLISH - dt.timedelta(days=30))
    ledger = Ledger(store)
    kills = uncertain_total = gaps = days = 0
    while kills < 20:
        day = DAY + dt.timedelta(days=days)
        now = PUBLISH + dt.timedelta(days=days)
        attempt = 0
        while True:
            log = tmp_path / f"day{days}-{attempt}.log"
            run = Delivery(emu, token, database_url, log, "--once", "--rate", "400", now=now)
            if attempt < 3 and rng.random() < 0.9:
                time.sleep(rng.uniform(0.5, 1.5))  # startup takes ~0.6 s, sending ~0.5 s
                if run.running():
                    run.kill()
                    kills += 1
                    attempt += 1
                    continue
            assert run.wait() == 0, run.text()[-2000:]
            break
        days += 1
        counts = ledger.counts(day)
        assert counts[PENDING] == counts[SENDING] == 0
        assert counts[SENT] + counts[UNCERTAIN] == len(users)
        for user in users:
            status = ledger.get(day, user).status
            received = messages_of_day(emu, user, day)
            if status == SENT:
                assert received == 1, (day, user)
            else:  # uncertain: the request may or may not have got through, never twice
                assert status == UNCERTAIN and received <= 1, (day, user, status, received)
                uncertain_total += 1
                gaps += received == 0
    print(
        f"\ncrash test: {days} broadcasts x {len(users)} subscribers, {kills} SIGKILLs; "
        f"{uncertain_total} sends recorded uncertain "
        f"({uncertain_total - gaps} had gone out, {gaps} had not); "
        f"duplicates: {emu.counters(per_chat=False)['duplicates']}"
    )
    assert emu.counters(per_chat=False)["duplicates"] == 0


def test_with_retry_uncertain_a_duplicate_can_only_be_a_resent_uncertain_send(
    emu, token, store, database_url, tmp_path
):
    """RETRY_UNCERTAIN=true trades gaps for possible duplicates: after random SIGKILLs nobody is
    missed, and whoever got two messages is a row that was claimed more than once."""
    rng = random.Random(7)
    users = subscribe(store, [emu.create_user() for _ in range(200)])
    ledger = Ledger(store)
    env = {"RETRY_UNCERTAIN": "true"}
    kills = attempt = 0
    while True:
        log = tmp_path / f"run{attempt}.log"
        run = Delivery(emu, token, database_url, log, "--once", "--rate", "400", now=PUBLISH, env=env)
        attempt += 1
        if kills < 6:
            time.sleep(rng.uniform(0.5, 1.5))
            if run.running():
                run.kill()
                kills += 1
                continue
        assert run.wait() == 0, run.text()[-2000:]
        break
    assert ledger.counts(DAY)[SENT] == len(users)
    for user in users:
        received = messages_of_day(emu, user, DAY)
        assert received >= 1
        if received > 1:
            assert ledger.get(DAY, user).attempts > 1
