"""Telegram's webhook: the route the service mounts into the site, and the secret it checks.

Telegram POSTs each update to PUBLIC_URL/telegram/webhook with the secret token it was given
at setWebhook in a header; an update without it is refused (403) and one that is not an
update is refused (400), before anything is handed to the application.

An update is handled in its request, and answered 200 once it has been: its update_id is
claimed in the database first (bot/updates.py), so a retry of it, on any replica, gets 200 and
does nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.config import BotSettings
from bot.updates import Claim, UpdatesSeen

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


def webhook_route(
    application: Application | None,
    secret: str | None,
    seen: UpdatesSeen,
    clock: Callable[[], dt.datetime] | None = None,
) -> Route:
    """Return the POST route that hands Telegram's updates to `application` (None: refuse all).

    seen: where update ids are claimed; clock: the time (default: the system's).
    """
    now = clock or (lambda: dt.datetime.now(dt.UTC))

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
        if not application.running:
            return Response("not running yet\n", status_code=503, media_type="text/plain")
        claim = await asyncio.to_thread(seen.claim, update.update_id, now())
        if claim is Claim.SEEN:
            log.info("webhook: update %s was taken before: not handled again", update.update_id)
            return Response(status_code=200)
        try:
            await application.process_update(update)
        except BaseException:
            # Stopping mid-update (or a failure PTB did not catch): Telegram's retry takes it.
            await asyncio.shield(asyncio.to_thread(seen.release, update.update_id))
            raise
        await asyncio.to_thread(seen.handled, update.update_id, now())
        return Response(status_code=200)

    return Route(WEBHOOK_PATH, webhook, methods=["POST"])
