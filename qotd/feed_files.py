"""Feed files are copies too: rss.xml, atom.xml and feed.json in a folder, written atomically.

`qotd feed build --out DIR` writes them once; with FEED_DIR set, the scheduler keeps them there,
rewriting them whenever what they show changes (a new day, a correction, a replacement). Each
file is written to a temporary file in the same folder, flushed to disk, and renamed over the
old one, so a static host or a CDN never serves half a file; the bytes are those the site
serves for the same data (feed.published.feeds_for renders both).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from feed.published import SiteSettings, ensure_pick, feeds_for, site_for
from feed.render import Feeds
from quotes.store import Store

log = logging.getLogger(__name__)

NAMES = ("rss.xml", "atom.xml", "feed.json")


def files_of(feeds: Feeds) -> dict[str, bytes]:
    return dict(zip(NAMES, (feeds.rss, feeds.atom, feeds.json), strict=True))


def write_atomically(path: Path, body: bytes) -> None:
    """Replace `path` with `body` all at once (temporary file in the same folder + rename)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_feeds(folder: Path, feeds: Feeds) -> list[str]:
    """Write the three feeds into `folder`, each only if it differs; return the names written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in files_of(feeds).items():
        path = folder / name
        try:
            if path.read_bytes() == body:
                continue
        except FileNotFoundError:
            pass
        write_atomically(path, body)
        written.append(name)
    return written


class FeedFolder:
    """FEED_DIR kept in step with the published data (the scheduler calls `refresh` on every
    wake-up); re-rendered only when the data version moves."""

    def __init__(self, settings: SiteSettings, store: Store, folder: Path):
        self.settings, self.store, self.folder = settings, store, folder
        self.site = site_for(settings)
        self._version: tuple[Any, ...] | None = None

    def refresh(self, now: dt.datetime) -> list[str]:
        day = ensure_pick(self.store, self.site, now)
        version = (day, *self.store.changes(day))
        if version == self._version:
            return []
        written = write_feeds(self.folder, feeds_for(self.store, self.site, self.settings.feed_days, day))
        self._version = version
        if written:
            log.info("feeds: wrote %s to %s", ", ".join(written), self.folder)
        return written
