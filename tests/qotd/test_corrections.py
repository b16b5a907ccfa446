"""A correction reaches every copy: replacing today's quote (hide, pin), the feeds and pages,
the deliveries not sent yet, and the messages already sent (edited once, through the ledger)."""

from __future__ import annotations

import datetime as dt

import feedparser
import httpx
import pytest

from bot.delivery.edit_ledger import EDITED, NOT_FOUND, NOT_MODIFIED, EditLedger
from bot.delivery.edits import EditRun
from bot.delivery.ledger import SENT
from bot.messages import heading
from feed.site import create_app
from qotd.scheduler import SchedulerService
from quotes.days import todays
from tests.bot.delivery.conftest import DAY, PUBLISH, settings_for, subscribe
from tests.qotd.test_scheduler import FAST, texts

SITE = "https://qotd.example"
HIDDEN_AT = PUBLISH + dt.timedelta(minutes=10)
EVENING = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)


def service(store, bot, at, **env) -> SchedulerService:
    url = store.engine.url.render_as_string(hide_password=False)
    settings = settings_for(url, PUBLIC_URL=SITE, **env)
    return SchedulerService(settings, store, bot, clock=lambda: at, pacing=FAST, standby_poll=0.05)


def edits_of(emu, chat_id) -> list[list]:
    return [m["edits"] for m in emu.bot_messages(chat_id)]


