"""The feeds: RSS 2.0, Atom 1.0 and JSON Feed 1.1, rendered from quotes data only."""

from feed.render import ATOM_PATH, JSON_PATH, RSS_PATH, Entry, Feeds, Site, entries, render

__all__ = ["ATOM_PATH", "JSON_PATH", "RSS_PATH", "Entry", "Feeds", "Site", "entries", "render"]
