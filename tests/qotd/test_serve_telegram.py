"""`qotd serve` with a bot, against the Bot API emulator over real HTTP (TELEGRAM_API_URL)."""

from __future__ import annotations

import asyncio
import time

from tests.qotd.process import Served, free_port


def start(tmp_path, emulator, port=None, **env):
    token = emulator.new_bot_token(username="qotd_e2e_bot")
    served = Served(
        tmp_path,
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
            "BOT_TOKEN": token,
            "TELEGRAM_API_URL": emulator.url,
        }
        | env,
        port=port,
    )
    return served, token


async def test_with_public_url_it_registers_the_webhook_and_takes_updates(tmp_path, emulator):
    port = free_port()
    served, token = start(tmp_path, emulator, port, PUBLIC_URL=f"http://127.0.0.1:{port}")
    try:
        health = served.wait_ready()
        assert health.status_code == 200, served.text()
        assert health.json()["services"]["telegram"] == "running"
        assert health.json()["scheduler"] in ("leader", "standby")
        info = emulator.webhook_info(bot=token)
        assert info["url"] == f"http://127.0.0.1:{port}/telegram/webhook"
        assert "today" in {c["command"] for c in emulator.commands(bot=token)}  # menus registered
        user = emulator.create_user(first_name="Ann")
        emulator.send_command(user, "today", bot=token)
        delivered = await asyncio.to_thread(emulator.wait_webhook, 1, token, 10)
        assert delivered, emulator.webhook_info(bot=token)
        assert not emulator.webhook_info(bot=token).get("last_error_message")
        # The update went through the bot's handlers: the user has today's quote.
        assert await asyncio.to_thread(emulator.wait_messages, user, 1, 10), served.text()
        assert "Sergey Lavrov" in emulator.texts(user)[0]
        code, seconds = served.terminate()
        assert code == 0 and seconds < 10, served.text()
        assert "webhook registered" in served.text()
    finally:
        served.close()


async def test_without_public_url_it_long_polls(tmp_path, emulator):
    served, token = start(tmp_path, emulator)
    try:
        assert served.wait_ready().json()["telegram"] == "on"
        assert await asyncio.to_thread(emulator.wait_polling, token, 10), served.text()
        code, seconds = served.terminate()
        assert code == 0 and seconds < 10, served.text()
        assert "long polling" in served.text()
    finally:
        served.close()


async def test_a_second_polling_process_is_told_polling_runs_as_one(tmp_path, emulator):
    """Long polling is one process: a second one started on the same bot meets Telegram's 409
    (each getUpdates ends the other's) and one of them says what that means, once."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first, token = start(tmp_path / "one", emulator)
    second = Served(
        tmp_path / "two",
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'one' / 'serve.sqlite3'}", "BOT_TOKEN": token,
         "TELEGRAM_API_URL": emulator.url},
    )  # fmt: skip
    try:
        first.wait_ready()
        second.wait_ready()
        said = "409 Conflict: another process is long-polling this bot"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and said not in first.text() + second.text():  # noqa: ASYNC110 (a log file)
            await asyncio.sleep(0.1)  # waiting for a log line, not for a time
        logs = first.text() + second.text()
        assert said in logs and "for replicas set PUBLIC_URL" in logs, logs[-3000:]
    finally:
        first.close()
        second.close()
