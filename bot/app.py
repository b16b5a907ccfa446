"""The Telegram application: built here, with its handlers registered in one place."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.budget import Budget
from bot.config import BotSettings
from bot.handlers import add, admins, controls, picker, readers
from bot.handlers.common import Context, user_words
from bot.i18n import DEFAULT, LANGUAGES, N_, translator
from bot.limits import TELEGRAM, LimitSettings
from bot.messages import ANOTHER
from bot.persistence import Expiry, PersistentApplication, StorePersistence
from bot.replies import REPLY, ReplyLimiter, UserThrottle
from quotes.store import Store

log = logging.getLogger(__name__)

APOLOGY = N_("Sorry, something went wrong on our side. It has been logged; please try again later.")
LOGGED_UPDATE = 500  # characters of an update the error log shows
SLOW_DOWN = N_("Too many requests at once: please wait {seconds} seconds, then try again.")


async def on_error(update: object, context: Context) -> None:
    """Log every error with the update that caused it; tell the user with a short apology."""
    described = str(update.to_dict() if isinstance(update, Update) else repr(update))
    if len(described) > LOGGED_UPDATE:  # never a whole (maybe huge) update in the log
        described = f"{described[:LOGGED_UPDATE]}… ({len(described)} characters)"
    log.error("error while handling update %s", described, exc_info=context.error)
    if not isinstance(update, Update):
        return
    apology = user_words(update).gettext(APOLOGY)  # (not the chat's choice: the store may be what failed)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(apology[: TELEGRAM.callback_answer_length], show_alert=True)
        elif update.effective_chat is not None:  # (an inline query has no chat: no results show)
            await context.bot.send_message(
                update.effective_chat.id, apology, parse_mode=ParseMode.HTML, rate_limit_args=REPLY
            )
    except TelegramError:
        log.exception("could not send the apology for update %s", getattr(update, "update_id", None))


def throttle_users(
    throttle: UserThrottle, inline: UserThrottle
) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """Return a pre-handler that drops a user's updates beyond their share (told once)."""

    async def check(update: Update, context: Context) -> None:
        user = update.effective_user
        if user is None:
            return
        allowed, warn = (inline if update.inline_query is not None else throttle).allow(user.id)
        if allowed:
            return
        log.info("user %s is over the command rate: update %s dropped", user.id, update.update_id)
        if warn and update.effective_chat is not None:
            seconds = max(1, round(throttle.retry_in(user.id)))
            slow_down = user_words(update).gettext(SLOW_DOWN)
            await context.bot.send_message(
                update.effective_chat.id, slow_down.format(seconds=seconds), rate_limit_args=REPLY
            )
        elif warn and update.callback_query is not None:
            await update.callback_query.answer(
                user_words(update).gettext("Too many requests at once: wait a moment.")
            )
        raise ApplicationHandlerStop

    return check


def register_handlers(
    application: Application, limits: LimitSettings, monotonic: Callable[[], float] = time.monotonic
) -> None:
    """Register every handler: throttling first, then /add, readers, admins, buttons, inline."""
    check = throttle_users(
        UserThrottle(limits, clock=monotonic), UserThrottle(limits, clock=monotonic, inline=True)
    )
    application.add_handler(TypeHandler(Update, check), group=-1)
    application.add_handler(add.conversation())
    commands = {
        "start": readers.start,
        "help": readers.help_command,
        "about": readers.about,
        "today": readers.today_command,
        "random": readers.random_command,
        "quote": readers.quote_command,
        "search": readers.search_command,
        "source": readers.source_command,
        "subscribe": readers.subscribe,
        "unsubscribe": readers.unsubscribe,
        "time": picker.time_command,
        "settings": controls.settings_command,
        "status": controls.status_command,
        "pause": controls.pause_command,
        "resume": controls.resume_command,
        "silent": controls.silent_command,
        "language": controls.language_command,
        "edit": admins.edit,
        "hide": admins.hide,
        "unhide": admins.unhide,
        "pin": admins.pin,
        "upcoming": admins.upcoming,
        "stats": admins.stats,
        "sources": admins.sources,
        "export": admins.export,
        "import": admins.import_command,
        "document": admins.document_command,
        "cancel": admins.cancel,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(MessageHandler(filters.Document.ALL, admins.document))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, readers.chat_migrated))
    application.add_handler(CallbackQueryHandler(readers.another, pattern=f"^{ANOTHER}$"))
    application.add_handler(CallbackQueryHandler(readers.subscribe_button, pattern=f"^{readers.SUBSCRIBE}$"))
    application.add_handler(
        CallbackQueryHandler(readers.unsubscribe_button, pattern=f"^{readers.UNSUBSCRIBE}$")
    )
    application.add_handler(CallbackQueryHandler(controls.language_button, pattern=f"^{controls.LANGUAGE}"))
    application.add_handler(CallbackQueryHandler(picker.picked, pattern=f"^{picker.PICK}"))
    application.add_handler(InlineQueryHandler(readers.inline_query))
    application.add_handler(ChatMemberHandler(readers.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.LOCATION & filters.ChatType.PRIVATE, picker.location))
    # Last: in a private chat, a command no handler took, or plain text, gets a hint, not silence.
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    application.add_handler(MessageHandler(private & filters.COMMAND, readers.unknown_command))
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, picker.text))
    application.add_error_handler(on_error)


