"""Readers' commands, the quote buttons and inline mode. Thin: parse, call, reply."""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultPhoto,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError

from bot.cards import BOT_DATA_KEY, CardUrl, fits_caption
from bot.delivery.subscribers import EVERY_TOPIC, Subscribed
from bot.handlers.common import (
    NO_PREVIEW,
    Context,
    argument_text,
    is_group,
    may_manage_chat,
    now,
    reply,
    sentence,
    settings,
    store,
    subscribers,
    topic_of,
    user_words,
    words,
)
from bot.i18n import DEFAULT, N_, Words
from bot.messages import (
    ECHO_LENGTH,
    echo,
    fitting_provenance,
    heading,
    inline_markup,
    quote_message,
    shared_quote_id,
    snippet,
)
from bot.messages import escape as e
from quotes.curation import is_id
from quotes.dates import parse_time_of_day
from quotes.days import DayQuote, todays
from quotes.model import Quote
from quotes.search import MAX_RESULTS, random_quote, search

log = logging.getLogger(__name__)

SUBSCRIBE = "subscribe"  # callback_data of the "Subscribe" button
UNSUBSCRIBE = "unsubscribe"  # callback_data of the "Subscribed ✓ (Unsubscribe)" button
DEEP_LINK = "q_"  # /start q_<id> opens a quote
SEARCH_LISTED = 10
TIME_EXAMPLE = "/time 07:30 Europe/Berlin"

# The command menu (setMyCommands, once per language: bot/app.py set_commands).
READER_COMMANDS = (
    ("today", N_("Today's quote")),
    ("random", N_("A random quote")),
    ("search", N_("Find quotes by words, speaker or topic")),
    ("quote", N_("A quote by its id")),
    ("source", N_("Where a quote comes from")),
    ("subscribe", N_("Get the quote every day")),
    ("unsubscribe", N_("Stop the daily quote")),
    ("time", N_("Set your delivery time and timezone")),
    ("pause", N_("Pause the daily quote (/pause 7: for a week)")),
    ("resume", N_("Get the daily quote again after a pause")),
    ("silent", N_("Daily quote without a sound: /silent on or off")),
    ("settings", N_("Your subscription and its last delivery")),
    ("status", N_("Did the last quote arrive? When is the next?")),
    ("language", N_("The bot's language")),
    ("help", N_("What this bot does")),
    ("about", N_("About the quotes and their sources")),
)

HELP = N_("""<b>Quote of the day</b>: one quote a day, verbatim from its source, with the source and its date.

/today — today's quote
/random — a random quote
/search <i>words</i> — find quotes by text, speaker or topic
/quote <i>id</i> — a quote by its id
/source <i>id</i> — where a quote comes from: document, publisher, page, dates, notes
/subscribe — get the quote every day · /unsubscribe — stop
/time — when you get it (buttons), or <code>{example}</code>
/pause [<i>days</i>] · /resume — a break without unsubscribing
/silent on|off — the daily message without a sound
/settings · /status — your subscription, and whether the last quote arrived
/language — English or Russian
/about — about the quotes

In any chat, type <code>@{username} words</code> to share a quote.""")

ABOUT = N_("""{checked} of the {total} quotes here are checked character for character against a copy of \
their source held here: elisions and the speaker's slips are kept as they are, and editors' headlines \
are never attributed to the speaker. A quote that is not checked says so, and why.

Each quote carries its source (the page it comes from, and the work that page quotes), the \
publisher, and its date written with the precision the source gives: a day, a month, or a year. \
Where a fact is unknown, it says so. /source <i>id</i> shows all of it.""")
ONLY_ADMINS = N_("Only the group's admins can change its subscription.")


# --- showing quotes ------------------------------------------------------------------------


async def send_quote(
    update: Update,
    context: Context,
    quote: Quote,
    heading: str | None = None,
    extra_row=None,
    speech: Words | None = None,
) -> None:
    speech = speech or words(update, context)
    source, cites = store(context).provenance(quote)
    message = quote_message(quote, source, cites, heading, speech)
    markup = message.markup
    if extra_row:
        markup = InlineKeyboardMarkup([*markup.inline_keyboard, extra_row])
    await reply(update, context, message.html, markup)


