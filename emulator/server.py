"""The HTTP server: a lean asyncio + httptools server (:class:`EmulatorServer`) that serves an
:class:`~emulator.core.Emulator` in a thread of its own, delivers webhooks, and the runner
:func:`running_emulator`.  The routes are in ``emulator.routes``, the ASGI adapter in
``emulator.asgi``; their names stay importable from here.

Why not Starlette: the emulator must not be the bottleneck of a broadcast benchmark, and it must
be able to *drop* a connection (fault injection), which ASGI cannot express.  A raw
``asyncio.Protocol`` fed by httptools (the parser uvicorn uses) does both; uvloop is used when
available.  :func:`~emulator.asgi.asgi_app` serves the same routes in an ASGI server.

Routes (as api.telegram.org):
  ``GET|POST /bot<token>/<method>``   the Bot API (JSON, form-encoded or multipart bodies, or a
                                      query string)
  ``GET /file/bot<token>/<file_path>`` file downloads (the path getFile answers)
  ``GET|POST /_emulator/<method>``    the control side (JSON), see ``emulator.control``
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections import deque
from collections.abc import Awaitable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import httptools

from .asgi import asgi_app
from .core import Emulator
from .routes import (
    App,
    BodyError,
    Response,
    error_response,
    fault_error_response,
    json_response,
    parse_multipart,
    parse_params,
)
from .state import Bot

# re-exported: these lived here before routes.py and asgi.py were cut out
__all__ = [
    "App",
    "BodyError",
    "EmulatorServer",
    "Response",
    "asgi_app",
    "error_response",
    "fault_error_response",
    "json_response",
    "parse_multipart",
    "parse_params",
    "running_emulator",
]


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
        self.transport = transport
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
