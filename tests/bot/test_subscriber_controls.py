"""Subscribers in control, through the real bot, the scheduler and the emulator, on both databases:
pause and resume, silent delivery, forum topics, the /time picker, delivery status, the reader's
language, and the small things (hints, the Subscribed ✓ button, /start q_<unknown>)."""

from __future__ import annotations

import datetime as dt

import pytest
from telegram import Bot

from bot.delivery.ledger import BLOCKED, PAUSED, SENT, Ledger
from bot.delivery.pacing import Pacing
from bot.delivery.subscribers import TOPIC_CLOSED, Subscribers
from bot.handlers.readers import SUBSCRIBE, UNSUBSCRIBE
from qotd.scheduler import SchedulerService
from tests.bot.conftest import buttons
from tests.bot.delivery.conftest import settings_for

PUBLISH = dt.time(9, 0)  # the service's publish time (UTC)
FAST = Pacing(rate=500, concurrency=8, backoff=0.01, grace=2.0)


def at(day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    """An instant in November 2026, UTC (the harness's "now" is the 23rd, 10:00)."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


async def deliver(harness, when: dt.datetime):
    """Run the leader's scheduler once at `when`: plan what is due, send it; return the report."""
    store = harness.store
    url = store.engine.url.render_as_string(hide_password=False)
    async with Bot(harness.app.bot.token, base_url=harness.emu.base_url) as bot:
        service = SchedulerService(
            settings_for(url), store, bot, clock=lambda: when, pacing=FAST, standby_poll=0.05
        )
        return await service.run_once()


def daily(harness, chat_id: int) -> list[dict]:
    """The daily quotes the bot sent to a chat (their heading says so), in order."""
    return [
        m
        for m in harness.emu.bot_messages(chat_id)
        if (m["text"] or "").startswith(("Quote of the day", "Цитата дня"))
    ]


async def test_a_paused_subscriber_gets_nothing_on_the_paused_days_and_resumes_on_the_right_day(bot, store):
    reader = bot.reader
    await bot.say(reader, "/subscribe")
    answer = await bot.text(reader, "/pause 2")
    assert answer == (
        "Paused for 2 days: the daily quote comes again from 25 November 2026. /resume ends the pause sooner."
    )
    settings = await bot.text(reader, "/settings")
    assert "Paused: it comes again from 25 November 2026." in settings
    assert "The next one comes on 25 November 2026 at 09:00 (UTC)." in settings

    ledger = Ledger(store)
    for day in (24, 25):
        await deliver(bot, at(day))
    assert ledger.get(dt.date(2026, 11, 23), reader) is None  # subscribed after the 23rd's was due
    assert ledger.get(dt.date(2026, 11, 24), reader).status == PAUSED  # recorded paused, not a miss
    assert ledger.get(dt.date(2026, 11, 25), reader).status == SENT
    assert [m["text"].splitlines()[0] for m in daily(bot, reader)] == ["Quote of the day · 25 November 2026"]
    assert Subscribers(store).get(reader).active


async def test_pause_until_resume_and_the_status_says_why_nothing_came(bot, store):
    reader = bot.reader
    await bot.say(reader, "/subscribe")
    assert "Paused: no daily quote until you send /resume" in await bot.text(reader, "/pause")
    await deliver(bot, at(24))
    assert daily(bot, reader) == []
    status = await bot.text(reader, "/status")
    assert status == (
        "The quote of 24 November 2026 was not sent: the subscription was paused.\n"
        "Paused until you send /resume."
    )
    assert await bot.text(reader, "/resume") == "Resumed: the next quote comes on 24 November 2026 at 09:00."
    assert await bot.text(reader, "/resume") == "The daily quote is not paused, so nothing changed."
    for bad in ("/pause 0", "/pause x", "/pause 400", "/pause 1 2"):
        assert (await bot.text(reader, bad)).startswith("Pause for how long?"), bad
    assert Subscribers(store).get(reader).paused_at is None  # bad input changed nothing


async def test_a_silent_subscribers_message_carries_disable_notification(bot, store):
    loud = bot.emu.create_user(first_name="Lou")
    await bot.say(bot.reader, "/subscribe")
    await bot.say(loud, "/subscribe")
    assert await bot.text(bot.reader, "/silent on") == "Silent: the daily quote now comes without a sound."
    assert "Send /silent on" in await bot.text(bot.reader, "/silent maybe")
    assert "Silent: no sound (/silent off to change)." in await bot.text(bot.reader, "/settings")
    report = await deliver(bot, at(24))
    assert report.sent == 2
    (quiet,) = daily(bot, bot.reader)
    (normal,) = daily(bot, loud)
    assert quiet["disable_notification"] is True and normal["disable_notification"] is False
    assert await bot.text(bot.reader, "/silent off") == "The daily quote now comes with a sound again."
    await deliver(bot, at(25))
    assert daily(bot, bot.reader)[-1]["disable_notification"] is False


async def test_two_topics_of_one_forum_group_each_get_one_message_in_their_own_thread(bot, store):
    emu, admin = bot.emu, bot.admin
    forum = emu.create_supergroup("Readers", members=[admin], creator=admin, is_forum=True)
    news, quotes, other = (emu.create_topic(forum, name) for name in ("News", "Quotes", "Chat"))
    for topic in (news, quotes):
        emu.send_text(admin, "/subscribe", chat_id=forum, thread_id=topic)
        await bot.pump()
    answers = [m for m in emu.bot_messages(forum) if "subscribed" in (m["text"] or "")]
    assert [(m["message_thread_id"], m["text"].split(":")[0]) for m in answers] == [
        (news, "This topic is subscribed"),
        (quotes, "This topic is subscribed"),
    ]
    report = await deliver(bot, at(24))
    assert report.sent == 2
    assert sorted(m["message_thread_id"] for m in daily(bot, forum)) == [news, quotes]
    assert Subscribers(store).get(forum) is None  # the group itself is not subscribed, its topics are

    # a closed topic and a deleted one end their subscriptions, as a blocked chat does
    emu.close_topic(forum, news)
    emu.delete_topic(forum, quotes)
    report = await deliver(bot, at(25))
    assert (report.sent, report.blocked) == (0, 2)
    ledger = Ledger(store)
    closed, deleted = (ledger.get(dt.date(2026, 11, 25), forum, topic) for topic in (news, quotes))
    assert (closed.status, closed.error) == (BLOCKED, "Topic_closed")  # (PTB capitalises Telegram's text)
    assert (deleted.status, deleted.error) == (BLOCKED, "Message thread not found")
    for topic in (news, quotes):
        subscriber = Subscribers(store).get(forum, topic)
        assert (subscriber.active, subscriber.inactive_reason) == (False, TOPIC_CLOSED)
    # the open topic was never subscribed; /settings there says so
    emu.send_text(admin, "/settings", chat_id=forum, thread_id=other)
    await bot.pump()
    assert (
        emu.bot_messages(forum)[-1]["text"]
        == "This topic is not subscribed. /subscribe to get the quote every day."
    )


async def test_the_time_picker_journey_ends_with_the_right_settings(bot, store):
    reader = bot.reader
    await bot.say(reader, "/subscribe")
    (hours,) = await bot.say(reader, "/time")
    assert hours["text"] == "When should the daily quote come? Pick the hour:"
    assert len(buttons(hours)) == 24
    await bot.press(reader, hours, "time:h:07")
    (edited,) = [m for m in bot.emu.bot_messages(reader) if m["message_id"] == hours["message_id"]]
    assert edited["text"] == "07:__: and the minutes?"
    assert [b["text"] for b in buttons(edited)] == ["07:00", "07:15", "07:30", "07:45"]
    (share,) = await bot.press(reader, edited, "time:m:07:30")
    assert share["text"] == "Or share your location: only its timezone is kept."
    (zones,) = [m for m in bot.emu.bot_messages(reader) if m["message_id"] == hours["message_id"]]
    assert "Berlin (UTC+1)" in [b["text"] for b in buttons(zones)]

    # a search by city, in English or in the reader's language
    assert await bot.text(reader, "Atlantis") == (
        "No timezone found for “Atlantis”: try a larger city nearby, or share your location."
    )
    assert (
        await bot.text(reader, "paris")
        == "Your timezone: Europe/Paris.\nDone: the quote now comes daily at 07:30 Europe/Paris."
    )
    assert "You are subscribed: the quote comes daily at 07:30 Europe/Paris." in await bot.text(
        reader, "/settings"
    )

    # again, with the zone from a shared location (Moscow), then from a button
    (hours,) = await bot.say(reader, "/time")
    await bot.press(reader, hours, "time:h:06")
    await bot.press(reader, hours, "time:m:06:45")
    bot.new_messages(reader)
    bot.emu.send_location(reader, 55.7558, 37.6173)
    await bot.pump()
    assert [m["text"] for m in bot.new_messages(reader)] == [
        "Your timezone: Europe/Moscow.",
        "Done: the quote now comes daily at 06:45 Europe/Moscow.",
    ]
    (hours,) = await bot.say(reader, "/time")
    await bot.press(reader, hours, "time:h:08")
    await bot.press(reader, hours, "time:m:08:15")
    await bot.press(reader, hours, "time:z:08:15:Europe/Berlin")
    subscriber = Subscribers(store).get(reader)
    assert (subscriber.delivery_time, subscriber.timezone) == (dt.time(8, 15), "Europe/Berlin")
    assert "daily at 08:15 Europe/Berlin" in await bot.text(reader, "/settings")
    # typed /time keeps working
    assert "daily at 07:30 Europe/Paris" in await bot.text(reader, "/time 07:30 Europe/Paris")


async def test_a_russian_user_gets_russian_replies_and_russian_command_menus(bot, store):
    ivan = bot.emu.create_user(first_name="Иван", language_code="ru")
    greeting, quote = await bot.say(ivan, "/start")
    assert greeting["text"].startswith("Здравствуйте! Каждый день этот бот присылает одну цитату")
    assert quote["text"].startswith("Цитата дня · 23 ноября 2026")
    assert [b["text"] for b in buttons(quote)][-1] == "Подписаться на цитату дня"
    assert await bot.text(ivan, "/subscribe") == (
        "Вы подписаны: цитата приходит каждый день в 09:00 UTC (время сервиса). "
        "Время меняет /time; /unsubscribe отключает."
    )
    menu = {c["command"]: c["description"] for c in bot.emu.commands(language_code="ru")}
    assert menu["today"] == "Цитата дня" and menu["pause"] == "Перерыв в цитатах (/pause 7 — на неделю)"
    english = {c["command"]: c["description"] for c in bot.emu.commands()}
    assert english["today"] == "Today's quote"
    assert set(menu) == set(english)
    # the daily message goes in the language the chat subscribed in
    await deliver(bot, at(24))
    (message,) = daily(bot, ivan)[1:]  # (after /start's quote of the 23rd)
    assert message["text"].startswith("Цитата дня · 24 ноября 2026")
    # /language changes it, for the replies and the daily message
    assert await bot.text(ivan, "/language en") == "Done: the bot now speaks English here."
    assert (await bot.text(ivan, "/settings")).startswith("You are subscribed")
    assert await bot.text(ivan, "/language xx") == "“xx” is not a language of this bot: en, ru."
    await deliver(bot, at(25))
    assert daily(bot, ivan)[-1]["text"].startswith("Quote of the day · 25 November 2026")


async def test_settings_and_status_say_when_the_last_quote_arrived_in_local_time(bot, store):
    reader = bot.reader
    await bot.say(reader, "/subscribe")
    assert await bot.text(reader, "/status") == (
        "No daily quote has been sent here yet.\nThe next one comes on 24 November 2026 at 09:00 (UTC)."
    )
    await bot.text(reader, "/time 09:00 Asia/Tokyo")  # 00:00 UTC
    await deliver(bot, at(24, 0, 1))
    assert await bot.text(reader, "/status") == (
        "The last quote reached this chat on 24 November 2026 at 09:01 (Asia/Tokyo).\n"
        "The next one comes on 24 November 2026 at 09:00 (Asia/Tokyo)."
    )  # (the harness's clock stays at 23 November 10:00 UTC, 19:00 in Tokyo)
    # a day the service was down for longer than it catches up: skipped, and /settings says so
    await deliver(bot, at(26, 12))
    bot.app.bot_data["clock"] = lambda: at(26, 13)  # the handlers' clock, too: 22:00 in Tokyo
    settings = (await bot.text(reader, "/settings")).splitlines()
    assert settings[3:6] == [
        "The quote of 26 November 2026 was skipped: the service was down for longer than it catches up.",
        "The last quote reached this chat on 24 November 2026 at 09:01 (Asia/Tokyo).",
        "The next one comes on 27 November 2026 at 09:00 (Asia/Tokyo).",
    ]


async def test_the_small_things_readers_hit(bot, store):
    reader = bot.reader
    assert await bot.text(reader, "/nonsense") == "There is no command /nonsense. /help lists them all."
    assert await bot.text(reader, "hello there") == (
        "To find quotes, send /search words; /today shows today's quote and /help everything else."
    )
    # /start q_<unknown>: one message, saying what is wrong
    (only,) = await bot.say(reader, "/start q_zz-99")
    assert only["text"].startswith("There is no quote zz-99.")
    # the Subscribe button becomes Subscribed ✓ (Unsubscribe), and back
    _greeting, quote = await bot.say(reader, "/start")
    await bot.press(reader, quote, SUBSCRIBE)
    (turned,) = [m for m in bot.emu.bot_messages(reader) if m["message_id"] == quote["message_id"]]
    assert [b["text"] for b in buttons(turned)][-1] == "Subscribed ✓ (Unsubscribe)"
    assert Subscribers(store).get(reader).active
    await bot.press(reader, turned, UNSUBSCRIBE)
    assert bot.emu.callback_answers[-1]["text"] == "Unsubscribed: no more daily quotes."
    (back,) = [m for m in bot.emu.bot_messages(reader) if m["message_id"] == quote["message_id"]]
    assert [b["text"] for b in buttons(back)][-1] == "Subscribe to the daily quote"
    assert not Subscribers(store).get(reader).active


@pytest.mark.parametrize("command", ["/pause", "/resume", "/silent on", "/status", "/settings"])
async def test_controls_need_a_subscription(bot, command):
    assert (
        await bot.text(bot.reader, command)
        == "You are not subscribed. /subscribe to get the quote every day."
    )