def todays_pick(context: Context) -> DayQuote:
    """Today's quote by the one rule every surface uses (quotes.days; fixed on first need)."""
    return todays(store(context), now(context), settings(context).timezone)


def todays_quote(context: Context) -> Quote | None:
    """Return today's quote (None: there is none, every quote is hidden)."""
    pick = todays_pick(context).shown
    return pick.quote if pick is not None else None


async def send_today(update: Update, context: Context, extra_row=None) -> None:
    speech = words(update, context)
    result = todays_pick(context)
    if result.shown is None:
        await reply(update, context, sentence(result.absent_text()))
        return
    await send_quote(update, context, result.shown.quote, heading(result.day, speech), extra_row, speech)


def visible_quote(context: Context, quote_id: str) -> Quote | None:
    quote = store(context).quote(quote_id) if is_id(quote_id) else None
    return quote if quote is not None and not quote.hidden else None


async def no_such_quote(update: Update, context: Context, quote_id: str) -> None:
    _ = words(update, context).gettext
    await reply(
        update,
        context,
        _(
            "There is no quote {id}. Ids look like <code>sb-01</code>; /search finds quotes by words, "
            "/today shows today's."
        ).format(id=f"<code>{echo(quote_id)}</code>"),
    )


def subscribe_row(speech: Words, subscribed: bool) -> list[InlineKeyboardButton]:
    """The button under /start's quote: Subscribe, or (once pressed) Subscribed ✓ (Unsubscribe)."""
    _ = speech.gettext
    if subscribed:
        return [InlineKeyboardButton(_("Subscribed ✓ (Unsubscribe)"), callback_data=UNSUBSCRIBE)]
    return [InlineKeyboardButton(_("Subscribe to the daily quote"), callback_data=SUBSCRIBE)]


# --- commands ------------------------------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    """Greet, revive a lapsed subscription, show today's quote (or a deep-linked one)."""
    chat = update.effective_chat
    assert chat is not None, "a command comes in a message, which has a chat"
    subs = subscribers(context)
    revived = subs.revive(chat.id, now(context))  # writing to the bot again means they are back
    payload = context.args[0] if context.args else ""
    if payload.startswith(DEEP_LINK):
        quote_id = payload[len(DEEP_LINK) :]
        quote = visible_quote(context, quote_id)
        if quote is not None:
            await send_quote(update, context, quote)
        else:  # one message: what is wrong, and where to go
            await no_such_quote(update, context, quote_id)
        return
    speech = words(update, context)
    _ = speech.gettext
    subscriber = subs.get(chat.id, topic_of(update))
    if revived:
        greeting = _("Welcome back! Your daily quote is on again. /settings shows when it comes.")
    else:
        greeting = _(
            "Hello! Every day this bot sends one quote, verbatim from its source, "
            "with the source and its date. /help lists what else it does."
        )
    await reply(update, context, greeting)
    subscribed = subscriber is not None and subscriber.active
    await send_today(update, context, None if subscribed else subscribe_row(speech, False))


async def help_command(update: Update, context: Context) -> None:
    _ = words(update, context).gettext
    await reply(update, context, _(HELP).format(example=e(TIME_EXAMPLE), username=e(context.bot.username)))


async def about(update: Update, context: Context) -> None:
    checked, total = store(context).verification_counts()
    await reply(update, context, words(update, context).gettext(ABOUT).format(checked=checked, total=total))


async def today_command(update: Update, context: Context) -> None:
    await send_today(update, context)


async def random_command(update: Update, context: Context) -> None:
    quote = random_quote(store(context), random.Random())
    if quote is None:
        await reply(update, context, words(update, context).gettext("There is no quote to show yet."))
        return
    await send_quote(update, context, quote)


