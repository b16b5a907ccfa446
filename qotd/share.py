"""Where a quote's share card is, for Telegram: the site's /q/<id>.png (or .jpg) at PUBLIC_URL.

The bot does not know the site; the service hands it this (bot.cards.CardUrl). Without
PUBLIC_URL the site is not public, Telegram could not fetch a card, and there is none.
"""

from __future__ import annotations

from bot.cards import CardUrl, ChannelCards
from feed.pages import card_path
from feed.published import site_for
from qotd.settings import Settings


def card_url(settings: Settings) -> CardUrl | None:
    if settings.public_url is None:
        return None
    site = site_for(settings)

    def url(quote_id: str, kind: str) -> str:
        return site.link(card_path(quote_id, kind))

    return url


def channel_cards(settings: Settings, channels: frozenset[int]) -> ChannelCards | None:
    """CHANNEL_FORMAT=card: the channels (their resolved chat ids) get the card; else None."""
    url = card_url(settings)
    if settings.channel_format != "card" or url is None:
        return None
    return ChannelCards(channels, url)
