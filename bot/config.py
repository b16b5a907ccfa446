"""The settings the bot reads: a protocol, so the service's frozen Settings (qotd/settings.py) is one.

The bot never imports the service; `build_application`, the handlers, the webhook and the
Telegram runner take any object with these attributes (tests pass the service's Settings too).
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo


class BotSettings(Protocol):
    @property
    def bot_token(self) -> str | None: ...

    @property
    def telegram_api_url(self) -> str: ...

    @property
    def public_url(self) -> str | None: ...

    @property
    def webhook_secret(self) -> str | None: ...

    @property
    def admin_ids(self) -> frozenset[int]: ...

    @property
    def channel_ids(self) -> tuple[int | str, ...]: ...

    @property
    def timezone(self) -> ZoneInfo: ...

    @property
    def publish_time(self) -> dt.time: ...

    @property
    def import_max_bytes(self) -> int: ...

    def now(self) -> dt.datetime: ...

    def today(self, now: dt.datetime) -> dt.date: ...
