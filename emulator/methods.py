"""The Bot API methods on messages, queries, commands and chats (``api_<name lowercased>``, taking
the bot, the parameters and the uploaded files): getMe, sendMessage, editMessageText,
editMessageReplyMarkup, deleteMessage, answerCallbackQuery, answerInlineQuery,
set/get/deleteMyCommands, getChat, getChatMember and leaveChat (forum topics: ``emulator.forums``).
Files are in ``emulator.files``, getUpdates and webhooks in
``emulator.updates``; ``Emulator.call`` (``emulator.core``) dispatches to all of them.
"""

from __future__ import annotations

import re

from . import errors as E
from .entities import utf16_len
from .params import _b, _i, _j, _s
from .sending import MAX_TEXT, SendingMixin
from .state import Bot, Json, _chat_json, _scope_key, _user_json

# Bot API reference, "answerInlineQuery": no more than 50 results per query.
MAX_INLINE_RESULTS = 50
# Bot API reference, "setMyCommands": at most 100 commands; "BotCommand": 1-32 characters,
# only lowercase English letters, digits and underscores; description 1-256 characters.
MAX_COMMANDS = 100
COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
# Callback queries must be answered in time; Telegram's clients stop waiting after ~15 s.
CALLBACK_QUERY_TTL = 15.0