async def quote_command(update: Update, context: Context) -> None:
    if not context.args:
        _ = words(update, context).gettext
        await reply(update, context, _("Which quote? Send its id, e.g. <code>/quote sb-01</code>."))
        return
    quote = visible_quote(context, context.args[0])
    if quote is None:
        await no_such_quote(update, context, context.args[0])
        return
    await send_quote(update, context, quote)


def _deep_link(context: Context, quote_id: str) -> str:
    return f"https://t.me/{context.bot.username}?start={DEEP_LINK}{quote_id}"


async def search_command(update: Update, context: Context) -> None:
    speech = words(update, context)
    _ = speech.gettext
    text = argument_text(update.effective_message)
    if not text:
        await reply(
            update,
            context,
            _("Search for what? E.g. <code>/search NATO security</code> or <code>/search Sergei</code>."),
        )
        return
    found = search(store(context), text)
    if not found:
        await reply(
            update,
            context,
            _(
                "No quote matches “{words}”. Try fewer words, a speaker's name or a topic such as "
                "<code>NATO</code>."
            ).format(words=echo(text)),
        )
        return
    if len(found) == 1:
        title = _("1 quote matches “{words}”").format(words=snippet(text, ECHO_LENGTH))
        await send_quote(update, context, found[0], title, speech=speech)
        return
    count = f"{len(found)}+" if len(found) >= MAX_RESULTS else str(len(found))
    title = speech.ngettext("{count} quote matches “{words}”", "{count} quotes match “{words}”", len(found))
    lines = [f"<b>{title.format(count=count, words=echo(text))}</b>"]
    for number, quote in enumerate(found[:SEARCH_LISTED], 1):
        lines.append(
            f'{number}. <a href="{e(_deep_link(context, quote.id))}">“{e(snippet(quote.text))}”</a>\n'
            f"    — {e(quote.speaker)}, {e(speech.date(quote.date))} · <code>{e(quote.id)}</code>"
        )
    if len(found) > SEARCH_LISTED:
        lines.append(_("Showing the best {count}: add words to narrow it down.").format(count=SEARCH_LISTED))
    lines.append(_("Tap a quote to open it, or send <code>/quote id</code>."))
    await reply(update, context, "\n".join(lines))


async def source_command(update: Update, context: Context) -> None:
    speech = words(update, context)
    if not context.args:
        _ = speech.gettext
        await reply(update, context, _("Whose source? Send a quote id, e.g. <code>/source fp-01</code>."))
        return
    quote = visible_quote(context, context.args[0])
    if quote is None:
        await no_such_quote(update, context, context.args[0])
        return
    await reply(update, context, fitting_provenance(quote, *store(context).provenance(quote), speech))


# --- subscribing ---------------------------------------------------------------------------


def _chat_title(update: Update) -> str | None:
    chat = update.effective_chat
    return chat.title or chat.full_name if chat else None


async def refuse_in_group(update: Update, context: Context) -> bool:
    """In a group, only its admins change the subscription: say so and return True for others."""
    if await may_manage_chat(update, context):
        return False
    await reply(update, context, words(update, context).gettext(ONLY_ADMINS))
    return True


def when(context: Context, speech: Words, delivery_time: dt.time | None, timezone: str | None) -> str:
    """'daily at 09:00 Europe/Berlin', with '(the service's time)' when the subscriber set none."""
    _ = speech.gettext
    service = settings(context)
    at = (delivery_time or service.publish_time).strftime("%H:%M")
    zone = e(timezone or service.timezone.key)
    if delivery_time or timezone:
        return _("daily at {time} {zone}").format(time=at, zone=zone)
    return _("daily at {time} {zone} (the service's time)").format(time=at, zone=zone)


# Sentences about the subscription, said to a private chat, a group, or a forum topic (whole
# sentences, so each language can make its words agree).
SUBSCRIBED = (
    N_("You are subscribed: the quote comes {when}. /time changes when; /unsubscribe stops it."),
    N_("This group is subscribed: the quote comes {when}. /time changes when; /unsubscribe stops it."),
    N_("This topic is subscribed: the quote comes {when}. /time changes when; /unsubscribe stops it."),
)
ALREADY = (
    N_("You are already subscribed: the quote comes {when}. /unsubscribe to stop."),
    N_("This group is already subscribed: the quote comes {when}. /unsubscribe to stop."),
    N_("This topic is already subscribed: the quote comes {when}. /unsubscribe to stop."),
)


