"""The share card in Telegram: channels get it with CHANNEL_FORMAT=card, "Share" offers it inline.

The emulator fetches the card's URL as Telegram would; here it reaches the site in-process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from PIL import Image
from starlette.testclient import TestClient

from bot.cards import ChannelCards
from bot.delivery.broadcast import Broadcast
from bot.delivery.edit_ledger import EDITED, EditLedger
from bot.delivery.ledger import SENT
from bot.delivery.pacing import Pacing
from bot.messages import quote_message
from feed.site import create_app
from qotd.settings import ConfigError
from qotd.share import card_url
from quotes.model import ADMIN
from tests.bot.delivery.conftest import DAY, PUBLISH, settings_for, subscribe
from tests.qotd.test_scheduler import service

SITE = "https://qotd.example"
FAST = Pacing(rate=500, concurrency=8, backoff=0.01, grace=2.0)


@pytest.fixture
def site(store, emu, monkeypatch):
    """The site on the same store, and the emulator fetching URLs under SITE from it."""
    settings = settings_for(str(store.engine.url.render_as_string(hide_password=False)), PUBLIC_URL=SITE)
    client = TestClient(create_app(settings, store, clock=lambda: PUBLISH), base_url=SITE)
    fetched: list[str] = []

    def fetch(url: str) -> tuple[str | None, bytes]:
        fetched.append(url)
        response = client.get(url)
        response.raise_for_status()
        return response.headers.get("content-type"), response.content

    monkeypatch.setattr(emu, "fetch_url", fetch)
    return fetched


def photos(emu, chat_id) -> list[dict]:
    return [m for m in emu.bot_messages(chat_id) if m.get("photo")]


async def test_channels_get_the_card_with_the_text_as_caption_and_readers_the_text(
    emu, bot, store, ledger, site
):
    channel = emu.create_channel()
    [reader] = subscribe(store, [emu.create_user()])
    env = {"CHANNEL_IDS": str(channel), "CHANNEL_FORMAT": "card", "PUBLIC_URL": SITE}
    report = await service(store, bot, PUBLISH, **env).run_once()
    quote = store.stored_pick(DAY).quote
    assert report.sent == 2
    assert site == [f"{SITE}/q/{quote.id}.png"]
    [post] = photos(emu, channel)
    assert post["caption"].startswith("Quote of the day · 23 November 2026\n\n“")
    assert " ".join(quote.text.split()) in " ".join(post["caption"].split())
    assert (post["photo"][-1]["width"], post["photo"][-1]["height"]) == (1200, 630)
    assert [b["text"] for row in post["reply_markup"]["inline_keyboard"] for b in row][-1] == "Share"
    assert ledger.get(DAY, channel).status == SENT
    assert ledger.get(DAY, channel).message_id == post["message_id"]
    [text] = emu.bot_messages(reader)
    assert text["text"] and not text.get("photo")  # subscribers get the text, as before


async def test_with_the_text_format_channels_get_text(emu, bot, store, ledger, site):
    channel = emu.create_channel()
    await service(store, bot, PUBLISH, CHANNEL_IDS=str(channel), PUBLIC_URL=SITE).run_once()
    assert photos(emu, channel) == [] and site == []
    assert len(emu.bot_messages(channel)) == 1


def _long_quote(store):
    quote = store.quote("sb-02")
    long = dataclasses.replace(
        quote, id="x-long", text=("Counteracting them is possible. " * 34).strip(), origin=ADMIN
    )
    store.save([], [long], "admin", PUBLISH - dt.timedelta(days=1))
    return store.quote("x-long")


async def test_a_post_too_long_for_a_caption_goes_as_text(emu, bot, store, ledger, site):
    channel = emu.create_channel()
    long = _long_quote(store)
    message = quote_message(long, *store.provenance(long))
    url = card_url(settings_for("sqlite:///qotd.sqlite3", PUBLIC_URL=SITE))
    assert url is not None
    cards = ChannelCards(frozenset({channel}), url)
    assert cards.photo_for(channel, long.id, message) is None  # 1,000-odd characters and the rest
    ledger.add(DAY, channel, long.id, PUBLISH, PUBLISH)
    report = await Broadcast(bot, store, FAST, clock=lambda: PUBLISH, cards=cards).run()
    assert report.sent == 1 and site == []
    [post] = emu.bot_messages(channel)
    assert post["text"].startswith("Quote of the day · 23 November 2026\n\n“Counteracting them is possible.")


async def test_a_card_telegram_cannot_fetch_falls_back_to_text(emu, bot, store, ledger, site, caplog):
    channel = emu.create_channel()
    quote = store.quote("sb-02")
    cards = ChannelCards(frozenset({channel}), lambda quote_id, kind: f"{SITE}/q/missing.{kind}")
    ledger.add(DAY, channel, quote.id, PUBLISH, PUBLISH)
    report = await Broadcast(bot, store, FAST, clock=lambda: PUBLISH, cards=cards).run()
    assert report.sent == 1
    assert site == [f"{SITE}/q/missing.png"]  # the site answered 404
    [post] = emu.bot_messages(channel)
    assert "The world has become less predictable" in post["text"]
    assert ledger.get(DAY, channel).status == SENT
    assert "card refused (Failed to get http url content), sending text" in caplog.text


def test_channel_format_is_text_or_card_and_card_needs_a_public_site():
    assert settings_for("sqlite:///qotd.sqlite3").channel_format == "text"
    assert (
        settings_for("sqlite:///qotd.sqlite3", CHANNEL_FORMAT="card", PUBLIC_URL=SITE).channel_format
        == "card"
    )
    with pytest.raises(ConfigError, match=r"^CHANNEL_FORMAT='photo' is not text or card$"):
        settings_for("sqlite:///qotd.sqlite3", CHANNEL_FORMAT="photo")
    with pytest.raises(ConfigError, match=r"^CHANNEL_FORMAT=card needs PUBLIC_URL"):
        settings_for("sqlite:///qotd.sqlite3", CHANNEL_FORMAT="card")


async def test_the_card_a_channel_gets_is_the_sites_png(emu, bot, store, site):
    channel = emu.create_channel()
    await service(
        store, bot, PUBLISH, CHANNEL_IDS=str(channel), CHANNEL_FORMAT="card", PUBLIC_URL=SITE
    ).run_once()
    [post] = photos(emu, channel)
    stored = emu.file_content(post["photo"][-1]["file_id"])
    assert Image.open(io.BytesIO(stored)).format == "PNG"


async def test_a_correction_edits_a_card_posts_caption_once(emu, bot, store, ledger, site):
    """A channel's card is a photo: Telegram has no text to edit there, so its caption is edited."""
    channel = emu.create_channel()
    env = {"CHANNEL_IDS": str(channel), "CHANNEL_FORMAT": "card", "PUBLIC_URL": SITE}
    await service(store, bot, PUBLISH, **env).run_once()
    first = store.stored_pick(DAY).quote
    later = PUBLISH + dt.timedelta(minutes=10)
    assert store.set_hidden(first.id, True, "tg:1", later, today=DAY, why="misattributed")
    second = store.stored_pick(DAY).quote
    await service(store, bot, later, **env).run_once()
    [post] = photos(emu, channel)
    assert " ".join(second.text.split()) in " ".join(post["caption"].split())
    assert len(post["edits"]) == 1 and " ".join(first.text.split()) in " ".join(
        post["edits"][0]["caption"].split()
    )
    assert EditLedger(store).counts() == {EDITED: 1}
    await service(store, bot, later + dt.timedelta(minutes=1), **env).run_once()  # edited once only
    assert len(photos(emu, channel)[0]["edits"]) == 1
