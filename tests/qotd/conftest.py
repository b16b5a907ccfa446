"""Fixtures for the service's tests: the site's and the delivery's, and a fake Bot API for PTB."""

from __future__ import annotations

import json

from telegram.request import BaseRequest, RequestData

# The fixtures these tests share with the site's and the delivery's (pytest finds them here).
from tests.bot.delivery.conftest import bot, emu, ledger, token  # noqa: F401
from tests.feed.conftest import clock, settings, week_store  # noqa: F401
from tests.qotd.pgcluster import private_pg  # noqa: F401


class FakeBotAPI(BaseRequest):
    """The Bot API as PTB's network layer sees it: canned answers, every call recorded."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url, method, request_data: RequestData | None = None, **_timeouts):
        name = url.rsplit("/", 1)[-1]
        params = request_data.json_parameters if request_data else {}
        self.calls.append((name, params))
        results = {
            "getMe": {
                "id": 4242,
                "is_bot": True,
                "first_name": "Quote of the day",
                "username": "qotd_test_bot",
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": True,
            },
            "setWebhook": True,
            "setMyCommands": True,
            "deleteWebhook": True,
            "getUpdates": [],
        }
        if name not in results:
            return 400, json.dumps({"ok": False, "error_code": 400, "description": "not faked"}).encode()
        return 200, json.dumps({"ok": True, "result": results[name]}).encode()
