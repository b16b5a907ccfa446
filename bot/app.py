"""The Telegram application: built here, with its handlers registered in one place."""

from __future__ import annotations

import logging

from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest

from bot.settings import Settings
from quotes.store import Store

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every error with the update that caused it."""
    log.error("error while handling update %r", update, exc_info=context.error)


def build_application(
    settings: Settings,
    store: Store,
    *,
    request: BaseRequest | None = None,
    updater: bool = True,
) -> Application:
    """Build the bot for `settings`, talking to settings.telegram_api_url.

    request: the network layer (tests pass their own); updater: False when updates arrive
    through the web process's webhook endpoint instead of long polling.
    """
    if not settings.bot_token:
        raise ValueError("BOT_TOKEN is not set: Telegram is off")
    builder = (
        ApplicationBuilder()
        .token(settings.bot_token)
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
    )
    if request is not None:
        builder = builder.request(request)
    if not updater:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data["settings"] = settings
    application.bot_data["store"] = store
    application.add_error_handler(on_error)
    return application
