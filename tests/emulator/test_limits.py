"""Flood limits on an injected clock, and seeded faults — no sleeping, no real time."""

from __future__ import annotations

import pytest

from emulator.limits import FaultInjector, Faults, FloodControl, Limits

from .conftest import FakeClock


def flood(clock: FakeClock, **limits: float) -> FloodControl:
    return FloodControl(Limits(**limits), clock)


def test_one_message_per_second_per_chat_after_a_short_burst(clock: FakeClock) -> None:
    fc = flood(clock)
    assert [fc.check(1, 10, False, False) for _ in range(3)] == [0, 0, 0]
    assert fc.check(1, 10, False, False) == 1  # retry after 1 s
    clock.advance(0.5)
    assert fc.check(1, 10, False, False) == 1
    clock.advance(0.5)
    assert fc.check(1, 10, False, False) == 0
    assert fc.check(1, 10, False, False) == 1
    assert fc.check(1, 11, False, False) == 0  # other chats are not affected


def test_thirty_messages_per_second_per_bot(clock: FakeClock) -> None:
    fc = flood(clock)
    assert all(fc.check(1, chat, False, False) == 0 for chat in range(30))
    assert fc.check(1, 30, False, False) == 1
    assert fc.check(2, 30, False, False) == 0  # another bot has its own budget
    clock.advance(1 / 30)
    assert fc.check(1, 30, False, False) == 0


def test_a_refused_message_takes_no_token(clock: FakeClock) -> None:
    fc = flood(clock)
    for _ in range(3):
        fc.check(1, 10, False, False)
    for chat in range(100, 127):  # 27 more: 30 in all
        assert fc.check(1, chat, False, False) == 0
    assert fc.check(1, 10, False, False) == 1  # refused by the chat, so ...
    assert fc.check(1, 999, False, False) == 1  # ... the 30/s budget is used up by the 30 only


def test_twenty_messages_per_minute_per_group(clock: FakeClock) -> None:
    fc = flood(clock, chat_burst=100, chat_rate=100)
    assert all(fc.check(1, -5, True, False) == 0 for _ in range(20))
    assert fc.check(1, -5, True, False) == 3  # one token every 3 s
    clock.advance(3)
    assert fc.check(1, -5, True, False) == 0


def test_paid_broadcast_allows_a_thousand_per_second(clock: FakeClock) -> None:
    fc = flood(clock)
    assert all(fc.check(1, chat, False, True) == 0 for chat in range(1000))
    assert fc.check(1, 5000, False, True) == 1
    assert fc.check(1, 5001, False, False) == 0  # the free budget is separate


def test_limits_off(clock: FakeClock) -> None:
    fc = flood(clock, enabled=False)
    assert all(fc.check(1, 1, False, False) == 0 for _ in range(10_000))


def test_retry_after_is_whole_seconds_rounded_up(clock: FakeClock) -> None:
    fc = flood(clock, chat_rate=0.4, chat_burst=1)
    assert fc.check(1, 1, False, False) == 0
    assert fc.check(1, 1, False, False) == 3  # 2.5 s -> 3


def draws(faults: Faults, n: int = 200) -> list[str | None]:
    injector = FaultInjector(faults)
    return [injector.draw("sendmessage", 1) for _ in range(n)]


def test_faults_are_seeded() -> None:
    config = dict(seed=7, error_rate=0.1, drop_rate=0.1, slow_rate=0.1, lost_rate=0.1)
    first = draws(Faults(**config))
    assert first == draws(Faults(**config))
    assert first != draws(Faults(**{**config, "seed": 8}))
    counts = {kind: first.count(kind) for kind in ("error", "drop", "slow", "lost")}
    assert all(10 <= c <= 35 for c in counts.values()), counts
    assert first.count(None) > 80


def test_faults_spare_get_updates_and_other_methods() -> None:
    injector = FaultInjector(Faults(error_rate=1.0))
    assert injector.draw("getupdates", None) is None
    assert injector.draw("sendmessage", 1) == "error"
    injector.configure(methods=["sendDocument"])
    assert injector.draw("sendmessage", 1) is None
    assert injector.draw("senddocument", 1) == "error"


def test_scripted_faults_come_first_and_are_used_up() -> None:
    injector = FaultInjector()
    injector.inject("lost", count=2, method="sendMessage", chat_id=42)
    assert injector.draw("sendmessage", 41) is None
    assert injector.draw("getme", 42) is None
    assert injector.draw("sendmessage", "42") == "lost"
    assert injector.draw("sendmessage", 42) == "lost"
    assert injector.draw("sendmessage", 42) is None
    assert injector.served == {"lost": 2}
    with pytest.raises(ValueError, match="fault kind"):
        injector.inject("explode")
