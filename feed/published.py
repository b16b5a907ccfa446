"""What has been published: where the site lives, the newest published day, and its feeds.

The site (feed/site.py) and `qotd feed build` both read the published history through here,
so a static copy of the feeds is the same bytes the site serves for the same data.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Protocol
from zoneinfo import ZoneInfo

from feed.render import Feeds, Site, render
from quotes.selection import NoQuoteError
from quotes.store import Store

log = logging.getLogger(__name__)


class SiteSettings(Protocol):
    """The settings the site reads (the service's Settings has them all)."""

    @property
    def public_url(self) -> str | None: ...

    @property
    def port(self) -> int: ...

    @property
    def timezone(self) -> ZoneInfo: ...

    @property
    def publish_time(self) -> dt.time: ...

    @property
    def feed_days(self) -> int: ...

    def now(self) -> dt.datetime: ...


def site_for(settings: SiteSettings) -> Site:
    """Return where the site lives (PUBLIC_URL, default http://localhost:PORT) and when it publishes."""
    url = settings.public_url or f"http://localhost:{settings.port}"
    return Site(url.rstrip("/"), settings.timezone, settings.publish_time)


def ensure_pick(store: Store, site: Site, now: dt.datetime) -> dt.date:
    """Fix the quote of the newest published day if nobody has yet; return that day."""
    day = site.published_day(now)
    try:
        store.pick_for(day, now)
    except NoQuoteError:
        log.warning("no quote can be picked for %s: every quote is hidden", day)
    return day


def feeds_for(store: Store, site: Site, days: int, day: dt.date) -> Feeds:
    """Render the feeds of the `days` days up to `day` (hidden quotes are withdrawn from them)."""
    picks = [p for p in store.recent_picks(day, days) if not p.quote.hidden]
    sources = store.sources_by_id(
        source for p in picks for source in (p.quote.source, p.quote.cites) if source is not None
    )
    return render(picks, sources, site)
