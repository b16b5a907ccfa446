"""`qotd serve`: the site, the feeds, the bot and the scheduler in one process and one event loop.

With BOT_TOKEN and PUBLIC_URL, Telegram sends updates to PUBLIC_URL/telegram/webhook (with a
secret); with BOT_TOKEN alone, the bot long-polls; without a token, Telegram is off and the
site, the feeds and the background services run alone. SIGTERM or SIGINT stops it all within
10 seconds: the HTTP server finishes the requests in flight, the services stop (the bot handles the
updates it has already accepted), then the store is closed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import uvloop
from starlette.applications import Starlette

from bot.updates import UpdatesSeen
from bot.webhook import webhook_route, webhook_secret
from feed.health import Service
from feed.site import create_app
from qotd.scheduler import scheduler_service
from qotd.settings import Settings
from quotes.store import Store

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.budget import Budget

log = logging.getLogger("qotd.serve")

# uvicorn's share of the 10 seconds: requests still running after it are cut off.
GRACEFUL_SECONDS = 2


def background_services(
    settings: Settings, store: Store, telegram: Application | None, budget: Budget | None = None
) -> list[Service]:
    """Return the background services that run beside the site: the scheduler (docs/delivery.md).

    The feeds need no hook at the publish: they follow the published day by themselves.
    budget: the bot's one budget, which the broadcast shares with the replies (bot/budget.py).
    """
    return [scheduler_service(settings, store, budget=budget)]


def budget_for(settings: Settings) -> Budget:
    """The bot's message budget: in Redis with REDIS_URL, else this replica's 1/REPLICAS share."""
    assert settings.bot_token is not None, "only a service with a bot has a budget"
    from bot.budget import bot_budget  # with a token only, as the rest of the bot (see build)
    from bot.limits import LimitSettings

    budget = bot_budget(
        LimitSettings(),
        paid=settings.allow_paid_broadcast,
        replicas=settings.replicas,
        redis_url=settings.redis_url,
        bot_id=settings.bot_token.split(":", 1)[0],
    )
    where = (
        "shared in Redis" if settings.redis_url else f"1/{settings.replicas} of the bot's, in this process"
    )
    log.info("budget: %.1f messages/s for replies and the broadcast together, %s", budget.shape.rate, where)
    return budget


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
        routes=[webhook_route(telegram, secret, UpdatesSeen(store))],
        health={"telegram": "on" if telegram is not None else "off"},
        bot_username=_username(telegram),
        clock=clock,
        version_ttl=version_ttl,
    )


def _username(telegram: Application | None) -> Callable[[], str | None]:
    """The bot's @username as the pages ask for it (None while Telegram is off)."""
    if telegram is None:
        return lambda: None
    from bot.app import bot_username  # loaded already: the application is built by it (see build)

    return lambda: bot_username(telegram)


def build(settings: Settings, store: Store) -> tuple[Starlette, list[Service], Application | None]:
    """Build the ASGI app with its Telegram application and background services."""
    telegram = None
    services: list[Service] = []
    budget = None
    if settings.bot_token:
        # The bot's own modules (PTB's application, the handlers and what they load: numpy,
        # timezonefinder, Redis) only with a token: a third of a start-up's imports without one.
        from bot.app import build_application
        from bot.cards import BOT_DATA_KEY
        from bot.runner import TelegramService
        from qotd.share import card_url

        budget = budget_for(settings)
        telegram = build_application(settings, store, updater=settings.public_url is None, budget=budget)
        telegram.bot_data[BOT_DATA_KEY] = card_url(settings)  # "Share" offers the site's card
        services.append(TelegramService(telegram, settings))
    else:
        log.warning("Telegram is off: BOT_TOKEN is not set; serving the site, the feeds and the scheduler")
    services += background_services(settings, store, telegram, budget)
    return build_site(settings, store, telegram=telegram, services=services), services, telegram


async def serve(settings: Settings, store: Store, host: str = "0.0.0.0", port: int | None = None) -> None:
    """Serve until SIGTERM or SIGINT (on `port`, default PORT)."""
    app, _, _ = build(settings, store)
    port = port or settings.port
    # Each server's modules are imported only when it is the one chosen (a few tenths of a
    # second of start-up each).
    if settings.web_server == "granian":
        await _serve_granian(app, settings, host, port)
        return
    from qotd.uvicorn_http import Server, server_config

    server = Server(server_config(app, host, port, settings.log_level, GRACEFUL_SECONDS))
    await server.serve()
    if not server.started:
        raise ServeError(f"the web process did not start on {host}:{port} (see the log above)")


async def _serve_granian(app: Starlette, settings: Settings, host: str, port: int) -> None:
    """Serve with granian (the default): the app's lifespan around the server."""
    from qotd.rsgi import granian_server

    server = granian_server(app, settings.log_level, host, port)
    loop = asyncio.get_running_loop()
    handled = (signal.SIGINT, signal.SIGTERM)
    # RSGI has no lifespan protocol: the app's lifespan (the services) is entered here, around
    # the server, as granian's ASGI mode and uvicorn enter it.
    async with app.router.lifespan_context(app):
        for sig in handled:
            loop.add_signal_handler(sig, server.signal_handler_interrupt)
        try:
            await server.serve()
        except (OSError, RuntimeError) as exc:  # granian reports a busy port as a RuntimeError
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__  # no Rust backtrace
            raise ServeError(f"the web process did not start on {host}:{port}: {reason}") from None
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
    if server.interrupt_children:
        raise ServeError(f"the web process on {host}:{port} stopped unexpectedly (see the log above)")


def run(settings: Settings, store: Store, host: str = "0.0.0.0", port: int | None = None) -> None:
    """Run `qotd serve` in a new event loop, closing the store at the end.

    Logging is set up by the command (qotd/logs.py: one redacting handler at the root).
    """
    try:
        # uvloop (uvicorn[standard] brings it): its C transports halve the cost of a cached answer.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve(settings, store, host, port))
    finally:
        store.close()
    log.info("stopped")
