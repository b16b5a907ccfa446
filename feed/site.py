"""The site as an ASGI app: today's quote, permalinks, source documents, the feeds, health.

`create_app` builds a Starlette application from the settings and the store. It knows nothing
of Telegram: the service (qotd/serve.py) mounts the bot's webhook route into it, hands it the
background services its lifespan starts and stops (the Telegram runner, the scheduler), and
says how to name the bot on the pages. The feeds and the pages are rendered once per change of
the data (feed/cache.py) and served with conditional GET and gzip.
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
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from importlib.resources import files
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from feed import cards, pages
from feed.cache import PageCache, RawHeaders, Rendered, accepts_gzip, answer, etag_matches
from feed.guards import HeaderLimit, SlashRedirect
from feed.health import DatabaseProbe, Service, health_answer, service_name
from feed.published import SiteSettings, ensure_pick, feeds_for, site_for, today_json
from feed.render import ATOM_PATH, JSON_PATH, RSS_PATH
from quotes.corpus import ID_PATTERN
from quotes.days import quote_of, rule_text
from quotes.model import Pick, Source
from quotes.store import Store

log = logging.getLogger(__name__)

# Time the lifespan gives all services together to stop (SIGTERM must end within 10 s).
STOP_BUDGET = 7.0
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
# Pages change once a day, at the publish; a correction reaches readers within this many seconds.
PAGE_MAX_AGE = 3600
FAVICON = (files("feed") / "static" / "favicon.svg").read_bytes()
# What the published pages depend on: the published day, then what Store.changes returns.
Version = tuple[Any, ...]
# The days the home page lists (today's and the days before it); the rest is in the archive.
HOME_DAYS = 7
# Bytes of rendered pages kept per data version (quote and source pages, the archive, the home
# page; plain and gzipped bodies): some 3,000 quote pages.
PAGE_CACHE_BYTES = 32 * 1024 * 1024
HTML_TYPE = "text/html; charset=utf-8"
XML_TYPE = "application/xml"
# URLs in one sitemap (/sitemap-quotes-N.xml, /sitemap-sources-N.xml). The sitemaps protocol
# allows 50,000 and 50 MB a file; a fifth of that keeps each render (in a worker thread, holding
# the GIL the event loop needs) near 0.1 s and each body under 1 MB, for 100 sitemaps a million quotes.
SITEMAP_URLS = 10_000
_HTML_RAW = [(k.lower().encode(), v.encode()) for k, v in HTML_HEADERS.items()]
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

TODAY_PATH = "/today.json"  # today's quote for other pages to embed (quotes.days, the one rule)
FEED_TYPES = {
    RSS_PATH: "application/rss+xml; charset=utf-8",
    ATOM_PATH: "application/atom+xml; charset=utf-8",
    JSON_PATH: "application/feed+json; charset=utf-8",
    TODAY_PATH: "application/json; charset=utf-8",
}
# Headers one cached path adds to its answers (a page anywhere may read /today.json).
EXTRA_HEADERS: dict[str, RawHeaders] = {TODAY_PATH: [(b"access-control-allow-origin", b"*")]}


class Web:
    """The state behind the routes: the store, the clock, the feed and page caches, the services."""

    def __init__(
        self,
        settings: SiteSettings,
        store: Store,
        services: Sequence[Service],
        clock: Callable[[], dt.datetime],
        version_ttl: float,
        health: Mapping[str, str],
        bot_username: Callable[[], str | None],
        sitemap_urls: int = SITEMAP_URLS,
    ):
        self.settings, self.store = settings, store
        self.sitemap_urls = sitemap_urls
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
        self._feeds: dict[str, Rendered] = {}
        self._feeds_key: Version | None = None
        self.pages = PageCache(PAGE_CACHE_BYTES)
        self.cards = cards.CardCache()
        self._site_card: bytes | None = None
        self._lock = asyncio.Lock()
        self._version_lock = asyncio.Lock()
        self._health_lock = asyncio.Lock()
        self.probe = DatabaseProbe(store, lambda: self.site.published_day(self.clock()), self._today_health)

    # --- data version and the feed cache ----------------------------------------------------

    def _key(self, now: dt.datetime) -> Version:
        """Return what the published pages depend on (in a worker thread: it reads the store)."""
        day = self.site.published_day(now)
        if day != self._ensured:
            ensure_pick(self.store, self.site, now)
            self._ensured = day
        return (day, *self.store.changes(day))

    def _stale(self, now: dt.datetime) -> bool:
        start, end = self._day_window
        return (
            self._version is None
            or not start <= now < end
            or time.monotonic() - self._version_checked >= self.version_ttl
        )

    async def version(self, now: dt.datetime) -> Version:
        """The data version: read again on a new day, or when it is `version_ttl` seconds old.

        Single-flight: however many requests find it stale at once, one of them reads the store
        and the others wait for that read.
        """
        if self._stale(now):
            async with self._version_lock:
                if self._stale(now):
                    self._version = await run_in_threadpool(self._key, now)
                    self._version_checked = time.monotonic()
                    day = self._version[0]
                    self._day_window = (
                        self.site.published(day),
                        self.site.next_publish(self.site.published(day)),
                    )
        assert self._version is not None  # read above when there was none
        return self._version

    async def feeds(self, now: dt.datetime) -> dict[str, Rendered]:
        key = await self.version(now)
        if key != self._feeds_key:
            async with self._lock:
                if key != self._feeds_key:
                    rendered = await run_in_threadpool(
                        feeds_for, self.store, self.site, self.settings.feed_days, key[0]
                    )
                    today = await run_in_threadpool(today_json, self.store, self.site, now)
                    self._feeds = {
                        RSS_PATH: Rendered.of(rendered.rss, FEED_TYPES[RSS_PATH], rendered.updated),
                        ATOM_PATH: Rendered.of(rendered.atom, FEED_TYPES[ATOM_PATH], rendered.updated),
                        JSON_PATH: Rendered.of(rendered.json, FEED_TYPES[JSON_PATH], rendered.updated),
                        TODAY_PATH: Rendered.of(today, FEED_TYPES[TODAY_PATH], rendered.updated),
                    }
                    self._feeds_key = key
        return self._feeds

    # --- routes -----------------------------------------------------------------------------

    async def feed_answer(self, path: str, headers: dict[bytes, bytes]) -> tuple[int, RawHeaders, bytes]:
        """Answer a GET of a feed: (status, raw headers, body), conditional and gzipped as asked."""
        now = self.clock()
        feed = (await self.feeds(now))[path]
        seconds = max(0, math.ceil((self._day_window[1] - now).total_seconds()))
        status, raw, body = answer(feed, headers, b"public, max-age=%d" % seconds)
        return status, [*raw, *EXTRA_HEADERS.get(path, ())], body

    async def feed(self, request: Request) -> Response:
        return raw_response(*await self.feed_answer(request.url.path, dict(request.headers.raw)))

    async def cached_answer(
        self, path: str, headers: dict[bytes, bytes]
    ) -> tuple[int, RawHeaders, bytes] | None:
        """Answer a GET of a feed or of a cached page (status, raw headers, body), or None: `path`
        is neither. What the fast paths of both servers answer (FastPath; qotd/rsgi.py)."""
        if path in FEED_TYPES:
            return await self.feed_answer(path, headers)
        return await self.page_answer(path, headers)

    # --- pages from the cache ---------------------------------------------------------------

    def page_renderer(
        self, path: str
    ) -> tuple[Callable[[Version, dt.datetime], tuple[str, int]], str] | None:
        """The renderer of a cached page at `path` (given the data version and the time) and the
        media type of its 200 (an error is always an HTML page), or None: not one. Only ids
        `ID_PATTERN` matches are pages here, so /q/<id>.png and .jpg go on to their routes."""
        if path == "/":
            return self._render_home, HTML_TYPE
        if path == pages.ARCHIVE_PATH:
            return self._render_archive, HTML_TYPE
        if path == "/about":  # its count of checked quotes changes with the data, as the others
            return self._render_about, HTML_TYPE
        if path == pages.SITEMAP_PATH:
            return self._render_sitemap_index, XML_TYPE
        if path == pages.SITEMAP_SITE_PATH:
            return self._render_sitemap_site, XML_TYPE
        part = pages.sitemap_part(path)
        if part is not None:
            return functools.partial(self._render_sitemap_part, *part), XML_TYPE
        folder, _, name = path[1:].partition("/")
        if folder == "archive" and name:
            return functools.partial(self._render_month, name), HTML_TYPE
        if folder == "q" and ID_PATTERN.match(name):
            return functools.partial(self._render_quote, name), HTML_TYPE
        if folder == "sources" and ID_PATTERN.match(name):
            return functools.partial(self._render_source, name), HTML_TYPE
        return None

    async def page_answer(
        self, path: str, headers: dict[bytes, bytes]
    ) -> tuple[int, RawHeaders, bytes] | None:
        """Answer a GET of a page from the cache (rendering it once per data version), or None
        if `path` is not a cached page."""
        found = self.page_renderer(path)
        if found is None:
            return None
        render, media = found
        now = self.clock()
        version = await self.version(now)
        key = (version, self.bot_username())

        def rendered() -> Rendered:
            text, status = render(version, now)
            if status == 200 and media != HTML_TYPE:  # (a sitemap; its 404 is a page)
                return Rendered.of(text.encode(), media, _modified(version), status)
            return Rendered.of(text.encode(), HTML_TYPE, _modified(version), status, _HTML_RAW)

        page = await self.pages.get(key, path, rendered)
        # A page's Cache-Control is every page's (page_cache); a 404 or 410 is not kept.
        cache = (await self.page_cache(now)).encode() if page.status == 200 else b"no-cache"
        return answer(page, headers, cache)

    async def page(self, request: Request) -> Response:
        found = await self.page_answer(request.scope["path"], dict(request.headers.raw))
        if found is None:
            return html_response(request, pages.not_found("There is no such page.", self.site), 404)
        return raw_response(*found)

    def _provenance(self, picks: Sequence[Pick]) -> dict[str, tuple[Source, Source | None]]:
        """The sources of the picks' quotes, read in one query (not one per quote)."""
        sources = self.store.sources_by_id(
            s for p in picks for s in (p.quote.source, p.quote.cites) if s is not None
        )
        return {
            p.quote.id: (sources[p.quote.source], sources[p.quote.cites] if p.quote.cites else None)
            for p in picks
        }

    def _render_home(self, version: Version, now: dt.datetime) -> tuple[str, int]:
        day = version[0]
        days = min(HOME_DAYS, self.settings.feed_days)
        picks = [p for p in self.store.recent_picks(day, days) if not p.quote.hidden]
        today = quote_of(self.store, day, now, self.site.timezone).shown
        provenance = self._provenance([*picks, *([today] if today else [])])
        rule = rule_text(self.site.timezone, self.site.publish_time)
        counts = self.store.verification_counts()
        span = self.store.first_and_last_pick(day)
        archive = span is not None and span[0] <= day - dt.timedelta(days=days)
        html = pages.home(
            today, provenance, picks, self.bot_username(), counts, rule, site=self.site, archive=archive
        )
        return html, 200

    def _months(self, version: Version) -> list[dt.date]:
        """The first day of every month from the first pick's to the published day's."""
        span = self.store.first_and_last_pick(version[0])
        if span is None:
            return []
        month, last = span[0].replace(day=1), span[1].replace(day=1)
        months = []
        while month <= last:
            months.append(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return months

    def _render_archive(self, version: Version, now: dt.datetime) -> tuple[str, int]:
        return pages.archive_index(self._months(version), self.bot_username(), site=self.site), 200

    def _render_month(self, name: str, version: Version, now: dt.datetime) -> tuple[str, int]:
        found = _MONTH.match(name)
        months = self._months(version)
        month = None
        if found and 1 <= int(found[2]) <= 12:
            month = dt.date(int(found[1]), int(found[2]), 1)
        if month is None or month not in months:
            return pages.not_found(f"There is no month {name!r} in the archive.", self.site), 404
        following = (month + dt.timedelta(days=32)).replace(day=1)
        until = min(following - dt.timedelta(days=1), version[0])
        picks = [p for p in self.store.recent_picks(until, until.day) if not p.quote.hidden]
        at = months.index(month)
        earlier = months[at - 1] if at > 0 else None
        later = months[at + 1] if at + 1 < len(months) else None
        html = pages.archive_month(
            month, picks, self._provenance(picks), earlier, later, self.bot_username(), site=self.site
        )
        return html, 200

    def _render_quote(self, quote_id: str, version: Version, now: dt.datetime) -> tuple[str, int]:
        quote = self.store.quote(quote_id)
        if quote is None:
            return pages.not_found(f"There is no quote {quote_id!r}.", self.site), 404
        if quote.hidden:
            return pages.not_found("This quote has been withdrawn.", self.site), 410
        source, cites = self.store.provenance(quote)
        corrections = self.store.corrections(quote.id)
        page = pages.quote_page(
            quote, source, cites, self.bot_username(), site=self.site, corrections=corrections
        )
        return page, 200

    def _render_source(self, source_id: str, version: Version, now: dt.datetime) -> tuple[str, int]:
        source = self.store.source(source_id)
        if source is None:
            return pages.not_found(f"There is no source {source_id!r}.", self.site), 404
        quotes, citing = self.store.source_quotes(source.id)
        cites = self.store.source(source.cites) if source.cites else None
        held = self.store.document(source.document) if source.document else None
        document = held.text if held else None
        return (
            pages.source_page(source, document, quotes, citing, cites, self.bot_username(), site=self.site),
            200,
        )

    # --- the pages people share, and what crawlers read (feed/pages.py, feed/cards.py) -------

    async def page_cache(self, now: dt.datetime) -> str:
        """Cache-Control of the pages: until the next publish, and never more than an hour (corrections)."""
        await self.version(now)  # the day window it counts to
        seconds = max(0, math.ceil((self._day_window[1] - now).total_seconds()))
        return f"public, max-age={min(seconds, PAGE_MAX_AGE)}"

    def _render_about(self, version: Version, now: dt.datetime) -> tuple[str, int]:
        html = pages.about(
            self.site,
            self.bot_username(),
            self.settings.publish_time.strftime("%H:%M"),
            str(self.settings.timezone),
            self.store.verification_counts(),
        )
        return html, 200

    async def card_png(self, request: Request) -> Response:
        return await self.card(request, "png")

    async def card_jpg(self, request: Request) -> Response:
        return await self.card(request, "jpg")

    async def card(self, request: Request, kind: str) -> Response:
        """A quote's share image, rendered once per data version."""
        quote_id = request.path_params["quote_id"]
        now = self.clock()
        version = await self.version(now)
        name = pages.card_path(quote_id, kind)
        body = self.cards.get(version, name)
        if body is None:
            body, status = await run_in_threadpool(self._render_card, quote_id, kind)
            if body is None:
                return html_response(request, pages.not_found(status[1], self.site), status[0])
            self.cards.put(version, name, body)
        return image_response(request, body, cards.FORMATS[kind], await self.page_cache(now))

    def _render_card(self, quote_id: str, kind: str) -> tuple[bytes | None, tuple[int, str]]:
        quote = self.store.quote(quote_id)
        if quote is None:
            return None, (404, f"There is no quote {quote_id!r}.")
        if quote.hidden:
            return None, (410, "This quote has been withdrawn.")
        return cards.quote_card(quote, *self.store.provenance(quote), self.site, kind), (200, "")

    async def site_card(self, request: Request) -> Response:
        if self._site_card is None:  # it shows only the site's name and address: drawn once
            self._site_card = await run_in_threadpool(cards.site_card, self.site)
        return image_response(request, self._site_card, "image/png", f"public, max-age={PAGE_MAX_AGE}")

    # --- the sitemaps: an index, the site's pages, then the quotes' and the sources' in runs ---

    def _render_sitemap_index(self, version: Version, now: dt.datetime) -> tuple[str, int]:
        """Always an index, whatever the size of the corpus: /sitemap.xml means one thing. The
        quotes' (and the sources') sitemap k lists the rows numbered (k-1)×size+1 to k×size in
        the order they were added (Store.last_seq): one max() per kind."""
        paths = [
            pages.SITEMAP_SITE_PATH,
            *(
                pages.sitemap_part_path(kind, n + 1)
                for kind in pages.SITEMAP_PARTS
                for n in range(self._parts(kind))
            ),
        ]
        return pages.sitemap_index(self.site, paths), 200

    def _parts(self, kind: str) -> int:
        return -(-self.store.last_seq(kind) // self.sitemap_urls)

    def _render_sitemap_site(self, version: Version, now: dt.datetime) -> tuple[str, int]:
        return pages.sitemap(self.site, pages.site_paths(self._months(version))), 200

    def _render_sitemap_part(
        self, kind: str, number: int, version: Version, now: dt.datetime
    ) -> tuple[str, int]:
        """One run of quotes' pages (hidden quotes are not listed) or of sources' pages."""
        if number > self._parts(kind):
            return pages.not_found("There is no such sitemap.", self.site), 404
        ids = self.store.seq_ids(kind, (number - 1) * self.sitemap_urls + 1, number * self.sitemap_urls)
        prefix = pages.SITEMAP_PARTS[kind]
        return pages.sitemap(self.site, (prefix + i for i in ids)), 200

    async def robots(self, request: Request) -> Response:
        cache = {"cache-control": f"public, max-age={PAGE_MAX_AGE}"}
        return PlainTextResponse(pages.robots(self.site), headers=cache)

    async def favicon(self, request: Request) -> Response:
        cache = {"cache-control": "public, max-age=604800"}
        return Response(FAVICON, media_type="image/svg+xml", headers=cache)

    async def healthz(self, request: Request) -> Response:
        """Health from kept state (feed/health.py): no database query in the request, except
        the probe's own check when the published day has moved on since its last answer (so
        `today` is never yesterday's), once for all the requests waiting on it."""
        day = self.site.published_day(self.clock())
        reading = self.probe.reading
        if reading is None or (reading.ok and reading.day != day):
            async with self._health_lock:
                reading = self.probe.reading
                if reading is None or (reading.ok and reading.day != day):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(run_in_threadpool(self.probe.check), timeout=3)
                    if not self.probe.running:  # no lifespan (an app called bare): keep no connection
                        await run_in_threadpool(self.probe.stop)
        status, body = health_answer(self.probe, self.services, self.health)
        return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})

    def _today_health(self, store: Store, day: dt.date) -> dict[str, Any]:
        """The published day's quote and its state, as /healthz shows them (from the probe)."""
        today = quote_of(store, day, self.clock(), self.site.timezone)
        return {
            "date": today.day.isoformat(),
            "state": today.state,
            "quote_id": today.shown.quote.id if today.shown else None,
        }

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
                    log.error("service %s did not stop in time", service_name(service))
                except Exception:
                    log.exception("service %s failed to stop", service_name(service))
            await run_in_threadpool(self.probe.stop)


