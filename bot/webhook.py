"""Telegram's webhook: the route the service mounts into the site, and the secret it checks.

Telegram POSTs each update to PUBLIC_URL/telegram/webhook with the secret token it was given
at setWebhook in a header; an update without it is refused (403) before its body is read. A
body over MAX_BODY bytes is refused (413) without being read whole: at once when its
Content-Length says so, else as soon as what has arrived passes the limit; one that takes
longer than BODY_SECONDS to arrive gets 408. One that is not an update is refused (400). No
body is ever logged.

An update is handled in its request, and answered 200 once it has been: its update_id is
claimed in the database first (bot/updates.py), so a retry of it, on any replica, gets 200 and
does nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from bot.config import BotSettings
from bot.updates import Claim, UpdatesSeen

if TYPE_CHECKING:
    from telegram.ext import Application

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_BODY = 1024 * 1024  # bytes: an update is a few kilobytes; Telegram's largest are far below this
BODY_SECONDS = 10.0  # the whole body must arrive within this (a slow sender holds a connection)


class TooLarge(Exception):
    """The body is over MAX_BODY bytes."""


def webhook_secret(settings: BotSettings) -> str:
    """Return the webhook's secret token: WEBHOOK_SECRET, or one derived from the bot token."""
    if settings.webhook_secret:
        return settings.webhook_secret
    if not settings.bot_token:
        raise ValueError("BOT_TOKEN is not set: there is no webhook")
    # Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and -: a hex HMAC fits.
    return hmac.new(settings.bot_token.encode(), b"qotd telegram webhook", hashlib.sha256).hexdigest()


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """Read the body, refusing (TooLarge) as soon as it is known to be over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise TooLarge(int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)


def _plain(text: str, status: int, close: bool = False) -> Response:
    headers = {"connection": "close"} if close else None
    return Response(text, status_code=status, media_type="text/plain", headers=headers)


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
    if application is not None:
        # PTB is loaded with the application; the route of a site without a bot refuses all.
        from telegram import Update

    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if application is None or secret is None or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook request refused: wrong or missing secret token")
            return _plain("forbidden\n", 403, close=True)
        try:
            async with asyncio.timeout(BODY_SECONDS):
                body = await read_body(request)
        except TooLarge as exc:
            log.warning("webhook: update refused: over %d bytes (%s declared or read)", MAX_BODY, exc.args[0])
            return _plain(f"update over {MAX_BODY} bytes\n", 413, close=True)
        except TimeoutError:
            log.warning("webhook: update refused: its body took over %.0fs to arrive", BODY_SECONDS)
            return _plain("body too slow\n", 408, close=True)
        except ClientDisconnect:
            return _plain("", 400, close=True)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("an update is a JSON object with an integer update_id")
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            log.warning("webhook: malformed update refused: %s", str(exc)[:200])
            return _plain("malformed update\n", 400)
        if not application.running:
            return _plain("not running yet\n", 503)
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
