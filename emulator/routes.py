"""Routing a request to the emulator, without the transport: :class:`App` answers a
:class:`Response` (or an awaitable of one) for the Bot API (``/bot<token>/<method>``, with fault
injection), file downloads (``/file/bot<token>/<path>``) and the control side
(``/_emulator/<method>``), and reads request bodies as Telegram's server does (JSON,
form-encoded, multipart with files, or a query string).  ``emulator.server`` and
``emulator.asgi`` carry these answers over HTTP.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from . import errors as E
from .control import call_control
from .core import Emulator
from .state import _Described

Json = dict[str, Any]


class Response:
    __slots__ = ("body", "content_type", "delay", "drop", "status")

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"",
        content_type: bytes = b"application/json",
        delay: float = 0.0,
        drop: bool = False,
    ):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.delay = delay
        self.drop = drop


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, orjson.dumps(data))


def error_response(err: E.ApiError) -> Response:
    return Response(err.code, orjson.dumps(err.to_json()))


_BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def fault_error_response(status: int) -> Response:
    if status == 502:
        return Response(502, _BAD_GATEWAY_HTML, b"text/html")
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Internal Server Error"
    return json_response({"ok": False, "error_code": status, "description": phrase}, status)


class BodyError(Exception):
    pass


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_DISPOSITION = re.compile(r'(\w+\*?)="((?:[^"\\]|\\.)*)"|(\w+)=([^;\s]+)')


def parse_multipart(body: bytes, content_type: str) -> tuple[Json, Json]:
    m = _BOUNDARY.search(content_type)
    if m is None:
        raise BodyError("multipart body without a boundary")
    delim = b"--" + m.group(1).encode("latin-1")
    params: Json = {}
    files: Json = {}
    for part in body.split(delim)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = filename = None
        ctype = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "content-disposition":
                for mm in _DISPOSITION.finditer(value):
                    k = (mm.group(1) or mm.group(3)).lower()
                    v = mm.group(2) if mm.group(1) else mm.group(4)
                    if k == "name":
                        name = unquote(v)
                    elif k == "filename":
                        filename = unquote(v)
            elif key == "content-type":
                ctype = value.strip()
        if name is None:
            continue
        if filename is not None:
            files[name] = (filename, ctype, data)
        else:
            params[name] = data.decode("utf-8", "replace")
    return params, files


def parse_params(query: str, headers: dict[bytes, bytes], body: bytes) -> tuple[Json, Json]:
    params: Json = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    files: Json = {}
    if not body:
        return params, files
    ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
    if ctype.startswith("application/json"):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BodyError("can't parse JSON object") from exc
        if not isinstance(data, dict):
            raise BodyError("JSON object expected")
        params.update(data)
    elif ctype.startswith("multipart/form-data"):
        p, files = parse_multipart(body, headers.get(b"content-type", b"").decode("latin-1"))
        params.update(p)
    else:  # form-encoded (also what Telegram assumes without a content type)
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params, files


class App:
    """Routes a request to the emulator; answers a Response or an awaitable of one."""

    def __init__(self, emulator: Emulator):
        self.emu = emulator

    def handle(
        self, method: str, path: str, query: str, headers: dict[bytes, bytes], body: bytes
    ) -> Response | Awaitable[Response]:
        if path.startswith("/bot"):
            return self._bot_api(path, query, headers, body)
        if path.startswith("/file/bot"):
            token, _, file_path = path[9:].partition("/")
            try:
                data = self.emu.download(token, unquote(file_path))
            except E.ApiError as err:
                return error_response(err)
            if data is None:
                return error_response(E.NOT_FOUND)
            return Response(200, data, b"application/octet-stream")
        if path.startswith("/_emulator/"):
            return self._control(method, path[11:], query, headers, body)
        if path in ("/", ""):
            return json_response(
                {"ok": True, "result": "qotd Telegram Bot API emulator; see docs/emulator.md"}
            )
        return error_response(E.NOT_FOUND)

    def _bot_api(
        self, path: str, query: str, headers: dict[bytes, bytes], body: bytes
    ) -> Response | Awaitable[Response]:
        token, sep, api_method = path[4:].partition("/")
        if not sep or not api_method or "/" in api_method:
            return error_response(E.NOT_FOUND)
        try:
            params, files = parse_params(query, headers, body)
        except BodyError as exc:
            return error_response(E.bad_request(str(exc)))
        emu = self.emu
        fault = emu.faults.draw(api_method.lower(), params.get("chat_id"))
        if fault == "error":
            return fault_error_response(emu.faults.config.error_status)
        if fault == "drop":
            return Response(drop=True)
        try:
            result = emu.call(token, api_method, params, files)
        except E.ApiError as err:
            resp = error_response(err)
        else:
            if asyncio.iscoroutine(result):
                return self._later(result)
            resp = _ok(result)
        if fault == "slow":
            resp.delay = emu.faults.config.slow_delay
        elif fault == "lost":
            resp.drop = True
        return resp

    async def _later(self, coro: Awaitable[Any]) -> Response:
        try:
            return _ok(await coro)
        except E.ApiError as err:
            return error_response(err)

    def _control(
        self, method: str, name: str, query: str, headers: dict[bytes, bytes], body: bytes
    ) -> Response | Awaitable[Response]:
        kwargs: Json = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            try:
                kwargs[key] = orjson.loads(value)
            except orjson.JSONDecodeError:
                kwargs[key] = value
        if body:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                return json_response({"ok": False, "description": "body must be JSON"}, 400)
            if not isinstance(data, dict):
                return json_response({"ok": False, "description": "body must be an object"}, 400)
            kwargs.update(data)
        if name.startswith("wait_"):
            # blocking waits must not hold up this loop, which serves the bot meanwhile
            return self._control_later(name, kwargs)
        status, answer = call_control(self.emu, name, kwargs)
        return json_response(answer, status)

    async def _control_later(self, name: str, kwargs: Json) -> Response:
        status, answer = await asyncio.to_thread(call_control, self.emu, name, kwargs)
        return json_response(answer, status)


def _ok(result: Any) -> Response:
    if isinstance(result, _Described):
        return Response(
            200,
            orjson.dumps({"ok": True, "result": result.result, "description": result.description}),
        )
    return Response(200, orjson.dumps({"ok": True, "result": result}))