class FastPath:
    """Answer GET and HEAD of the feeds and of the cached pages straight from the cache, before
    Starlette's routing.

    The feeds and the pages are the hot paths (readers poll the feeds, links bring people to
    the pages); this keeps a request down to a dictionary lookup and two ASGI messages.
    Everything else goes on to the app.
    """

    def __init__(self, app: ASGIApp, web: Web):
        self.app, self.web = app, web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            found = await self.web.cached_answer(scope["path"], dict(scope["headers"]))
            if found is not None:
                status, headers, body = found
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
                return
        await self.app(scope, receive, send)


def raw_response(status: int, headers: RawHeaders, body: bytes) -> Response:
    response = Response(body, status_code=status)
    response.raw_headers = headers
    return response


def html_response(request: Request, html: str, status_code: int = 200, cache: str | None = None) -> Response:
    """An HTML page, gzipped when the client takes it and it is worth it."""
    body = html.encode("utf-8")
    headers = HTML_HEADERS | {"vary": "Accept-Encoding"}
    headers["cache-control"] = cache if cache and status_code == 200 else "no-cache"
    if len(body) >= 500 and accepts_gzip(request.headers.get("accept-encoding")):
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers["content-encoding"] = "gzip"
    return Response(body, status_code=status_code, headers=headers, media_type="text/html")


