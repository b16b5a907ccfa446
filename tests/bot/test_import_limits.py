"""Telegram /import: IMPORT_MAX_BYTES refuses a file before it is downloaded or parsed, and the
bot's import changes only what a record names, like the command line's."""

from __future__ import annotations

import dataclasses
import json


async def test_a_file_over_the_limit_is_refused_before_it_is_read(bot, store):
    settings = bot.app.bot_data["settings"]
    bot.app.bot_data["settings"] = dataclasses.replace(settings, import_max_bytes=100)
    before = bot.snapshot()
    content = json.dumps([{"id": "big-1", "text": "x" * 200, "speaker": "S", "source": "comite-lavrov-fp"}])
    answer = await bot.send_file(bot.admin, "big.json", content.encode(), caption="/import")
    assert answer.startswith("big.json is over 100 bytes (IMPORT_MAX_BYTES); split it")
    assert bot.snapshot() == before
    assert "getFile" not in bot.emu.counters()["requests"]  # never downloaded


async def test_a_partial_record_sent_to_the_bot_keeps_the_rest(bot, store):
    before = store.source("comite-lavrov-fp")
    quote = store.quote("fp-02")
    record = {
        "id": "fp-02",
        "topics": ["NATO", "UN"],
        "source": {"id": "comite-lavrov-fp", "title": before.title},
    }
    answer = await bot.send_file(bot.admin, "partial.json", json.dumps([record]).encode(), caption="/import")
    assert answer == "Imported partial.json: 0 added, 1 updated, 0 unchanged quotes."
    assert store.source("comite-lavrov-fp") == before  # publisher and URL not blanked
    assert store.quote("fp-02") == dataclasses.replace(
        quote, topics=("NATO", "UN"), origin=quote.origin, corrected_at=store.quote("fp-02").corrected_at
    )
