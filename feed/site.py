"""The site as an ASGI app: today's quote, permalinks, source documents, the feeds, health.

`create_app` builds a Starlette application from the settings and the store. It knows nothing
of Telegram: the service (qotd/serve.py) mounts the bot's webhook route into it, hands it the
background services its lifespan starts and stops (the Telegram runner, the scheduler), and
says how to name the bot on the pages. The feeds are rendered once per change of the data and
served with conditional GET and gzip.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import gzip
import hashlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from feed import pages
from feed.guards import HeaderLimit, SlashRedirect
from feed.health import DatabaseProbe, Service, health_answer
from feed.published import SiteSettings, ensure_pick, feeds_for, site_for
from feed.render import ATOM_PATH, JSON_PATH, RSS_PATH
from quotes.corpus import DATA_DIR, document_text
from quotes.model import Source
from quotes.store import Store

log = logging.getLogger(__name__)

# Time the lifespan gives all services together to stop (SIGTERM must end within 10 s).
STOP_BUDGET = 7.0
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
# What the published pages depend on: the published day, then what Store.changes returns.
Version = tuple[Any, ...]
RawHeaders = list[tuple[bytes, bytes]]

FEED_TYPES = {
    RSS_PATH: "application/rss+xml; charset=utf-8",
    ATOM_PATH: "application/atom+xml; charset=utf-8",
    JSON_PATH: "application/feed+json; charset=utf-8",
}


@dataclass(frozen=True)
class Variant:
    """One encoding of a feed, with the raw headers of its 200 and its 304 answers."""

    body: bytes
    etag: str
    ok_headers: RawHeaders
    not_modified_headers: RawHeaders

    @classmethod
    def of(cls, body: bytes, etag: str, media_type: str, modified: str, encoding: str | None) -> Variant:
        validators = [
            (b"etag", etag.encode()),
            (b"last-modified", modified.encode()),
            (b"vary", b"Accept-Encoding"),
        ]
        ok = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
        if encoding:
            ok.append((b"content-encoding", encoding.encode()))
        return cls(body, etag, ok + validators, validators)


@dataclass(frozen=True)
class FeedFile:
    """One feed, rendered once: plain and gzipped, with its validators."""

    plain: Variant
    gzipped: Variant
    last_modified: dt.datetime

    @classmethod
    def of(cls, body: bytes, media_type: str, updated: dt.datetime) -> FeedFile:
        tag = hashlib.sha256(body).hexdigest()[:32]
        modified = updated.astimezone(dt.UTC).replace(microsecond=0)
        stamp = format_datetime(modified, usegmt=True)
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        return cls(
            Variant.of(body, f'"{tag}"', media_type, stamp, None),
            Variant.of(packed, f'"{tag}-gz"', media_type, stamp, "gzip"),
            modified,
        )


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header admits gzip (gzip or *, with a non-zero q)."""
    if not header:
        return False
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        quality = params.strip().lower()
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def not_modified(match: str | None, since: str | None, feed: FeedFile) -> bool:
    """Conditional GET: If-None-Match when present (it wins), else If-Modified-Since."""
    if match is not None:
        if match.strip() == "*":
            return True
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return feed.plain.etag in tags or feed.gzipped.etag in tags
    if since:
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return feed.last_modified <= moment
    return False


