"""Forum topics, as Telegram has them: a supergroup with `is_forum`, its topics, and the
`message_thread_id` of the messages in them.

A topic's id is the id of the service message that created it (`forum_topic_created`), as in
Telegram. Users' messages in a topic carry `message_thread_id` and `is_topic_message`; a bot
sends into a topic with `sendMessage(message_thread_id=...)`. Telegram's answers (Bot API
server, Client.cpp, and what api.telegram.org says): a closed topic refuses new messages with
400 `Bad Request: TOPIC_CLOSED`; a deleted or unknown thread with 400 `Bad Request: message
thread not found`; topic methods in a chat that is not a forum with 400 `Bad Request: the chat
is not a forum`; closing a closed topic (or reopening an open one) with 400 `Bad Request:
TOPIC_NOT_MODIFIED`; a bot that is not an administrator with 400 `Bad Request: not enough rights
to create a topic` (or to manage it).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import errors as E
from .params import _i, _s
from .sending import SendingMixin
from .state import Bot, Chat, Json, group_sender

NOT_A_FORUM = "the chat is not a forum"
TOPIC_NOT_MODIFIED = "TOPIC_NOT_MODIFIED"
ICON_COLOR = 7322096  # the first of the six colours Telegram offers (0x6FB9F0)


@dataclass
class Topic:
    thread_id: int
    name: str
    closed: bool = False
    deleted: bool = False


class ForumsMixin(SendingMixin):
    """Forum supergroups and their topics: the control side and the Bot API methods."""

    # ---- control side -------------------------------------------------------------------------

    def make_forum(self, chat_id: int, is_forum: bool = True) -> bool:
        """Turn a supergroup's topics on (Telegram: Topics in the group's settings)."""
        with self._lock:
            chat = self._get_chat(chat_id)
            if chat.type != "supergroup":
                raise ValueError("only a supergroup can be a forum")
            chat.is_forum = is_forum
            if chat.topics is None:
                chat.topics = {}
            return True

    def create_topic(self, chat_id: int, title: str, user_id: int | None = None) -> int:
        """A member creates a topic named `title`; answers its message_thread_id (bots get the
        service message).  (Telegram calls it the topic's name; `name` is the control call's.)"""
        with self._lock:
            chat = self._forum(chat_id)
            sender = user_id if user_id is not None else group_sender(chat)
            return self._new_topic(chat, title, sender).thread_id

    def close_topic(self, chat_id: int, thread_id: int, closed: bool = True) -> bool:
        """An admin closes (or reopens) a topic: bots may no longer write in it."""
        with self._lock:
            topic = self._topic(self._forum(chat_id), thread_id)
            topic.closed = closed
            return True

    def delete_topic(self, chat_id: int, thread_id: int) -> bool:
        """An admin deletes a topic with its messages."""
        with self._lock:
            chat = self._forum(chat_id)
            self._topic(chat, thread_id).deleted = True
            for msg in chat.messages or []:
                if msg.thread_id == thread_id:
                    msg.deleted = True
            return True

    # ---- the Bot API --------------------------------------------------------------------------

    def api_createforumtopic(self, bot: Bot, p: Json, files: Json) -> Json:
        chat = self._resolve_chat(p)
        self._check_access(bot, chat)
        if not chat.is_forum:
            raise E.bad_request(NOT_A_FORUM)
        if self._status(bot, chat) != "administrator":
            raise E.bad_request("not enough rights to create a topic")
        name = _s(p, "name") or ""
        if not 1 <= len(name) <= 128:
            raise E.bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        topic = self._new_topic(chat, name, bot.id, from_bot=True)
        return {"message_thread_id": topic.thread_id, "name": topic.name, "icon_color": ICON_COLOR}

    def api_closeforumtopic(self, bot: Bot, p: Json, files: Json) -> bool:
        return self._set_closed(bot, p, True)

    def api_reopenforumtopic(self, bot: Bot, p: Json, files: Json) -> bool:
        return self._set_closed(bot, p, False)

    def api_deleteforumtopic(self, bot: Bot, p: Json, files: Json) -> bool:
        chat, topic = self._managed_topic(bot, p)
        self.delete_topic(chat.id, topic.thread_id)
        return True

    def _set_closed(self, bot: Bot, p: Json, closed: bool) -> bool:
        _, topic = self._managed_topic(bot, p)
        if topic.closed == closed:
            raise E.bad_request(TOPIC_NOT_MODIFIED)
        topic.closed = closed
        return True

    def _managed_topic(self, bot: Bot, p: Json) -> tuple[Chat, Topic]:
        chat = self._resolve_chat(p)
        self._check_access(bot, chat)
        if not chat.is_forum:
            raise E.bad_request(NOT_A_FORUM)
        if self._status(bot, chat) != "administrator":
            raise E.bad_request("not enough rights to manage the topic")
        thread_id = _i(p, "message_thread_id")
        topic = (chat.topics or {}).get(thread_id or 0)
        if topic is None or topic.deleted:
            raise E.bad_request(E.THREAD_NOT_FOUND)
        return chat, topic

    # ---- helpers ------------------------------------------------------------------------------

    def _forum(self, chat_id: int) -> Chat:
        chat = self._get_chat(chat_id)
        if not chat.is_forum:
            raise ValueError(f"chat {chat_id} is not a forum")
        return chat

    @staticmethod
    def _topic(chat: Chat, thread_id: int) -> Topic:
        topic = (chat.topics or {}).get(thread_id)
        if topic is None or topic.deleted:
            raise ValueError(f"no topic {thread_id} in chat {chat.id}")
        return topic

    def _new_topic(self, chat: Chat, name: str, sender_id: int, from_bot: bool = False) -> Topic:
        msg = self._new_message(chat, sender_id, from_bot)
        topic = Topic(msg.message_id, name)
        if chat.topics is None:
            chat.topics = {}
        chat.topics[topic.thread_id] = topic
        msg.thread_id = topic.thread_id
        msg.extra = {"forum_topic_created": {"name": name, "icon_color": ICON_COLOR}}
        for bot in self._bots.values():
            if self._status(bot, chat) in ("member", "administrator"):
                self._push(bot, "message", self._message_json(msg, bot, chat))
        return topic
