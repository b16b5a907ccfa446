"""What every handler needs: the store, the time, who is asking, and how to reply."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import (
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import CallbackContext, ExtBot

from bot.config import BotSettings
from bot.delivery.subscribers import NO_TOPIC, Subscribers
from bot.i18n import Words, translator
from bot.messages import MAX_MESSAGE, fit_message, telegram_length
from bot.replies import REPLY
from quotes.store import Store

log = logging.getLogger(__name__)

# What handlers get: PTB's default context, but with the bot build_application makes, whose rate
# limiter (ReplyLimiter) takes rate_limit_args (REPLY); ContextTypes.DEFAULT_TYPE's bot has none.
Context = CallbackContext[ExtBot[dict[Any, Any]], dict[Any, Any], dict[Any, Any], dict[Any, Any]]
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def sentence(text: str) -> str:
    """Return text with its first letter in upper case (and nothing else changed)."""
    return text[:1].upper() + text[1:]


def store(context: Context) -> Store:
    return context.bot_data["store"]


def settings(context: Context) -> BotSettings:
    return context.bot_data["settings"]


def subscribers(context: Context) -> Subscribers:
    return Subscribers(store(context))


def now(context: Context) -> dt.datetime:
    """Return the current time (tests pass a clock to build_application)."""
    return context.bot_data["clock"]()


def today(context: Context) -> dt.date:
    return settings(context).today(now(context))


def topic_of(update: Update) -> int:
    """Return the forum topic an update happened in (its message_thread_id), or NO_TOPIC."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or not chat.is_forum or message is None or not message.is_topic_message:
        return NO_TOPIC
    return message.message_thread_id or NO_TOPIC


def user_words(update: Update) -> Words:
    """The words of the user's Telegram language (no database: what error answers use)."""
    user = update.effective_user
    return translator(user.language_code if user else None)


def words(update: Update, context: Context) -> Words:
    """The words to answer in: the chat's chosen language (/language), else the user's language_code."""
    chat = update.effective_chat
    try:
        chosen = subscribers(context).language(chat.id) if chat is not None else None
    except SQLAlchemyError as exc:  # the store is down: still answer, in the user's language
        log.warning("could not read chat %s's language: %s", chat.id if chat else None, exc)
        chosen = None
    return translator(chosen) if chosen else user_words(update)


def actor(update: Update) -> str:
    """Return how the audit log names the user behind an update."""
    return f"tg:{update.effective_user.id}" if update.effective_user else "tg:unknown"


def is_admin(update: Update, context: Context) -> bool:
    user = update.effective_user
    return user is not None and user.id in settings(context).admin_ids


def argument_text(message: Message | None) -> str:
    """Return everything after the command, line breaks kept ("" when there is nothing)."""
    if message is None or not message.text:
        return ""
    parts = message.text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def reply(update: Update, context: Context, html: str, markup: Markup | None = None) -> Message | None:
    """Send `html` to the update's chat (in its forum topic, if any), through the reply rate
    limiter, cut to Telegram's length."""
    chat = update.effective_chat
    if chat is None:
        return None
    fitted = fit_message(html)
    if fitted is not html:
        log.warning("a reply of %d characters was cut to Telegram's %d", telegram_length(html), MAX_MESSAGE)
    return await context.bot.send_message(
        chat.id,
        fitted,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        message_thread_id=topic_of(update) or None,
        link_preview_options=NO_PREVIEW,
        rate_limit_args=REPLY,
    )


def is_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def may_manage_chat(update: Update, context: Context) -> bool:
    """Say whether the user may change the chat's subscription (anyone in private; admins in groups)."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    if chat.type == ChatType.CHANNEL:
        return True  # only a channel's admins can post in it
    if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True  # an anonymous group admin
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        log.warning("getChatMember(%s, %s) failed: %s", chat.id, user.id, exc)
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
