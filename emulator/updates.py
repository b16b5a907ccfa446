"""Updates: each bot's queue (filtered by allowed_updates), getUpdates with long polling (a new
poll ends the one waiting, as Telegram's server does), and webhooks (setWebhook, deleteWebhook,
getWebhookInfo, and ``webhook_next``/``webhook_result``, which the server's delivery task calls),
with waking the server's event loop when an update arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import threading
from typing import Any

import orjson

from . import errors as E
from .params import _b, _i, _j, _s
from .state import Bot, EmulatorState, Json, _Described, _Waiter

# Client.cpp: long polling timeout is capped (50 s on the server).
MAX_POLL_TIMEOUT = 50
# Bot API reference, "getUpdates" allowed_updates: default is every type but these.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class UpdatesMixin(EmulatorState):
    """The update queue, getUpdates and webhooks."""

    # ---- the queue ----------------------------------------------------------------------------

    def _notify(self, bot: Bot) -> None:
        loop = self._loop
        if loop is None or (bot.waiter is None and bot.webhook_event is None):
            return
        if threading.get_ident() == self._loop_thread:
            self._wake(bot)
        else:
            with contextlib.suppress(RuntimeError):  # loop closed
                loop.call_soon_threadsafe(self._wake, bot)

    @staticmethod
    def _wake(bot: Bot) -> None:
        if bot.waiter is not None:
            bot.waiter.event.set()
        if bot.webhook_event is not None:
            bot.webhook_event.set()

    def _push(self, bot: Bot, kind: str, data: Json) -> None:
        allowed = bot.webhook.get("allowed_updates") if bot.webhook else None
        allowed = allowed or bot.allowed_updates
        if allowed:
            if kind not in allowed:
                return
        elif kind in NOT_BY_DEFAULT:
            return
        uid = bot.next_update_id
        bot.next_update_id += 1
        bot.updates.append((uid, kind, data))
        self._notify(bot)

    def _take(self, bot: Bot, offset: int, limit: int) -> list[Json]:
        ups = bot.updates
        if offset < 0:
            while len(ups) > -offset:
                ups.popleft()
        elif offset:
            while ups and ups[0][0] < offset:
                ups.popleft()
        return [{"update_id": uid, kind: data} for uid, kind, data in itertools.islice(ups, limit)]

    def updates(self, bot: str | int | None = None) -> list[Json]:
        """The updates waiting for a bot (not confirmed yet)."""
        with self._lock:
            b = self._bot(bot)
            return [{"update_id": uid, kind: data} for uid, kind, data in b.updates]

    # ---- getUpdates ---------------------------------------------------------------------------

    async def _get_updates(self, bot: Bot, p: Json) -> list[Json]:
        offset = _i(p, "offset")
        limit = min(max(_i(p, "limit", 100), 1), 100)
        timeout = min(max(_i(p, "timeout", 0), 0), MAX_POLL_TIMEOUT)
        allowed = _j(p, "allowed_updates", "allowed updates")
        with self._lock:
            if bot.webhook is not None:
                raise E.CONFLICT_WEBHOOK_ACTIVE
            if allowed is not None and isinstance(allowed, list):
                bot.allowed_updates = [str(a) for a in allowed]
            if bot.waiter is not None:
                # Client.cpp: a new getUpdates terminates the one waiting
                bot.waiter.error = E.CONFLICT_OTHER_POLLER
                bot.waiter.event.set()
                bot.waiter = None
            got = self._take(bot, offset, limit)
            if got or timeout <= 0 or self._loop is None:
                return got
            waiter = _Waiter()
            bot.waiter = waiter
            self._changed.notify_all()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.event.wait(), timeout)
        finally:
            with self._lock:
                if bot.waiter is waiter:
                    bot.waiter = None
        if waiter.error is not None:
            raise waiter.error
        with self._lock:
            return self._take(bot, 0, limit)

    # ---- webhooks -----------------------------------------------------------------------------

    def _webhook_json(self, bot: Bot) -> Json:
        hook = bot.webhook
        d: Json = {
            "url": hook["url"] if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }
        if hook:
            if hook.get("last_error_date"):
                d["last_error_date"] = hook["last_error_date"]
                d["last_error_message"] = hook["last_error_message"]
            d["max_connections"] = hook["max_connections"]
            d["ip_address"] = "127.0.0.1"
            if hook.get("allowed_updates"):
                d["allowed_updates"] = hook["allowed_updates"]
        return d

    def api_setwebhook(self, bot: Bot, p: Json, files: Json) -> Any:
        url = (_s(p, "url") or "").strip()
        if not url:
            return self.api_deletewebhook(bot, p, files)
        # Telegram wants HTTPS on ports 443, 80, 88 or 8443; the emulator delivers to any
        # http(s) URL so that tests can listen on 127.0.0.1.
        if not url.lower().startswith(("http://", "https://")):
            raise E.bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = _s(p, "secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise E.bad_request("secret token contains unallowed characters")
        allowed = _j(p, "allowed_updates", "allowed updates")
        max_conn = min(max(_i(p, "max_connections", 40), 1), 100)
        if _b(p, "drop_pending_updates"):
            bot.updates.clear()
        if bot.waiter is not None:
            bot.waiter.error = E.CONFLICT_WEBHOOK_ACTIVE
            bot.waiter.event.set()
            bot.waiter = None
        old = bot.webhook
        bot.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": max_conn,
            "allowed_updates": [str(a) for a in allowed] if isinstance(allowed, list) else [],
        }
        if self._server is not None:
            self._server.start_webhook(bot)
        if old and old["url"] == url:
            return _Described(True, "Webhook is already set")
        return _Described(True, "Webhook was set")

    def api_deletewebhook(self, bot: Bot, p: Json, files: Json) -> Any:
        if _b(p, "drop_pending_updates"):
            bot.updates.clear()
        if bot.webhook is None:
            return _Described(True, "Webhook is already deleted")
        bot.webhook = None
        if bot.webhook_event is not None:
            bot.webhook_event.set()
        return _Described(True, "Webhook was deleted")

    def api_getwebhookinfo(self, bot: Bot, p: Json, files: Json) -> Json:
        return self._webhook_json(bot)

    def webhook_next(self, bot: Bot) -> tuple[int, bytes, Json] | None:
        """(update_id, JSON body, webhook settings) of the next update to deliver, if any."""
        with self._lock:
            if bot.webhook is None or not bot.updates:
                return None
            uid, kind, data = bot.updates[0]
            return uid, orjson.dumps({"update_id": uid, kind: data}), dict(bot.webhook)

    def webhook_result(self, bot: Bot, update_id: int, error: str | None) -> None:
        with self._lock:
            bot.webhook_attempts += 1
            if error is None:
                if bot.updates and bot.updates[0][0] == update_id:
                    bot.updates.popleft()
                bot.webhook_delivered += 1
            elif bot.webhook is not None:
                bot.webhook["last_error_date"] = int(self.wall_clock())
                bot.webhook["last_error_message"] = error
            self._changed.notify_all()

    def webhook_info(self, bot: str | int | None = None) -> Json:
        with self._lock:
            b = self._bot(bot)
            return {
                **self._webhook_json(b),
                "attempts": b.webhook_attempts,
                "delivered": b.webhook_delivered,
            }