class BotApiMixin(SendingMixin):
    """The Bot API methods other than files, updates and webhooks."""

    def api_getme(self, bot: Bot, p: Json, files: Json) -> Json:
        return {
            **bot.user_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": not bot.privacy_mode,
            "supports_inline_queries": bot.supports_inline,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _message_text(self, p: Json) -> tuple[str, list[Json], str | None]:
        """Read a message's `text` with its parse mode: (plain text, entities, parse mode)."""
        text = _s(p, "text")
        if not text:
            raise E.bad_request(E.TEXT_EMPTY)
        parse_mode = _s(p, "parse_mode") or None
        plain, entities = self._format(text, parse_mode, p.get("entities"))
        if not plain:
            raise E.bad_request(E.TEXT_EMPTY)
        if len(plain) > MAX_TEXT // 2 and utf16_len(plain) > MAX_TEXT:
            raise E.bad_request(E.TEXT_TOO_LONG)
        return plain, entities, parse_mode

    def api_sendmessage(self, bot: Bot, p: Json, files: Json) -> Json:
        plain, entities, parse_mode = self._message_text(p)
        markup = self._reply_markup(p)
        chat = self._resolve_chat(p)
        self._check_access(bot, chat)
        self._check_thread(chat, p)
        paid = _b(p, "allow_paid_broadcast")
        self._check_flood(bot, chat, paid)
        if paid:
            self.paid_messages += 1
        msg = self._store_sent(bot, chat, plain, entities, parse_mode, markup, p)
        return self._message_json(msg, bot, chat)

    def api_editmessagetext(self, bot: Bot, p: Json, files: Json) -> Json:
        plain, entities, parse_mode = self._message_text(p)
        markup = self._reply_markup(p)
        chat, msg = self._editable(bot, p)
        if msg.text is None:  # a photo: its caption is edited with editMessageCaption
            raise E.bad_request("there is no text in the message to edit")
        if msg.text == plain and (msg.entities or []) == entities and msg.reply_markup == markup:
            raise E.bad_request(E.MESSAGE_NOT_MODIFIED)
        self._check_flood(bot, chat, False)  # an edit counts against the flood limits like a send
        self._keep_edit(
            msg,
            text=msg.text,
            entities=msg.entities or [],
            parse_mode=msg.parse_mode,
            reply_markup=msg.reply_markup,
        )
        msg.text = plain
        msg.entities = entities or None
        msg.parse_mode = parse_mode
        msg.reply_markup = markup
        return self._message_json(msg, bot, chat)

    def api_editmessagereplymarkup(self, bot: Bot, p: Json, files: Json) -> Json:
        """Change only a message's inline keyboard (an empty or missing one removes it)."""
        markup = self._reply_markup(p)
        chat, msg = self._editable(bot, p)
        if msg.reply_markup == markup:
            raise E.bad_request(E.MESSAGE_NOT_MODIFIED)
        self._keep_edit(msg, text=msg.text, reply_markup=msg.reply_markup)
        msg.reply_markup = markup
        return self._message_json(msg, bot, chat)

    def api_deletemessage(self, bot: Bot, p: Json, files: Json) -> bool:
        chat = self._resolve_chat(p)
        message_id = _i(p, "message_id")
        if not message_id:
            raise E.bad_request("message identifier is not specified")
        msg = self._find(chat, message_id)
        if msg is None or msg.deleted:
            raise E.bad_request("message to delete not found")
        if chat.type != "private":
            status = self._status(bot, chat)
            if status not in ("member", "administrator"):
                raise E.bad_request("message to delete not found")
            own = msg.from_bot and msg.sender_id == bot.id
            if not own and status != "administrator":
                raise E.bad_request("message can't be deleted")
        msg.deleted = True
        return True

    def api_answercallbackquery(self, bot: Bot, p: Json, files: Json) -> bool:
        qid = _s(p, "callback_query_id") or ""
        q = bot.callback_queries.get(qid)
        if q is None or q["answered"] or self.clock() - q["at"] > CALLBACK_QUERY_TTL:
            raise E.bad_request(E.QUERY_INVALID)
        q["answered"] = True
        self.callback_answers.append(
            {
                "callback_query_id": qid,
                "bot_id": bot.id,
                "user_id": q["user_id"],
                "data": q["data"],
                "text": _s(p, "text"),
                "show_alert": _b(p, "show_alert"),
                "url": _s(p, "url"),
                "cache_time": _i(p, "cache_time"),
            }
        )
        return True

    def api_answerinlinequery(self, bot: Bot, p: Json, files: Json) -> bool:
        qid = _s(p, "inline_query_id") or ""
        results = _j(p, "results", "inline query results")
        if not isinstance(results, list):
            raise E.bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise E.bad_request(E.RESULTS_TOO_MUCH)
        ids = [r.get("id") for r in results if isinstance(r, dict)]
        if len(ids) != len(results):
            raise E.bad_request("can't parse InlineQueryResult: expected an Object")
        if len(set(ids)) != len(ids):
            raise E.bad_request("RESULT_ID_DUPLICATE")
        q = bot.inline_queries.get(qid)
        if q is None or q.get("answered") or self.clock() - q["at"] > CALLBACK_QUERY_TTL:
            raise E.bad_request(E.QUERY_INVALID)
        q["answered"] = True
        self.inline_answers.append(
            {
                "inline_query_id": qid,
                "bot_id": bot.id,
                "user_id": q["user_id"],
                "query": q["query"],
                "results": results,
                "cache_time": _i(p, "cache_time", 300),
                "is_personal": _b(p, "is_personal"),
                "next_offset": _s(p, "next_offset") or "",
            }
        )
        return True

    def api_setmycommands(self, bot: Bot, p: Json, files: Json) -> bool:
        commands = _j(p, "commands", "commands")
        if commands is None:
            commands = []
        if not isinstance(commands, list):
            raise E.bad_request('field "commands" must be an Array')
        if len(commands) > MAX_COMMANDS:
            raise E.bad_request(E.BOT_COMMANDS_TOO_MUCH)
        clean = []
        for c in commands:
            if not isinstance(c, dict):
                raise E.bad_request("BotCommand must be an Object")
            name = c.get("command")
            desc = c.get("description")
            if not isinstance(name, str) or not COMMAND_RE.fullmatch(name):
                raise E.bad_request(E.BOT_COMMAND_INVALID)
            if not isinstance(desc, str) or not 1 <= len(desc.strip()) <= 256:
                raise E.bad_request(E.BOT_COMMAND_DESCRIPTION_INVALID)
            clean.append({"command": name, "description": desc})
        scope = _j(p, "scope", "bot command scope")
        bot.commands[_scope_key(scope, _s(p, "language_code") or "")] = clean
        return True

    def api_getmycommands(self, bot: Bot, p: Json, files: Json) -> list[Json]:
        scope = _j(p, "scope", "bot command scope")
        return list(bot.commands.get(_scope_key(scope, _s(p, "language_code") or ""), []))

    def api_deletemycommands(self, bot: Bot, p: Json, files: Json) -> bool:
        scope = _j(p, "scope", "bot command scope")
        bot.commands.pop(_scope_key(scope, _s(p, "language_code") or ""), None)
        return True

    def api_getchat(self, bot: Bot, p: Json, files: Json) -> Json:
        chat = self._resolve_chat(p)
        d = _chat_json(chat)
        d.update(
            accent_color_id=chat.id % 7,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        if chat.migrated_from is not None:
            d["migrated_from_chat_id"] = chat.migrated_from  # not part of ChatFullInfo: extra
        return d

    def api_getchatmember(self, bot: Bot, p: Json, files: Json) -> Json:
        chat = self._resolve_chat(p)
        user_id = _i(p, "user_id")
        if user_id == bot.id:
            return self._member_json(bot, self._status(bot, chat))
        user = self._chats.get(user_id)
        if user is None or user.type != "private":
            other = self._bots.get(user_id)
            if other is None:
                raise E.bad_request("user not found")
            return self._member_json(other, self._status(other, chat))
        uj = _user_json(user)
        if chat.type == "private":
            if user_id != chat.id:
                raise E.bad_request("user not found")
            return {"status": "member", "user": uj}
        if chat.creator == user_id:
            return {"status": "creator", "user": uj, "is_anonymous": False}
        if chat.members and user_id in chat.members:
            return {"status": "member", "user": uj}
        return {"status": "left", "user": uj}

    def api_leavechat(self, bot: Bot, p: Json, files: Json) -> bool:
        chat = self._resolve_chat(p)
        if chat.type == "private":
            raise E.bad_request("chat member status can't be changed in private chats")
        status = self._status(bot, chat)
        if status not in ("member", "administrator"):
            raise E.forbidden(f"bot is not a member of the {chat.type} chat")
        self._set_status(bot, chat, "left", None)
        return True
