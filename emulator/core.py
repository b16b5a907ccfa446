"""The emulator: :class:`Emulator` composed of its parts, its configuration, and Bot API dispatch.

Pure Python; no I/O.  The HTTP server (``emulator.server``) calls :meth:`Emulator.call` for each
request; tests call the control methods (``create_user``, ``send_text``, ``messages`` ...) directly
or through ``/_emulator/<method>``.  Everything that touches the state takes ``self._lock``, so the
control side may run in another thread than the server.

The parts, one mixin each: ``emulator.state`` (the data, bots and tokens, lookups; the base
class), ``emulator.chats`` (chats and membership), ``emulator.sending`` (what every sending
method checks and stores), ``emulator.methods`` (the Bot API methods), ``emulator.files``
(documents), ``emulator.photos`` (sendPhoto), ``emulator.updates`` (update queue, getUpdates,
webhooks) and ``emulator.acting`` (acting as users, reading back, waiting); ``emulator.params``
reads the parameters.  Where the rules come from is said beside each one; see also
``emulator.errors`` (wording), ``emulator.entities`` (text parsing) and ``emulator.limits``
(flood limits, faults).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from . import errors as E
from .acting import ActingMixin
from .chats import ChatsMixin
from .forums import ForumsMixin
from .limits import SENDING_METHODS, FaultInjector, Faults, FloodControl, Limits
from .methods import BotApiMixin
from .photos import PhotosMixin
from .state import Bot, Chat, Json, Message
from .updates import UpdatesMixin

__all__ = ["METHODS", "Bot", "Chat", "Emulator", "Message"]


class Emulator(
    ChatsMixin, BotApiMixin, ForumsMixin, PhotosMixin, UpdatesMixin, ActingMixin
):  # (PhotosMixin is a FilesMixin)
    """A Telegram Bot API server in memory: state, rules, and the control side for tests."""

    def __init__(
        self,
        *,
        limits: Limits | dict[str, Any] | None = None,
        faults: Faults | dict[str, Any] | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
        seed: int = 0,
        webhook_retry_delay: float = 1.0,
        auto_entities: bool = True,
    ):
        self._lock = threading.RLock()
        # notified when a message is sent, a poller starts waiting or a webhook answers
        self._changed = threading.Condition(self._lock)
        self.clock = clock or time.monotonic
        self.wall_clock = wall_clock or time.time
        self._seed = seed
        self._initial_limits = limits
        self._initial_faults = faults
        self.webhook_retry_delay = webhook_retry_delay
        self.auto_entities = auto_entities
        # set by the server that serves this emulator
        self._server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._init_state()

    # ---- state --------------------------------------------------------------------------------

    def _init_state(self) -> None:
        lim = self._initial_limits
        if isinstance(lim, dict):
            limits = Limits(**lim)
        else:
            limits = Limits(**vars(lim)) if lim else Limits()
        fl = self._initial_faults
        if isinstance(fl, dict):
            faults = Faults(**fl)
        else:
            faults = Faults(**vars(fl)) if fl else Faults()
        self.flood = FloodControl(limits, self.clock)
        self.faults = FaultInjector(faults)
        self._rng = random.Random(self._seed)
        self._bots: dict[int, Bot] = {}
        self._by_token: dict[str, Bot] = {}
        self._revoked: set[str] = set()
        self._default_bot: Bot | None = None
        self._chats: dict[int, Chat] = {}
        self._usernames: dict[str, Chat] = {}
        self._next_user = itertools.count(100_000_001)
        self._next_group = itertools.count(1_000_001)
        self._next_channel = itertools.count(1_000_000_001)
        self._next_bot = itertools.count(7_000_000_001)
        self._next_query = itertools.count(1)
        self._files: dict[str, Json] = {}
        self._file_paths: dict[str, str] = {}
        self._next_file = itertools.count(1)
        self.requests: Counter[str] = Counter()
        self.too_many_requests = 0
        self.duplicates = 0
        self.messages_sent = 0
        self.paid_messages = 0
        self.callback_answers: list[Json] = []
        self.inline_answers: list[Json] = []

    def reset(self) -> None:
        """Forget everything: bots, chats, messages, counters, limits and faults as configured."""
        with self._lock:
            for bot in self._bots.values():
                if bot.waiter is not None:
                    self._wake(bot)
                bot.webhook = None
            self._init_state()

    @property
    def limits(self) -> Limits:
        return self.flood.limits

    def configure_limits(self, **changes: Any) -> Json:
        """Change flood limits (``enabled=False`` turns them all off); answers the new ones."""
        with self._lock:
            self.flood.limits.update(**changes)
            self.flood.reset()
            return self.flood.limits.to_json()

    def configure_faults(self, **changes: Any) -> Json:
        """Change fault injection (``seed``, ``error_rate``, ``drop_rate`` ...)."""
        with self._lock:
            return self.faults.configure(**changes).to_json()

    def inject_fault(
        self, kind: str, count: int = 1, method: str | None = None, chat_id: int | None = None
    ) -> bool:
        """Make the next ``count`` requests (of ``method``, to ``chat_id``) fail with ``kind``:
        error (5xx), drop (connection closed, not done), slow (done, answered late),
        lost (done, answer never arrives)."""
        self.faults.inject(kind, count, method, chat_id)
        return True

    # ---- server binding -----------------------------------------------------------------------

    def _bind(self, server: Any, loop: asyncio.AbstractEventLoop | None) -> None:
        self._server = server
        self._loop = loop
        self._loop_thread = threading.get_ident() if loop is not None else None

    @property
    def url(self) -> str:
        """Root URL of the server serving this emulator."""
        if self._server is None:
            raise RuntimeError("this emulator is not being served")
        return str(self._server.url)

    @property
    def base_url(self) -> str:
        """What to give python-telegram-bot as ``base_url``."""
        return self.url + "/bot"

    @property
    def file_base_url(self) -> str:
        """What to give python-telegram-bot as ``base_file_url``."""
        return self.url + "/file/bot"

    # ---- the Bot API --------------------------------------------------------------------------

    def call(self, token: str, method: str, params: Json, files: Json | None = None) -> Any:
        """Carry out one Bot API call.  Answers the result, or a coroutine for getUpdates;
        raises ApiError with Telegram's code and description."""
        bot = self.authenticate(token)
        lower = method.lower()
        handler = _METHODS.get(lower)
        with self._lock:
            if handler is None:
                self.requests[method] += 1
                raise E.NOT_FOUND
            self.requests[_CANONICAL[lower]] += 1
            if lower == "getupdates":
                return self._get_updates(bot, params)
            return handler(self, bot, params, files or {})


_METHODS: dict[str, Callable[..., Any]] = {}
_CANONICAL: dict[str, str] = {}
for _name in (
    "getMe",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendMessage",
    "editMessageText",
    "deleteMessage",
    "answerCallbackQuery",
    "answerInlineQuery",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "getChat",
    "getChatMember",
    "sendDocument",
    "sendPhoto",
    "getFile",
    "leaveChat",
    "editMessageReplyMarkup",
    "editMessageCaption",
    "createForumTopic",
    "closeForumTopic",
    "reopenForumTopic",
    "deleteForumTopic",
):
    _CANONICAL[_name.lower()] = _name
    _METHODS[_name.lower()] = getattr(Emulator, "api_" + _name.lower(), None) or (
        lambda self, bot, p, files: None
    )

METHODS = tuple(_CANONICAL.values())
assert SENDING_METHODS <= set(_METHODS)