@pytest.mark.parametrize(
    ("edit_sent", "private_edited"), [("channels", False), ("all", True), ("none", False)]
)
async def test_hiding_todays_quote_replaces_it_everywhere_and_edits_what_was_sent(
    emu, bot, store, ledger, edit_sent, private_edited
):
    channel = emu.create_channel()
    morning = subscribe(store, [emu.create_user() for _ in range(60)])
    evening = subscribe(store, [emu.create_user() for _ in range(40)], delivery_time="20:00")
    env = {"CHANNEL_IDS": str(channel), "EDIT_SENT": edit_sent}
    report = await service(store, bot, PUBLISH, **env).run_once()
    assert report.sent == 61
    first = store.stored_pick(DAY).quote

    # The admin hides it: the day gets a replacement, recorded with why, who and when.
    assert store.set_hidden(first.id, True, "tg:1", HIDDEN_AT, today=DAY, why="misattributed")
    second = store.stored_pick(DAY)
    assert second.quote.id != first.id and second.replaced_at == HIDDEN_AT
    (correction,) = store.corrections(second.quote.id)
    assert (correction.day, correction.replaced_id, correction.actor, correction.why, correction.at) == (
        DAY,
        first.id,
        "tg:1",
        "misattributed",
        HIDDEN_AT,
    )
    audit = store.audit_log(limit=1)[0]
    assert (audit["action"], audit["actor"], audit["details"]["why"]) == ("replace", "tg:1", "misattributed")

    # The next run edits the channel post (and, with EDIT_SENT=all, the private messages) once.
    await service(store, bot, HIDDEN_AT, **env).run_once()
    (post,) = emu.bot_messages(channel)
    assert post["text"].startswith(heading(DAY))
    if edit_sent == "none":
        assert first.text in post["text"] and not post["edits"]
    else:
        assert second.quote.text in post["text"] and len(post["edits"]) == 1
    for user in morning:
        (message,) = emu.bot_messages(user)
        assert len(message["edits"]) == (1 if private_edited else 0)
        assert (second.quote.text if private_edited else first.text) in message["text"]
    planned = EditLedger(store).counts()
    expected = {"channels": {EDITED: 1}, "all": {EDITED: 61}, "none": {}}[edit_sent]
    assert planned == expected

    # Running again edits nothing more: each sent message is edited once per correction.
    await service(store, bot, HIDDEN_AT + dt.timedelta(minutes=1), **env).run_once()
    assert len(emu.bot_messages(channel)[0]["edits"]) == (0 if edit_sent == "none" else 1)

    # Those not reached yet get the replacement.
    await service(store, bot, EVENING, **env).run_once()
    for user in evening:
        assert texts(emu, user) == [texts(emu, user)[0]] and second.quote.text in texts(emu, user)[0]
        assert ledger.get(DAY, user).status == SENT and ledger.get(DAY, user).quote_id == second.quote.id

    # /today.json, the home page, the feeds and the quote pages agree and show the correction.
    settings = settings_for(store.engine.url.render_as_string(hide_password=False), PUBLIC_URL=SITE)
    app = create_app(settings, store, clock=lambda: EVENING, version_ttl=0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as web:
        assert (await web.get("/today.json")).json()["id"] == second.quote.id
        home = (await web.get("/")).text
        assert f'id="quote-{second.quote.id}"' in home and f'id="quote-{first.id}"' not in home
        entry = feedparser.parse((await web.get("/atom.xml")).content).entries[0]
        assert entry.id == f"tag:qotd.example,{DAY.isoformat()}:quote-of-the-day"  # the id is kept
        assert entry.link == f"{SITE}/q/{second.quote.id}"
        assert entry.updated == HIDDEN_AT.isoformat()
        assert "Corrected on 23 November 2026." in entry.content[0].value
        page = (await web.get(f"/q/{second.quote.id}")).text
        assert (
            f"<li><time>23 November 2026</time>: the quote of 23 November 2026 {first.id} was replaced "
            f"by {second.quote.id}. Why: misattributed.</li>"
        ) in page
        assert (await web.get(f"/q/{first.id}")).status_code == 410
    assert todays(store, EVENING, settings.timezone).shown.quote.id == second.quote.id


async def test_pinning_another_quote_to_today_replaces_the_fixed_one(emu, bot, store):
    channel = emu.create_channel()
    await service(store, bot, PUBLISH, CHANNEL_IDS=str(channel)).run_once()
    first = store.stored_pick(DAY).quote
    other = next(q for q in list(store.quotes()) if q.id != first.id)
    replaced = store.pin(DAY, other.id, "tg:2", HIDDEN_AT, today=DAY, why="the anniversary is today")
    assert replaced is not None and replaced.quote.id == other.id and replaced.pinned
    with pytest.raises(ValueError, match=f"{other.id} already is the quote of {DAY.isoformat()}"):
        store.pin(DAY, other.id, "tg:2", HIDDEN_AT, today=DAY)
    await service(store, bot, HIDDEN_AT, CHANNEL_IDS=str(channel)).run_once()
    (post,) = emu.bot_messages(channel)
    assert other.text in post["text"] and len(post["edits"]) == 1
    assert [c.why for c in store.corrections(other.id)] == ["the anniversary is today"]


async def test_an_admins_correction_of_a_published_quote_edits_the_post_and_is_listed(emu, bot, store):
    import dataclasses

    channel = emu.create_channel()
    await service(store, bot, PUBLISH, CHANNEL_IDS=str(channel)).run_once()
    quote = store.stored_pick(DAY).quote
    store.save([], [dataclasses.replace(quote, speaker_role="Corrected role")], "tg:1", HIDDEN_AT, "edit")
    (correction,) = store.corrections(quote.id)
    assert (correction.what, correction.why, correction.day) == (
        "changed the speaker's role",
        "edit by an admin",
        None,
    )
    await service(store, bot, HIDDEN_AT, CHANNEL_IDS=str(channel)).run_once()
    (post,) = emu.bot_messages(channel)
    assert "Corrected role" in post["text"] and len(post["edits"]) == 1


async def test_not_modified_and_not_found_are_outcomes_recorded_not_failures(emu, bot, store, ledger):
    channel, gone = emu.create_channel(), emu.create_channel()
    await service(store, bot, PUBLISH, CHANNEL_IDS=f"{channel},{gone}").run_once()
    quote = store.stored_pick(DAY).quote
    await bot.delete_message(gone, emu.bot_messages(gone)[0]["message_id"])
    store.set_hidden(quote.id, True, "tg:1", HIDDEN_AT, today=DAY)
    edits = EditLedger(store)
    assert edits.plan(HIDDEN_AT, "channels", [channel, gone]) == 2
    # The channel's post already shows the replacement (as after an edit whose answer was lost).
    replacement = store.stored_pick(DAY).quote
    from bot.delivery.broadcast import delivery_message

    message = delivery_message(store, replacement.id, DAY)
    await bot.edit_message_text(
        message.html,
        chat_id=channel,
        message_id=ledger.get(DAY, channel).message_id,
        parse_mode="HTML",
        reply_markup=message.markup,
    )
    report = await EditRun(bot, store, FAST, clock=lambda: HIDDEN_AT).run()
    assert (report.edited, report.not_modified, report.not_found, report.failed) == (0, 1, 1, 0)
    rows = {r.chat_id: (r.status, r.error) for r in edits.rows()}
    assert rows == {
        channel: (NOT_MODIFIED, "message is not modified"),
        gone: (NOT_FOUND, "message to edit not found"),
    }


async def test_edits_stay_inside_telegrams_limits_and_give_way_to_due_sends(emu, bot, store, ledger):
    users = subscribe(store, [emu.create_user() for _ in range(80)])
    await service(store, bot, PUBLISH).run_once()
    store.set_hidden(store.stored_pick(DAY).quote.id, True, "tg:1", HIDDEN_AT, today=DAY)
    edits = EditLedger(store)
    assert edits.plan(HIDDEN_AT, "all") == len(users)

    # A send is due: the edit run does nothing and says it gave way.
    waiting = await EditRun(bot, store, clock=lambda: HIDDEN_AT, sends_due=lambda: True).run()
    assert waiting.yielded and waiting.edited == 0 and edits.counts() == {"pending": len(users)}

    # Telegram's real limits on: the run paces itself (bot-wide and per chat) and gets no 429.
    emu.configure_limits(enabled=True)
    before = emu.counters(per_chat=False)["too_many_requests"]
    report = await EditRun(bot, store, clock=lambda: HIDDEN_AT).run()
    assert report.edited == len(users) and not report.yielded
    assert emu.counters(per_chat=False)["too_many_requests"] == before
    assert all(len(emu.bot_messages(u)[0]["edits"]) == 1 for u in users)


async def test_an_edit_is_written_in_the_language_the_message_was_sent_in(emu, bot, store):
    from bot.delivery.subscribers import Subscribers
    from bot.i18n import translator

    [reader] = subscribe(store, [emu.create_user()])
    Subscribers(store).set_language(reader, "ru", PUBLISH)
    env = {"EDIT_SENT": "all"}
    await service(store, bot, PUBLISH, **env).run_once()
    first = store.stored_pick(DAY).quote
    assert store.set_hidden(first.id, True, "tg:1", HIDDEN_AT, today=DAY, why="misattributed")
    await service(store, bot, HIDDEN_AT, **env).run_once()
    (message,) = emu.bot_messages(reader)
    russian = heading(DAY, translator("ru"))
    assert russian != heading(DAY)  # (the test means something only if the headings differ)
    assert len(message["edits"]) == 1 and message["edits"][0]["text"].startswith(russian)
    assert message["text"].startswith(russian) and store.stored_pick(DAY).quote.text in message["text"]
