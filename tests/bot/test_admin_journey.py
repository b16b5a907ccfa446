"""An admin's whole journey through the real bot and the emulator, and a non-admin refused."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.delivery.subscribers import Subscribers
from bot.handlers.admins import REFUSED
from quotes.dates import PartialDate
from quotes.store import schema as t
from quotes.transfer import export_csv
from tests.bot.conftest import buttons
from tests.conftest import NOW

NEW_TEXT = 'We are ready to work with "everyone" who is ready to work with us.'


def imported(row: int, **changes) -> dict:
    record = {
        "id": f"imp-{row:02d}",
        "text": f"An imported sentence, number {row}.",
        "speaker": "Sergey Lavrov",
        "speaker_role": "Russian Foreign Minister",
        "date": "2013",
        "date_precision": "year",
        "source": {"id": "imp-src", "title": "Imported talks", "url": "https://example.org/talks"},
        "topics": ["imports"],
    }
    return record | changes


def audit_since(store, count_before: int) -> list[dict]:
    entries = store.audit_log(10_000)
    return list(reversed(entries[: len(entries) - count_before]))


async def test_an_admin_adds_edits_hides_pins_imports_and_exports(bot, store):
    admin = bot.admin
    audit_before = len(store.audit_log(10_000))

    # /add, guided: text → speaker → source (a new one) → date → topics → preview → save
    assert "Send the quote's text" in await bot.text(admin, "/add")
    assert "Who said or wrote it" in await bot.text(admin, NEW_TEXT)
    answer = await bot.say(admin, "Sergey Lavrov, Russian Foreign Minister")
    assert "Which source" in answer[0]["text"] and "cfr-same-boat" in answer[0]["text"]
    assert answer[0]["reply_markup"]["keyboard"][0][0]["text"] == "New source"
    assert "title" in await bot.text(admin, "New source")
    assert "URL" in await bot.text(admin, "Press conference in Moscow")
    wrong = await bot.text(admin, "www.example.org/press")
    assert "url:" in wrong and "http" in wrong and "URL" in wrong  # the problem, then the question again
    assert "publisher" in await bot.text(admin, "https://example.org/press?id=1&lang=en")
    assert "Its date" in await bot.text(admin, "Example Press")
    assert "When was the quote said" in await bot.text(admin, "March 2013")
    assert "is not a real date" in await bot.text(admin, "32 March 2013")
    assert "in the future" in await bot.text(admin, "2030")
    assert "Topics" in await bot.text(admin, "March 2013")
    preview, question = await bot.say(admin, "NATO, cooperation")
    assert NEW_TEXT in preview["text"] and "— Sergey Lavrov, Russian Foreign Minister" in preview["text"]
    assert "Press conference in Moscow" in preview["text"] and "March 2013" in preview["text"]
    assert {b["text"] for b in buttons(preview)} >= {"Source", "Share"}
    assert "Save this quote?" in question["text"]
    saved = await bot.text(admin, "Save")
    new_id = saved.split("Saved as ")[1].split(".")[0]
    quote = store.quote(new_id)
    assert new_id.startswith("u-") and quote.text == NEW_TEXT and quote.origin == "admin"
    assert quote.date == PartialDate(2013, 3) and quote.topics == ("NATO", "cooperation")
    source = store.source(quote.source)
    assert (source.title, source.url, source.publisher) == (
        "Press conference in Moscow",
        "https://example.org/press?id=1&lang=en",
        "Example Press",
    )
    added = audit_since(store, audit_before)
    assert [e["action"] for e in added] == ["add.source.add", "add.quote.add"]
    assert all(e["actor"] == f"tg:{admin}" and e["at"] == NOW for e in added)

    # a rejected add: the same text with other quotes and spacing is a duplicate; nothing is written
    before = bot.snapshot()
    duplicate = NEW_TEXT.replace(" ", "  ").replace('"everyone"', "“everyone”")
    answer = await bot.text(admin, f"/add\ntext: {duplicate}\nspeaker: Sergey Lavrov\nsource: cfr-same-boat")
    assert f"already stored as {new_id}" in answer and "Nothing was saved" in answer
    answer = await bot.text(admin, "/add\ntext: A new line.\nsource: cfr-same-boat")
    assert "speaker: is required" in answer
    assert bot.snapshot() == before

    # the one-message form saves at once (a text not in the source's copy only when asked to)
    form = (
        "/add\ntext: A second new sentence,\nover two lines.\nspeaker: Sergey Lavrov, Foreign Minister\n"
        "source: cfr-same-boat\ndate: 15 November 2010\ntopics: NATO"
    )
    answer = await bot.text(admin, form)
    assert "Not found in the source's copy" in answer and "unverified: yes" in answer
    assert bot.snapshot() == before
    answer = await bot.text(admin, form + "\nunverified: yes")
    assert "Not checked: the text is not in the copy of the source held here." in answer
    second_id = answer.split("Saved as ")[1].split()[0]
    assert store.quote(second_id).text == "A second new sentence,\nover two lines."

    # /edit: one field, recorded with who and when
    assert "date:" in await bot.text(admin, f"/edit {new_id}")
    answer = await bot.text(admin, f"/edit {new_id} date 2013")
    assert "Changed date" in answer and "from: March 2013" in answer and "to: 2013" in answer
    assert store.quote(new_id).date == PartialDate(2013)
    entry = store.audit_log(1)[0]
    assert (entry["action"], entry["actor"], entry["at"], entry["target"]) == (
        "edit.quote.update",
        f"tg:{admin}",
        NOW,
        new_id,
    )
    assert "verbatim" in await bot.text(admin, "/edit sb-01 text Something else")

    # /hide: never picked again, nothing deleted; /unhide brings it back
    assert "is now hidden" in await bot.text(admin, "/hide sb-01")
    assert "already was hidden" in await bot.text(admin, "/hide sb-01")
    assert store.quote("sb-01").hidden
    upcoming = await bot.text(admin, "/upcoming 31")
    assert "sb-01" not in upcoming and upcoming.count("\n") == 31
    assert "visible" in await bot.text(admin, "/unhide sb-01")

    # /pin: that date's quote, shown by /upcoming
    day = NOW.date() + dt.timedelta(days=5)
    assert f"pinned to {day.isoformat()}" in await bot.text(admin, f"/pin {day.isoformat()} sb-03")
    assert f"{day.isoformat()} sb-03 pinned" in await bot.text(admin, "/upcoming 7")
    past = (NOW.date() - dt.timedelta(days=1)).isoformat()
    assert f"{past} is in the past" in await bot.text(admin, f"/pin {past} sb-03")

    # /import: a bad file is refused whole, naming the row and the field; then a good one
    before = bot.snapshot()
    bad = json.dumps({"quotes": [imported(1), imported(2, speaker="")]}).encode()
    answer = await bot.send_file(admin, "quotes.json", bad, caption="/import")
    assert "row 2" in answer and "speaker" in answer and "Nothing was imported" in answer
    assert bot.snapshot() == before
    assert "Send the JSON or CSV file" in await bot.text(admin, "/import")
    good = export_csv([imported(1), imported(2)]).encode()
    answer = await bot.send_file(admin, "quotes.csv", good)
    assert "2 added" in answer
    assert store.quote("imp-02").text == "An imported sentence, number 2."
    assert store.audit_log(1)[0]["actor"] == f"tg:{admin}"

    # /export: the JSON export as a document, with every quote and its provenance
    (exported,) = await bot.say(admin, "/export")
    document = exported["document"]
    assert document["file_name"] == "qotd-quotes-2026-11-23.json"
    data = json.loads(bot.emu.file_content(document["file_id"]))
    ids = {record["id"] for record in data["quotes"]}
    assert {new_id, second_id, "imp-01", "imp-02", "sb-01", "fp-11"} <= ids
    assert next(r for r in data["quotes"] if r["id"] == new_id)["source"]["url"] == source.url

    # /stats: subscribers by kind and the last days' deliveries by outcome
    Subscribers(store).subscribe(bot.reader, "private", "Rob", NOW)
    Subscribers(store).subscribe(-100, "supergroup", "Club", NOW)
    with store.write() as conn:
        for chat_id, status in [(bot.reader, "sent"), (-100, "blocked")]:
            conn.execute(
                t.deliveries.insert().values(
                    date=NOW.date(), chat_id=chat_id, quote_id="sb-01", status=status, attempts=1,
                    due_at=NOW, updated_at=NOW,
                )
            )  # fmt: skip
    stats = await bot.text(admin, "/stats")
    assert "people: 1" in stats and "groups: 1" in stats and "1 configured" in stats
    assert "2026-11-23: sent 1, blocked 1" in stats


async def test_cancelling_an_add_saves_nothing(bot):
    before = bot.snapshot()
    await bot.say(bot.admin, "/add")
    await bot.say(bot.admin, "Some words.")
    assert "You are adding a quote" in await bot.text(bot.admin, "/hide sb-01")
    assert "Cancelled" in await bot.text(bot.admin, "/cancel")
    assert bot.snapshot() == before
    assert "There is nothing to cancel" in await bot.text(bot.admin, "/cancel")


ADMIN_ATTEMPTS = [
    "/add",
    "/add\ntext: Sneaky.\nspeaker: Me\nsource: cfr-same-boat",
    "/edit sb-02 date 2013",
    "/hide sb-01",
    "/unhide sb-01",
    "/pin 2026-12-01 sb-03",
    "/upcoming",
    "/stats",
    "/sources",
    "/export",
    "/import",
]


@pytest.mark.parametrize("command", ADMIN_ATTEMPTS)
async def test_a_non_admin_is_refused_and_nothing_changes(bot, command):
    before = bot.snapshot()
    messages = await bot.say(bot.reader, command)
    assert [m["text"] for m in messages] == [REFUSED]
    assert bot.snapshot() == before


async def test_a_non_admin_file_is_not_imported(bot):
    before = bot.snapshot()
    content = json.dumps([imported(1)]).encode()
    assert await bot.send_file(bot.reader, "quotes.json", content, caption="/import") == REFUSED
    assert await bot.send_file(bot.reader, "quotes.json", content) == ""  # silently ignored
    assert bot.snapshot() == before


async def test_a_quote_that_would_not_fit_one_message_is_refused(bot):
    before = bot.snapshot()
    form = (
        f"/add\ntext: {'word ' * 690}end\nspeaker: Someone, {'a very long role ' * 29}\n"
        f"source title: {'A long title ' * 38}\nsource url: https://example.org/a"
    )
    answer = await bot.text(bot.admin, form)
    assert "with its attribution the message would be" in answer and "4096" in answer
    assert "Nothing was saved" in answer
    assert bot.snapshot() == before
