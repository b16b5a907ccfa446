"""The bot's state in the database, so that any replica, after any restart, carries on a conversation.

`StorePersistence` is PTB's `BasePersistence` on the store's tables `bot_state` (user and chat
data) and `conversations` (each persistent ConversationHandler's state by key, with the time it
was written). PTB loads what a persistence holds once, at start, and writes it back every
`update_interval`; with several replicas and SIGKILLs that is not enough, so
`PersistentApplication` (the Application class `build_application` uses) reads a conversation's
state before each update (`refresh_conversations`; the user and chat data PTB refreshes itself
through `refresh_user_data` / `refresh_chat_data`) and writes what changed after each update
(`update_persistence`). A write that would not change a row is skipped, so a reader whose data
is empty costs reads only.

A conversation whose state was last written more than `max_age` ago (a day) is dropped when its
user comes back: its state and the user-data keys it named (`Expiry.forget`) are removed and the
user is told `Expiry.message`.

Data is stored as JSON. The handlers keep plain values there, and the dataclasses listed in
`DATACLASSES` (the /add draft) are stored tagged with their name and rebuilt field by field, so
a draft written by the previous version of the code still loads after a deploy.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, BasePersistence, ConversationHandler, PersistenceInput
from telegram.ext._utils.trackingdict import TrackingDict
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.replies import REPLY
from quotes.curation import Draft, NewSource
from quotes.dates import day_text
from quotes.documents import Extracted, Upload
from quotes.store import Store, dialect_insert
from quotes.store import schema as t

log = logging.getLogger(__name__)

USER, CHAT = "user", "chat"
# A draft holds these: a new source, and the file an admin brought at its source step (bytes).
DATACLASSES: dict[str, type] = {cls.__name__: cls for cls in (Draft, NewSource, Upload, Extracted)}
TAG = "__dataclass__"
BYTES = "__bytes__"  # bytes, as base64
MAX_AGE = dt.timedelta(days=1)


def encode(value: Any) -> Any:
    """Return `value` as JSON data; the dataclasses of DATACLASSES are tagged with their name."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if DATACLASSES.get(name) is not type(value):
            raise TypeError(f"{name} is not a type the bot's persistence stores (DATACLASSES)")
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {TAG: name, **fields}
    if isinstance(value, dict):
        return {_key(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, bytes):
        return {BYTES: base64.b64encode(value).decode("ascii")}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"{type(value).__name__} is not stored by the bot's persistence")


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"the bot's persistence stores string keys only, not {key!r}")
    return key


