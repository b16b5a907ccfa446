"""Admins bring the source: /document through the emulator, /add locating the text, every surface.

On SQLite and PostgreSQL (the `bot` harness runs on the `store` of the `database_url` fixture).
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from starlette.testclient import TestClient
from telegram.error import BadRequest

from bot.handlers.admins import REFUSED
from feed.render import Site, content_html, entries
from feed.site import create_app
from quotes.model import Pick
from quotes.transfer import export_csv
from tests.conftest import NOW
from tests.feed.conftest import SITE, settings_for
from tests.quotes.test_provenance import NEAR_MISS, PAGE, VERBATIM

BIG = 20 * 1024 * 1024


async def upload_page(bot) -> str:
    """The admin sends PAGE with the caption /document; return the new source's id."""
    caption = "/document\nurl: https://example.org/remarks\npublisher: Example Forum\ndate: March 2013"
    answer = await bot.send_file(bot.admin, "remarks.html", PAGE, caption=caption)
    source_id = answer.split("Stored as source ")[1].split(":")[0]
    assert answer.startswith(
        f"Stored as source {source_id}: “Remarks at the Example Forum”, 211 characters in 5 paragraphs"
    )
    return source_id


def site_page(store, database_url: str, path: str) -> str:
    app = create_app(settings_for(database_url), store, clock=lambda: NOW, version_ttl=0)
    with TestClient(app, base_url=SITE) as client:
        response = client.get(path)
    assert response.status_code == 200
    return response.text


async def test_an_admin_uploads_a_page_and_adds_a_verbatim_quote_and_a_near_miss(bot, store, database_url):
    admin = bot.admin
    source_id = await upload_page(bot)
    source = store.source(source_id)
    document = store.document(source.document)
    assert (source.title, source.url, source.publisher, source.origin) == (
        "Remarks at the Example Forum",
        "https://example.org/remarks",
        "Example Forum",
        "admin",
    )
    assert document.data == PAGE and document.obtained_from == f"telegram: remarks.html sent by tg:{admin}"
    assert [e["action"] for e in store.audit_log(2)] == ["source.document.add", "source.source.add"]

    # the verbatim quote: found, saved as checked, highlighted on the source page
    await bot.text(admin, "/add")
    await bot.text(admin, VERBATIM)
    await bot.text(admin, "Sergey Lavrov, Russian Foreign Minister")
    await bot.text(admin, source_id)
    await bot.text(admin, "March 2013")
    preview, question = await bot.say(admin, "diplomacy")
    assert "Not checked" not in preview["text"]
    assert question["text"] == (
        "Found in paragraph 3 of the source's copy: it will be saved as checked.\nSave this quote?"
    )
    saved = await bot.text(admin, "Save")
    verbatim_id = saved.split("Saved as ")[1].split(".")[0]
    assert "Checked against the copy of the source held here, paragraph 3." in saved
    quote = store.quote(verbatim_id)
    assert (quote.verification.state, quote.verification.document, quote.offset) == (
        "verified",
        document.id,
        88,
    )
    html = site_page(store, database_url, f"/sources/{source_id}")
    assert (
        f'<a id="q-{verbatim_id}" class="anchor"></a><mark class="q0 start" data-quotes="{verbatim_id}">'
        f'<a href="/q/{verbatim_id}">'
    ) in html
    assert "The held copy" in html and "Editor&#x27;s text" not in html and "Editor's text" not in html

    # the near miss: refused with where it departs, then saved as unverified when asked
    before = bot.snapshot()
    await bot.text(admin, "/add")
    await bot.text(admin, NEAR_MISS)
    await bot.text(admin, "Sergey Lavrov")
    await bot.text(admin, source_id)
    await bot.text(admin, "March 2013")
    preview, question = await bot.say(admin, "-")
    assert "Not checked: the text is not in the copy of the source held here." in preview["text"]
    assert question["text"].startswith(
        "Not found in the source's copy. the text is not in the copy of the source held here:\n"
        f"text departs from {document.id} after 50 matching characters (paragraph 3"
    )
    assert "  quote:     of letting other people have their way." in question["text"]
    assert "  document:  of letting other people have your way, and we practise" in question["text"]
    assert [b["text"] for b in question["reply_markup"]["keyboard"][0]] == ["Save as unverified", "Cancel"]
    assert "send the corrected text, or tap Save as unverified" in await bot.text(admin, "Save")
    assert bot.snapshot() == before  # nothing written yet
    saved = await bot.text(admin, "Save as unverified")
    near_id = saved.split("Saved as ")[1].split(".")[0]
    assert "Not checked: the text is not in the copy of the source held here." in saved
    near = store.quote(near_id)
    assert (near.verification.state, near.verification.reason, near.offset) == (
        "unverified",
        "not-found",
        None,
    )

    # shown unverified everywhere: the quote page, the source page, the feed entry, /source, the export
    page = site_page(store, database_url, f"/q/{near_id}")
    assert ">Not checked: the text is not in the copy of the source held here</span>." in page
    source_page = site_page(store, database_url, f"/sources/{source_id}")
    assert "Not checked: quotes not located in the text above" in source_page
    assert f'<li id="q-{near_id}">' in source_page
    site = Site(SITE, dt.UTC, dt.time(9))
    [entry] = entries([Pick(NOW.date(), near, 1)], {source_id: store.source(source_id)}, site)
    assert "Not checked: the text is not in the copy of the source held here</span>." in content_html(
        entry, site
    )
    assert "Not checked: the text is not in the copy of the source held here." in await bot.text(
        bot.reader, f"/source {near_id}"
    )
    assert "Checked against the copy of the source held here, paragraph 3." in await bot.text(
        bot.reader, f"/source {verbatim_id}"
    )
    (exported,) = await bot.say(admin, "/export")
    records = {
        r["id"]: r for r in json.loads(bot.emu.file_content(exported["document"]["file_id"]))["quotes"]
    }
    assert records[near_id]["verification"]["state"] == "unverified"
    assert records[verbatim_id]["verification"]["state"] == "verified"
    # /about and the home page count them
    about = await bot.text(bot.reader, "/about")
    assert about.startswith("21 of the 22 quotes here are checked character for character")


