"""The Telegram runner: starts the PTB application in webhook or polling mode, stops it cleanly.

The service (qotd/serve.py) runs it beside the site and the scheduler; its `state` shows in
/healthz ("running", or "failed" when Telegram could not be reached at start).
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import Conflict, TelegramError
from telegram.ext import Application

from bot.config import BotSettings
from bot.webhook import WEBHOOK_PATH, webhook_secret

log = logging.getLogger("qotd.serve")


class TelegramService:
    """Runs the PTB application: registers the webhook, or long-polls, and processes updates."""

    name = "telegram"

    def __init__(self, application: Application, settings: BotSettings):
        self.application = application
        self.settings = settings
        self.state = "stopped"
        self.conflict = False  # another process polls the same bot (Telegram's 409)

    @property
    def mode(self) -> str:
        return "polling" if self.application.updater is not None else "webhook"

    async def start(self) -> None:
        app = self.application
        self.state = "starting"
        try:
            await app.initialize()
            if app.post_init is not None:  # what run_polling would call: the command menus
                await app.post_init(app)
            if app.updater is None:
                url = f"{self.settings.public_url}{WEBHOOK_PATH}"
                await app.bot.set_webhook(
                    url, secret_token=webhook_secret(self.settings), allowed_updates=Update.ALL_TYPES
                )
                log.info("Telegram: webhook registered at %s", url)
            else:
                # start_polling deletes any webhook first; only one process may receive updates.
                await app.updater.start_polling(
                    allowed_updates=Update.ALL_TYPES, error_callback=self._polling_error
                )
                log.info("Telegram: long polling (PUBLIC_URL is not set)")
            await app.start()
        except Exception:
            # The site and the feeds keep running; /healthz reports the failure.
            log.exception("Telegram could not start (Bot API at %s)", self.settings.telegram_api_url)
            self.state = "failed"
            return
        log.info("Telegram: on, as @%s", app.bot.username)
        self.state = "running"

    def _polling_error(self, exc: TelegramError) -> None:
        """PTB's polling loop failed (it retries by itself): say what a 409 means, once a streak."""
        if isinstance(exc, Conflict):
            if not self.conflict:
                log.error(
                    "Telegram: 409 Conflict: another process is long-polling this bot. Polling "
                    "runs as one process; for replicas set PUBLIC_URL (webhook mode, docs/deploy.md)"
                )
            self.conflict = True
            return
        self.conflict = False
        log.warning("Telegram: polling failed (%s: %s); retrying", type(exc).__name__, exc)

    async def stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()  # handles the updates already queued, then stops
        with contextlib.suppress(Exception):
            await app.shutdown()
        self.state = "stopped"
