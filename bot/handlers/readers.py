"""Readers' commands, the quote buttons and inline mode. Thin: parse, call, reply."""

from __future__ import annotations

import datetime as dt
import logging
import random
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode

from bot.delivery.subscribers import Subscribed
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
    today,
)
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
from quotes.model import Quote
from quotes.search import MAX_RESULTS, random_quote, search
from quotes.selection import NoQuoteError

log = logging.getLogger(__name__)

SUBSCRIBE = "subscribe"  # callback_data of the "Subscribe" button
DEEP_LINK = "q_"  # /start q_<id> opens a quote
SEARCH_LISTED = 10
SUBSCRIBE_GROUP = "subscribe this group"
TIME_EXAMPLE = "/time 07:30 Europe/Berlin"

READER_COMMANDS = (
    ("today", "Today's quote"),
    ("random", "A random quote"),
    ("search", "Find quotes by words, speaker or topic"),
    ("quote", "A quote by its id"),
    ("source", "Where a quote comes from"),
    ("subscribe", "Get the quote every day"),
    ("unsubscribe", "Stop the daily quote"),
    ("time", "Set your delivery time and timezone"),
    ("settings", "Your subscription"),
    ("help", "What this bot does"),
    ("about", "About the quotes and their sources"),
)

HELP = """<b>Quote of the day</b>: one quote a day, verbatim from its source, with the source and its date.

/today — today's quote
/random — a random quote
/search <i>words</i> — find quotes by text, speaker or topic
/quote <i>id</i> — a quote by its id
/source <i>id</i> — where a quote comes from: document, publisher, page, dates, notes
/subscribe — get the quote every day · /unsubscribe — stop
/time <i>HH:MM</i> [<i>Area/City</i>] — when you get it, e.g. <code>{example}</code>
/settings — your subscription
/about — about the quotes

In any chat, type <code>@{username} words</code> to share a quote."""

ABOUT = """Every quote here is taken character for character from a real document: elisions and \
the speaker's slips are kept as they are, and editors' headlines are never attributed to the speaker.

Each quote carries its source (the page it comes from, and the work that page quotes), the \
publisher, and its date written with the precision the source gives: a day, a month, or a year. \
Where a fact is unknown, it says so. /source <i>id</i> shows all of it."""


# --- showing quotes ------------------------------------------------------------------------


async def send_quote(
    update: Update, context: Context, quote: Quote, heading: str | None = None, extra_row=None
) -> None:
    source, cites = store(context).provenance(quote)
    message = quote_message(quote, source, cites, heading)
    markup = message.markup
    if extra_row:
        markup = InlineKeyboardMarkup([*markup.inline_keyboard, extra_row])
    await reply(update, context, message.html, markup)


def todays_quote(context: Context) -> Quote | None:
    """Return today's quote, fixing the day's pick if the publish has not yet (None: no quotes)."""
    day = today(context)
    # Read first: fixing a pick takes the write lock, which only the first request needs.
    pick = store(context).stored_pick(day)
    if pick is None:
        try:
            pick = store(context).pick_for(day, now(context))
        except NoQuoteError:
            return None
    return pick.quote


async def send_today(update: Update, context: Context, extra_row=None) -> None:
    quote = todays_quote(context)
    if quote is None:
        await reply(update, context, "There is no quote to show yet.")
        return
    await send_quote(update, context, quote, heading(today(context)), extra_row)


def visible_quote(context: Context, quote_id: str) -> Quote | None:
    quote = store(context).quote(quote_id) if is_id(quote_id) else None
    return quote if quote is not None and not quote.hidden else None


async def no_such_quote(update: Update, context: Context, quote_id: str) -> None:
    await reply(
        update,
        context,
        f"There is no quote <code>{echo(quote_id)}</code>. Ids look like <code>sb-01</code>; "
        "/search finds quotes by words.",
    )


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
            return
        await no_such_quote(update, context, quote_id)
    subscriber = subs.get(chat.id)
    if revived:
        greeting = "Welcome back! Your daily quote is on again. /settings shows when it comes."
    else:
        greeting = (
            "Hello! Every day this bot sends one quote, verbatim from its source, "
            "with the source and its date. /help lists what else it does."
        )
    await reply(update, context, greeting)
    subscribed = subscriber is not None and subscriber.active
    row = (
        None
        if subscribed
        else [InlineKeyboardButton("Subscribe to the daily quote", callback_data=SUBSCRIBE)]
    )
    await send_today(update, context, row)


async def help_command(update: Update, context: Context) -> None:
    await reply(update, context, HELP.format(example=e(TIME_EXAMPLE), username=e(context.bot.username)))


async def about(update: Update, context: Context) -> None:
    await reply(update, context, ABOUT)


async def today_command(update: Update, context: Context) -> None:
    await send_today(update, context)