def image_response(request: Request, body: bytes, media_type: str, cache: str) -> Response:
    """An image with its ETag (its content's hash): 304 when the client has these bytes."""
    headers = {"etag": f'"{hashlib.sha256(body).hexdigest()[:32]}"', "cache-control": cache}
    match = request.headers.get("if-none-match")
    if match is not None and etag_matches(match, headers["etag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _modified(version: Version) -> dt.datetime:
    """When the data of a version last changed: its newest pick or correction."""
    moments = [v for v in version[1:] if isinstance(v, dt.datetime)]
    return max(moments) if moments else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


async def _not_found(request: Request, exc: Exception) -> Response:
    return html_response(request, pages.not_found("There is no such page.", request.app.state.web.site), 404)


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
    sitemap_urls: int = SITEMAP_URLS,
) -> Starlette:
    """Build the site for `settings` and `store`.

    services: started in order when the app starts, stopped in reverse when it stops;
    routes: more routes to mount (the service mounts the Telegram webhook); health: fixed
    fields /healthz adds to its answer; bot_username: the Telegram bot the pages point to, if
    any, asked on each render; clock: the current time (tests pass a fixed one); version_ttl:
    how long, in seconds, the data version (newest pick, last correction) is trusted before the
    store is asked again; sitemap_urls: the quotes' or sources' pages in one sitemap.
    """
    web = Web(
        settings,
        store,
        services,
        clock or settings.now,
        version_ttl,
        health or {},
        bot_username,
        sitemap_urls,
    )
    routes = [
        Route("/", web.page),
        Route("/about", web.page),
        Route(pages.ARCHIVE_PATH, web.page),
        Route(pages.ARCHIVE_PATH + "/{month}", web.page),
        Route("/q/{quote_id}.png", web.card_png),  # before /q/{quote_id}, which would take them
        Route("/q/{quote_id}.jpg", web.card_jpg),
        Route("/q/{quote_id}", web.page),
        Route(pages.SITE_CARD_PATH, web.site_card),
        Route(pages.SITEMAP_PATH, web.page),
        Route(pages.SITEMAP_SITE_PATH, web.page),
        Route("/sitemap-{part}.xml", web.page),
        Route("/robots.txt", web.robots),
        Route("/favicon.svg", web.favicon),
        Route("/favicon.ico", RedirectResponse("/favicon.svg", status_code=301)),
        Route("/sources/{source_id}", web.page),
        Route(RSS_PATH, web.feed),
        Route(ATOM_PATH, web.feed),
        Route(JSON_PATH, web.feed),
        Route(TODAY_PATH, web.feed),
        Route("/healthz", web.healthz),
        *routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(HeaderLimit),
            Middleware(SlashRedirect, public_url=settings.public_url),
            Middleware(FastPath, web=web),
        ],
        exception_handlers={404: _not_found},
        lifespan=web.lifespan,
    )
    app.router.redirect_slashes = False  # Starlette's would build the URL from Host (feed/guards.py)
    app.state.web = web
    return app
