"""Fault injection seen from python-telegram-bot: 5xx, dropped connections, answers too slow for
the client's timeout, and answers lost after the message went out (the duplicates case)."""

from __future__ import annotations

import pytest
from telegram.error import NetworkError, TimedOut

from emulator import Emulator

from .conftest import BotFactory


async def test_5xx_is_a_network_error_and_nothing_is_sent(emulator: Emulator, make_bot: BotFactory):
    bot = make_bot(emulator)
    uid = emulator.create_user()
    emulator.inject_fault("error", method="sendMessage")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(uid, "q")
    emulator.configure_faults(error_status=502)
    emulator.inject_fault("error", method="sendMessage")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(uid, "q")
    await bot.send_message(uid, "q")
    assert emulator.texts(uid) == ["q"]
    assert emulator.counters()["faults"] == {"error": 2}


async def test_dropped_connection_sends_nothing(emulator: Emulator, make_bot: BotFactory):
    bot = make_bot(emulator)
    uid = emulator.create_user()
    emulator.inject_fault("drop", method="sendMessage", chat_id=uid)
    with pytest.raises(NetworkError):
        await bot.send_message(uid, "q")
    assert emulator.texts(uid) == []


async def test_lost_answer_makes_a_retry_a_duplicate(emulator: Emulator, make_bot: BotFactory):
    bot = make_bot(emulator)
    uid, other = emulator.create_user(), emulator.create_user()
    emulator.inject_fault("lost", method="sendMessage", chat_id=uid)
    with pytest.raises(NetworkError):
        await bot.send_message(uid, "quote of the day")
    assert emulator.texts(uid) == ["quote of the day"]  # it did go out
    await bot.send_message(uid, "quote of the day")  # the naive retry
    await bot.send_message(other, "quote of the day")  # same text, other chat: no duplicate
    counters = emulator.counters()
    assert counters["duplicates"] == 1
    assert counters["duplicates_per_chat"] == {str(uid): 1}
    assert counters["messages_per_chat"] == {str(uid): 2, str(other): 1}


async def test_slow_answer_times_the_client_out_but_the_message_went_out(
    emulator: Emulator, make_bot: BotFactory
):
    bot = make_bot(emulator, read_timeout=0.3)
    uid = emulator.create_user()
    emulator.configure_faults(slow_delay=60)
    emulator.inject_fault("slow", method="sendMessage")
    with pytest.raises(TimedOut):
        await bot.send_message(uid, "q")
    assert emulator.texts(uid) == ["q"]


async def test_fault_rates_are_repeatable_with_a_seed(emulator: Emulator, make_bot: BotFactory):
    bot = make_bot(emulator)
    emulator.configure_limits(enabled=False)

    async def run() -> list[bool]:
        emulator.configure_faults(seed=11, error_rate=0.2, drop_rate=0.1, lost_rate=0.1)
        uid = emulator.create_user()
        outcome = []
        for n in range(40):
            try:
                await bot.send_message(uid, f"m{n}")
                outcome.append(True)
            except NetworkError:
                outcome.append(False)
        emulator.configure_faults(error_rate=0, drop_rate=0, lost_rate=0)
        return outcome

    first = await run()
    second = await run()
    assert first == second
    assert 8 <= first.count(False) <= 24


async def test_get_updates_is_spared_by_default(emulator: Emulator, make_bot: BotFactory):
    bot = make_bot(emulator)
    emulator.configure_faults(error_rate=1.0)
    assert await bot.get_updates() == ()