async def random_command(update: Update, context: Context) -> None:
    quote = random_quote(store(context), random.Random())
    if quote is None:
        await reply(update, context, "There is no quote to show yet.")
        return
    await send_quote(update, context, quote)


async def quote_command(update: Update, context: Context) -> None:
    if not context.args:
        await reply(update, context, "Which quote? Send its id, e.g. <code>/quote sb-01</code>.")
        return
    quote = visible_quote(context, context.args[0])
    if quote is None:
        await no_such_quote(update, context, context.args[0])
        return
    await send_quote(update, context, quote)


def _deep_link(context: Context, quote_id: str) -> str:
    return f"https://t.me/{context.bot.username}?start={DEEP_LINK}{quote_id}"


async def search_command(update: Update, context: Context) -> None:
    words = argument_text(update.effective_message)
    if not words:
        await reply(
            update,
            context,
            "Search for what? E.g. <code>/search NATO security</code> or <code>/search Sergei</code>.",
        )
        return
    found = search(store(context), words)
    if not found:
        await reply(
            update,
            context,
            f"No quote matches “{echo(words)}”. Try fewer words, a speaker's name or a topic such as "
            "<code>NATO</code>.",
        )
        return
    if len(found) == 1:
        await send_quote(update, context, found[0], f"1 quote matches “{snippet(words, ECHO_LENGTH)}”")
        return
    count = f"{len(found)}+" if len(found) >= MAX_RESULTS else str(len(found))
    lines = [f"<b>{count} quotes match “{echo(words)}”</b>"]
    for number, quote in enumerate(found[:SEARCH_LISTED], 1):
        lines.append(
            f'{number}. <a href="{e(_deep_link(context, quote.id))}">“{e(snippet(quote.text))}”</a>\n'
            f"    — {e(quote.speaker)}, {e(quote.date.human())} · <code>{e(quote.id)}</code>"
        )
    if len(found) > SEARCH_LISTED:
        lines.append(f"Showing the best {SEARCH_LISTED}: add words to narrow it down.")
    lines.append("Tap a quote to open it, or send <code>/quote id</code>.")
    await reply(update, context, "\n".join(lines))


async def source_command(update: Update, context: Context) -> None:
    if not context.args:
        await reply(update, context, "Whose source? Send a quote id, e.g. <code>/source fp-01</code>.")
        return
    quote = visible_quote(context, context.args[0])
    if quote is None:
        await no_such_quote(update, context, context.args[0])
        return
    await reply(update, context, fitting_provenance(quote, *store(context).provenance(quote)))


# --- subscribing ---------------------------------------------------------------------------


def _chat_title(update: Update) -> str | None:
    chat = update.effective_chat
    return chat.title or chat.full_name if chat else None


async def _refuse_in_group(update: Update, context: Context, what: str) -> bool:
    if await may_manage_chat(update, context):
        return False
    await reply(update, context, f"Only the group's admins can {what}.")
    return True


def _when(context: Context, delivery_time: dt.time | None, timezone: str | None) -> str:
    service = settings(context)
    at = delivery_time or service.publish_time
    zone = timezone or service.timezone.key
    default = "" if delivery_time or timezone else " (the service's time)"
    return f"daily at {at.strftime('%H:%M')} {e(zone)}{default}"


async def subscribe_chat(update: Update, context: Context) -> str | None:
    """Subscribe the update's chat; return the answer to give (None: the user may not)."""
    chat = update.effective_chat
    if chat is None or not await may_manage_chat(update, context):  # (which says no without a chat)
        return None
    subs = subscribers(context)
    outcome = subs.subscribe(chat.id, chat.type, _chat_title(update), now(context))
    subscriber = subs.get(chat.id)
    assert subscriber is not None, "subscribe() has just stored it, and subscribers are never deleted"
    when = _when(context, subscriber.delivery_time, subscriber.timezone)
    who = "This group is" if is_group(update) else "You are"
    if outcome is Subscribed.ALREADY:
        return f"{who} already subscribed: the quote comes {when}. /unsubscribe to stop."
    return f"{who} subscribed: the quote comes {when}. /time changes when; /unsubscribe stops it."


async def subscribe(update: Update, context: Context) -> None:
    answer = await subscribe_chat(update, context)
    await reply(update, context, answer or f"Only the group's admins can {SUBSCRIBE_GROUP}.")


async def subscribe_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None, "a CallbackQueryHandler's update has a callback query"
    answer = await subscribe_chat(update, context)
    if answer is None:
        await query.answer(f"Only the group's admins can {SUBSCRIBE_GROUP}.", show_alert=True)
        return
    await query.answer("Subscribed")
    await reply(update, context, answer)


async def unsubscribe(update: Update, context: Context) -> None:
    if await _refuse_in_group(update, context, "unsubscribe this group"):
        return
    chat = update.effective_chat
    assert chat is not None, "a command comes in a message, which has a chat"
    was = subscribers(context).unsubscribe(chat.id, now(context))
    who = "This group" if is_group(update) else "You"
    if was:
        await reply(update, context, f"{who} will get no more daily quotes. /subscribe to start again.")
    else:
        await reply(update, context, f"{who} were not subscribed, so nothing changed. /subscribe to start.")


