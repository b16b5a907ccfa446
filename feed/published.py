"""What has been published: where the site lives, the newest published day, and its feeds.

The site (feed/site.py) and `qotd feed build` both read the published history through here,
so a static copy of the feeds is the same bytes the site serves for the same data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from feed.render import Feeds, Site, render
from quotes.days import day_record, todays
from quotes.store import Store
from quotes.transfer import pick_record

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
    """Fix today's quote (quotes.days, the one rule) if nobody has yet; return today."""
    result = todays(store, now, site.timezone)
    if result.shown is None:
        log.warning("no quote for %s: %s", result.day, result.absent_text())
    return result.day


def today_record(store: Store, site: Site, now: dt.datetime) -> dict[str, Any]:
    """GET /today.json: the fields of `qotd today --json` for today (quotes.days.todays), with
    the quote's page."""
    result = todays(store, now, site.timezone)
    pick = result.shown
    if pick is None:
        return day_record(result, None)
    record = day_record(result, pick_record(pick, *store.provenance(pick.quote)))
    return {**record, "url": site.quote_url(pick.quote.id)}


def today_json(store: Store, site: Site, now: dt.datetime) -> bytes:
    """Render /today.json's body (deterministic for the same data)."""
    return (json.dumps(today_record(store, site, now), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def feeds_for(store: Store, site: Site, days: int, day: dt.date) -> Feeds:
    """Render the feeds of the `days` days up to `day` (hidden quotes are withdrawn from them)."""
    picks = [p for p in store.recent_picks(day, days) if not p.quote.hidden]
    sources = store.sources_by_id(
        source for p in picks for source in (p.quote.source, p.quote.cites) if source is not None
    )
    return render(picks, sources, site)
