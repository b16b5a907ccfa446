"""The site with the bot mounted: only Telegram (with the secret) gets in, and the pages name the bot."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient
from telegram import Update
from telegram.ext import ApplicationBuilder, TypeHandler

from bot.app import build_application
from bot.runner import TelegramService
from bot.supervise import Backoff
from bot.webhook import webhook_secret
from qotd.serve import build_site
from quotes.store import schema as t
from tests.feed.conftest import SITE
from tests.qotd.conftest import FakeBotAPI

TOKEN = "123456:TEST-token"
UPDATE = {
    "update_id": 1001,
    "message": {
        "message_id": 7,
        "date": 1795000000,
        "chat": {"id": 55, "type": "private", "first_name": "Ann"},
        "from": {"id": 55, "is_bot": False, "first_name": "Ann"},
        "text": "/start",
    },
}


@pytest.fixture
def bot_settings(settings):
    return dataclasses.replace(settings, bot_token=TOKEN)


@pytest.fixture
def application(bot_settings, week_store):
    return build_application(bot_settings, week_store, request=FakeBotAPI(), updater=False)


@pytest.fixture
async def http(bot_settings, week_store, application, clock):
    """An HTTP client on the app (no lifespan: the application is not running)."""
    app = build_site(bot_settings, week_store, telegram=application, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as client:
        yield client


def test_the_secret_is_derived_from_the_token_unless_given(bot_settings):
    derived = webhook_secret(bot_settings)
    assert len(derived) == 64 and TOKEN not in derived
    assert derived == webhook_secret(bot_settings)
    assert webhook_secret(dataclasses.replace(bot_settings, bot_token="999:other")) != derived
    assert webhook_secret(dataclasses.replace(bot_settings, webhook_secret="s3cret")) == "s3cret"


@pytest.mark.parametrize("secret", [None, "", "wrong", "x" * 64])
async def test_a_wrong_or_missing_secret_is_403_and_nothing_is_taken(http, week_store, secret):
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    response = await http.post("/telegram/webhook", json=UPDATE, headers=headers)
    assert response.status_code == 403
    assert claimed(week_store) == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"no_update_id": 1}', b'{"update_id": "one"}', b"\xff\xfe"],
)
async def test_a_malformed_body_is_400_and_nothing_is_taken(http, week_store, bot_settings, body):
    headers = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(bot_settings)}
    response = await http.post("/telegram/webhook", content=body, headers=headers)
    assert response.status_code == 400
    assert claimed(week_store) == []


async def test_before_the_application_runs_an_update_is_503_and_not_taken(http, week_store, bot_settings):
    headers = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(bot_settings)}
    response = await http.post("/telegram/webhook", json=UPDATE, headers=headers)
    assert response.status_code == 503  # Telegram retries it later
    assert claimed(week_store) == []


def claimed(store) -> list[tuple[int, bool]]:
    """The update ids the webhook took, and whether each was handled."""
    with store.read() as conn:
        rows = conn.execute(sa.select(t.updates_seen).order_by(t.updates_seen.c.update_id))
        return [(row.update_id, row.handled_at is not None) for row in rows]


async def test_the_same_update_posted_twice_is_handled_once(bot_settings, week_store, clock):
    """Telegram's retry of an update already handled gets 200 and does nothing."""
    api = FakeBotAPI()
    application = build_application(bot_settings, week_store, request=api, updater=False)
    handled: list[tuple[int, str]] = []

    async def record(update, context):
        handled.append((update.update_id, update.message.text))

    application.add_handler(TypeHandler(Update, record), group=-2)
    service = TelegramService(application, bot_settings)
    app = build_site(bot_settings, week_store, telegram=application, services=[service], clock=clock)
    headers = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(bot_settings)}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as client:
            first = await client.post("/telegram/webhook", json=UPDATE, headers=headers)
            again = await client.post("/telegram/webhook", json=UPDATE, headers=headers)
            other = await client.post("/telegram/webhook", json=UPDATE | {"update_id": 1002}, headers=headers)
    assert (first.status_code, again.status_code, other.status_code) == (200, 200, 200)
    assert handled == [(1001, "/start"), (1002, "/start")]
    assert claimed(week_store) == [(1001, True), (1002, True)]


