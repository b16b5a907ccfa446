"""A reader's whole journey through the real bot and the emulator, over HTTP."""

from __future__ import annotations

import datetime as dt

from bot.delivery.subscribers import Subscribers
from bot.handlers.readers import SUBSCRIBE
from bot.messages import ANOTHER, quote_message
from tests.bot.conftest import buttons
from tests.conftest import NOW


async def test_a_reader_starts_subscribes_sets_a_time_searches_shares_and_leaves(bot, store):
    reader = bot.reader
    today_quote = store.stored_pick(NOW.date())  # nothing picked before the reader asks
    assert today_quote is None

    # /start: a greeting, today's quote with its buttons, and an offer to subscribe
    greeting, quote = await bot.say(reader, "/start")
    assert "Hello" in greeting["text"]
    pick = store.stored_pick(NOW.date())
    assert pick is not None
    assert pick.quote.text in quote["text"]
    assert f"— {pick.quote.speaker}" in quote["text"] and pick.quote.date.human() in quote["text"]
    assert "Quote of the day · 23 November 2026" in quote["text"]
    assert quote["parse_mode"] == "HTML"
    labels = {b["text"]: b for b in buttons(quote)}
    assert labels["Source"]["url"].startswith("http")
    assert labels["Another"]["callback_data"] == ANOTHER
    assert labels["Share"]["switch_inline_query"] == pick.quote.id
    assert labels["Subscribe to the daily quote"]["callback_data"] == SUBSCRIBE

    # the Subscribe button, then /subscribe again: one subscription, a clear answer either way
    (answer,) = await bot.press(reader, quote, SUBSCRIBE)
    assert "You are subscribed" in answer["text"] and "09:00 UTC" in answer["text"]
    assert bot.emu.callback_answers[-1]["text"] == "Subscribed"
    assert "already subscribed" in await bot.text(reader, "/subscribe")
    assert Subscribers(store).counts().private == 1

    # /time: bad input is answered with an example; good input is stored and confirmed
    for bad, problem in [
        ("/time 07:30 Europe/Berlin extra", "give a time"),
        ("/time 25:00", "not a time of day"),
        ("/time 7h30", "not a time as hh:mm"),
        ("/time 07:30 Mars/Olympus", "not a timezone"),
        ("/time 07:30 <b>x</b>", "not a timezone"),
    ]:
        answer = await bot.text(reader, bad)
        assert problem in answer.lower() and "/time 07:30 Europe/Berlin" in answer, bad
    assert Subscribers(store).get(reader).delivery_time is None
    assert "daily at 07:30 Europe/Berlin" in await bot.text(reader, "/time 07:30 Europe/Berlin")
    subscriber = Subscribers(store).get(reader)
    assert (subscriber.delivery_time, subscriber.timezone) == (dt.time(7, 30), "Europe/Berlin")
    assert "daily at 07:30 Europe/Berlin" in await bot.text(reader, "/settings")

    # /search: the alias "Sergei" finds Sergey Lavrov's quotes, each linked to its deep link
    (results,) = await bot.say(reader, "/search Sergei NATO")
    assert "quotes match “Sergei NATO”" in results["text"]
    links = [e["url"] for e in results["entities"] if e["type"] == "text_link"]
    assert links and all(link.startswith("https://t.me/qotd_test_bot?start=q_") for link in links)
    first_id = links[0].rsplit("q_", 1)[1]
    assert "No quote matches" in await bot.text(reader, "/search zzzzqqq")

    # the deep link opens that quote; /source gives the full provenance
    (opened,) = await bot.say(reader, f"/start q_{first_id}")
    assert store.quote(first_id).text in opened["text"]
    provenance = await bot.text(reader, "/source fp-01")
    for fact in [
        "Comité pour la République du Canada",
        "https://comiterepubliquecanada.ca/article3064.html",
        "date unknown",
        "Foreign Policy",
        "March 2013 (month precision)",
        "published 29 April 2013 (day precision)",
        "interview by Susan B. Glasser",
    ]:
        assert fact in provenance, fact
    assert "There is no quote" in await bot.text(reader, "/quote nope")

    # Another: a different quote
    (another,) = await bot.press(reader, quote, ANOTHER)
    assert pick.quote.text not in another["text"] and "— " in another["text"]

    # inline: ranked matches with attribution, at most 50; empty → today's; Share → that quote first
    answer = await bot.inline(reader, "Sergei")
    assert 1 <= len(answer["results"]) <= 50
    for result in answer["results"]:
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML" and "Sergey Lavrov" in content["message_text"]
    assert [r["id"] for r in (await bot.inline(reader, ""))["results"]] == [pick.quote.id]
    assert (await bot.inline(reader, "fp-07"))["results"][0]["id"] == "fp-07"

    # /unsubscribe: idempotent, with a clear answer either way
    assert "no more daily quotes" in await bot.text(reader, "/unsubscribe")
    assert "were not subscribed" in await bot.text(reader, "/unsubscribe")
    assert not Subscribers(store).get(reader).active
    assert bot.emu.counters()["too_many_requests"] == 0