def parse_time(args: list[str]) -> tuple[dt.time | None, str | None]:
    """Read `/time` arguments: HH:MM [Area/City], or `default`. Raise ValueError with the problem."""
    if len(args) == 1 and args[0].casefold() == "default":
        return None, None
    if not 1 <= len(args) <= 2:
        raise ValueError("give a time as HH:MM and, if you like, a timezone")
    at = parse_time_of_day(args[0])
    if len(args) == 1:
        return at, None
    zone = args[1]
    try:
        if "/" not in zone and zone != "UTC":
            raise ZoneInfoNotFoundError(zone)
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"“{zone}” is not a timezone as Area/City, such as Europe/Berlin") from None
    return at, zone


async def time_command(update: Update, context: Context) -> None:
    try:
        at, zone = parse_time(context.args or [])
    except ValueError as exc:
        await reply(
            update,
            context,
            f"{e(sentence(str(exc)))}. For example: <code>{TIME_EXAMPLE}</code>, "
            "<code>/time 08:00</code> (in the service's timezone) or <code>/time default</code>.",
        )
        return
    if await _refuse_in_group(update, context, "change this group's time"):
        return
    chat = update.effective_chat
    assert chat is not None, "a command comes in a message, which has a chat"
    subs = subscribers(context)
    current = subs.get(chat.id)
    if current is None or not current.active:
        await reply(update, context, "Subscribe first with /subscribe; then set your time with /time.")
        return
    if zone is None and at is not None:
        zone = current.timezone
    subscriber = subs.set_time(chat.id, at, zone, now(context))
    await reply(
        update,
        context,
        f"Done: the quote now comes {_when(context, subscriber.delivery_time, subscriber.timezone)}.",
    )


async def settings_command(update: Update, context: Context) -> None:
    chat = update.effective_chat
    assert chat is not None, "a command comes in a message, which has a chat"
    subscriber = subscribers(context).get(chat.id)
    who = "This group is" if is_group(update) else "You are"
    if subscriber is None or not subscriber.active:
        await reply(update, context, f"{who} not subscribed. /subscribe to get the quote every day.")
        return
    when = _when(context, subscriber.delivery_time, subscriber.timezone)
    await reply(
        update,
        context,
        f"{who} subscribed: the quote comes {when}.\n"
        f"Change it with <code>{TIME_EXAMPLE}</code>; /unsubscribe stops it.",
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
        await query.answer("There is no other quote yet.")
        return
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        await query.answer(url=_deep_link(context, quote.id))
        return
    await query.answer()
    await send_quote(update, context, quote)


async def inline_query(update: Update, context: Context) -> None:
    """`@bot words`: up to 50 matching quotes, best first; an empty query gives today's quote."""
    query = update.inline_query
    assert query is not None, "an InlineQueryHandler's update has an inline query"
    text = query.query.strip()
    if not text:
        quote = todays_quote(context)
        quotes = [quote] if quote is not None else []
        cache = 60
    else:
        quotes = search(store(context), text, limit=MAX_RESULTS)
        exact = visible_quote(context, text)
        if exact is not None:
            quotes = [exact, *(q for q in quotes if q.id != exact.id)][:MAX_RESULTS]
        cache = 300
    results = []
    for quote in quotes:
        source, cites = store(context).provenance(quote)
        message = quote_message(quote, source, cites)
        results.append(
            InlineQueryResultArticle(
                id=quote.id,
                title=snippet(quote.text, 60),
                description=f"— {quote.speaker}, {quote.date.human()}",
                input_message_content=InputTextMessageContent(
                    message.html, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
                ),
                reply_markup=inline_markup(message.markup),
            )
        )
    await query.answer(results, cache_time=cache, is_personal=False)


async def chat_migrated(update: Update, context: Context) -> None:
    """A group became a supergroup: its subscription moves to the new id."""
    message = update.effective_message
    assert message is not None, "filters.StatusUpdate.MIGRATE passes only updates with a message"
    if message.migrate_to_chat_id:
        subscribers(context).migrate(message.chat_id, message.migrate_to_chat_id, now(context))


async def my_chat_member(update: Update, context: Context) -> None:
    """The bot was blocked or removed from a chat: its subscription pauses (/start revives it)."""
    change = update.my_chat_member
    assert change is not None, "a MY_CHAT_MEMBER ChatMemberHandler's update has my_chat_member"
    if change.new_chat_member.status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
        reason = "blocked" if change.chat.type == ChatType.PRIVATE else "removed"
        if subscribers(context).unsubscribe(change.chat.id, now(context), reason=reason):
            log.info("chat %s: subscription paused (%s)", change.chat.id, reason)