async def test_without_telegram_there_is_no_webhook(settings, week_store, clock):
    app = build_site(settings, week_store, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as client:
        response = await client.post(
            "/telegram/webhook", json=UPDATE, headers={"X-Telegram-Bot-Api-Secret-Token": ""}
        )
    assert response.status_code == 403


async def test_webhook_mode_registers_the_secret_and_processes_updates(bot_settings, week_store, clock):
    """The Telegram runner with the app's lifespan: setWebhook with the secret, then an update
    posted to the webhook is handled by the PTB application."""
    api = FakeBotAPI()
    application = build_application(bot_settings, week_store, request=api, updater=False)
    handled: list[int] = []
    seen = asyncio.Event()

    async def record(update, context):
        handled.append(update.update_id)
        seen.set()

    # Its own group, first: group 0's last handlers answer any private text (a hint).
    application.add_handler(TypeHandler(Update, record), group=-2)
    service = TelegramService(application, bot_settings)
    app = build_site(bot_settings, week_store, telegram=application, services=[service], clock=clock)
    async with app.router.lifespan_context(app):
        assert service.state == "running"
        setwebhook = [params for name, params in api.calls if name == "setWebhook"]
        assert [(p["url"], p["secret_token"]) for p in setwebhook] == [
            (f"{SITE}/telegram/webhook", webhook_secret(bot_settings))
        ]
        assert json.loads(setwebhook[0]["allowed_updates"]) == list(Update.ALL_TYPES)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as client:
            headers = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(bot_settings)}
            assert (await client.post("/telegram/webhook", json=UPDATE, headers=headers)).status_code == 200
            html = (await client.get("/")).text
        await asyncio.wait_for(seen.wait(), timeout=5)
    assert handled == [1001]
    assert service.state == "stopped" and not application.running
    assert 'href="https://t.me/qotd_test_bot"' in html


async def test_a_telegram_that_cannot_start_leaves_the_site_up_and_unhealthy(bot_settings, week_store, clock):
    class DownAPI(FakeBotAPI):
        async def do_request(self, url, method, request_data=None, **timeouts):
            return 401, b'{"ok": false, "error_code": 401, "description": "Unauthorized"}'

    application = build_application(bot_settings, week_store, request=DownAPI(), updater=False)
    service = TelegramService(application, bot_settings)
    app = build_site(bot_settings, week_store, telegram=application, services=[service], clock=clock)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as client:
            health = await client.get("/healthz")
            home = await client.get("/")
    assert service.state == "stopped"
    assert health.status_code == 503 and health.json()["services"]["telegram"] == "retrying"
    reason = health.json()["details"]["telegram"]["error"]
    assert reason == "InvalidToken: The token `***` was rejected by the server."
    assert home.status_code == 200


async def test_telegram_start_up_is_retried_with_one_line_each_until_it_works(
    bot_settings, week_store, clock, caplog
):
    answers = [(502, b'{"ok": false, "error_code": 502, "description": "Bad Gateway"}')] * 2

    class FlakyAPI(FakeBotAPI):
        async def do_request(self, url, method, request_data=None, **timeouts):
            if answers:
                return answers.pop()
            return await super().do_request(url, method, request_data, **timeouts)

    application = build_application(bot_settings, week_store, request=FlakyAPI(), updater=False)
    service = TelegramService(application, bot_settings, backoff=Backoff(first=0.01, cap=0.02))
    app = build_site(bot_settings, week_store, telegram=application, services=[service], clock=clock)
    with caplog.at_level(logging.INFO, logger="qotd.serve"):
        async with app.router.lifespan_context(app):
            for _ in range(500):
                if service.state == "running":
                    break
                await asyncio.sleep(0.01)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as client:
                health = await client.get("/healthz")
    retries = [
        r for r in caplog.records if "Telegram start-up" in r.getMessage() and "failed:" in r.getMessage()
    ]
    assert [r.getMessage().split(" failed: ")[1] for r in retries] == [
        "NetworkError: Bad Gateway; retry 1 in 0s",
        "NetworkError: Bad Gateway; retry 2 in 0s",
    ]
    assert all(r.exc_info is None for r in retries)  # one line each, no traceback
    assert "Telegram start-up (Bot API at https://api.telegram.org) recovered after 2 failures" in caplog.text
    assert health.status_code == 200 and health.json()["services"]["telegram"] == "running"


def test_subscribe_link_names_the_bot(settings, week_store, clock):
    application = ApplicationBuilder().token("42:TEST").request(FakeBotAPI()).updater(None).build()

    class Runner:
        name, state = "telegram", "running"

        async def start(self):
            await application.initialize()

        async def stop(self):
            await application.shutdown()

    settings = dataclasses.replace(settings, bot_token="42:TEST")
    app = build_site(settings, week_store, telegram=application, services=[Runner()], clock=clock)
    with TestClient(app, base_url=SITE) as client:
        html = client.get("/").text
    assert 'href="https://t.me/qotd_test_bot"' in html
