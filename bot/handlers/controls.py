"""A subscriber's controls: /pause and /resume, /silent, /language, and /settings with /status.

/settings and /status say when the last quote reached the chat, in its own time, or why it did
not (paused, failed, skipped after downtime), and when the next one comes. They read the ledger
and the subscription; they write nothing.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.delivery.ledger import (
    BLOCKED,
    FAILED,
    MIGRATED,
    PAUSED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    UNCERTAIN,
    Ledger,
)
from bot.delivery.subscribers import NotSubscribed, Subscriber
from bot.handlers.common import Context, now, reply, settings, store, subscribers, topic_of, words
from bot.handlers.readers import refuse_in_group, to_whom, when
from bot.i18n import LANGUAGES, N_, Words, translator
from bot.messages import escape as e
from quotes.dates import due_instant

LANGUAGE = "lang:"  # callback_data prefix of the /language buttons
MAX_PAUSE_DAYS = 365
STATUS_DAYS = 31  # how far back /status looks for the last delivery
NOT_SUBSCRIBED = (
    N_("You are not subscribed. /subscribe to get the quote every day."),
    N_("This group is not subscribed. /subscribe to get the quote every day."),
    N_("This topic is not subscribed. /subscribe to get the quote every day."),
)
SUBSCRIPTION = (
    N_("You are subscribed: the quote comes {when}."),
    N_("This group is subscribed: the quote comes {when}."),
    N_("This topic is subscribed: the quote comes {when}."),
)
WHY = {  # why a day's quote did not reach the chat, by ledger status
    PAUSED: N_("The quote of {day} was not sent: the subscription was paused."),
    FAILED: N_("The quote of {day} could not be delivered: Telegram answered “{error}”."),
    SKIPPED: N_("The quote of {day} was skipped: the service was down for longer than it catches up."),
    UNCERTAIN: N_("The quote of {day} may not have arrived: the connection broke while it was sent."),
    BLOCKED: N_("The quote of {day} could not be delivered: the bot was blocked or removed."),
    MIGRATED: N_("The quote of {day} went to the group's new supergroup."),
    PENDING: N_("The quote of {day} is on its way."),
    SENDING: N_("The quote of {day} is on its way."),
}


def zone_of(context: Context, subscriber: Subscriber) -> ZoneInfo:
    try:
        return ZoneInfo(subscriber.timezone) if subscriber.timezone else settings(context).timezone
    except (ZoneInfoNotFoundError, ValueError):
        return settings(context).timezone


def local_today(context: Context, subscriber: Subscriber) -> dt.date:
    return now(context).astimezone(zone_of(context, subscriber)).date()


def next_delivery(context: Context, subscriber: Subscriber) -> dt.datetime | None:
    """The next instant the quote goes to this subscriber (None: paused until /resume)."""
    if subscriber.paused_at is not None and subscriber.resumes_on is None:
        return None
    zone = zone_of(context, subscriber)
    at = subscriber.delivery_time or settings(context).publish_time
    current = now(context)
    day = current.astimezone(zone).date()
    while True:
        due = due_instant(day, at, zone)
        if due > current and not subscriber.paused_on(day):
            return due
        day += dt.timedelta(days=1)


def status_lines(context: Context, speech: Words, subscriber: Subscriber) -> list[str]:
    """The delivery status: the last quote (when it arrived, in the chat's time, or why not), the next."""
    _ = speech.gettext
    zone = zone_of(context, subscriber)
    today = local_today(context, subscriber)
    ledger = Ledger(store(context))
    first = today - dt.timedelta(days=STATUS_DAYS)
    last = today + dt.timedelta(days=1)
    lines = []
    row = ledger.latest(subscriber.chat_id, subscriber.thread_id, first, last)
    sent = (
        row
        if row is None or row.status == SENT
        else ledger.latest(subscriber.chat_id, subscriber.thread_id, first, last, status=SENT)
    )
    if row is not None and row.status != SENT:
        error = e(row.error or "")
        lines.append(_(WHY[row.status]).format(day=speech.day(row.date), error=error))
    if sent is not None:
        arrived = sent.updated_at.astimezone(zone)
        lines.append(
            _("The last quote reached this chat on {day} at {time} ({zone}).").format(
                day=speech.day(arrived.date()), time=arrived.strftime("%H:%M"), zone=e(zone.key)
            )
        )
    elif row is None:
        lines.append(_("No daily quote has been sent here yet."))
    if subscriber.paused_at is not None and subscriber.resumes_on is None:
        lines.append(_("Paused until you send /resume."))
    else:
        if subscriber.paused_on(today) and subscriber.resumes_on is not None:
            lines.append(
                _("Paused: it comes again from {day}.").format(day=speech.day(subscriber.resumes_on))
            )
        upcoming = next_delivery(context, subscriber)
        assert upcoming is not None  # (only an open-ended pause has none)
        local = upcoming.astimezone(zone)
        lines.append(
            _("The next one comes on {day} at {time} ({zone}).").format(
                day=speech.day(local.date()), time=local.strftime("%H:%M"), zone=e(zone.key)
            )
        )
    return lines


async def _subscriber(update: Update, context: Context, speech: Words) -> Subscriber | None:
    """The chat's (or topic's) active subscription; None, having said so, when there is none."""
    chat = update.effective_chat
    assert chat is not None, "a command comes in a message, which has a chat"
    subscriber = subscribers(context).get(chat.id, topic_of(update))
    if subscriber is None or not subscriber.active:
        await reply(update, context, to_whom(update, speech, NOT_SUBSCRIBED))
        return None
    return subscriber


async def settings_command(update: Update, context: Context) -> None:
    speech = words(update, context)
    _ = speech.gettext
    subscriber = await _subscriber(update, context, speech)
    if subscriber is None:
        return
    at = when(context, speech, subscriber.delivery_time, subscriber.timezone)
    lines = [to_whom(update, speech, SUBSCRIPTION).format(when=at)]
    lines.append(
        _("Silent: no sound (/silent off to change).")
        if subscriber.silent
        else _("With sound (/silent on to mute).")
    )
    lines.append(_("Language: {language} (/language).").format(language=LANGUAGES[speech.language]))
    lines += status_lines(context, speech, subscriber)
    lines.append(_("Change the time with /time; /pause takes a break; /unsubscribe stops it."))
    await reply(update, context, "\n".join(lines))


async def status_command(update: Update, context: Context) -> None:
    speech = words(update, context)
    subscriber = await _subscriber(update, context, speech)
    if subscriber is not None:
        await reply(update, context, "\n".join(status_lines(context, speech, subscriber)))


def parse_days(args: list[str], speech: Words) -> int | None:
    """Read /pause's argument: nothing (until /resume) or a number of days; ValueError says what is wrong."""
    if not args:
        return None
    if len(args) == 1 and args[0].isascii() and args[0].isdigit() and 1 <= int(args[0]) <= MAX_PAUSE_DAYS:
        return int(args[0])
    raise ValueError(
        speech.gettext(
            "Pause for how long? Send /pause for a pause until /resume, or /pause 7 for 7 days (1 to {max})."
        ).format(max=MAX_PAUSE_DAYS)
    )


async def pause_command(update: Update, context: Context) -> None:
    speech = words(update, context)
    _ = speech.gettext
    try:
        days = parse_days(context.args or [], speech)
    except ValueError as exc:
        await reply(update, context, e(str(exc)))
        return
    if await refuse_in_group(update, context):
        return
    subscriber = await _subscriber(update, context, speech)
    if subscriber is None:
        return
    resumes_on = local_today(context, subscriber) + dt.timedelta(days=days) if days else None
    subscriber = subscribers(context).pause(
        subscriber.chat_id, resumes_on, now(context), subscriber.thread_id
    )
    if resumes_on is None:
        await reply(
            update, context, _("Paused: no daily quote until you send /resume. Your settings are kept.")
        )
        return
    await reply(
        update,
        context,
        _(
            "Paused for {days} days: the daily quote comes again from {day}. /resume ends the pause sooner."
        ).format(days=days, day=speech.day(resumes_on)),
    )


async def resume_command(update: Update, context: Context) -> None:
    speech = words(update, context)
    _ = speech.gettext
    if await refuse_in_group(update, context):
        return
    subscriber = await _subscriber(update, context, speech)
    if subscriber is None:
        return
    if not subscriber.paused_on(local_today(context, subscriber)):
        await reply(update, context, _("The daily quote is not paused, so nothing changed."))
        return
    subscriber = subscribers(context).resume(subscriber.chat_id, now(context), subscriber.thread_id)
    upcoming = next_delivery(context, subscriber)
    assert upcoming is not None  # (resumed: not paused)
    local = upcoming.astimezone(zone_of(context, subscriber))
    await reply(
        update,
        context,
        _("Resumed: the next quote comes on {day} at {time}.").format(
            day=speech.day(local.date()), time=local.strftime("%H:%M")
        ),
    )


async def silent_command(update: Update, context: Context) -> None:
    speech = words(update, context)
    _ = speech.gettext
    args = [a.casefold() for a in context.args or []]
    if args not in (["on"], ["off"]):
        await reply(
            update,
            context,
            _("Send /silent on for the daily quote without a sound, /silent off for it with one."),
        )
        return
    if await refuse_in_group(update, context):
        return
    subscriber = await _subscriber(update, context, speech)
    if subscriber is None:
        return
    try:
        subscribers(context).set_silent(
            subscriber.chat_id, args == ["on"], now(context), subscriber.thread_id
        )
    except NotSubscribed:  # (unsubscribed in between)
        await reply(update, context, to_whom(update, speech, NOT_SUBSCRIBED))
        return
    if args == ["on"]:
        await reply(update, context, _("Silent: the daily quote now comes without a sound."))
    else:
        await reply(update, context, _("The daily quote now comes with a sound again."))


def language_buttons() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(name, callback_data=f"{LANGUAGE}{code}") for code, name in LANGUAGES.items()]]
    )


async def language_command(update: Update, context: Context) -> None:
    speech = words(update, context)
    _ = speech.gettext
    choice = (context.args or [""])[0].casefold()
    if choice:
        await _choose(update, context, choice)
        return
    await reply(
        update,
        context,
        _("The bot speaks {language} here. Choose:").format(language=LANGUAGES[speech.language]),
        language_buttons(),
    )


async def language_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None, "a CallbackQueryHandler's update has data"
    await query.answer()
    await _choose(update, context, query.data[len(LANGUAGE) :])


async def _choose(update: Update, context: Context, code: str) -> None:
    chat = update.effective_chat
    assert chat is not None, "a command or a button comes in a chat"
    if code not in LANGUAGES:
        _ = words(update, context).gettext
        names = ", ".join(f"<code>{c}</code>" for c in LANGUAGES)
        await reply(
            update,
            context,
            _("“{code}” is not a language of this bot: {names}.").format(code=e(code), names=names),
        )
        return
    if await refuse_in_group(update, context):
        return
    subscribers(context).set_language(chat.id, code, now(context))
    speech = translator(code)
    await reply(
        update,
        context,
        speech.gettext("Done: the bot now speaks {language} here.").format(language=LANGUAGES[code]),
    )
