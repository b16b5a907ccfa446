"""`qotd serve` on uvicorn (WEB_SERVER=uvicorn): h11, with the limits of qotd/http.py.

h11, always (httptools, when installed, has no limit on a request's head). Imported only when
uvicorn is the server (qotd/serve.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from qotd.http import HEAD_BYTES, HEAD_SECONDS, KEEP_ALIVE_SECONDS

log = logging.getLogger("qotd.serve")


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


class Server(uvicorn.Server):
    """uvicorn, stopping gracefully on SIGTERM/SIGINT and then exiting normally (uvicorn would
    re-raise the signal after its shutdown, killing the process before the store is closed)."""

    @contextlib.contextmanager
    def capture_signals(self):
        loop = asyncio.get_running_loop()
        handled = (signal.SIGINT, signal.SIGTERM)
        for sig in handled:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
