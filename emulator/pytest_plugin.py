"""pytest fixtures for the emulator.

Use from another test folder with ``pytest_plugins = ["emulator.pytest_plugin"]`` in its
conftest.py (or import the fixtures).

* ``emulator``: a fresh :class:`~emulator.Emulator` served on an ephemeral 127.0.0.1 port for one
  test; ``emulator.base_url`` is what to give python-telegram-bot.
* ``emulator_token``: a bot token of that emulator.
* ``emulator_bot``: an initialized ``telegram.Bot`` pointed at it (async fixture).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from .core import Emulator
from .server import running_emulator


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with running_emulator() as emu:
        yield emu


@pytest.fixture
def emulator_token(emulator: Emulator) -> str:
    return emulator.new_bot_token()


@pytest.fixture
async def emulator_bot(emulator: Emulator, emulator_token: str) -> AsyncIterator[object]:
    from telegram import Bot

    bot = Bot(emulator_token, base_url=emulator.base_url, base_file_url=emulator.file_base_url)
    async with bot:
        yield bot