def to_whom(update: Update, speech: Words, sentences: tuple[str, str, str]) -> str:
    """The sentence for this chat: (a private chat's, a group's, a forum topic's), translated."""
    you, group, topic = sentences
    return speech.gettext(topic if topic_of(update) else group if is_group(update) else you)


async def subscribe_chat(update: Update, context: Context) -> str | None:
    """Subscribe the update's chat (or forum topic); return the answer to give (None: may not)."""
    chat = update.effective_chat
    if chat is None or not await may_manage_chat(update, context):  # (which says no without a chat)
        return None
    speech = words(update, context)
    _ = speech.gettext
    subs = subscribers(context)
    thread = topic_of(update)
    outcome = subs.subscribe(chat.id, chat.type, _chat_title(update), now(context), thread)
    # The daily message goes in the language the chat reads now, unless it chose one.
    subs.set_language(chat.id, speech.language, now(context), keep=True)
    subscriber = subs.get(chat.id, thread)
    assert subscriber is not None, "subscribe() has just stored it, and subscribers are never deleted"
    at = when(context, speech, subscriber.delivery_time, subscriber.timezone)
    return to_whom(update, speech, ALREADY if outcome is Subscribed.ALREADY else SUBSCRIBED).format(when=at)


async def subscribe(update: Update, context: Context) -> None:
    answer = await subscribe_chat(update, context)
    await reply(update, context, answer or words(update, context).gettext(ONLY_ADMINS))


async def _turn_button(update: Update, speech: Words, subscribed: bool) -> None:
    """Turn the pressed Subscribe button into Subscribed ✓ (Unsubscribe), or back."""
    query = update.callback_query
    message = query.message if query is not None else None
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    old = (SUBSCRIBE, UNSUBSCRIBE)
    rows = [
        row for row in message.reply_markup.inline_keyboard if not any(b.callback_data in old for b in row)
    ]
    try:
        await message.edit_reply_markup(InlineKeyboardMarkup([*rows, subscribe_row(speech, subscribed)]))
    except TelegramError as exc:  # (an old message, or pressed twice): the answer says it anyway
        log.info("could not turn the subscribe button of message %s: %s", message.message_id, exc)


async def subscribe_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None, "a CallbackQueryHandler's update has a callback query"
    speech = words(update, context)
    _ = speech.gettext
    answer = await subscribe_chat(update, context)
    if answer is None:
        await query.answer(_(ONLY_ADMINS), show_alert=True)
        return
    await query.answer(_("Subscribed"))
    await _turn_button(update, speech, subscribed=True)
    await reply(update, context, answer)


async def unsubscribe_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None, "a CallbackQueryHandler's update has a callback query"
    speech = words(update, context)
    chat = update.effective_chat
    if chat is None or not await may_manage_chat(update, context):
        await query.answer(speech.gettext(ONLY_ADMINS), show_alert=True)
        return
    subscribers(context).unsubscribe(chat.id, now(context), thread_id=topic_of(update))
    await query.answer(speech.gettext("Unsubscribed: no more daily quotes."))
    await _turn_button(update, speech, subscribed=False)


async def unsubscribe(update: Update, context: Context) -> None:
    if await refuse_in_group(update, context):
        return
    speech = words(update, context)
    _ = speech.gettext
    chat = update.effective_chat
    assert chat is not None, "a command comes in a message, which has a chat"
    was = subscribers(context).unsubscribe(chat.id, now(context), thread_id=topic_of(update))
    if topic_of(update):
        done = _("This topic will get no more daily quotes. /subscribe to start again.")
        nothing = _("This topic was not subscribed, so nothing changed. /subscribe to start.")
    elif is_group(update):
        done = _("This group will get no more daily quotes. /subscribe to start again.")
        nothing = _("This group was not subscribed, so nothing changed. /subscribe to start.")
    else:
        done = _("You will get no more daily quotes. /subscribe to start again.")
        nothing = _("You were not subscribed, so nothing changed. /subscribe to start.")
    await reply(update, context, done if was else nothing)


