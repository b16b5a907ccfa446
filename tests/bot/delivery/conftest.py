"""Fixtures for the delivery tests: a ledger on a loaded store, an emulator, a real PTB Bot."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.delivery.ledger import Group, Ledger, add_subscribers
from emulator import running_emulator
from qotd.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable

# 09:00 UTC, the default publish time, on the fixtures' day.
PUBLISH = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DAY = PUBLISH.date()
BEFORE = PUBLISH - dt.timedelta(days=2)  # when the test subscribers subscribed
DEFAULT = Group(None, None)


@pytest.fixture
def ledger(store) -> Ledger:
    return Ledger(store)


@pytest.fixture
def emu():
    """An emulator with Telegram's flood limits off (tests that need them turn them on)."""
    with running_emulator(limits={"enabled": False}) as emulator:
        yield emulator


@pytest.fixture
def token(emu) -> str:
    return emu.new_bot_token()


def make_bot(emu, token: str, read_timeout: float = 5.0) -> Bot:
    request = HTTPXRequest(connection_pool_size=64, read_timeout=read_timeout, connect_timeout=5)
    return Bot(token, base_url=emu.base_url, request=request)


@pytest.fixture
async def bot(emu, token):
    async with make_bot(emu, token, read_timeout=1.0) as b:
        yield b


def settings_for(database_url: str, **env: str) -> Settings:
    return Settings.from_env({"DATABASE_URL": database_url} | env)


def subscribe(store, chat_ids, at: dt.datetime = BEFORE, **kw) -> list[int]:
    """Subscribe chats (as /start would) at `at`; return their ids."""
    ids = list(chat_ids)
    add_subscribers(store, ids, at, **kw)
    return ids


def plan_today(store, ledger: Ledger, due: dt.datetime = PUBLISH, day: dt.date = DAY) -> str:
    """Plan the day's deliveries for the default group as due at `due`; return the quote id."""
    pick = store.pick_for(day, due)
    ledger.plan(day, pick.quote.id, DEFAULT, due, "pending", due)
    return pick.quote.id
