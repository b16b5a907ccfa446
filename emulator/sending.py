"""What every sending Bot API method checks and stores, in the order Telegram's server does: the
target chat (by id or @username), whether the bot may write there, flood limits, text formatting
(parse modes, explicit entities, lengths), the inline keyboard, and finally the sent message with
the counters (messages per chat, duplicates) that tests and benchmarks read.
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson

from . import errors as E
from .entities import EntityParseError, format_text, utf16_len
from .params import _i, _j, _s
from .state import Bot, Chat, EmulatorState, Json, Message

# Bot API reference, "sendMessage": 1-4096 characters after entities parsing; captions 0-1024.
MAX_TEXT = 4096
MAX_CAPTION = 1024
# Bot API reference, "InlineKeyboardButton.callback_data": 1-64 bytes.
MAX_CALLBACK_DATA = 64


class SendingMixin(EmulatorState):
    """The checks and the bookkeeping shared by sendMessage, editMessageText and sendDocument."""

    def _resolve_chat(self, p: Json, name: str = "chat_id") -> Chat:
        raw = p.get(name)
        if raw is None or raw == "":
            raise E.bad_request(f"{name} is empty")
        chat = None
        if isinstance(raw, str):
            raw = raw.strip()
            if raw.startswith("@"):
                chat = self._usernames.get(raw[1:].lower())
            else:
                with contextlib.suppress(ValueError):
                    chat = self._chats.get(int(raw))
        elif isinstance(raw, int) and not isinstance(raw, bool):
            chat = self._chats.get(raw)
        if chat is None:
            raise E.bad_request(E.CHAT_NOT_FOUND)
        return chat

    def _check_access(self, bot: Bot, chat: Chat) -> None:
        """May this bot write to this chat?  (Client.cpp / Telegram's answers for each state.)"""
        kind = chat.type
        if kind == "private":
            if chat.deactivated:
                raise E.forbidden("user is deactivated")
            status = bot.rel.get(chat.id, chat.bot_status)
            if status == "member":
                if chat.is_bot:
                    raise E.forbidden("bot can't send messages to bots")
                return
            if status == "kicked":
                raise E.forbidden("bot was blocked by the user")
            raise E.forbidden("bot can't initiate conversation with a user")
        if chat.migrated_to is not None:
            raise E.migrated(chat.migrated_to)
        status = bot.rel.get(chat.id, chat.bot_status)
        if kind == "channel":
            if status == "administrator":
                return
            if status == "member":
                raise E.bad_request("need administrator rights in the channel chat")
            raise E.forbidden("bot is not a member of the channel chat")
        if status in ("member", "administrator"):
            return
        if status == "kicked":
            raise E.forbidden(f"bot was kicked from the {kind} chat")
        raise E.forbidden(f"bot is not a member of the {kind} chat")

    def _check_thread(self, chat: Chat, p: Json) -> int | None:
        """The forum topic (message_thread_id) a message goes to, checked as Telegram does."""
        thread_id = _i(p, "message_thread_id")
        if not thread_id:
            return None
        topic = (chat.topics or {}).get(thread_id)
        if topic is None or topic.deleted:
            raise E.bad_request(E.THREAD_NOT_FOUND)
        if topic.closed:
            raise E.bad_request(E.TOPIC_CLOSED)
        return thread_id

    def _check_flood(self, bot: Bot, chat: Chat, paid: bool) -> None:
        retry = self.flood.check(bot.id, chat.id, chat.type != "private", paid)
        if retry:
            self.too_many_requests += 1
            raise E.too_many_requests(retry)

    def _format(
        self, text: str, parse_mode: str | None, entities_raw: Any, what: str = "entities"
    ) -> tuple[str, list[Json]]:
        raw = None
        if entities_raw is not None and entities_raw != "" and not parse_mode:
            raw = entities_raw
            if isinstance(raw, str):
                try:
                    raw = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise E.bad_request(f"can't parse {what} JSON object") from None
        try:
            return format_text(text, parse_mode, raw, auto=self.auto_entities)
        except KeyError:
            raise E.bad_request("unsupported parse_mode") from None
        except EntityParseError as exc:
            raise E.bad_request(f"can't parse entities: {exc}") from None
        except UnicodeEncodeError:  # lone surrogates (tdlib: clean_input_string)
            raise E.bad_request("strings must be encoded in UTF-8") from None

    def _caption(self, p: Json) -> tuple[str | None, list[Json], str | None]:
        """A media message's caption, its entities and parse mode (sendDocument, sendPhoto,
        editMessageCaption): at most MAX_CAPTION characters once its entities are parsed."""
        caption = _s(p, "caption")
        parse_mode = _s(p, "parse_mode") or None
        entities: list[Json] = []
        if caption:
            caption, entities = self._format(
                caption, parse_mode, p.get("caption_entities"), "caption entities"
            )
            if utf16_len(caption) > MAX_CAPTION:
                raise E.bad_request(E.CAPTION_TOO_LONG)
        return caption, entities, parse_mode

    def _editable(self, bot: Bot, p: Json) -> tuple[Chat, Message]:
        """The bot's own message an edit method names (editMessageText, editMessageCaption,
        editMessageReplyMarkup), with Telegram's refusals for the others."""
        if p.get("inline_message_id"):
            raise E.bad_request("message to edit not found")
        chat = self._resolve_chat(p)
        message_id = _i(p, "message_id")
        if not message_id:
            raise E.bad_request("message identifier is not specified")
        self._check_access(bot, chat)
        msg = self._find(chat, message_id)
        if msg is None or msg.deleted:
            raise E.bad_request("message to edit not found")
        if not msg.from_bot or msg.sender_id != bot.id:
            raise E.bad_request("message can't be edited")
        return chat, msg

    def _keep_edit(self, msg: Message, **before: Any) -> None:
        """Keep what an edit replaces in the message's history (`edits`, what tests read), and
        date the edit now."""
        if msg.edits is None:
            msg.edits = []
        msg.edits.append({**before, "edit_date": msg.edit_date})
        msg.edit_date = int(self.wall_clock())

    def _reply_markup(self, p: Json) -> Json | None:
        markup = _j(p, "reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise E.bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list):
                raise E.bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
            for row in rows:
                if not isinstance(row, list):
                    raise E.bad_request(
                        'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                    )
                for button in row:
                    self._check_button(button)
        return markup

    @staticmethod
    def _check_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise E.bad_request("InlineKeyboardButton must be an Object")
        if not isinstance(button.get("text"), str):
            raise E.bad_request('field "text" must be of type String')
        data = button.get("callback_data")
        if data is not None:
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise E.bad_request(E.BUTTON_DATA_INVALID)
            return
        actions = (
            "url", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
            "switch_inline_query_chosen_chat", "callback_game", "pay", "web_app", "copy_text",
        )  # fmt: skip
        if not any(a in button for a in actions):
            raise E.bad_request("text buttons are unallowed in the inline keyboard")

    def _store_sent(
        self,
        bot: Bot,
        chat: Chat,
        text: str | None,
        entities: list[Json],
        parse_mode: str | None,
        markup: Json | None,
        p: Json,
    ) -> Message:
        msg = self._new_message(chat, bot.id, True)
        msg.text = text
        msg.entities = entities or None
        msg.parse_mode = parse_mode
        msg.reply_markup = markup
        msg.thread_id = _i(p, "message_thread_id") or None  # (checked by _check_thread)
        msg.silent = bool(p.get("disable_notification")) and p.get("disable_notification") != "false"
        reply_to = _i(p, "reply_to_message_id")
        if not reply_to:
            rp = p.get("reply_parameters")
            if rp:
                with contextlib.suppress(E.ApiError):
                    rp = _j(p, "reply_parameters", "reply parameters")
                if isinstance(rp, dict):
                    reply_to = _i(rp, "message_id")
        msg.reply_to = reply_to or None
        chat.sent += 1
        self.messages_sent += 1
        key = text if text is not None else ""
        if msg.thread_id is not None:  # the same text in two forum topics is no duplicate
            key = f"{msg.thread_id}\x00{key}"
        texts = chat.texts
        if texts is None:
            chat.texts = {key: 1}
        elif key in texts:
            texts[key] += 1
            chat.dups += 1
            self.duplicates += 1
        else:
            texts[key] = 1
        self._changed.notify_all()
        return msg
