"""sendPhoto as Telegram takes it: an upload, a file_id, an HTTP URL it fetches; captions up to 1024."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest

from emulator import Emulator


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "#1a5fb4").save(out, format="PNG")
    return out.getvalue()


async def test_an_uploaded_photo_comes_back_in_sizes_with_its_caption(emulator: Emulator, emulator_bot: Bot):
    channel = emulator.create_channel("Daily quotes")
    sent = await emulator_bot.send_photo(
        channel, InputFile(png(1200, 630), filename="card.png"), caption="<b>Quote</b> of the day",
        parse_mode=ParseMode.HTML,
    )  # fmt: skip
    assert [(p.width, p.height) for p in sent.photo] == [(90, 47), (320, 168), (800, 420), (1200, 630)]
    assert sent.caption == "Quote of the day"
    assert [(e.type, e.offset, e.length) for e in sent.caption_entities] == [("bold", 0, 5)]
    [record] = emulator.messages(channel)
    assert record["caption"] == "Quote of the day" and record["text"] is None
    assert record["photo"][-1]["width"] == 1200
    again = await emulator_bot.send_photo(channel, sent.photo[-1].file_id)
    assert again.photo[-1].file_unique_id == sent.photo[-1].file_unique_id


async def test_a_photo_url_is_fetched(emulator: Emulator, emulator_bot: Bot, monkeypatch):
    channel = emulator.create_channel()
    fetched = []
    pages = {"https://qotd.example/q/x.png": ("image/png", png(1200, 630))}
    monkeypatch.setattr(emulator, "fetch_url", lambda url: fetched.append(url) or pages[url])
    sent = await emulator_bot.send_photo(channel, "https://qotd.example/q/x.png", caption="x")
    assert fetched == ["https://qotd.example/q/x.png"]
    assert (sent.photo[-1].width, sent.photo[-1].height) == (1200, 630)
    with pytest.raises(BadRequest, match="Failed to get http url content"):
        await emulator_bot.send_photo(channel, "https://qotd.example/q/missing.png")
    pages["https://qotd.example/page"] = ("text/html; charset=utf-8", b"<!doctype html>")
    with pytest.raises(BadRequest, match="Wrong type of the web page content"):
        await emulator_bot.send_photo(channel, "https://qotd.example/page")
    assert len(emulator.messages(channel)) == 1  # a refused photo is not sent


async def test_a_caption_is_at_most_1024_characters(emulator: Emulator, emulator_bot: Bot):
    uid = emulator.create_user()
    photo = InputFile(png(100, 100), filename="p.png")
    sent = await emulator_bot.send_photo(uid, photo, caption="<i>" + "й" * 1024 + "</i>", parse_mode="HTML")
    assert len(sent.caption) == 1024
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await emulator_bot.send_photo(uid, InputFile(png(100, 100), filename="p.png"), caption="й" * 1025)
    assert len(emulator.messages(uid)) == 1


async def test_what_is_not_a_photo_is_refused(emulator: Emulator, emulator_bot: Bot):
    uid = emulator.create_user()
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await emulator_bot.send_photo(uid, InputFile(b"not an image", filename="x.png"))
    with pytest.raises(BadRequest, match="Photo_invalid_dimensions"):
        await emulator_bot.send_photo(uid, InputFile(png(2100, 100), filename="x.png"))
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await emulator_bot.send_photo(uid, "AgACnope")
    assert emulator.messages(uid) == []