async def test_what_a_user_types_never_becomes_markup(bot):
    answer = (await bot.say(bot.reader, "/search <b>bold</b> &amp; <a href='x'>"))[0]
    assert "<b>bold</b> &amp; <a href='x'>" in answer["text"]
    assert not [e for e in answer["entities"] if e["type"] in ("bold", "text_link") and e["offset"] > 3]
    answer = (await bot.say(bot.reader, "/quote <i>x</i>"))[0]
    assert "<i>x</i>" in answer["text"]


async def test_help_about_and_today(bot, store):
    help_text = await bot.text(bot.reader, "/help")
    for command in ("/today", "/random", "/search", "/source", "/subscribe", "/time", "@qotd_test_bot"):
        assert command in help_text
    assert "character for character" in await bot.text(bot.reader, "/about")
    today = await bot.text(bot.reader, "/today")
    assert store.stored_pick(NOW.date()).quote.text in today
    assert "— " in await bot.text(bot.reader, "/random")


async def test_start_revives_a_subscriber_whose_deliveries_were_blocked(bot, store):
    await bot.say(bot.reader, "/subscribe")
    Subscribers(store).unsubscribe(bot.reader, NOW, reason="blocked")  # as the delivery engine does on 403
    greeting = (await bot.say(bot.reader, "/start"))[0]
    assert "Welcome back" in greeting["text"]
    assert Subscribers(store).get(bot.reader).active


async def test_blocking_the_bot_pauses_the_subscription(bot, store):
    await bot.say(bot.reader, "/subscribe")
    # (naming the bot: the emulator's block_bot for every bot sends no my_chat_member update)
    bot.emu.block_bot(bot.reader, bot=bot.app.bot.token)
    await bot.pump()
    subscriber = Subscribers(store).get(bot.reader)
    assert not subscriber.active and subscriber.inactive_reason == "blocked"
    await bot.say(bot.reader, "/start")  # writing to the bot unblocks it
    assert Subscribers(store).get(bot.reader).active


async def test_only_group_admins_subscribe_a_group(bot, store):
    owner, member = bot.emu.create_user(first_name="Olga"), bot.emu.create_user(first_name="Max")
    group = bot.emu.create_group(title="Readers' club", members=[owner, member], creator=owner)
    for command in ("/subscribe", "/unsubscribe", "/time 08:00"):
        assert "Only the group's admins" in await bot.text(member, command, chat=group)
    assert Subscribers(store).get(group) is None
    assert "This group is subscribed" in await bot.text(owner, "/subscribe", chat=group)
    subscriber = Subscribers(store).get(group)
    assert subscriber.active and subscriber.kind == "group" and subscriber.title == "Readers' club"
    assert Subscribers(store).counts().groups == 1
    assert "daily at 08:00" in await bot.text(owner, "/time 08:00", chat=group)

    # a basic group upgraded to a supergroup: the subscription follows it
    supergroup = bot.emu.upgrade_group(group)
    await bot.pump()
    assert Subscribers(store).get(supergroup).active
    assert Subscribers(store).get(supergroup).delivery_time == dt.time(8, 0)
    assert not Subscribers(store).get(group).active


async def test_commands_are_registered_for_readers_and_admins(bot):
    default = {c["command"] for c in bot.emu.commands()}
    admin = {c["command"] for c in bot.emu.commands(scope={"type": "chat", "chat_id": bot.admin})}
    assert {"today", "search", "subscribe", "time", "source"} <= default
    assert not default & {"add", "edit", "hide", "import", "export", "stats"}
    assert {"add", "edit", "hide", "unhide", "pin", "upcoming", "stats", "export", "import"} <= admin
    assert default <= admin


async def test_another_in_a_channel_opens_the_bot_privately_instead_of_posting(bot, store):
    channel = bot.emu.create_channel(title="Quotes", members=[bot.reader])
    quote = store.quote("sb-02")
    message = quote_message(quote, *store.provenance(quote), "Quote of the day")
    sent = await bot.app.bot.send_message(
        channel, message.html, parse_mode="HTML", reply_markup=message.markup
    )
    before = len(bot.emu.bot_messages(channel))
    bot.emu.press_button(bot.reader, sent.message_id, data=ANOTHER, chat_id=channel)
    await bot.pump()
    assert len(bot.emu.bot_messages(channel)) == before  # nothing new in the channel
    url = bot.emu.callback_answers[-1]["url"]
    assert url.startswith("https://t.me/qotd_test_bot?start=q_") and not url.endswith("q_sb-02")
    (opened,) = await bot.say(bot.reader, "/start " + url.rsplit("start=", 1)[1])
    assert store.quote(url.rsplit("q_", 1)[1]).text in opened["text"]


async def test_the_subscribe_button_in_a_group_needs_a_group_admin(bot, store):
    owner, member = bot.emu.create_user(first_name="Olga"), bot.emu.create_user(first_name="Max")
    group = bot.emu.create_group(title="Club", members=[owner, member], creator=owner)
    messages = await bot.say(member, "/start", chat=group)
    offer = next(m for m in messages if any(b.get("callback_data") == SUBSCRIBE for b in buttons(m)))
    assert await bot.press(member, offer, SUBSCRIBE, chat=group) == []
    answer = bot.emu.callback_answers[-1]
    assert answer["show_alert"] and "Only the group's admins" in answer["text"]
    assert Subscribers(store).get(group) is None
    (done,) = await bot.press(owner, offer, SUBSCRIBE, chat=group)
    assert "This group is subscribed" in done["text"] and Subscribers(store).get(group).active
