"""The real Application against the Bot API emulator over HTTP, driven one update at a time.

`bot` gives a Harness: users act through the emulator (in-process control calls), then
`pump()` fetches the waiting updates with getUpdates over HTTP and hands each to
`application.process_update`, so every test runs deterministically with no sleeping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from telegram.ext import Application

from bot.app import build_application, set_commands
from bot.limits import LimitSettings
from emulator import Emulator
from emulator.pytest_plugin import emulator
from qotd.settings import Settings
from quotes.store import Store
from quotes.store import schema as t
from tests.conftest import NOW

__all__ = ["emulator"]

# Generous limits: the journeys test behaviour, not pacing (tests/bot/test_limits.py does that).
FAST = LimitSettings(reply_rate=1000, reply_burst=1000, chat_rate=1000, chat_burst=1000, group_burst=1000,
                     user_rate=1000, user_burst=1000)  # fmt: skip
CHANGING_TABLES = (t.quotes, t.sources, t.pins, t.audit_log, t.subscribers)


@dataclass
class Harness:
    emu: Emulator
    app: Application
    store: Store
    admin: int
    reader: int
    offset: int = 0
    seen: dict[int, int] = field(default_factory=dict)

    async def pump(self) -> int:
        """Fetch every waiting update over HTTP and process it; return how many there were."""
        count = 0
        while updates := await self.app.bot.get_updates(offset=self.offset, timeout=0):
            for update in updates:
                self.offset = update.update_id + 1
                await self.app.process_update(update)
                count += 1
        return count

    def new_messages(self, chat_id: int) -> list[dict]:
        """Return what the bot sent to `chat_id` since the last call."""
        messages = self.emu.bot_messages(chat_id)
        start = self.seen.get(chat_id, 0)
        self.seen[chat_id] = len(messages)
        return messages[start:]

    async def say(self, user: int, text: str, chat: int | None = None) -> list[dict]:
        """The user sends `text` (in private, or in `chat`); return the bot's answers there."""
        chat_id = chat if chat is not None else user
        self.new_messages(chat_id)
        self.emu.send_text(user, text, chat_id=chat)
        await self.pump()
        return self.new_messages(chat_id)

    async def text(self, user: int, text: str, chat: int | None = None) -> str:
        """Like say(), but return the answers' texts joined (plain text, as users see it)."""
        return "\n".join(m["text"] or m["caption"] or "" for m in await self.say(user, text, chat))

    async def press(self, user: int, message: dict, data: str, chat: int | None = None) -> list[dict]:
        chat_id = chat if chat is not None else user
        self.new_messages(chat_id)
        self.emu.press_button(user, message["message_id"], data=data, chat_id=chat)
        await self.pump()
        return self.new_messages(chat_id)

    async def send_file(self, user: int, name: str, content: bytes, caption: str | None = None) -> str:
        self.new_messages(user)
        self.emu.send_document(user, name, content=content, caption=caption)
        await self.pump()
        return "\n".join(m["text"] or m["caption"] or "" for m in self.new_messages(user))

    async def inline(self, user: int, query: str) -> dict:
        before = len(self.emu.inline_answers)
        self.emu.inline_query(user, query)
        await self.pump()
        answers = self.emu.inline_answers[before:]
        assert len(answers) == 1, answers
        return answers[0]

    def snapshot(self) -> dict[str, list]:
        """Every row of the tables admin commands change, for "nothing changed" checks."""
        with self.store.read() as conn:
            return {
                table.name: sorted(
                    (tuple(str(v) for v in row) for row in conn.execute(sa.select(table))), key=str
                )
                for table in CHANGING_TABLES
            }


def buttons(message: dict) -> list[dict]:
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard") or [] for button in row]


@pytest.fixture
def settings_for(tmp_path):
    def make(emu: Emulator, token: str, admins: list[int], database_url: str) -> Settings:
        return Settings.from_env(
            {
                "BOT_TOKEN": token,
                "TELEGRAM_API_URL": emu.url,
                "ADMIN_IDS": ",".join(str(a) for a in admins),
                "CHANNEL_IDS": "@qotd_news",
                "DATA_DIR": str(tmp_path / "data"),
                "DATABASE_URL": database_url,
            }
        )

    return make


@pytest.fixture
async def bot(emulator: Emulator, store: Store, database_url: str, settings_for) -> AsyncIterator[Harness]:
    """The real Application on `store`, talking HTTP to a fresh emulator; an admin and a reader."""
    emulator.configure_limits(enabled=False)
    token = emulator.new_bot_token(username="qotd_test_bot")
    admin = emulator.create_user(first_name="Ada", username="ada")
    reader = emulator.create_user(first_name="Rob", username="rob")
    settings = settings_for(emulator, token, [admin], database_url)
    application = build_application(settings, store, updater=False, limits=FAST, clock=lambda: NOW)
    async with application:
        await set_commands(application)
        harness = Harness(emulator, application, store, admin, reader)
        yield harness


@pytest.fixture
def today() -> dt.date:
    return NOW.date()