def decode(value: Any) -> Any:
    """Return the data `encode` made, with its dataclasses rebuilt (unknown fields dropped)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if BYTES in value:
        return base64.b64decode(value[BYTES])
    name = value.get(TAG)
    if name is None:
        return {k: decode(v) for k, v in value.items()}
    cls = DATACLASSES.get(name)
    if cls is None:
        raise ValueError(f"stored data names {name!r}, which is not in DATACLASSES")
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: decode(v) for k, v in value.items() if k in known})


def conversation_key(key: ConversationKey) -> str:
    return json.dumps(list(key))


@dataclass(frozen=True)
class Conversation:
    state: object
    updated_at: dt.datetime


class StorePersistence(BasePersistence[dict, dict, dict]):
    """PTB's persistence on the store: user data, chat data and conversations (not bot_data,
    which holds the store and the settings, nor callback data, which the bot does not use)."""

    def __init__(self, store: Store, clock: Callable[[], dt.datetime], update_interval: float = 60):
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=True, callback_data=False),
            update_interval=update_interval,
        )
        self.store = store
        self.clock = clock
        # What each row holds (as its JSON text), so that writing the same again is skipped.
        self._written: dict[tuple[str, int], str] = {}

    # --- the database, off the event loop -------------------------------------------------

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    def _load_all(self, kind: str) -> dict[int, dict]:
        with self.store.read() as conn:
            query = sa.select(t.bot_state.c.id, t.bot_state.c.data).where(t.bot_state.c.kind == kind)
            rows = conn.execute(query)
            loaded = {row.id: row.data for row in rows}
        for key, data in loaded.items():
            self._written[(kind, key)] = json.dumps(data, sort_keys=True)
        return {key: decode(data) for key, data in loaded.items()}

    def _load(self, kind: str, key: int) -> dict | None:
        with self.store.read() as conn:
            data = conn.execute(
                sa.select(t.bot_state.c.data).where(t.bot_state.c.kind == kind, t.bot_state.c.id == key)
            ).scalar_one_or_none()
        self._written[(kind, key)] = json.dumps(data or {}, sort_keys=True)
        return None if data is None else decode(data)

    def _save(self, kind: str, key: int, data: dict) -> None:
        encoded = encode(data)
        text = json.dumps(encoded, sort_keys=True)
        if self._written.get((kind, key), "{}") == text:
            return
        table = t.bot_state
        with self.store.write() as conn:
            if not encoded:
                conn.execute(table.delete().where(table.c.kind == kind, table.c.id == key))
            else:
                statement = dialect_insert(conn.dialect.name, table).values(
                    kind=kind, id=key, data=encoded, updated_at=self.clock()
                )
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[table.c.kind, table.c.id],
                        set_={"data": statement.excluded.data, "updated_at": statement.excluded.updated_at},
                    )
                )
        self._written[(kind, key)] = text

    def _drop(self, kind: str, key: int) -> None:
        with self.store.write() as conn:
            conn.execute(t.bot_state.delete().where(t.bot_state.c.kind == kind, t.bot_state.c.id == key))
        self._written[(kind, key)] = "{}"

    def _conversations(self, name: str) -> ConversationDict:
        table = t.conversations
        with self.store.read() as conn:
            rows = conn.execute(sa.select(table.c.key, table.c.state).where(table.c.name == name))
            return {tuple(json.loads(row.key)): row.state for row in rows}

    def conversation(self, name: str, key: ConversationKey) -> Conversation | None:
        """Return the stored state of conversation `name` for `key`, and when it was written."""
        table = t.conversations
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(table.c.state, table.c.updated_at).where(
                    table.c.name == name, table.c.key == conversation_key(key)
                )
            ).one_or_none()
        return None if row is None else Conversation(row.state, row.updated_at)

    def _set_conversation(self, name: str, key: ConversationKey, state: object | None) -> None:
        table = t.conversations
        text = conversation_key(key)
        with self.store.write() as conn:
            if state is None:
                conn.execute(table.delete().where(table.c.name == name, table.c.key == text))
                return
            statement = dialect_insert(conn.dialect.name, table).values(
                name=name, key=text, state=state, updated_at=self.clock()
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.c.name, table.c.key],
                    set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at},
                )
            )

    # --- BasePersistence ------------------------------------------------------------------

    async def get_user_data(self) -> dict[int, dict]:
        return await self._run(self._load_all, USER)

    async def get_chat_data(self) -> dict[int, dict]:
        return await self._run(self._load_all, CHAT)

    async def get_bot_data(self) -> dict:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        return await self._run(self._conversations, name)

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        await self._run(self._set_conversation, name, key, new_state)

    async def update_user_data(self, user_id: int, data: dict) -> None:
        await self._run(self._save, USER, user_id, data)

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        await self._run(self._save, CHAT, chat_id, data)

    async def update_bot_data(self, data: dict) -> None:
        pass  # bot_data holds the store, the settings and the clock: nothing to persist

    async def update_callback_data(self, data: CDCData) -> None:
        pass

    async def drop_user_data(self, user_id: int) -> None:
        await self._run(self._drop, USER, user_id)

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._run(self._drop, CHAT, chat_id)

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        _replace(user_data, await self._run(self._load, USER, user_id))

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        _replace(chat_data, await self._run(self._load, CHAT, chat_id))

    async def refresh_bot_data(self, bot_data: dict) -> None:
        pass

    async def flush(self) -> None:
        pass  # every write is committed when it is made


def _replace(target: dict, stored: dict | None) -> None:
    """Make `target` (the dict PTB hands to handlers) hold what the database holds."""
    target.clear()
    target.update(stored or {})


@dataclass(frozen=True)
class Expiry:
    """What happens to a persistent conversation left for longer than `max_age`."""

    forget: Iterable[str]  # the user_data keys it keeps
    message: str  # what the user is told (HTML; {day}: the day of the last step) on coming back
    max_age: dt.timedelta = MAX_AGE


class PersistentApplication(Application):
    """An Application that reads the state of its conversations from the database before each
    update and writes what changed after it, so the next update may come to any replica."""

    expiry: dict[str, Expiry]

    async def process_update(self, update: object) -> None:
        if isinstance(update, Update) and isinstance(self.persistence, StorePersistence):
            try:
                dropped = await self.refresh_conversations(update, self.persistence)
            except Exception as exc:  # the database: not handled on a state it could not read
                await self.process_error(update, exc)
                return
            if dropped:  # the message answered the dropped draft: told so, and handled no further
                await self.update_persistence()
                return
        try:
            await super().process_update(update)
        finally:
            if self.persistence is not None:
                try:
                    await self.update_persistence()
                except Exception:
                    update_id = getattr(update, "update_id", None)
                    log.exception("could not write the bot's state after update %s", update_id)

    def _persistent_conversations(self) -> list[ConversationHandler]:
        return [
            handler
            for handlers in self.handlers.values()
            for handler in handlers
            if isinstance(handler, ConversationHandler) and handler.persistent and handler.name
        ]

    async def refresh_conversations(self, update: Update, persistence: StorePersistence) -> bool:
        """Load the update's conversation states from the database (dropping stale ones); say
        whether one was dropped (its user has been told)."""
        dropped = False
        for handler in self._persistent_conversations():
            if update.effective_chat is None or update.effective_user is None:
                continue
            # PTB's ConversationHandler has no public way to read or set one key's state; its
            # key function and its TrackingDict are used here, the one place that does.
            key = handler._get_key(update)
            states = handler._conversations
            # After PTB's _initialize_persistence, a persistent handler's states are a TrackingDict.
            assert isinstance(states, TrackingDict), "persistence was initialised for this handler"
            assert handler.name is not None  # _persistent_conversations keeps named ones
            stored = await persistence._run(persistence.conversation, handler.name, key)
            expiry = getattr(self, "expiry", {}).get(handler.name)
            age = None if stored is None else persistence.clock() - stored.updated_at
            if stored is not None and expiry is not None and age is not None and age > expiry.max_age:
                await self._expire(update, handler.name, key, stored, expiry, persistence)
                stored, dropped = None, True
            if stored is None:
                dict.pop(states.data, key, None)  # not tracked: the database already has no row
            else:
                states.update_no_track({key: stored.state})
        return dropped

    async def _expire(
        self,
        update: Update,
        name: str,
        key: ConversationKey,
        stored: Conversation,
        expiry: Expiry,
        persistence: StorePersistence,
    ) -> None:
        user = update.effective_user
        chat = update.effective_chat
        assert user is not None and chat is not None  # refresh_conversations checked
        when = stored.updated_at.isoformat()
        log.info("conversation %s %s: last step at %s, dropped as stale", name, key, when)
        await persistence.update_conversation(name, key, None)
        data = await persistence._run(persistence._load, USER, user.id) or {}
        for item in expiry.forget:
            data.pop(item, None)
        await persistence.update_user_data(user.id, deepcopy(data))
        _replace(self.user_data[user.id], data)
        text = expiry.message.format(day=day_text(stored.updated_at.date()))
        await self.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML, rate_limit_args=REPLY)
