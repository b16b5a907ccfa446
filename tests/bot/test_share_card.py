"""Share in Telegram: the quote's card comes first in the inline results when the site is public."""

from __future__ import annotations

import dataclasses

from bot.cards import BOT_DATA_KEY
from quotes.model import ADMIN
from tests.conftest import NOW

SITE = "https://qotd.example"


def card(quote_id: str, kind: str) -> str:
    return f"{SITE}/q/{quote_id}.{kind}"


async def test_share_offers_the_card_first_with_the_text_as_caption(bot):
    bot.app.bot_data[BOT_DATA_KEY] = card
    results = (await bot.inline(bot.reader, "sb-02"))["results"]
    photo, article = results[0], results[1]
    assert photo["type"] == "photo" and photo["id"] == "card-sb-02"
    assert photo["photo_url"] == photo["thumbnail_url"] == f"{SITE}/q/sb-02.jpg"
    assert photo["parse_mode"] == "HTML"
    assert photo["caption"].startswith("“The world has become less predictable")
    assert [b["text"] for row in photo["reply_markup"]["inline_keyboard"] for b in row] == ["Source", "Share"]
    assert (article["type"], article["id"]) == ("article", "sb-02")
    assert [r["id"] for r in results].count("card-sb-02") == 1  # only the quote shared gets a card


async def test_no_card_without_a_public_site_or_when_the_text_is_too_long_for_a_caption(bot, store):
    without = (await bot.inline(bot.reader, "sb-02"))["results"]
    assert "photo" not in [r["type"] for r in without]
    bot.app.bot_data[BOT_DATA_KEY] = card
    quote = store.quote("sb-02")
    long = dataclasses.replace(quote, id="x-long", text=" ".join(["Counteracting them."] * 60), origin=ADMIN)
    store.save([], [long], "admin", NOW)
    results = (await bot.inline(bot.reader, "x-long"))["results"]
    assert results[0]["type"] == "article" and results[0]["id"] == "x-long"
