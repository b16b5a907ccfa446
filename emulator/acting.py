"""The control side as a user, and reading back: a user sends text, a command or a document,
presses an inline button or types an inline query (each becomes an update for the bots that
would see it: privacy mode in groups), and tests read what the bots did (messages, texts,
counters, commands) or wait for it (``wait_messages``, ``wait_sent``, ``wait_polling``,
``wait_webhook``) instead of sleeping.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from .entities import find_entities
from .state import Chat, EmulatorState, Json, Message, _scope_key, _user_json


class ActingMixin(EmulatorState):
    """Acting as users, reading back, waiting."""

    # ---- acting as a user ---------------------------------------------------------------------

    def _recipients(self, chat: Chat, bot: str | int | None, text: str, reply_to: Message | None):
        if chat.type == "private":
            return [self._bot(bot)]
        bots = [self._bot(bot)] if bot is not None else list(self._bots.values())
        result = []
        for b in bots:
            status = self._status(b, chat)
            if status not in ("member", "administrator"):
                continue
            if chat.type == "channel":
                result.append(b)
                continue
            # privacy mode (Bot API FAQ): in groups a bot sees commands, replies to it and
            # mentions of it, unless it is an administrator or privacy mode is off
            if (
                not b.privacy_mode
                or status == "administrator"
                or text.startswith("/")
                or f"@{b.username}".lower() in text.lower()
                or (reply_to is not None and reply_to.from_bot and reply_to.sender_id == b.id)
            ):
                result.append(b)
        return result

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        bot: str | int | None,
        build: Callable[[Message], None],
        text_for_privacy: str,
        reply_to_message_id: int | None,
    ) -> Json:
        user = self._private(user_id)
        if user.deactivated:
            raise ValueError("a deactivated user cannot send messages")
        chat = user if chat_id is None else self._get_chat(chat_id)
        if chat.type in ("group", "supergroup") and chat.members is not None:
            if chat.migrated_to is not None:
                raise ValueError("this group was upgraded; write to the supergroup")
            chat.members.add(user_id)
        reply_to = self._find(chat, reply_to_message_id) if reply_to_message_id else None
        bots = self._recipients(chat, bot, text_for_privacy, reply_to)
        if chat.type == "private":
            b = bots[0]
            if self._status(b, chat) != "member":
                # writing to a bot (or pressing Start again) starts or unblocks it
                self._set_status(b, chat, "member", user_id)
        msg = self._new_message(chat, user_id, False)
        msg.reply_to = reply_to_message_id
        build(msg)
        kind = "channel_post" if chat.type == "channel" else "message"
        result = None
        for b in bots:
            data = self._message_json(msg, b)
            self._push(b, kind, data)
            result = data
        return result if result is not None else self._message_json(msg, self._bot(bot))

    def send_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        bot: str | int | None = None,
        reply_to_message_id: int | None = None,
        entities: list[Json] | None = None,
        thread_id: int | None = None,
    ) -> Json:
        """The user sends a text message (to the bot in private, or in ``chat_id``; ``thread_id``:
        in that forum topic); answers the Message the bot receives (bot_command, mention, url ...
        entities found as Telegram does)."""
        if thread_id is not None:
            chat = self._get_chat(chat_id if chat_id is not None else user_id)
            topic = (chat.topics or {}).get(thread_id)
            if topic is None or topic.deleted:
                raise ValueError(f"no topic {thread_id} in chat {chat.id}")

        def build(msg: Message) -> None:
            msg.text = text
            msg.thread_id = thread_id
            found = find_entities(text, entities)
            msg.entities = found or None

        with self._lock:
            return self._user_message(user_id, chat_id, bot, build, text, reply_to_message_id)

    def send_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        chat_id: int | None = None,
        bot: str | int | None = None,
    ) -> Json:
        """The user shares a location (the "Share location" button of a reply keyboard)."""

        def build(msg: Message) -> None:
            msg.extra = {"location": {"latitude": float(latitude), "longitude": float(longitude)}}

        with self._lock:
            return self._user_message(user_id, chat_id, bot, build, "", None)

    def send_command(
        self,
        user_id: int,
        command: str,
        args: str = "",
        chat_id: int | None = None,
        bot: str | int | None = None,
        mention: bool = False,
    ) -> Json:
        """The user sends ``/command args`` (``mention``: ``/command@botname``)."""
        name = command.lstrip("/")
        if mention:
            name += "@" + self._bot(bot).username
        text = f"/{name}" + (f" {args}" if args else "")
        return self.send_text(user_id, text, chat_id=chat_id, bot=bot)

    def send_document(
        self,
        user_id: int,
        file_name: str,
        content: bytes | str = b"",
        mime_type: str | None = None,
        caption: str | None = None,
        chat_id: int | None = None,
        bot: str | int | None = None,
        content_b64: str | None = None,
    ) -> Json:
        """The user sends a file; the bot gets message.document and can getFile/download it."""
        data = base64.b64decode(content_b64) if content_b64 is not None else content
        if isinstance(data, str):
            data = data.encode()

        with self._lock:
            doc = self._store_file(data, file_name, mime_type)

            def build(msg: Message) -> None:
                msg.document = doc
                if caption:
                    msg.caption = caption
                    found = find_entities(caption)
                    msg.entities = found or None

            return self._user_message(user_id, chat_id, bot, build, caption or "", None)

    def press_button(
        self,
        user_id: int,
        message_id: int,
        data: str | None = None,
        chat_id: int | None = None,
        text: str | None = None,
        bot: str | int | None = None,
    ) -> str:
        """The user presses an inline button (found by callback_data or by its text) under a
        bot's message; answers the callback query id."""
        with self._lock:
            user = self._private(user_id)
            chat = user if chat_id is None else self._get_chat(chat_id)
            msg = self._find(chat, message_id)
            if msg is None or msg.deleted or not msg.from_bot:
                raise ValueError("no such bot message")
            button = None
            markup = msg.reply_markup or {}
            for row in markup.get("inline_keyboard") or []:
                for b in row:
                    if "callback_data" not in b:
                        continue
                    if (data is not None and b.get("callback_data") == data) or (
                        data is None and text is not None and b.get("text") == text
                    ):
                        button = b
            if button is None:
                raise ValueError("no inline button with that callback_data/text")
            b = self._bots[msg.sender_id] if bot is None else self._bot(bot)
            qid = str(next(self._next_query) * 1_000_003 + b.id % 1000)
            b.callback_queries[qid] = {
                "user_id": user_id,
                "chat_id": chat.id,
                "message_id": message_id,
                "data": button["callback_data"],
                "at": self.clock(),
                "answered": False,
            }
            self._push(
                b,
                "callback_query",
                {
                    "id": qid,
                    "from": _user_json(user),
                    "message": self._message_json(msg, b),
                    "chat_instance": str(abs(hash((chat.id, b.id))) % 10**18),
                    "data": button["callback_data"],
                },
            )
            return qid

    def inline_query(
        self,
        user_id: int,
        query: str,
        offset: str = "",
        chat_type: str = "sender",
        bot: str | int | None = None,
    ) -> str:
        """The user types ``@bot query``; answers the inline query id."""
        with self._lock:
            user = self._private(user_id)
            b = self._bot(bot)
            qid = str(next(self._next_query) * 1_000_003 + b.id % 1000)
            b.inline_queries[qid] = {"user_id": user_id, "query": query, "at": self.clock()}
            self._push(
                b,
                "inline_query",
                {
                    "id": qid,
                    "from": _user_json(user),
                    "query": query,
                    "offset": offset,
                    "chat_type": chat_type,
                },
            )
            return qid

    # ---- reading back -------------------------------------------------------------------------

    def _record(self, msg: Message) -> Json:
        d: Json = {
            "message_id": msg.message_id,
            "chat_id": msg.chat_id,
            "from_bot": msg.from_bot,
            "sender_id": msg.sender_id,
            "date": msg.date,
            "text": msg.text,
            "parse_mode": msg.parse_mode,
            "entities": msg.entities or [],
            "reply_markup": msg.reply_markup,
            "caption": msg.caption,
            "document": msg.document,
            "reply_to_message_id": msg.reply_to,
            "edit_date": msg.edit_date,
            "edits": msg.edits or [],
            "deleted": msg.deleted,
            "message_thread_id": msg.thread_id,
            "disable_notification": msg.silent,
        }
        if msg.extra:
            d.update(msg.extra)
        return d

    def messages(
        self,
        chat_id: int,
        from_bot: bool | None = None,
        include_deleted: bool = True,
    ) -> list[Json]:
        """Every message of a chat in order (``from_bot``: only the bots' / only the users')."""
        with self._lock:
            chat = self._get_chat(chat_id)
            out = []
            for m in chat.messages or []:
                if from_bot is not None and m.from_bot != from_bot:
                    continue
                if m.deleted and not include_deleted:
                    continue
                out.append(self._record(m))
            return out

    def bot_messages(self, chat_id: int, include_deleted: bool = True) -> list[Json]:
        """The messages bots sent to a chat, in order."""
        return self.messages(chat_id, from_bot=True, include_deleted=include_deleted)

    def texts(self, chat_id: int) -> list[str]:
        """The texts (or captions) bots sent to a chat, in order, deleted ones left out."""
        with self._lock:
            chat = self._get_chat(chat_id)
            return [
                (m.text if m.text is not None else m.caption or "")
                for m in chat.messages or []
                if m.from_bot and not m.deleted
            ]

    def counters(self, per_chat: bool = True) -> Json:
        """requests per method, 429s served, messages per chat, duplicates (same chat, same
        text), faults served."""
        with self._lock:
            out: Json = {
                "requests": dict(self.requests),
                "too_many_requests": self.too_many_requests,
                "messages_sent": self.messages_sent,
                "paid_messages": self.paid_messages,
                "duplicates": self.duplicates,
                "faults": dict(self.faults.served),
                "chats": len(self._chats),
            }
            if per_chat:
                out["messages_per_chat"] = {str(c.id): c.sent for c in self._chats.values() if c.sent}
                out["duplicates_per_chat"] = {str(c.id): c.dups for c in self._chats.values() if c.dups}
            return out

    def sent_count(self, chat_id: int) -> int:
        with self._lock:
            return self._get_chat(chat_id).sent

    def commands(
        self, bot: str | int | None = None, scope: Json | None = None, language_code: str = ""
    ) -> list[Json]:
        with self._lock:
            return list(self._bot(bot).commands.get(_scope_key(scope, language_code), []))

    # ---- waiting (for tests: block until the bot did something, never sleep) ------------------

    def wait_messages(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> bool:
        """Block until bots sent at least ``count`` messages to the chat; False on timeout."""
        chat = self._get_chat(chat_id)
        return self._wait(lambda: chat.sent >= count, timeout)

    def wait_sent(self, count: int, timeout: float = 10.0) -> bool:
        """Block until bots sent at least ``count`` messages in all; False on timeout."""
        return self._wait(lambda: self.messages_sent >= count, timeout)

    def wait_polling(self, bot: str | int | None = None, timeout: float = 10.0) -> bool:
        """Block until a getUpdates of the bot is waiting (long polling); False on timeout."""
        with self._lock:
            b = self._bot(bot)
        return self._wait(lambda: b.waiter is not None, timeout)

    def wait_webhook(self, delivered: int = 1, bot: str | int | None = None,
                     timeout: float = 10.0) -> bool:  # fmt: skip
        """Block until the webhook accepted ``delivered`` updates; False on timeout."""
        with self._lock:
            b = self._bot(bot)
        return self._wait(lambda: b.webhook_delivered >= delivered, timeout)
