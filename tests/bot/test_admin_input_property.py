"""Arbitrary text in every admin input: a reply that names the problem, no crash, nothing written."""

from __future__ import annotations

import datetime as dt
import json
import os

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.app import APOLOGY
from quotes.curation import EDITABLE, DraftError, parse_date

SETTINGS = settings(
    max_examples=int(os.environ.get("QOTD_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# What a user can type: any characters but surrogates (Telegram sends UTF-8), not blank.
typed = st.text(min_size=1, max_size=200).filter(lambda s: s.strip())
word = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and not any(c.isspace() for c in s))
NOTHING = ("Nothing was changed", "Nothing was saved", "Nothing was imported", "Usage:")
EXISTING = {"sb-01", "sb-02", "sb-03", "fp-01", "cfr-same-boat", "comite-lavrov-fp", "fp-law-of-politics"}


async def refused(bot, text: str, *names: str) -> str:
    """Send an admin command; check it was answered with its problem and changed nothing."""
    before = bot.snapshot()
    answer = await bot.text(bot.admin, text)
    assert answer and APOLOGY not in answer, (text, answer)
    assert any(phrase in answer for phrase in NOTHING), (text, answer)
    assert any(name in answer.lower() for name in names), (text, answer)
    assert bot.snapshot() == before
    return answer


def not_a_date(value: str) -> bool:
    try:
        parse_date("date", value, dt.date(2026, 11, 23))
    except DraftError:
        return True
    return False


@SETTINGS
@given(form=typed)
async def test_the_one_message_add(bot, form):
    assume(":" not in form or "text" not in form.lower())
    await refused(bot, f"/add\n{form}", "form", "text", "speaker", "source", "field")


@SETTINGS
@given(quote_id=word, field=st.sampled_from(["date", "speaker", "topics", "source"]), value=typed)
async def test_edit_of_a_quote_that_does_not_exist(bot, quote_id, field, value):
    assume(quote_id not in EXISTING)
    await refused(bot, f"/edit {quote_id} {field} {value}", "no quote")


@SETTINGS
@given(field=word, value=typed)
async def test_edit_of_an_unknown_field(bot, field, value):
    assume(field.casefold() not in EDITABLE)
    await refused(bot, f"/edit sb-02 {field} {value}", "not a field")


@SETTINGS
@given(
    field=st.sampled_from(["text", "source.title", "source.url", "date", "source", "cites", "topics"]),
    value=typed,
)
async def test_edit_values(bot, field, value):
    if field == "date":
        assume(not_a_date(value))
    if field in ("source", "cites"):
        assume(value.strip() not in EXISTING and value.strip() != "-")
    if field == "topics":
        assume(",," in value.replace(" ", "") or any(len(t.strip()) > 60 for t in value.split(",")))
    await refused(bot, f"/edit sb-02 {field} {value}", field.split(".")[-1], "curated", "source")


@SETTINGS
@given(command=st.sampled_from(["/hide", "/unhide"]), quote_id=typed)
async def test_hide_and_unhide(bot, command, quote_id):
    assume(quote_id.strip() not in EXISTING)
    await refused(bot, f"{command} {quote_id}", "no quote", "usage")


@SETTINGS
@given(day=typed)
async def test_pin_date(bot, day):
    await refused(bot, f"/pin {day} sb-03", "date", "usage")


@SETTINGS
@given(quote_id=word)
async def test_pin_quote(bot, quote_id):
    assume(quote_id not in EXISTING)
    await refused(bot, f"/pin 2026-12-01 {quote_id}", "no quote")


@SETTINGS
@given(days=typed)
async def test_upcoming(bot, days):
    assume(days.strip() not in {str(n) for n in range(1, 32)} | {f"0{n}" for n in range(1, 10)})
    await refused(bot, f"/upcoming {days}", "number of days")


@SETTINGS
@given(fmt=typed)
async def test_export(bot, fmt):
    assume(fmt.strip().casefold() not in ("json", "csv"))
    await refused(bot, f"/export {fmt}", "json or csv")


@SETTINGS
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.lists(
            st.dictionaries(st.sampled_from(["id", "text", "speaker", "source", "date"]), typed), max_size=3
        ).map(lambda rows: json.dumps(rows).encode()),
    ),
    name=st.sampled_from(["quotes.json", "quotes.csv", "quotes.txt"]),
)
async def test_import(bot, content, name):
    before = bot.snapshot()
    answer = await bot.send_file(bot.admin, name, content, caption="/import")
    assert APOLOGY not in answer and "Nothing was" in answer, answer
    assert bot.snapshot() == before


@SETTINGS
@given(
    answers=st.lists(
        st.one_of(typed, st.sampled_from(["New source", "cfr-same-boat", "March 2013", "-"])), max_size=8
    )
)
async def test_every_step_of_the_add_conversation(bot, answers):
    assume(all(a.strip().casefold() != "save" for a in answers))
    before = bot.snapshot()
    await bot.say(bot.admin, "/add")
    for answer in answers:
        reply = await bot.text(bot.admin, answer)
        assert reply and APOLOGY not in reply, (answer, reply)
    await bot.say(bot.admin, "/cancel")
    assert bot.snapshot() == before


@SETTINGS
@given(args=typed)
async def test_time(bot, args):
    """Not an admin input, but typed by anyone: the problem and an example, nothing written."""
    await bot.say(bot.reader, "/subscribe")
    subscribed = bot.snapshot()
    answer = await bot.text(bot.reader, f"/time {args}")
    assert answer and APOLOGY not in answer
    if "Done" not in answer:
        assert "/time 07:30 Europe/Berlin" in answer, answer
        assert bot.snapshot() == subscribed
