"""Fixtures for the emulator's own tests (the shared ones live in emulator.pytest_plugin)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from emulator import Emulator, running_emulator
from emulator.pytest_plugin import emulator, emulator_bot, emulator_token

__all__ = ["emulator", "emulator_bot", "emulator_token"]


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked(clock: FakeClock) -> Iterator[Emulator]:
    """An emulator whose flood limits run on the fake clock."""
    with running_emulator(clock=clock) as emu:
        yield emu


BotFactory = Callable[..., Bot]


@pytest.fixture
async def make_bot() -> AsyncIterator[BotFactory]:
    """make_bot(emu, token=None, read_timeout=None) -> a Bot pointed at the emulator.  Its
    HTTP clients are closed at the end of the test even if it was never initialized."""
    requests: list[HTTPXRequest] = []

    def make(emu: Emulator, token: str | None = None, read_timeout: float | None = None) -> Bot:
        kwargs = {"read_timeout": read_timeout} if read_timeout else {}
        request, updates_request = HTTPXRequest(**kwargs), HTTPXRequest(**kwargs)
        requests.extend((request, updates_request))
        return Bot(
            token or emu.new_bot_token(),
            base_url=emu.base_url,
            base_file_url=emu.file_base_url,
            request=request,
            get_updates_request=updates_request,
        )

    yield make
    for request in requests:
        await request.shutdown()
