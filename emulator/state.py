"""The emulator's data and its base class: messages, chats and bots and their JSON, and
:class:`EmulatorState`, which declares the state that ``Emulator._init_state`` sets up and holds
what every part of the emulator reads: bots and tokens, finding chats and messages, storing a new
message, a message's JSON, and waiting for a change.  (Bot API parameters are read by
``emulator.params``.)
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import random
import re
import string
import threading
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import errors as E
from .limits import FaultInjector, FloodControl

Json = dict[str, Any]

TOKEN_RE = re.compile(r"([1-9][0-9]{0,15}):[A-Za-z0-9_-]{35}")
_TOKEN_CHARS = string.ascii_letters + string.digits + "_-"


class Message:
    __slots__ = (
        "caption",
        "chat_id",
        "date",
        "deleted",
        "document",
        "edit_date",
        "edits",
        "entities",
        "extra",
        "from_bot",
        "message_id",
        "parse_mode",
        "reply_markup",
        "reply_to",
        "sender_id",
        "silent",
        "text",
        "thread_id",
    )

    def __init__(self, chat_id: int, message_id: int, sender_id: int, from_bot: bool, date: int):
        self.chat_id = chat_id
        self.message_id = message_id
        self.sender_id = sender_id
        self.from_bot = from_bot
        self.date = date
        self.text: str | None = None
        self.entities: list[Json] | None = None
        self.parse_mode: str | None = None
        self.reply_markup: Json | None = None
        self.caption: str | None = None
        self.document: Json | None = None
        self.reply_to: int | None = None
        self.edit_date: int | None = None
        self.edits: list[Json] | None = None
        self.deleted = False
        self.extra: Json | None = None
        self.thread_id: int | None = None  # the forum topic (message_thread_id) it is in
        self.silent = False  # sent with disable_notification


class Chat:
    """A chat; a private chat is also its user (same id)."""

    __slots__ = (
        "bot_status",
        "creator",
        "deactivated",
        "dups",
        "first_name",
        "id",
        "is_bot",
        "is_forum",
        "language_code",
        "last_name",
        "members",
        "messages",
        "migrated_from",
        "migrated_to",
        "next_id",
        "sent",
        "texts",
        "title",
        "topics",
        "type",
        "username",
    )

    def __init__(self, chat_id: int, kind: str):
        self.id = chat_id
        self.type = kind
        self.title: str | None = None
        self.username: str | None = None
        self.first_name: str | None = None
        self.last_name: str | None = None
        self.language_code: str | None = None
        self.is_bot = False
        self.deactivated = False
        self.members: set[int] | None = None
        self.creator: int | None = None
        self.migrated_to: int | None = None
        self.migrated_from: int | None = None
        # default status of every bot in this chat; per-bot overrides live in Bot.rel
        self.bot_status = "member"
        self.next_id = 1
        self.messages: list[Message] | None = None
        self.texts: dict[str, int] | None = None
        self.sent = 0
        self.dups = 0
        self.is_forum = False  # a supergroup with topics (emulator/forums.py)
        self.topics: dict[int, Any] | None = None


class _Waiter:
    __slots__ = ("error", "event")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.error: E.ApiError | None = None


class Bot:
    def __init__(self, bot_id: int, token: str, username: str, first_name: str):
        self.id = bot_id
        self.token = token
        self.username = username
        self.first_name = first_name
        self.rel: dict[int, str] = {}
        self.updates: deque[tuple[int, str, Json]] = deque()
        self.next_update_id = 1
        self.allowed_updates: list[str] = []
        self.webhook: Json | None = None
        self.webhook_event: asyncio.Event | None = None
        self.webhook_attempts = 0
        self.webhook_delivered = 0
        self.waiter: _Waiter | None = None
        self.commands: dict[str, list[Json]] = {}
        self.callback_queries: dict[str, Json] = {}
        self.inline_queries: dict[str, Json] = {}
        self.privacy_mode = True
        self.supports_inline = True

    def user_json(self) -> Json:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }


class _Described:
    """A result that Telegram answers with a ``description`` beside it."""

    __slots__ = ("description", "result")

    def __init__(self, result: Any, description: str):
        self.result = result
        self.description = description


def _chat_json(chat: Chat) -> Json:
    if chat.type == "private":
        d: Json = {"id": chat.id, "first_name": chat.first_name or ""}
        if chat.last_name:
            d["last_name"] = chat.last_name
        if chat.username:
            d["username"] = chat.username
        d["type"] = "private"
        return d
    d = {"id": chat.id, "title": chat.title or ""}
    if chat.username:
        d["username"] = chat.username
    d["type"] = chat.type
    if chat.is_forum:
        d["is_forum"] = True
    return d


def _user_json(chat: Chat) -> Json:
    d: Json = {"id": chat.id, "is_bot": chat.is_bot, "first_name": chat.first_name or ""}
    if chat.last_name:
        d["last_name"] = chat.last_name
    if chat.username:
        d["username"] = chat.username
    if chat.language_code:
        d["language_code"] = chat.language_code
    return d


def _settle() -> None:
    """After a bulk creation: the objects just made live as long as the emulator, so move them
    out of the cyclic GC's sight.  Else every full collection walks a million chats and the
    per-request cost grows with the number of chats (measured: -30% at 1,000,000 chats)."""
    gc.collect()
    gc.freeze()


def group_sender(chat: Chat) -> int:
    return chat.creator if chat.creator is not None else chat.id


def _scope_key(scope: Any, language_code: str) -> str:
    if not isinstance(scope, dict) or scope.get("type", "default") == "default":
        key = "default"
    else:
        parts = [str(scope.get("type"))]
        if "chat_id" in scope:
            parts.append(str(scope["chat_id"]))
        if "user_id" in scope:
            parts.append(str(scope["user_id"]))
        key = ":".join(parts)
    return f"{key}|{language_code}"


class EmulatorState:
    """The state of an :class:`~emulator.core.Emulator` and the lookups every mixin uses.

    The attributes are declared here and set up by ``Emulator.__init__`` / ``_init_state``.
    """

    _lock: threading.RLock
    # notified when a message is sent, a poller starts waiting or a webhook answers
    _changed: threading.Condition
    clock: Callable[[], float]
    wall_clock: Callable[[], float]
    webhook_retry_delay: float
    auto_entities: bool
    # set by the server that serves this emulator
    _server: Any
    _loop: asyncio.AbstractEventLoop | None
    _loop_thread: int | None
    flood: FloodControl
    faults: FaultInjector
    _rng: random.Random
    _bots: dict[int, Bot]
    _by_token: dict[str, Bot]
    _revoked: set[str]
    _default_bot: Bot | None
    _chats: dict[int, Chat]
    _usernames: dict[str, Chat]
    _next_user: itertools.count[int]
    _next_group: itertools.count[int]
    _next_channel: itertools.count[int]
    _next_bot: itertools.count[int]
    _next_query: itertools.count[int]
    _files: dict[str, Json]
    _file_paths: dict[str, str]
    _next_file: itertools.count[int]
    requests: Counter[str]
    too_many_requests: int
    duplicates: int
    messages_sent: int
    paid_messages: int
    callback_answers: list[Json]
    inline_answers: list[Json]

    if TYPE_CHECKING:
        # defined by the mixins (emulator.updates, emulator.chats, emulator.files) and used across
        # them; declared here so that each mixin type-checks on its own

        def _push(self, bot: Bot, kind: str, data: Json) -> None: ...

        def _set_status(self, bot: Bot | None, chat: Chat, status: str, by: int | None) -> None: ...

        def _store_file(self, data: bytes, file_name: str | None, mime_type: str | None) -> Json: ...

    # ---- bots and tokens ----------------------------------------------------------------------

    def new_bot_token(self, username: str | None = None, first_name: str | None = None) -> str:
        """Create a bot and answer its token (``<id>:<35 characters>``)."""
        with self._lock:
            bot_id = next(self._next_bot)
            while bot_id in self._bots:
                bot_id = next(self._next_bot)
            token = self._make_token(bot_id)
            bot = self._add_bot(bot_id, token, username, first_name)
            return bot.token

    def _make_token(self, bot_id: int) -> str:
        return f"{bot_id}:" + "".join(self._rng.choice(_TOKEN_CHARS) for _ in range(35))

    def _add_bot(
        self, bot_id: int, token: str, username: str | None = None, first_name: str | None = None
    ) -> Bot:
        bot = Bot(
            bot_id,
            token,
            username or f"emu{bot_id}_bot",
            first_name or f"Emulated bot {bot_id}",
        )
        self._bots[bot_id] = bot
        self._by_token[token] = bot
        if self._default_bot is None:
            self._default_bot = bot
        return bot

    def revoke_token(self, token: str) -> str:
        """Revoke a bot's token (it then gets 401) and answer the bot's new token."""
        with self._lock:
            bot = self._by_token.pop(token, None)
            self._revoked.add(token)
            if bot is None:
                m = TOKEN_RE.fullmatch(token)
                if m is None or int(m.group(1)) not in self._bots:
                    raise ValueError("unknown token")
                bot = self._bots[int(m.group(1))]
            bot.token = self._make_token(bot.id)
            self._by_token[bot.token] = bot
            return bot.token

    def authenticate(self, token: str) -> Bot:
        """The bot a token belongs to (a fresh bot for an unseen well-formed token)."""
        bot = self._by_token.get(token)
        if bot is not None:
            return bot
        m = TOKEN_RE.fullmatch(token)
        if m is None:
            raise E.INVALID_TOKEN
        with self._lock:
            if token in self._revoked:
                raise E.UNAUTHORIZED
            bot_id = int(m.group(1))
            if bot_id in self._bots:  # same bot, another secret: Telegram refuses it
                raise E.UNAUTHORIZED
            return self._add_bot(bot_id, token)

    def _bot(self, bot: Bot | str | int | None) -> Bot:
        if isinstance(bot, Bot):
            return bot
        if bot is None:
            if self._default_bot is None:
                self.new_bot_token()
            assert self._default_bot is not None
            return self._default_bot
        if isinstance(bot, str) and ":" in bot:
            return self.authenticate(bot)
        found = self._bots.get(int(bot))
        if found is None:
            raise KeyError(f"no bot {bot}")
        return found

    def bot_info(self, bot: str | int | None = None) -> Json:
        with self._lock:
            b = self._bot(bot)
            return {**b.user_json(), "token": b.token}

    # ---- chats and messages -------------------------------------------------------------------

    def _register(self, chat: Chat) -> Chat:
        self._chats[chat.id] = chat
        if chat.username:
            self._usernames[chat.username.lower()] = chat
        return chat

    def _get_chat(self, chat_id: int) -> Chat:
        chat = self._chats.get(int(chat_id))
        if chat is None:
            raise KeyError(f"no chat {chat_id}")
        return chat

    def _private(self, user_id: int) -> Chat:
        chat = self._get_chat(user_id)
        if chat.type != "private":
            raise ValueError(f"{user_id} is not a user")
        return chat

    def _status(self, bot: Bot, chat: Chat) -> str:
        return bot.rel.get(chat.id, chat.bot_status)

    def _find(self, chat: Chat, message_id: int) -> Message | None:
        msgs = chat.messages
        if not msgs:
            return None
        # message ids are dense per chat: the message with id n sits at n - first id
        idx = message_id - msgs[0].message_id
        if 0 <= idx < len(msgs) and msgs[idx].message_id == message_id:
            return msgs[idx]
        for m in msgs:
            if m.message_id == message_id:
                return m
        return None

    def _new_message(self, chat: Chat, sender_id: int, from_bot: bool) -> Message:
        msg = Message(chat.id, chat.next_id, sender_id, from_bot, int(self.wall_clock()))
        chat.next_id += 1
        if chat.messages is None:
            chat.messages = [msg]
        else:
            chat.messages.append(msg)
        return msg

    def _message_json(self, msg: Message, bot: Bot, chat: Chat | None = None) -> Json:
        if chat is None:
            chat = self._chats[msg.chat_id]
        d: Json = {"message_id": msg.message_id}
        if msg.from_bot:
            sender = self._bots.get(msg.sender_id, bot)
            if chat.type == "channel":
                d["sender_chat"] = _chat_json(chat)
            else:
                d["from"] = sender.user_json()
        elif msg.sender_id == chat.id and chat.type != "private":
            d["sender_chat"] = _chat_json(chat)
        else:
            user = self._chats.get(msg.sender_id)
            if user is not None:
                d["from"] = _user_json(user)
        d["chat"] = _chat_json(chat)
        d["date"] = msg.date
        if msg.thread_id is not None:
            d["message_thread_id"] = msg.thread_id
            d["is_topic_message"] = True
        if msg.edit_date:
            d["edit_date"] = msg.edit_date
        if msg.reply_to:
            replied = self._find(chat, msg.reply_to)
            if replied is not None and replied is not msg:
                d["reply_to_message"] = self._message_json(replied, bot, chat)
        if msg.text is not None:
            d["text"] = msg.text
            if msg.entities:
                d["entities"] = msg.entities
        if msg.document is not None:
            d["document"] = {k: v for k, v in msg.document.items() if k != "data"}
            if msg.caption:
                d["caption"] = msg.caption
                if msg.entities:
                    d["caption_entities"] = msg.entities
        if msg.extra:
            d.update(msg.extra)
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            d["reply_markup"] = msg.reply_markup
        return d

    def _member_json(self, bot: Bot, status: str) -> Json:
        user = bot.user_json()
        if status == "administrator":
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_post_messages": True,
                "can_edit_messages": True,
                "can_pin_messages": True,
            }
        if status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        return {"status": status, "user": user}

    # ---- waiting (for tests: block until the bot did something, never sleep) ------------------

    def _wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(predicate, timeout)
