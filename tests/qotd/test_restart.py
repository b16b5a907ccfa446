"""An admin's /add survives a restart of `qotd serve` (SIGTERM and SIGKILL), on SQLite and PostgreSQL.

A real `qotd serve` in webhook mode against the Bot API emulator: the admin starts /add and
answers the first question, the process is stopped, a new one starts on the same database,
and the admin's next answers continue the conversation where it was, up to the saved quote.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from quotes.store import Store
from tests.qotd.process import ROOT, Served, free_port

TEXT = "A restart is a deploy that nobody planned, and a draft must outlive both of them."


class Admin:
    """The admin, talking to the bot through the emulator, waiting for each answer."""

    def __init__(self, emulator, token: str):
        self.emulator, self.token = emulator, token
        self.id = emulator.create_user(first_name="Ada")

    async def say(self, text: str, served: Served, answers: int = 1) -> str:
        """Send `text`; return the bot's next `answers` answers (plain text)."""
        before = len(self.emulator.texts(self.id))
        self.emulator.send_text(self.id, text, bot=self.token)
        arrived = await asyncio.to_thread(self.emulator.wait_messages, self.id, before + answers, 20)
        assert arrived, f"no answer to {text!r}:\n{served.text()}"
        return "\n".join(self.emulator.texts(self.id)[before:])


def serve(tmp_path, emulator, token: str, database_url: str, port: int, admin: int, name: str) -> Served:
    folder = tmp_path / name
    folder.mkdir()
    served = Served(
        folder,
        {
            "DATABASE_URL": database_url,
            "BOT_TOKEN": token,
            "TELEGRAM_API_URL": emulator.url,
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "ADMIN_IDS": str(admin),
        },
        port=port,
    )
    health = served.wait_ready()
    assert health.json()["services"]["telegram"] == "running", served.text()
    return served


def release(database_url: str) -> None:
    """The release step of a deploy (`qotd db upgrade`; SQLite does it by itself at start)."""
    result = subprocess.run(
        [sys.executable, "-m", "qotd", "db", "upgrade"],
        cwd=ROOT,
        env=os.environ | {"DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
async def test_an_add_interrupted_by_a_restart_continues_where_it_was(tmp_path, emulator, database_url, stop):
    release(database_url)
    emulator.configure_limits(enabled=False)
    token = emulator.new_bot_token(username="qotd_restart_bot")
    admin = Admin(emulator, token)
    port = free_port()
    first = serve(tmp_path, emulator, token, database_url, port, admin.id, "first")
    try:
        assert "Adding a quote" in await admin.say("/add", first)
        assert "Who said or wrote it?" in await admin.say(TEXT, first)
        # Telegram has its 200 for both updates: the step is in the database.
        assert await asyncio.to_thread(emulator.wait_webhook, 2, token, 10), first.text()
        if stop == "SIGTERM":
            code, _ = first.terminate()
            assert code == 0, first.text()
        else:
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(timeout=10)
    finally:
        first.close()
    second = serve(tmp_path, emulator, token, database_url, port, admin.id, "second")
    try:
        # The step after the text: the speaker. A process without the draft would not ask for a source.
        assert "Which source is it from?" in await admin.say("Jane Roe, Minister of Restarts", second)
        assert "When was the quote said or written?" in await admin.say("cfr-same-boat", second)
        assert "Topics" in await admin.say("2013", second)
        preview = await admin.say("-", second, answers=2)
        assert preview.startswith("Preview\n\n“A restart is a deploy")
        # a text not in the source's copy (issue 10): saved only as unverified, when asked
        assert preview.endswith("to save it as not checked, or Cancel.")
        saved = await admin.say("Save as unverified", second)
        assert saved.startswith("Saved as "), saved
        code, _ = second.terminate()
        assert code == 0, second.text()
    finally:
        second.close()
    store = Store.connect(database_url)
    try:
        (quote,) = [q for q in store.quotes() if q.text == TEXT]
        assert (quote.speaker, quote.speaker_role, quote.source, quote.date.iso()) == (
            "Jane Roe",
            "Minister of Restarts",
            "cfr-same-boat",
            "2013",
        )
        assert saved == (
            f"Saved as {quote.id}. Not checked: the text is not in the copy of the source held here.\n"
            f"/edit {quote.id} changes it; /hide {quote.id} hides it."
        )
    finally:
        store.close()
