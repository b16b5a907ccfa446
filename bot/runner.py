"""The Telegram runner: starts the PTB application in webhook or polling mode, stops it cleanly.

The service (qotd/serve.py) runs it beside the site and the scheduler. Its start-up is
supervised (bot/supervise.py): when the Bot API cannot be reached, or refuses the token, one
line per retry says why and when it tries again (with backoff up to a minute), the site and the
feeds keep serving, and /healthz shows "retrying" with the reason until Telegram is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Update
from telegram.error import Conflict, TelegramError
from telegram.ext import Application

from bot.config import BotSettings
from bot.supervise import RETRYING, Backoff, Supervisor
from bot.webhook import WEBHOOK_PATH, webhook_secret

log = logging.getLogger("qotd.serve")


class TelegramService:
    """Runs the PTB application: registers the webhook, or long-polls, and processes updates."""

    name = "telegram"

    def __init__(self, application: Application, settings: BotSettings, backoff: Backoff | None = None):
        self.application = application
        self.settings = settings
        self.conflict = False  # another process polls the same bot (Telegram's 409)
        self.supervisor = Supervisor(
            f"Telegram start-up (Bot API at {settings.telegram_api_url})",
            backoff=backoff or Backoff(first=1.0, cap=60.0),
            announce_retries=True,
            secrets=(settings.bot_token or "",),
            logger=log,
        )
        self._state = "stopped"
        self._task: asyncio.Task | None = None

    @property
    def state(self) -> str:
        if self._state == "starting" and self.supervisor.state == RETRYING:
            return RETRYING
        return self._state

    def health(self) -> dict:
        shown = self.supervisor.snapshot()
        return shown | {"state": self.state} if self.state == RETRYING else {"state": self.state}

    @property
    def mode(self) -> str:
        return "polling" if self.application.updater is not None else "webhook"

    async def start(self) -> None:
        """Try to start now; if Telegram cannot be reached, go on retrying in the background."""
        self._state = "starting"
        self._task = asyncio.create_task(self.supervisor.run(self._start_once), name="telegram-start")
        # The first attempt is waited for (the process says at once whether Telegram is on).
        while not self._task.done() and self.supervisor.failures == 0:
            await asyncio.wait([self._task], timeout=0.05)

    async def _start_once(self) -> None:
        app = self.application
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
            if app.updater is not None and app.updater.running:
                with contextlib.suppress(Exception):
                    await app.updater.stop()
            raise
        log.info("Telegram: on, as @%s", app.bot.username)
        self._state = "running"
        self.supervisor.worked()

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
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()  # handles the updates already queued, then stops
        with contextlib.suppress(Exception):
            await app.shutdown()
        self._state = "stopped"
