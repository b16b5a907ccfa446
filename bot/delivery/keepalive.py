"""A lean network layer for broadcasts: HTTP/1.1 keep-alive connections on asyncio streams.

python-telegram-bot takes its network layer as a `BaseRequest` (what its own tests do); the
default one (httpx) costs a few milliseconds of CPU per request in its connection pool, which
caps a broadcast at a few hundred messages a second on a small machine. This one writes each
request in one call on a pooled connection and reads the answer, so the 1000/s paid tier is in
reach. Requests that carry files are passed to an HTTPXRequest.

Failures say whether the request can have reached the server (see `maybe_delivered` in
bot/delivery/broadcast.py): `NotSent` (no connection) is safe to retry; `AnswerLost` (written, then no
complete answer) is not.

`post_form` is the broadcast's lean send: a body the caller encoded (the day's message once,
the chat's fields per send) goes through PTB's own `BaseRequest.post`, so the answer is read and
its errors raised (RetryAfter, Forbidden, ChatMigrated, BadRequest, NetworkError, TimedOut)
exactly as for `Bot.send_message`, without PTB building the request or a `Message` per send.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from typing import Any, cast
from urllib.parse import urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

IDLE_REUSE = 2.0  # seconds: an older idle connection may be being closed by the server; drop it


class NotSent(Exception):
    """The request never left: no connection could be made."""


class AnswerLost(Exception):
    """The request was written, but no complete answer came back."""


class PreparedForm:
    """A request's form body (application/x-www-form-urlencoded), encoded by the caller.

    It stands where PTB's `RequestData` goes (`BaseRequest.post` only hands it to `do_request`,
    and this class's `do_request` is the one that reads it): PTB's `RequestData` is built from
    `RequestParameter`s, which are not public API, and encodes every parameter again per request.
    """

    __slots__ = ("body",)
    contains_files = False

    def __init__(self, body: bytes):
        self.body = body


@functools.lru_cache(maxsize=64)
def _target(url: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, path, netloc) of a request URL (a bot has a handful of them)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port, path, parts.netloc


def _pick(value, default: float | None) -> float | None:
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


class KeepAliveRequest(BaseRequest):
    def __init__(
        self,
        pool_size: int = 64,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        write_timeout: float = 10.0,
    ):
        self.pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._idle: dict[tuple[str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._files: HTTPXRequest | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def post_form(self, url: str, body: bytes) -> dict[str, Any]:
        """POST a form body encoded by the caller; return the answer's `result` (a dict).

        PTB's `post` reads the answer and raises its errors; only the encoding is the caller's.
        """
        result = await self.post(url, cast(RequestData, PreparedForm(body)))
        if not isinstance(result, dict):
            raise NetworkError(f"unexpected result {result!r}")
        return result

    async def initialize(self) -> None:
        self._slots = asyncio.Semaphore(self.pool_size)

    async def shutdown(self) -> None:
        writers = list(self._open)
        self._idle.clear()
        self._open.clear()
        for writer in writers:
            writer.close()
        for writer in writers:
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()
        if self._files is not None:
            await self._files.shutdown()
            self._files = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout=BaseRequest.DEFAULT_NONE,
        write_timeout=BaseRequest.DEFAULT_NONE,
        connect_timeout=BaseRequest.DEFAULT_NONE,
        pool_timeout=BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.contains_files:
            if self._files is None:
                self._files = HTTPXRequest()
                await self._files.initialize()
            return await self._files.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        if self._slots is None:
            await self.initialize()
        assert self._slots is not None, "initialize() makes it"
        scheme, host, port, path, netloc = _target(url)
        if isinstance(request_data, PreparedForm):
            body = request_data.body
        else:
            body = request_data.url_encoded_parameters().encode() if request_data is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: {self.USER_AGENT}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        payload = head.encode() + body
        read_for = _pick(read_timeout, self._read_timeout)
        async with self._slots:
            reader, writer = await self._connection(
                scheme, host, port, _pick(connect_timeout, self._connect_timeout)
            )
            try:
                writer.write(payload)
                # (asyncio.timeout, not wait_for: no task of its own per await; a request that
                # fits the socket's buffer, as nearly all do, has nothing to drain)
                if writer.transport.get_write_buffer_size():
                    async with asyncio.timeout(_pick(write_timeout, self._write_timeout)):
                        await writer.drain()
                async with asyncio.timeout(read_for):
                    status, answer, keep = await self._read(reader)
            except TimeoutError as exc:
                self._discard(writer)
                raise TimedOut(f"no answer within {read_for}s") from AnswerLost(str(exc))
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                self._discard(writer)
                raise NetworkError(f"connection lost: {exc!r}") from AnswerLost(repr(exc))
            except BaseException:
                self._discard(writer)
                raise
            if keep:
                self._idle.setdefault((host, port), []).append((reader, writer, time.monotonic()))
            else:
                self._discard(writer)
            return status, answer

    async def _connection(self, scheme: str, host: str, port: int, connect_timeout: float | None):
        idle = self._idle.get((host, port))
        now = time.monotonic()
        while idle:
            reader, writer, since = idle.pop()
            if now - since < IDLE_REUSE and not reader.at_eof() and not writer.is_closing():
                return reader, writer
            self._discard(writer)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=scheme == "https"), connect_timeout
            )
        except TimeoutError as exc:
            raise TimedOut("connect timed out") from NotSent(str(exc))
        except OSError as exc:
            raise NetworkError(f"cannot connect to {host}:{port}: {exc}") from NotSent(str(exc))
        self._open.add(writer)
        return reader, writer

    def _discard(self, writer: asyncio.StreamWriter) -> None:
        self._open.discard(writer)
        writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        keep = headers.get("connection", "").lower() != "close"
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            return status, b"".join(chunks), keep
        if "content-length" in headers:
            return status, await reader.readexactly(int(headers["content-length"])), keep
        return status, await reader.read(), False