class Web:
    """The state behind the routes: the store, the clock, the feed cache, the services."""

    def __init__(
        self,
        settings: SiteSettings,
        store: Store,
        services: Sequence[Service],
        clock: Callable[[], dt.datetime],
        version_ttl: float,
        health: Mapping[str, str],
        bot_username: Callable[[], str | None],
    ):
        self.settings, self.store = settings, store
        self.services = list(services)
        self.clock = clock
        self.site = site_for(settings)
        self.health = dict(health)
        self.bot_username = bot_username
        self.version_ttl = version_ttl
        self._version: Version | None = None
        self._ensured: dt.date | None = None
        self._version_checked = -math.inf
        # The version's day is the published day from window[0] (inclusive) to window[1].
        self._day_window = (dt.datetime.max.replace(tzinfo=dt.UTC), dt.datetime.min.replace(tzinfo=dt.UTC))
        self._feeds: dict[str, FeedFile] = {}
        self._feeds_key: Version | None = None
        self._home: tuple[tuple[Version, str | None], str] | None = None  # (version, bot), page
        self._lock = asyncio.Lock()
        self.probe = DatabaseProbe(store, lambda: self.site.published_day(self.clock()))

    # --- data version and the feed cache ----------------------------------------------------

    def _key(self, now: dt.datetime) -> Version:
        """Return what the published pages depend on (in a worker thread: it reads the store)."""
        day = self.site.published_day(now)
        if day != self._ensured:
            ensure_pick(self.store, self.site, now)
            self._ensured = day
        return (day, *self.store.changes(day))

    async def version(self, now: dt.datetime) -> Version:
        """The data version: read again on a new day, or when it is `version_ttl` seconds old."""
        start, end = self._day_window
        # None only before the first read, which the empty initial day window makes anyway.
        if (
            self._version is None
            or not start <= now < end
            or time.monotonic() - self._version_checked >= self.version_ttl
        ):
            self._version = await run_in_threadpool(self._key, now)
            self._version_checked = time.monotonic()
            day = self._version[0]
            self._day_window = (self.site.published(day), self.site.next_publish(self.site.published(day)))
        return self._version

    async def feeds(self, now: dt.datetime) -> dict[str, FeedFile]:
        key = await self.version(now)
        if key != self._feeds_key:
            async with self._lock:
                if key != self._feeds_key:
                    rendered = await run_in_threadpool(
                        feeds_for, self.store, self.site, self.settings.feed_days, key[0]
                    )
                    self._feeds = {
                        RSS_PATH: FeedFile.of(rendered.rss, FEED_TYPES[RSS_PATH], rendered.updated),
                        ATOM_PATH: FeedFile.of(rendered.atom, FEED_TYPES[ATOM_PATH], rendered.updated),
                        JSON_PATH: FeedFile.of(rendered.json, FEED_TYPES[JSON_PATH], rendered.updated),
                    }
                    self._feeds_key = key
        return self._feeds

    # --- routes -----------------------------------------------------------------------------

    async def feed_answer(self, path: str, headers: dict[bytes, bytes]) -> tuple[int, RawHeaders, bytes]:
        """Answer a GET of a feed: (status, raw headers, body), conditional and gzipped as asked."""
        now = self.clock()
        feed = (await self.feeds(now))[path]
        seconds = max(0, math.ceil((self._day_window[1] - now).total_seconds()))
        cache = (b"cache-control", b"public, max-age=%d" % seconds)
        encoding = headers.get(b"accept-encoding")
        variant = feed.gzipped if encoding and accepts_gzip(encoding.decode("latin-1")) else feed.plain
        match, since = headers.get(b"if-none-match"), headers.get(b"if-modified-since")
        if (match or since) and not_modified(
            match.decode("latin-1") if match is not None else None,
            since.decode("latin-1") if since is not None else None,
            feed,
        ):
            return 304, [*variant.not_modified_headers, cache], b""
        return 200, [*variant.ok_headers, cache], variant.body

    async def feed(self, request: Request) -> Response:
        status, headers, body = await self.feed_answer(request.url.path, dict(request.headers.raw))
        response = Response(body, status_code=status)
        response.raw_headers = headers
        return response

    async def home(self, request: Request) -> Response:
        now = self.clock()
        key = (await self.version(now), self.bot_username())
        if self._home is None or self._home[0] != key:
            html = await run_in_threadpool(self._render_home, key[0][0], key[1])
            self._home = (key, html)
        return html_response(request, self._home[1])

    def _render_home(self, day: dt.date, bot_username: str | None) -> str:
        picks = [p for p in self.store.recent_picks(day, self.settings.feed_days) if not p.quote.hidden]
        today = picks[0] if picks and picks[0].date == day else None
        provenance = {p.quote.id: self.store.provenance(p.quote) for p in picks}
        return pages.home(today, provenance, picks, bot_username)

    async def quote(self, request: Request) -> Response:
        quote_id = request.path_params["quote_id"]
        html, status = await run_in_threadpool(self._render_quote, quote_id)
        return html_response(request, html, status)

    def _render_quote(self, quote_id: str) -> tuple[str, int]:
        quote = self.store.quote(quote_id)
        if quote is None:
            return pages.not_found(f"There is no quote {quote_id!r}."), 404
        if quote.hidden:
            return pages.not_found("This quote has been withdrawn."), 410
        return pages.quote_page(quote, *self.store.provenance(quote), self.bot_username()), 200

    async def source(self, request: Request) -> Response:
        source_id = request.path_params["source_id"]
        html, status = await run_in_threadpool(self._render_source, source_id)
        return html_response(request, html, status)

    def _render_source(self, source_id: str) -> tuple[str, int]:
        source = self.store.source(source_id)
        if source is None:
            return pages.not_found(f"There is no source {source_id!r}."), 404
        quotes = []
        citing = []
        sources: dict[str, Source] = {}
        for quote in self.store.quotes(include_hidden=False):
            if quote.source == source.id:
                quotes.append(quote)
            elif quote.cites == source.id:
                if quote.source not in sources:
                    quote_source = self.store.source(quote.source)
                    assert quote_source is not None  # quotes.source_id: a NOT NULL foreign key
                    sources[quote.source] = quote_source
                citing.append((quote, sources[quote.source]))
        cites = self.store.source(source.cites) if source.cites else None
        document = _document(source.document) if source.document else None
        return pages.source_page(source, document, quotes, citing, cites, self.bot_username()), 200

    async def healthz(self, request: Request) -> Response:
        """Health from kept state (feed/health.py): no database query in the request."""
        status, body = health_answer(self.probe, self.services, self.health)
        return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})

    # --- lifespan ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        started: list[Service] = []
        await run_in_threadpool(self.probe.check)  # the first answer before the first request
        self.probe.start()
        try:
            for service in self.services:
                await service.start()
                started.append(service)
            yield
        finally:
            deadline = time.monotonic() + STOP_BUDGET
            for service in reversed(started):
                try:
                    await asyncio.wait_for(service.stop(), timeout=max(0.1, deadline - time.monotonic()))
                except TimeoutError:
                    log.error("service %s did not stop in time", _name(service))
                except Exception:
                    log.exception("service %s failed to stop", _name(service))
            await run_in_threadpool(self.probe.stop)