async def set_commands(application: Application) -> None:
    """Register the command menus, in each language: readers' for everyone, admins' in their chats.

    English is the default menu (no language_code); every other language gets its own, which
    Telegram shows to users whose app speaks it.
    """
    settings: BotSettings = application.bot_data["settings"]
    for language in LANGUAGES:
        _ = translator(language).gettext
        code = None if language == DEFAULT else language
        reader = [BotCommand(name, _(text)) for name, text in readers.READER_COMMANDS]
        admin = reader + [BotCommand(name, _(text)) for name, text in admins.ADMIN_COMMANDS]
        await application.bot.set_my_commands(reader, scope=BotCommandScopeDefault(), language_code=code)
        for admin_id in sorted(settings.admin_ids):
            try:
                await application.bot.set_my_commands(
                    admin, scope=BotCommandScopeChat(admin_id), language_code=code
                )
            except TelegramError as exc:  # an admin who never started the bot: chat not found
                log.warning("could not set the %s admin commands for %s: %s", language, admin_id, exc)


def bot_username(application: Application | None) -> str | None:
    """Return the bot's @username, or None while Telegram is off or not reached yet."""
    if application is None:
        return None
    try:
        return application.bot.username
    except RuntimeError:  # not initialised (yet): Telegram is not reachable
        return None


def build_application(
    settings: BotSettings,
    store: Store,
    *,
    request: BaseRequest | None = None,
    updater: bool = True,
    limits: LimitSettings | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    budget: Budget | None = None,
) -> Application:
    """Build the bot for `settings`, talking to settings.telegram_api_url.

    request: the network layer (tests pass their own); updater: False when updates arrive
    through the web process's webhook endpoint instead of long polling; limits: the reply
    rate limits (default: inside Telegram's); clock: the current time (default: settings.now);
    monotonic: the users' throttle's clock (tests pass a fixed one, so a slow run refills nothing).
    budget: the bot's message budget the replies share with the broadcast (bot/budget.py;
    default: one of this process's own).
    The command menus are registered when the application initializes. User data, chat data
    and the /add conversation live in the store (bot/persistence.py).
    """
    if not settings.bot_token:
        raise ValueError("BOT_TOKEN is not set: Telegram is off")
    limits = limits or LimitSettings()
    clock = clock or settings.now
    builder = (
        ApplicationBuilder()
        .application_class(PersistentApplication)
        .persistence(StorePersistence(store, clock))
        .token(settings.bot_token)
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .rate_limiter(ReplyLimiter(limits, budget=budget))
        # Each update in its own task: a reply waiting for its chat's bucket holds up no one else.
        .concurrent_updates(True)
        .post_init(set_commands)
    )
    if request is not None:
        builder = builder.request(request)
    if not updater:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data["settings"] = settings
    application.bot_data["store"] = store
    application.bot_data["clock"] = clock
    assert isinstance(application, PersistentApplication)
    application.expiry = {add.NAME: Expiry(forget=[add.DRAFT], message=add.DRAFT_DROPPED)}
    register_handlers(application, limits, monotonic)
    return application
