"""Updates: long polling (offset, limit, timeout, allowed_updates), conflicts, webhooks, and the
whole python-telegram-bot Application running against the emulator."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from telegram import Update
from telegram.error import Conflict
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from emulator import Emulator, running_emulator

from .conftest import BotFactory


async def test_offset_confirms_and_limit_caps(emulator: Emulator, make_bot: BotFactory):
    bot = make_bot(emulator)
    uid = emulator.create_user()
    for n in range(5):
        emulator.send_text(uid, f"m{n}")
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first] == ["m0", "m1"]
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest] == ["m2", "m3", "m4"]
    assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["m4"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()


async def test_long_poll_wakes_up_when_a_user_writes(emulator: Emulator, make_bot: BotFactory):
    bot = make_bot(emulator)
    uid = emulator.create_user()
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    assert await asyncio.to_thread(emulator.wait_polling, bot.token)
    emulator.send_command(uid, "today")  # from this (another) thread
    [update] = await asyncio.wait_for(poll, 10)
    assert update.message.text == "/today"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.from_user.id == uid


async def test_long_poll_times_out_empty(emulator: Emulator, make_bot: BotFactory):
    bot = make_bot(emulator)
    assert await bot.get_updates(timeout=1) == ()


async def test_a_second_poller_terminates_the_first(emulator: Emulator, make_bot: BotFactory):
    token = emulator.new_bot_token()
    first, second = make_bot(emulator, token), make_bot(emulator, token)
    poll = asyncio.create_task(first.get_updates(timeout=30))
    assert await asyncio.to_thread(emulator.wait_polling, token)
    assert await second.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await poll


async def test_allowed_updates_filters_new_updates(emulator: Emulator, make_bot: BotFactory):
    bot = make_bot(emulator)
    uid = emulator.create_user()
    await bot.get_updates(allowed_updates=["callback_query"])
    emulator.send_text(uid, "ignored")
    sent = await bot.send_message(
        uid, "q", reply_markup={"inline_keyboard": [[{"text": "b", "callback_data": "d"}]]}
    )
    emulator.press_button(uid, sent.message_id, "d")
    [update] = await bot.get_updates()
    assert update.callback_query.data == "d"


async def test_group_privacy_mode(emulator: Emulator, make_bot: BotFactory):
    bot = make_bot(emulator)
    me = await bot.get_me()
    uid = emulator.create_user()
    group = emulator.create_group(members=[uid])
    emulator.send_text(uid, "just chatting", chat_id=group)
    emulator.send_command(uid, "today", chat_id=group, bot=bot.token, mention=True)
    [update] = await bot.get_updates()
    assert update.message.text == f"/today@{me.username}"
    assert update.message.chat.type == "group"


class Receiver:
    """A webhook endpoint on 127.0.0.1 that fails its first ``fail`` requests with 500."""

    def __init__(self, fail: int = 0):
        self.fail = fail
        self.requests: list[tuple[dict[str, str], dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), json.loads(body)))
                status = 500 if len(receiver.requests) <= receiver.fail else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def quick_retries() -> Iterator[Emulator]:
    with running_emulator(webhook_retry_delay=0.0) as emu:
        yield emu


async def test_webhook_delivery_with_secret_and_retries(
    quick_retries: Emulator, make_bot: BotFactory
):
    emu = quick_retries
    bot = make_bot(emu)
    uid = emu.create_user()
    with Receiver(fail=2) as receiver:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret-token")
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates()
        emu.send_text(uid, "hello hook")
        assert await asyncio.to_thread(emu.wait_webhook, 1, bot.token)
        info = await bot.get_webhook_info()
        assert await bot.delete_webhook()
    assert len(receiver.requests) == 3  # two 500s, then accepted
    headers, body = receiver.requests[-1]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret-token"
    assert body["message"]["text"] == "hello hook"
    assert all(b["update_id"] == body["update_id"] for _, b in receiver.requests)
    assert info.url == receiver.url
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == ()


async def test_the_whole_application_polls_and_answers(emulator: Emulator):
    token = emulator.new_bot_token()
    uid = emulator.create_user(first_name="Ann")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        await update.effective_message.reply_html(
            f"Welcome, <b>{update.effective_user.first_name}</b>!"
        )

    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(emulator.base_url)
        .base_file_url(emulator.file_base_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0)
        emulator.send_command(uid, "start")
        assert await asyncio.to_thread(emulator.wait_messages, uid, 1)
        await app.updater.stop()
        await app.stop()
    [reply] = emulator.bot_messages(uid)
    assert reply["text"] == "Welcome, Ann!"
    assert reply["parse_mode"] == "HTML"
    assert reply["entities"] == [{"type": "bold", "offset": 9, "length": 3}]
