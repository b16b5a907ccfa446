"""The broadcast's lean send (KeepAliveRequest.post_form) against the emulator over HTTP.

The text a subscriber gets goes out through `delivery_bot`'s keep-alive layer with a body encoded
once per message, not through `Bot.send_message`; these tests pin that Telegram is asked for the
same thing, and that every answer (429, 403, migration, a closed topic, a lost answer) is still
read as PTB reads it.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

from telegram import Bot
from telegram.request import BaseRequest, RequestData

from bot.delivery.broadcast import (
    Broadcast,
    chat_form,
    delivery_bot,
    delivery_message,
    message_form,
)
from bot.delivery.ledger import BLOCKED, MIGRATED, SENT, UNCERTAIN
from bot.delivery.pacing import Pacing
from bot.delivery.subscribers import TOPIC_CLOSED
from tests.bot.delivery.conftest import DAY, PUBLISH, plan_today, subscribe

FAST = Pacing(rate=500, concurrency=8, backoff=0.01, grace=2.0)


def clock():
    return PUBLISH + dt.timedelta(minutes=1)


async def lean_broadcast(emu, token, store, pacing=FAST):
    bot = delivery_bot(token, emu.url.rstrip("/"), pacing, read_timeout=1.0)
    async with bot:
        return await Broadcast(bot, store, pacing, clock=clock).run()


class Recorder(BaseRequest):
    """A network layer that keeps the form PTB encodes and answers a sent message."""

    def __init__(self):
        self.forms: list[dict[str, list[str]]] = []

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url, method, request_data: RequestData | None = None, *args, **kwargs):
        if url.endswith("/getMe"):
            return (
                200,
                b'{"ok":true,"result":{"id":123456,"is_bot":true,"first_name":"Q","username":"q_bot"}}',
            )
        assert request_data is not None
        self.forms.append(parse_qs(request_data.url_encoded_parameters()))
        return 200, b'{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":-1,"type":"supergroup"}}}'


async def test_the_lean_form_is_what_send_message_sends_for_a_silent_topic_message_on_the_paid_tier(
    store, ledger
):
    quote_id = plan_today(store, ledger)
    message = delivery_message(store, quote_id, DAY)
    recorder = Recorder()
    async with Bot("123456:" + "A" * 35, request=recorder) as bot:
        await bot.send_message(
            -1001234,
            message.html,
            parse_mode="HTML",
            reply_markup=message.markup,
            message_thread_id=7,
            disable_notification=True,
            allow_paid_broadcast=True,
        )
    (ptb,) = recorder.forms
    lean = parse_qs((chat_form(-1001234, 7, silent=True, paid=True) + message_form(message)).decode())
    assert lean == ptb
    assert sorted(lean) == [
        "allow_paid_broadcast",
        "chat_id",
        "disable_notification",
        "message_thread_id",
        "parse_mode",
        "reply_markup",
        "text",
    ]
    assert (lean["chat_id"], lean["message_thread_id"], lean["disable_notification"]) == (
        ["-1001234"],
        ["7"],
        ["true"],
    )
    assert (lean["allow_paid_broadcast"], lean["parse_mode"], lean["text"]) == (
        ["true"],
        ["HTML"],
        [message.html],
    )
    # A private chat, not silent, on the free tier: only the chat and the message.
    plain = parse_qs((chat_form(42, 0, silent=False, paid=False) + message_form(message)).decode())
    assert sorted(plain) == ["chat_id", "parse_mode", "reply_markup", "text"]


async def test_a_silent_topic_subscriber_on_the_paid_tier_gets_one_silent_message_in_its_topic(
    emu, token, store, ledger
):
    forum = emu.create_supergroup(is_forum=True)
    topic = emu.create_topic(chat_id=forum, title="quotes")
    subscribe(store, [forum], kind="supergroup", thread_id=topic, silent=True)
    quote_id = plan_today(store, ledger)
    report = await lean_broadcast(emu, token, store, Pacing.for_settings(True, backoff=0.01))
    assert report.sent == 1
    (message,) = [m for m in emu.bot_messages(forum) if m["text"] and m["text"].startswith("Quote of")]
    assert (message["message_thread_id"], message["disable_notification"], message["parse_mode"]) == (
        topic,
        True,
        "HTML",
    )
    expected = delivery_message(store, quote_id, DAY)
    assert message["reply_markup"] == expected.markup.to_dict()
    assert store.quote(quote_id).text in message["text"]
    assert emu.counters(per_chat=False)["paid_messages"] == 1
    row = ledger.get(DAY, forum, topic)
    assert (row.status, row.message_id) == (SENT, message["message_id"])


async def test_a_429_then_success_records_the_message_id_once(emu, token, store, ledger):
    # One message a second for the bot: the second chat is answered 429 retry_after=1 first.
    emu.configure_limits(enabled=True, global_rate=1, global_burst=1)
    ann, bob = subscribe(store, [emu.create_user(), emu.create_user()])
    plan_today(store, ledger)
    report = await lean_broadcast(emu, token, store, Pacing(rate=500, concurrency=1, backoff=0.01))
    assert (report.sent, report.retry_after, emu.counters()["too_many_requests"]) == (2, 1, 1)
    for user in (ann, bob):
        (message,) = emu.bot_messages(user)
        row = ledger.get(DAY, user)
        assert (row.status, row.message_id) == (SENT, message["message_id"])
    assert ledger.get(DAY, bob).attempts == 1  # one claim: the 429 was waited out, not re-claimed


async def test_blocked_migrated_closed_topic_and_lost_answers_are_read_as_ptb_reads_them(
    emu, token, store, ledger
):
    blocked, lost = subscribe(store, [emu.create_user(), emu.create_user()])
    emu.block_bot(blocked)
    group = emu.create_group(members=[emu.create_user()])
    supergroup = emu.upgrade_group(group)
    subscribe(store, [group], kind="group")
    forum = emu.create_supergroup(is_forum=True)
    closed = emu.create_topic(chat_id=forum, title="closed")
    emu.close_topic(forum, closed)
    subscribe(store, [forum], kind="supergroup", thread_id=closed)
    emu.inject_fault("lost", method="sendMessage", chat_id=lost)
    plan_today(store, ledger)
    report = await lean_broadcast(emu, token, store)
    assert (report.sent, report.blocked, report.migrated, report.uncertain) == (1, 2, 1, 1)
    assert ledger.get(DAY, blocked).status == BLOCKED
    assert not ledger.subscriber(blocked).active
    assert (ledger.get(DAY, group).status, ledger.get(DAY, supergroup).status) == (MIGRATED, SENT)
    topic_row = ledger.get(DAY, forum, closed)
    assert topic_row.status == BLOCKED and "topic_closed" in topic_row.error.lower()
    assert ledger.subscriber(forum, closed).inactive_reason == TOPIC_CLOSED
    assert ledger.get(DAY, lost).status == UNCERTAIN  # carried out, its answer lost: not resent
    assert len(emu.bot_messages(lost)) == 1
