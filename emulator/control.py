"""The control side over HTTP: ``/_emulator/<method>`` calls ``Emulator.<method>(**kwargs)``.

Arguments come as a JSON object body (POST) and/or a query string (GET; each value is read as
JSON when it parses, so ``?chat_id=-1001&from_bot=true`` works).  The answer is
``{"ok": true, "result": ...}``, or ``{"ok": false, "description": ...}`` with status 400 (bad
arguments) or 404 (no such control method).

:class:`EmulatorClient` drives the same endpoints from another process (the broadcast crash test
and the benchmarks run the bot in a subprocess): ``EmulatorClient(url).create_user(...)``.
"""

from __future__ import annotations

from typing import Any

# Every method of Emulator that the HTTP control side may call.
CONTROL_METHODS = frozenset(
    {
        # bots and tokens
        "new_bot_token",
        "revoke_token",
        "bot_info",
        # chats
        "create_user",
        "create_users",
        "preload_messages",
        "create_group",
        "create_supergroup",
        "create_channel",
        "chat_info",
        "make_admin",
        "add_bot",
        "remove_bot",
        "block_bot",
        "unblock_bot",
        "deactivate_user",
        "upgrade_group",
        "make_forum",
        "create_topic",
        "close_topic",
        "delete_topic",
        # acting as a user
        "send_text",
        "send_command",
        "send_location",
        "send_document",
        "press_button",
        "inline_query",
        # reading back
        "messages",
        "bot_messages",
        "texts",
        "counters",
        "sent_count",
        "updates",
        "commands",
        "webhook_info",
        "callback_answers",
        "inline_answers",
        # waiting for the bot
        "wait_messages",
        "wait_sent",
        "wait_polling",
        "wait_webhook",
        # limits and faults
        "configure_limits",
        "configure_faults",
        "inject_fault",
        "reset",
    }
)
# attributes read as values rather than called
_VALUES = frozenset({"callback_answers", "inline_answers"})


def call_control(emu: Any, name: str, kwargs: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if name not in CONTROL_METHODS:
        return 404, {"ok": False, "description": f"no control method {name!r}"}
    try:
        if name in _VALUES:
            with emu._lock:
                result: Any = list(getattr(emu, name))
        else:
            result = getattr(emu, name)(**kwargs)
    except (KeyError, ValueError, TypeError) as exc:
        return 400, {"ok": False, "description": f"{exc.__class__.__name__}: {exc}"}
    return 200, {"ok": True, "result": result}


class ControlError(RuntimeError):
    pass


class EmulatorClient:
    """Drive a running emulator's control side over HTTP (sync, httpx).

    ``client.create_user(first_name="Ann")`` posts to ``/_emulator/create_user``; every name in
    CONTROL_METHODS is available.  Also ``base_url``/``file_base_url`` for the bot.
    """

    def __init__(self, url: str, timeout: float = 30.0):
        import httpx

        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False)

    @property
    def base_url(self) -> str:
        return self.url + "/bot"

    @property
    def file_base_url(self) -> str:
        return self.url + "/file/bot"

    def call(self, name: str, **kwargs: Any) -> Any:
        r = self._http.post(f"/_emulator/{name}", json=kwargs)
        data = r.json()
        if not data.get("ok"):
            raise ControlError(data.get("description", r.text))
        return data["result"]

    def __getattr__(self, name: str) -> Any:
        if name not in CONTROL_METHODS:
            raise AttributeError(name)

        def method(**kwargs: Any) -> Any:
            return self.call(name, **kwargs)

        method.__name__ = name
        return method

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EmulatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
