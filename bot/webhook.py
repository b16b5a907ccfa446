"""Telegram's webhook: the route the service mounts into the site, and the secret it checks.

Telegram POSTs each update to PUBLIC_URL/telegram/webhook with the secret token it was given
at setWebhook in a header; an update without it is refused (403) and one that is not an
update is refused (400), before anything is queued for the application.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.config import BotSettings

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "x-telegram-bot-api-secret-token"


def webhook_secret(settings: BotSettings) -> str:
    """Return the webhook's secret token: WEBHOOK_SECRET, or one derived from the bot token."""
    if settings.webhook_secret:
        return settings.webhook_secret
    if not settings.bot_token:
        raise ValueError("BOT_TOKEN is not set: there is no webhook")
    # Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and -: a hex HMAC fits.
    return hmac.new(settings.bot_token.encode(), b"qotd telegram webhook", hashlib.sha256).hexdigest()


def webhook_route(application: Application | None, secret: str | None) -> Route:
    """Return the POST route that queues Telegram's updates for `application` (None: refuse all)."""

    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if application is None or secret is None or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook request refused: wrong or missing secret token")
            return Response("forbidden\n", status_code=403, media_type="text/plain")
        try:
            data = await request.json()
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("an update is a JSON object with an integer update_id")
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("webhook: malformed update refused: %s", exc)
            return Response("malformed update\n", status_code=400, media_type="text/plain")
        await application.update_queue.put(update)
        return Response(status_code=200)

    return Route(WEBHOOK_PATH, webhook, methods=["POST"])