def parse_time(args: list[str], speech: Words) -> tuple[dt.time | None, str | None]:
    """Read `/time` arguments: HH:MM [Area/City], or `default`. Raise ValueError with the problem."""
    _ = speech.gettext
    if len(args) == 1 and args[0].casefold() == "default":
        return None, None
    if not 1 <= len(args) <= 2:
        raise ValueError(_("give a time as HH:MM and, if you like, a timezone"))
    try:
        at = parse_time_of_day(args[0])
    except ValueError:
        if re.fullmatch(r"[0-9]{1,2}:[0-9]{2}", args[0]):
            problem = _("“{value}” is not a time of day (00:00 to 23:59)")
        else:
            problem = _("“{value}” is not a time as HH:MM")
        raise ValueError(problem.format(value=args[0])) from None
    if len(args) == 1:
        return at, None
    zone = args[1]
    if not is_zone(zone):
        raise ValueError(
            _("“{zone}” is not a timezone as Area/City, such as Europe/Berlin").format(zone=zone)
        )
    return at, zone


def is_zone(name: str) -> bool:
    """Say whether `name` is an IANA timezone written Area/City (or UTC)."""
    try:
        if "/" not in name and name != "UTC":
            raise ZoneInfoNotFoundError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


async def set_time(update: Update, context: Context, at: dt.time | None, zone: str | None) -> bool:
    """Store a chat's delivery time (typed or picked) and say so; False if it is not subscribed."""
    speech = words(update, context)
    _ = speech.gettext
    chat = update.effective_chat
    assert chat is not None, "a command or a button comes in a chat"
    subs = subscribers(context)
    thread = topic_of(update)
    current = subs.get(chat.id, thread)
    if current is None or not current.active:
        await reply(update, context, _("Subscribe first with /subscribe; then set your time with /time."))
        return False
    if zone is None and at is not None:
        zone = current.timezone
    subscriber = subs.set_time(chat.id, at, zone, now(context), thread)
    done = when(context, speech, subscriber.delivery_time, subscriber.timezone)
    await reply(update, context, _("Done: the quote now comes {when}.").format(when=done))
    return True


async def time_command(update: Update, context: Context) -> None:
    """Typed `/time HH:MM [Area/City]` (`/time` alone opens the picker: bot/handlers/picker.py)."""
    speech = words(update, context)
    _ = speech.gettext
    try:
        at, zone = parse_time(context.args or [], speech)
    except ValueError as exc:
        await reply(
            update,
            context,
            _(
                "{problem}. For example: <code>{example}</code>, <code>/time 08:00</code> (in the "
                "service's timezone), <code>/time default</code>, or just /time for buttons."
            ).format(problem=e(sentence(str(exc))), example=TIME_EXAMPLE),
        )
        return
    if await refuse_in_group(update, context):
        return
    await set_time(update, context, at, zone)


# --- hints ---------------------------------------------------------------------------------


async def unknown_command(update: Update, context: Context) -> None:
    """A command the bot does not have, in a private chat: say so instead of staying silent."""
    message = update.effective_message
    name = (message.text or "").split(maxsplit=1)[0] if message is not None else "/"
    _ = words(update, context).gettext
    await reply(
        update,
        context,
        _("There is no command {command}. /help lists them all.").format(command=e(snippet(name, 40))),
    )


async def plain_text(update: Update, context: Context) -> None:
    """Plain text in a private chat (that no conversation is waiting for): a short hint."""
    _ = words(update, context).gettext
    await reply(
        update,
        context,
        _(
            "To find quotes, send <code>/search words</code>; /today shows today's quote "
            "and /help everything else."
        ),
    )


# --- buttons, inline mode, chat changes ----------------------------------------------------


