"""HTTP around the emulator: a lean asyncio + httptools server, an ASGI adapter, and the runner.

Why not Starlette: the emulator must not be the bottleneck of a broadcast benchmark, and it must
be able to *drop* a connection (fault injection), which ASGI cannot express.  A raw
``asyncio.Protocol`` fed by httptools (the parser uvicorn uses) does both; uvloop is used when
available.  :func:`asgi_app` is there too, for mounting the same routes in an ASGI server.

Routes (as api.telegram.org):
  ``GET|POST /bot<token>/<method>``   the Bot API (JSON, form-encoded or multipart bodies, or a
                                      query string)
  ``GET /file/bot<token>/<file_path>`` file downloads (the path getFile answers)
  ``GET|POST /_emulator/<method>``    the control side (JSON), see ``emulator.control``
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

import httptools
import orjson

from . import errors as E
from .control import call_control
from .core import Emulator
from .state import Bot, _Described

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


_REASONS: dict[int, bytes] = {}


def _status_line(status: int) -> bytes:
    line = _REASONS.get(status)
    if line is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        line = _REASONS[status] = f"HTTP/1.1 {status} {phrase}\r\n".encode()
    return line


class _Conn(asyncio.Protocol):
    """One HTTP/1.1 connection: keep-alive, pipelined requests answered in order."""

    def __init__(self, server: EmulatorServer):
        self.server = server
        self.app = server.app
        self.loop = server.loop
        self.transport: Any = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: dict[bytes, bytes] = {}
        self.body: list[bytes] = []
        self.queue: deque[tuple[str, bytes, dict[bytes, bytes], bytes, bool]] = deque()
        self.busy = False
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        self.server.conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.conns.discard(self)
        if self.task is not None:
            self.task.cancel()
        if self.timer is not None:
            self.timer.cancel()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._write_raw(400, b'{"ok":false,"error_code":400,"description":"Bad Request"}')
            self.abort()
        except httptools.HttpParserUpgrade:
            self.abort()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = {}
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        item = (
            self.parser.get_method().decode(),
            self.url,
            self.headers,
            b"".join(self.body),
            self.parser.should_keep_alive(),
        )
        if self.busy:
            self.queue.append(item)
            if len(self.queue) > 64 and self.transport is not None:
                self.transport.pause_reading()
        else:
            self._dispatch(item)

    # answering
    def _dispatch(self, item: tuple[str, bytes, dict[bytes, bytes], bytes, bool]) -> None:
        method, url, headers, body, keep_alive = item
        path, _, query = url.partition(b"?")
        try:
            res = self.app.handle(
                method, unquote(path.decode("latin-1")), query.decode("latin-1"), headers, body
            )
        except Exception as exc:  # a bug in the emulator must not kill the connection silently
            self.server.errors.append(exc)
            res = fault_error_response(500)
        if isinstance(res, Response):
            self._respond(res, keep_alive)
        else:
            self.busy = True
            self.task = self.loop.create_task(self._await(res, keep_alive))

    async def _await(self, res: Awaitable[Response], keep_alive: bool) -> None:
        try:
            response = await res
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.server.errors.append(exc)
            response = fault_error_response(500)
        self.task = None
        self.busy = False
        self._respond(response, keep_alive)

    def _respond(self, res: Response, keep_alive: bool) -> None:
        if self.closed:
            return
        if res.drop and not res.delay:
            self.abort()
            return
        if res.delay:
            self.busy = True
            delay = res.delay
            res.delay = 0.0
            self.timer = self.loop.call_later(delay, self._delayed, res, keep_alive)
            return
        self._write_raw(res.status, res.body, res.content_type, keep_alive)
        if not keep_alive:
            self.close()
            return
        self._next()

    def _delayed(self, res: Response, keep_alive: bool) -> None:
        self.timer = None
        self.busy = False
        self._respond(res, keep_alive)

    def _next(self) -> None:
        while self.queue and not self.busy and not self.closed:
            if len(self.queue) <= 16 and self.transport is not None:
                self.transport.resume_reading()
            self._dispatch(self.queue.popleft())

    def _write_raw(
        self,
        status: int,
        body: bytes,
        content_type: bytes = b"application/json",
        keep_alive: bool = True,
    ) -> None:
        if self.transport is None or self.closed:
            return
        head = b"%sServer: qotd-emulator\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
            _status_line(status),
            content_type,
            len(body),
            b"" if keep_alive else b"Connection: close\r\n",
        )
        self.transport.write(head + body)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()


class EmulatorServer:
    """Serves an :class:`Emulator` on host:port (0 = an ephemeral port) in a thread of its own
    with its own event loop.  ``start()``/``stop()``, or use it as a context manager."""

    def __init__(
        self,
        emulator: Emulator | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        use_uvloop: bool | None = None,
    ):
        self.emulator = emulator if emulator is not None else Emulator()
        self.app = App(self.emulator)
        self.host = host
        self.port = port
        self.use_uvloop = use_uvloop
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.conns: set[_Conn] = set()
        self.errors: list[BaseException] = []
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._webhooks: dict[int, asyncio.Task[None]] = {}
        self._client: Any = None
        self._closing = False

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        if host in ("0.0.0.0", "[::]"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._run, name="telegram-emulator", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        loop, stop = self.loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        self._thread.join()
        self._thread = None

    def __enter__(self) -> Emulator:
        self.start()
        return self.emulator

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _new_loop(self) -> asyncio.AbstractEventLoop:
        if self.use_uvloop is not False:
            try:
                import uvloop
            except ImportError:
                if self.use_uvloop:
                    raise
            else:
                return uvloop.new_event_loop()
        return asyncio.new_event_loop()

    def _run(self) -> None:
        try:
            loop = self._new_loop()
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self.loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            if not self._ready.is_set():
                self._startup_error = exc
            else:
                self.errors.append(exc)
        finally:
            self._ready.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

    async def _serve(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(1024)
            sock.setblocking(False)
            self.port = sock.getsockname()[1]
            srv = await self.loop.create_server(lambda: _Conn(self), sock=sock)
        except BaseException:
            sock.close()
            raise
        self._stop = asyncio.Event()
        self.emulator._bind(self, self.loop)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            self._closing = True
            self.emulator._bind(None, None)
            srv.close()
            for conn in list(self.conns):
                conn.abort()
            await srv.wait_closed()
            tasks = [t for t in self._webhooks.values() if not t.done()]
            for conn_task in [c.task for c in list(self.conns) if c.task is not None]:
                tasks.append(conn_task)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._client is not None:
                await self._client.aclose()
            # let transports finish closing before the loop goes away
            await asyncio.sleep(0)

    # ---- webhook delivery ---------------------------------------------------------------------

    def start_webhook(self, bot: Bot) -> None:
        """Called (in the loop thread) when a bot sets a webhook: deliver its updates there."""
        task = self._webhooks.get(bot.id)
        if bot.webhook_event is None:
            bot.webhook_event = asyncio.Event()
        if task is None or task.done():
            self._webhooks[bot.id] = self.loop.create_task(self._deliver(bot))
        else:
            bot.webhook_event.set()

    async def _deliver(self, bot: Bot) -> None:
        import httpx

        emu = self.emulator
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10.0, trust_env=False)
        client = self._client
        event = bot.webhook_event
        assert event is not None and self._stop is not None
        while not self._closing and bot.webhook is not None:
            nxt = emu.webhook_next(bot)
            if nxt is None:
                event.clear()
                if emu.webhook_next(bot) is None and bot.webhook is not None:
                    await event.wait()
                continue
            update_id, body, hook = nxt
            headers = {"Content-Type": "application/json"}
            if hook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
            error: str | None = None
            try:
                r = await client.post(hook["url"], content=body, headers=headers)
                if not 200 <= r.status_code < 300:
                    # Telegram's getWebhookInfo wording for a non-2xx answer
                    error = f"Wrong response from the webhook: {r.status_code} {r.reason_phrase}"
            except httpx.TimeoutException:
                error = "Read timeout expired"
            except httpx.HTTPError as exc:
                error = f"Connection refused: {exc.__class__.__name__}"
            emu.webhook_result(bot, update_id, error)
            if error is not None:
                # retried after a pause (Telegram backs off; here the pause is configurable)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), emu.webhook_retry_delay)
        bot.webhook_event = None


class running_emulator:
    """Start an emulator on 127.0.0.1 (ephemeral port) in a background thread.

    ``with running_emulator(**config) as emu:`` (or ``async with``) gives the :class:`Emulator`;
    ``emu.base_url`` is what to give python-telegram-bot.  ``config`` goes to :class:`Emulator`
    (limits, faults, clock, seed, ...) plus ``host``, ``port`` and ``use_uvloop``.
    """

    def __init__(
        self,
        emulator: Emulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        use_uvloop: bool | None = None,
        **config: Any,
    ):
        if emulator is None:
            emulator = Emulator(**config)
        elif config:
            raise TypeError("give either an emulator or its configuration")
        self.server = EmulatorServer(emulator, host=host, port=port, use_uvloop=use_uvloop)

    def __enter__(self) -> Emulator:
        self.server.start()
        return self.server.emulator

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    async def __aenter__(self) -> Emulator:
        await asyncio.to_thread(self.server.start)
        return self.server.emulator

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.server.stop)


def asgi_app(emulator: Emulator) -> Callable[..., Awaitable[None]]:
    """The same routes as an ASGI application (for uvicorn or mounting in Starlette).

    ASGI cannot drop a connection: the ``drop``/``lost`` faults there send headers announcing a
    body and then fail, so the client still sees a broken answer.
    """
    app = App(emulator)

    async def asgi(scope: Json, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.lower(): v for k, v in scope["headers"]}
        res = app.handle(
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            b"".join(chunks),
        )
        if not isinstance(res, Response):
            res = await res
        if res.delay:
            await asyncio.sleep(res.delay)
        if res.drop:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1")],
                }
            )
            raise ConnectionAbortedError("emulator fault: connection dropped")
        await send(
            {
                "type": "http.response.start",
                "status": res.status,
                "headers": [
                    (b"content-type", res.content_type),
                    (b"content-length", str(len(res.body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": res.body})

    return asgi