async def test_the_source_file_can_come_at_adds_source_step_and_a_fixed_text_is_checked(bot, store):
    admin = bot.admin
    await bot.text(admin, "/add")
    await bot.text(admin, NEAR_MISS)
    await bot.text(admin, "Sergey Lavrov")
    answer = await bot.send_file(admin, "remarks.html", PAGE)
    assert answer.startswith("Got the source's copy: “Remarks at the Example Forum”, 211 characters")
    assert len(store.documents()) == 2  # the shipped two: nothing is stored before Save
    assert "Its URL" in await bot.text(admin, "Remarks at the Example Forum")
    await bot.text(admin, "-")
    await bot.text(admin, "-")
    await bot.text(admin, "March 2013")
    await bot.text(admin, "March 2013")
    _, question = await bot.say(admin, "-")
    assert question["text"].startswith("Not found in the source's copy.")
    # the corrected text, sent instead of a button: located again, then saved as checked
    _, question = await bot.say(admin, VERBATIM)
    assert question["text"].startswith("Found in paragraph 3 of the source's copy")
    saved = await bot.text(admin, "Save")
    quote = store.quote(saved.split("Saved as ")[1].split(".")[0])
    assert quote.text == VERBATIM and quote.verification.verified
    held = store.document(store.source(quote.source).document)
    assert held.data == PAGE and held.source == quote.source


async def test_documents_refused_whole(bot, store):
    before = bot.snapshot()
    assert await bot.send_file(bot.reader, "remarks.html", PAGE, caption="/document") == REFUSED
    answer = await bot.send_file(bot.admin, "talk.pdf", b"%PDF-1.7 ...", caption="/document")
    assert answer.startswith("talk.pdf: PDF is not taken") and answer.endswith("Nothing was stored.")
    answer = await bot.send_file(bot.admin, "notes.txt", b"", caption="/document")
    assert answer == "notes.txt: the file holds no readable text. Nothing was stored."
    answer = await bot.send_file(bot.admin, "big.txt", b"x" * (BIG + 1), caption="/document")
    assert answer == f"big.txt is {BIG + 1} bytes; at most 20 MB are taken. Nothing was stored."
    answer = await bot.send_file(bot.admin, "r.html", PAGE, caption="/document\nauthor: me")
    assert answer.startswith("caption: 'author: me': give title:, url:, publisher: or date: lines")
    assert bot.snapshot() == before
    assert "with the caption /document" in await bot.text(bot.admin, "/document")


@pytest.mark.parametrize("size, ok", [(BIG, True), (BIG + 1, False)])
async def test_the_emulator_refuses_downloads_over_20_mb_as_telegram_does(
    emulator, emulator_bot, emulator_token, size, ok
):
    user = emulator.create_user()
    emulator.send_document(user, "big.txt", b"x" * size, caption="/document")
    [update] = await emulator_bot.get_updates()
    assert update.message.document.file_size == size
    file_id = update.message.document.file_id
    # the download link exists only once getFile has given it out: before, it is 404 Not Found
    link = f"{emulator.file_base_url}{emulator_token}/documents/file_1.txt"
    async with httpx.AsyncClient() as client:
        assert (await client.get(link)).status_code == 404
        if ok:
            file = await emulator_bot.get_file(file_id)
            assert file.file_path == link  # PTB gives the whole link
            assert len(await file.download_as_bytearray()) == size
        else:
            with pytest.raises(BadRequest, match="File is too big"):
                await emulator_bot.get_file(file_id)
            assert (await client.get(link)).status_code == 404


async def test_curated_text_speaker_and_source_are_refused_on_telegram_too(bot, store, database_url):
    before = bot.snapshot()
    record = store.record(store.quote("fp-01")) | {"text": "NATO has lost its reason to be."}
    answer = await bot.send_file(bot.admin, "quotes.csv", export_csv([record]).encode(), caption="/import")
    assert answer == (
        "quotes.csv: row 1: quote fp-01: field 'text': it is curated: its text is the corpus file's and is "
        "never changed here (hide it and add a corrected quote instead). Nothing was imported."
    )
    fake = store.record(store.quote("fp-01")) | {"id": "fp-77", "text": "Words nobody said."}
    answer = await bot.send_file(bot.admin, "quotes.json", json.dumps([fake]).encode(), caption="/import")
    assert "row 1: quote fp-77: field 'origin': it calls itself curated, but it is not in the corpus" in (
        answer
    )
    assert "is the corpus file's" in await bot.text(bot.admin, "/edit fp-01 speaker Someone Else")
    assert "is the corpus file's" in await bot.text(bot.admin, "/edit fp-01 source cfr-same-boat")
    assert bot.snapshot() == before
    home = site_page(store, database_url, "/")
    assert "20 of 20 quotes are checked character for character against a copy of their source" in home
