"""How `qotd serve` speaks HTTP: uvicorn on h11 with limits that hold against hostile clients.

docs/web.md lists every limit. Here:

- h11, always (httptools, when installed, has no limit on a request's head): a request head
  still incomplete at HEAD_BYTES is refused (400, the connection closed); a complete one
  over it, or with over 100 headers, gets 431 from the site (feed/guards.py);
- HEAD_SECONDS: a connection must deliver a complete request head within this many seconds of
  opening, or of starting its next request; a slow-loris client, which sends its headers a
  byte at a time, or a half-open connection that sends nothing, is closed after it;
- KEEP_ALIVE_SECONDS between requests on a kept-alive connection.

The count of headers (feed/guards.py), the webhook's body size and time (bot/webhook.py) are
checked by the app.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from feed.guards import MAX_HEADER_BYTES

log = logging.getLogger("qotd.serve")

HEAD_BYTES = MAX_HEADER_BYTES
HEAD_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head does not arrive in time."""

    head_seconds = HEAD_SECONDS

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._arm_head_timer()  # a request head has begun, or is awaited: it has a deadline
        else:
            self._disarm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_seconds, self._head_timeout)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.debug("closing a connection whose request head took over %.0fs", self.head_seconds)
            self.transport.close()


def server_config(app: Any, host: str, port: int, log_level: str, graceful: int) -> uvicorn.Config:
    """The uvicorn configuration of `qotd serve`."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,  # uvicorn's loggers go through the one redacting handler (qotd/logs.py)
        http=GuardedH11Protocol,
        h11_max_incomplete_event_size=HEAD_BYTES,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        log_level=log_level.lower(),
        access_log=log_level in ("DEBUG", "INFO"),
        timeout_graceful_shutdown=graceful,
        server_header=False,
    )


def granian_http1() -> dict[str, Any]:
    """granian's HTTP/1 settings (`granian.http.HTTP1Settings`) for the same limits, where it has
    them: a request head must be complete within HEAD_SECONDS of its first byte, and a
    kept-alive connection idle that long is closed; a head is read into at most HEAD_BYTES
    plus a margin. A connection that opens and never sends a byte is not timed out by granian:
    that limit is uvicorn's alone (docs/web.md)."""
    return {"header_read_timeout": int(HEAD_SECONDS * 1000), "max_buffer_size": 2 * HEAD_BYTES}
