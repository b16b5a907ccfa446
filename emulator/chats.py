"""Users, groups, supergroups and channels on the control side, and the bots' membership in them:
creating chats (one by one or in bulk), adding, promoting, removing and blocking bots (each change
sends the bot a ``my_chat_member`` update), deactivating users and upgrading a basic group to a
supergroup.
"""

from __future__ import annotations

from collections.abc import Callable

from .state import Bot, Chat, EmulatorState, Json, _chat_json, _settle, _user_json, group_sender


class ChatsMixin(EmulatorState):
    """Chats and membership, as tests and benchmarks set them up."""

    # ---- chats (control side) -----------------------------------------------------------------

    def create_user(
        self,
        first_name: str = "User",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        started: bool = True,
        user_id: int | None = None,
    ) -> int:
        """Create a user (= a private chat); answers its id.  ``started``: the user has already
        pressed Start, so bots may write to them."""
        with self._lock:
            uid = user_id if user_id is not None else next(self._next_user)
            chat = Chat(uid, "private")
            chat.first_name = first_name
            chat.last_name = last_name
            chat.username = username
            chat.language_code = language_code
            chat.bot_status = "member" if started else "left"
            self._register(chat)
            return uid

    def create_users(self, count: int, started: bool = True, prefix: str = "User") -> list[int]:
        """Create many users quickly (benchmarks); answers [first id, last id]."""
        with self._lock:
            first = last = 0
            status = "member" if started else "left"
            chats = self._chats
            for n in range(int(count)):
                uid = next(self._next_user)
                chat = Chat(uid, "private")
                chat.first_name = prefix
                chat.bot_status = status
                chats[uid] = chat
                if n == 0:
                    first = uid
                last = uid
            _settle()
            return [first, last]

    def preload_messages(
        self,
        first: int,
        last: int,
        per_chat: int = 1,
        text: str = "preloaded",
        bot: str | int | None = None,
    ) -> int:
        """Store ``per_chat`` bot messages in each existing chat with an id in [first, last], as
        if the bot had sent them (benchmarks: per-request cost vs stored messages).  Answers the
        number stored.  Counters are not touched."""
        with self._lock:
            b = self._bot(bot)
            stored = 0
            for cid in range(int(first), int(last) + 1):
                chat = self._chats.get(cid)
                if chat is None:
                    continue
                for _ in range(int(per_chat)):
                    msg = self._new_message(chat, b.id, True)
                    msg.text = text
                    stored += 1
            _settle()
            return stored

    def _group_like(
        self,
        kind: str,
        title: str,
        members: list[int] | None,
        username: str | None,
        bot_status: str,
        creator: int | None,
    ) -> int:
        with self._lock:
            if kind == "group":
                cid = -next(self._next_group)
            else:
                cid = -(10**12 + next(self._next_channel))
            chat = Chat(cid, kind)
            chat.title = title
            chat.username = username
            chat.members = set(members or [])
            chat.creator = creator if creator is not None else (members[0] if members else None)
            chat.bot_status = bot_status
            for uid in chat.members:
                if uid not in self._chats:
                    raise KeyError(f"no user {uid}")
            self._register(chat)
            return cid

    def create_group(
        self,
        title: str = "Group",
        members: list[int] | None = None,
        bot_status: str = "member",
        creator: int | None = None,
    ) -> int:
        """Create a basic group (negative id); bots are members unless bot_status says else."""
        return self._group_like("group", title, members, None, bot_status, creator)

    def create_supergroup(
        self,
        title: str = "Supergroup",
        members: list[int] | None = None,
        username: str | None = None,
        bot_status: str = "member",
        creator: int | None = None,
        is_forum: bool = False,
    ) -> int:
        """Create a supergroup (id -100...); ``is_forum``: with topics (emulator/forums.py)."""
        cid = self._group_like("supergroup", title, members, username, bot_status, creator)
        if is_forum:
            with self._lock:
                chat = self._get_chat(cid)
                chat.is_forum, chat.topics = True, {}
        return cid

    def create_channel(
        self,
        title: str = "Channel",
        username: str | None = None,
        bot_status: str = "administrator",
        members: list[int] | None = None,
        creator: int | None = None,
    ) -> int:
        """Create a channel (id -100...); bots are its administrators unless bot_status says."""
        return self._group_like("channel", title, members, username, bot_status, creator)

    def chat_info(self, chat_id: int) -> Json:
        with self._lock:
            chat = self._get_chat(chat_id)
            info = _chat_json(chat)
            info.update(
                deactivated=chat.deactivated,
                members=sorted(chat.members or []),
                migrated_to=chat.migrated_to,
                migrated_from=chat.migrated_from,
                bot_status=chat.bot_status,
            )
            return info

    # ---- membership ---------------------------------------------------------------------------

    def _set_status(self, bot: Bot | None, chat: Chat, status: str, by: int | None) -> None:
        bots = [bot] if bot is not None else list(self._bots.values())
        olds = [self._status(b, chat) for b in bots]
        if bot is None:
            chat.bot_status = status
        for b, old in zip(bots, olds, strict=True):
            if bot is not None:
                b.rel[chat.id] = status
            else:
                b.rel.pop(chat.id, None)
            if old != status:
                self._my_chat_member(b, chat, old, status, by)

    def _my_chat_member(self, bot: Bot, chat: Chat, old: str, new: str, by: int | None) -> None:
        actor = self._chats.get(by) if by is not None else None
        if actor is None and chat.type == "private":
            actor = chat
        if actor is None and chat.creator is not None:
            actor = self._chats.get(chat.creator)
        frm = _user_json(actor) if actor is not None else bot.user_json()
        self._push(
            bot,
            "my_chat_member",
            {
                "chat": _chat_json(chat),
                "from": frm,
                "date": int(self.wall_clock()),
                "old_chat_member": self._member_json(bot, old),
                "new_chat_member": self._member_json(bot, new),
            },
        )

    def _change_status(
        self, chat: Callable[[], Chat], bot: str | int | None, status: str, user: int | None
    ) -> bool:
        """Set the bot's membership in a chat (every bot's when `bot` is None), under the lock."""
        with self._lock:
            self._set_status(self._bot(bot) if bot is not None else None, chat(), status, user)
            return True

    def make_admin(self, chat_id: int, bot: str | int | None = None, admin: bool = True) -> bool:
        """Make the bot an administrator of a chat (or take that away: ``admin=False``)."""
        return self._change_status(
            lambda: self._get_chat(chat_id), bot, "administrator" if admin else "member", None
        )

    def add_bot(self, chat_id: int, bot: str | int | None = None) -> bool:
        """Add the bot to a group, supergroup or channel as a plain member."""
        return self._change_status(lambda: self._get_chat(chat_id), bot, "member", None)

    def remove_bot(self, chat_id: int, bot: str | int | None = None, kicked: bool = True) -> bool:
        """Remove the bot from a chat (``kicked``: banned; else it just is not a member)."""
        return self._change_status(lambda: self._get_chat(chat_id), bot, "kicked" if kicked else "left", None)

    def block_bot(self, user_id: int, bot: str | int | None = None) -> bool:
        """The user blocks the bot (default: every bot): sending then gives 403."""
        return self._change_status(lambda: self._private(user_id), bot, "kicked", user_id)

    def unblock_bot(self, user_id: int, bot: str | int | None = None) -> bool:
        return self._change_status(lambda: self._private(user_id), bot, "member", user_id)

    def deactivate_user(self, user_id: int) -> bool:
        """The user deletes their account: sending then gives 403 user is deactivated."""
        with self._lock:
            self._private(user_id).deactivated = True
            return True

    def upgrade_group(self, chat_id: int) -> int:
        """Upgrade a basic group to a supergroup; answers the supergroup's id.  Sending to the
        old id then gives 400 with parameters.migrate_to_chat_id."""
        with self._lock:
            group = self._get_chat(chat_id)
            if group.type != "group":
                raise ValueError("only basic groups can be upgraded")
            if group.migrated_to is not None:
                return group.migrated_to
            sid = -(10**12 + next(self._next_channel))
            sup = Chat(sid, "supergroup")
            sup.title = group.title
            sup.members = set(group.members or [])
            sup.creator = group.creator
            sup.bot_status = group.bot_status
            sup.migrated_from = group.id
            group.migrated_to = sid
            self._register(sup)
            for bot in self._bots.values():
                status = self._status(bot, group)
                if status in ("member", "administrator"):
                    if group.id in bot.rel:
                        bot.rel[sid] = bot.rel[group.id]
                    # Telegram sends a service message to both chats
                    self._service(bot, group, {"migrate_to_chat_id": sid})
                    self._service(bot, sup, {"migrate_from_chat_id": group.id})
            return sid

    def _service(self, bot: Bot, chat: Chat, fields: Json) -> None:
        msg = self._new_message(chat, group_sender(chat), False)
        msg.extra = fields
        self._push(bot, "message", self._message_json(msg, bot))
