"""`qotd serve`: the site, the feeds, the bot and the scheduler in one process and one event loop.

With BOT_TOKEN and PUBLIC_URL, Telegram sends updates to PUBLIC_URL/telegram/webhook (with a
secret); with BOT_TOKEN alone, the bot long-polls; without a token, Telegram is off and the
site, the feeds and the background services run alone. SIGTERM or SIGINT stops it all within
10 seconds: uvicorn finishes the requests in flight, the services stop (the bot handles the
updates it has already accepted), then the store is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import Callable, Sequence

import uvicorn
from starlette.applications import Starlette
from telegram.ext import Application

from bot.app import bot_username, build_application
from bot.runner import TelegramService
from bot.webhook import webhook_route, webhook_secret
from feed.health import Service
from feed.site import create_app
from qotd.http import server_config
from qotd.scheduler import scheduler_service
from qotd.settings import Settings
from quotes.store import Store

log = logging.getLogger("qotd.serve")

# uvicorn's share of the 10 seconds: requests still running after it are cut off.
GRACEFUL_SECONDS = 2


def background_services(settings: Settings, store: Store, telegram: Application | None) -> list[Service]:
    """Return the background services that run beside the site: the scheduler (docs/delivery.md).

    The feeds need no hook at the publish: they follow the published day by themselves.
    """
    return [scheduler_service(settings, store)]


class ServeError(RuntimeError):
    """The web process could not start."""


def build_site(
    settings: Settings,
    store: Store,
    *,
    telegram: Application | None = None,
    services: Sequence[Service] = (),
    clock: Callable[[], dt.datetime] | None = None,
    version_ttl: float = 1.0,
) -> Starlette:
    """Build the site with the bot's webhook mounted in it (refusing every update without `telegram`)."""
    secret = webhook_secret(settings) if telegram is not None else None
    return create_app(
        settings,
        store,
        services=services,
        routes=[webhook_route(telegram, secret)],
        health={"telegram": "on" if telegram is not None else "off"},
        bot_username=lambda: bot_username(telegram),
        clock=clock,
        version_ttl=version_ttl,
    )


class _Server(uvicorn.Server):
    """uvicorn, stopping gracefully on SIGTERM/SIGINT and then exiting normally (uvicorn would
    re-raise the signal after its shutdown, killing the process before the store is closed)."""

    @contextlib.contextmanager
    def capture_signals(self):
        loop = asyncio.get_running_loop()
        handled = (signal.SIGINT, signal.SIGTERM)
        for sig in handled:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)


def build(settings: Settings, store: Store) -> tuple[Starlette, list[Service], Application | None]:
    """Build the ASGI app with its Telegram application and background services."""
    telegram = None
    services: list[Service] = []
    if settings.bot_token:
        telegram = build_application(settings, store, updater=settings.public_url is None)
        services.append(TelegramService(telegram, settings))
    else:
        log.warning("Telegram is off: BOT_TOKEN is not set; serving the site, the feeds and the scheduler")
    services += background_services(settings, store, telegram)
    return build_site(settings, store, telegram=telegram, services=services), services, telegram


async def serve(settings: Settings, store: Store, host: str = "0.0.0.0") -> None:
    """Serve until SIGTERM or SIGINT."""
    app, _, _ = build(settings, store)
    config = server_config(app, host, settings.port, settings.log_level, GRACEFUL_SECONDS)
    server = _Server(config)
    await server.serve()
    if not server.started:
        raise ServeError(f"the web process did not start on port {settings.port} (see the log above)")


def run(settings: Settings, store: Store) -> None:
    """Run `qotd serve` in a new event loop, closing the store at the end."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(settings, store))
    finally:
        store.close()
    log.info("stopped")