async def another(update: Update, context: Context) -> None:
    """The "Another" button: a random quote other than the one on the message.

    In a private chat the quote is sent there. In a group or channel, where a new message
    would go to everyone, the button opens the bot privately on that quote instead (a
    t.me deep link, which answerCallbackQuery may open).
    """
    query = update.callback_query
    assert query is not None, "a CallbackQueryHandler's update has a callback query"
    # PTB 22 always reads a callback's message as a Message (an inaccessible one: date 0, no markup),
    # though it types it MaybeInaccessibleMessage: the isinstance only narrows.
    message = query.message
    current = shared_quote_id(message.reply_markup if isinstance(message, Message) else None)
    quote = random_quote(store(context), random.Random(), exclude=[current] if current else [])
    if quote is None:
        await query.answer(words(update, context).gettext("There is no other quote yet."))
        return
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        await query.answer(url=_deep_link(context, quote.id))
        return
    await query.answer()
    await send_quote(update, context, quote)


async def inline_query(update: Update, context: Context) -> None:
    """`@bot words`: up to 50 matching quotes, best first; an empty query gives today's quote.

    When the query names one quote (the Share button's) or is empty (today's), that quote's
    share card comes first, the text as its caption, if the site is public and the text fits.
    """
    query = update.inline_query
    assert query is not None, "an InlineQueryHandler's update has an inline query"
    speech = user_words(update)
    text = query.query.strip()
    card: Quote | None = None
    if not text:
        card = todays_quote(context)
        quotes = [card] if card is not None else []
        cache = 60
    else:
        quotes = search(store(context), text, limit=MAX_RESULTS)
        card = visible_quote(context, text)
        if card is not None:
            quotes = [card, *(q for q in quotes if q.id != card.id)][:MAX_RESULTS]
        cache = 300
    card_url: CardUrl | None = context.bot_data.get(BOT_DATA_KEY)
    results: list[InlineQueryResultArticle | InlineQueryResultPhoto] = []
    for quote in quotes:
        source, cites = store(context).provenance(quote)
        message = quote_message(quote, source, cites, words=speech)
        if quote is card and card_url is not None and fits_caption(message):
            results.append(
                InlineQueryResultPhoto(
                    id=f"card-{quote.id}",
                    photo_url=card_url(quote.id, "jpg"),
                    thumbnail_url=card_url(quote.id, "jpg"),
                    title=speech.gettext("Share the card: {text}").format(text=snippet(quote.text, 40)),
                    description=f"— {quote.speaker}, {speech.date(quote.date)}",
                    caption=message.html,
                    parse_mode=ParseMode.HTML,
                    reply_markup=inline_markup(message.markup),
                )
            )
        results.append(
            InlineQueryResultArticle(
                id=quote.id,
                title=snippet(quote.text, 60),
                description=f"— {quote.speaker}, {speech.date(quote.date)}",
                input_message_content=InputTextMessageContent(
                    message.html, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
                ),
                reply_markup=inline_markup(message.markup),
            )
        )
    # Answers depend on the user's language now: personal (cached per user), as Telegram says.
    await query.answer(results[:MAX_RESULTS], cache_time=cache, is_personal=speech.language != DEFAULT)


async def chat_migrated(update: Update, context: Context) -> None:
    """A group became a supergroup: its subscription moves to the new id."""
    message = update.effective_message
    assert message is not None, "filters.StatusUpdate.MIGRATE passes only updates with a message"
    if message.migrate_to_chat_id:
        subscribers(context).migrate(message.chat_id, message.migrate_to_chat_id, now(context))


async def my_chat_member(update: Update, context: Context) -> None:
    """The bot was blocked or removed from a chat: its subscriptions pause (/start revives them)."""
    change = update.my_chat_member
    assert change is not None, "a MY_CHAT_MEMBER ChatMemberHandler's update has my_chat_member"
    if change.new_chat_member.status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
        reason = "blocked" if change.chat.type == ChatType.PRIVATE else "removed"
        if subscribers(context).unsubscribe(
            change.chat.id, now(context), reason=reason, thread_id=EVERY_TOPIC
        ):
            log.info("chat %s: subscription paused (%s)", change.chat.id, reason)