class FeedFastPath:
    """Answer GET and HEAD of the feeds straight from the cache, before Starlette's routing.

    The feeds are the hot path (every reader polls them); this keeps a request down to a
    dictionary lookup and two ASGI messages. Everything else goes on to the app.
    """

    def __init__(self, app: ASGIApp, web: Web):
        self.app, self.web = app, web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in FEED_TYPES and scope["method"] in ("GET", "HEAD"):
            status, headers, body = await self.web.feed_answer(scope["path"], dict(scope["headers"]))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
            return
        await self.app(scope, receive, send)


def html_response(request: Request, html: str, status_code: int = 200) -> Response:
    """An HTML page, gzipped when the client takes it and it is worth it."""
    body = html.encode("utf-8")
    headers = HTML_HEADERS | {"vary": "Accept-Encoding"}
    if len(body) >= 500 and accepts_gzip(request.headers.get("accept-encoding")):
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers["content-encoding"] = "gzip"
    return Response(body, status_code=status_code, headers=headers, media_type="text/html")


def _name(service: object) -> str:
    return getattr(service, "name", type(service).__name__)


@functools.lru_cache(maxsize=64)
def _document(name: str) -> str | None:
    """A shipped source document's text; None for a name that is not a file among them."""
    folder = (DATA_DIR / "documents").resolve()
    # An imported source's `document` is free text: never follow it out of the folder.
    if not (folder / name).resolve().is_relative_to(folder):
        log.warning("source document %r is outside %s: not shown", name, folder)
        return None
    try:
        return document_text(name)
    except (OSError, UnicodeDecodeError):
        return None


async def _not_found(request: Request, exc: Exception) -> Response:
    return html_response(request, pages.not_found("There is no such page."), 404)


def _no_bot() -> str | None:
    return None


def create_app(
    settings: SiteSettings,
    store: Store,
    *,
    services: Sequence[Service] = (),
    routes: Sequence[BaseRoute] = (),
    health: Mapping[str, str] | None = None,
    bot_username: Callable[[], str | None] = _no_bot,
    clock: Callable[[], dt.datetime] | None = None,
    version_ttl: float = 1.0,
) -> Starlette:
    """Build the site for `settings` and `store`.

    services: started in order when the app starts, stopped in reverse when it stops;
    routes: more routes to mount (the service mounts the Telegram webhook); health: fixed
    fields /healthz adds to its answer; bot_username: the Telegram bot the pages point to, if
    any, asked on each render; clock: the current time (tests pass a fixed one); version_ttl:
    how long, in seconds, the data version (newest pick, last correction) is trusted before the
    store is asked again.
    """
    web = Web(settings, store, services, clock or settings.now, version_ttl, health or {}, bot_username)
    routes = [
        Route("/", web.home),
        Route("/q/{quote_id}", web.quote),
        Route("/sources/{source_id}", web.source),
        Route(RSS_PATH, web.feed),
        Route(ATOM_PATH, web.feed),
        Route(JSON_PATH, web.feed),
        Route("/healthz", web.healthz),
        *routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(HeaderLimit),
            Middleware(SlashRedirect, public_url=settings.public_url),
            Middleware(FeedFastPath, web=web),
        ],
        exception_handlers={404: _not_found},
        lifespan=web.lifespan,
    )
    app.router.redirect_slashes = False  # Starlette's would build the URL from Host (feed/guards.py)
    app.state.web = web
    return app
