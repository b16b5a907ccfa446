"""The share card in Telegram: channels' daily post as the card with the text as its caption
(CHANNEL_FORMAT=card), and the card offered first when a reader shares a quote inline.

The card is the site's (`/q/<id>.png`, and `.jpg`, which inline photo results must be); the
bot does not draw it. It is handed a `CardUrl`, which names the card's public address, and
Telegram fetches the card from there. Without a public site (no PUBLIC_URL) there is no card.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.limits import TELEGRAM
from bot.messages import QuoteMessage, telegram_length

# (quote id, "png" | "jpg") -> the card's public URL
CardUrl = Callable[[str, str], str]
BOT_DATA_KEY = "card_url"  # where the Application's bot_data keeps the CardUrl, if there is one


def fits_caption(message: QuoteMessage) -> bool:
    """Whether a quote's message fits a photo's caption (1,024 characters, after parsing)."""
    return telegram_length(message.html) <= TELEGRAM.caption_length


@dataclass(frozen=True)
class ChannelCards:
    """Which chats get the daily post as the card (the channels), and where the cards are."""

    chats: frozenset[int]
    url: CardUrl

    def photo_for(self, chat_id: int, quote_id: str, message: QuoteMessage) -> str | None:
        """The card's URL when this chat gets the card and the text fits its caption; else None."""
        if chat_id not in self.chats or not fits_caption(message):
            return None
        return self.url(quote_id, "png")
