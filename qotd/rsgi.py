"""`qotd serve` on granian's own interface, RSGI: a cached answer in one call, the rest as ASGI.

granian serves an application either as ASGI or as RSGI, its native interface. A cached feed
or page answered over ASGI takes two messages, each a handoff between granian's Rust threads
and our event loop; over RSGI it is one call (`protocol.response_bytes`), which answers
`/atom.xml` at about 1.3 times the rate (docs/web.md, "Serving them"). So `Site` answers GET
and HEAD of the feeds and cached pages itself, from the same `Web.cached_answer` the ASGI
`FastPath` uses, and hands every other request (the webhook, `/healthz`, images, 404s, the
guards' refusals) to the Starlette app through `asgi_call`, a small RSGI-to-ASGI adapter kept
here by hand because granian ships none (it speaks ASGI itself only in its ASGI mode).
The lifespan (the services) is entered by qotd/serve.py around the server, as ASGI's would be.
"""

from __future__ import annotations

from typing import Any

from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.embed import Server as Granian
from starlette.applications import Starlette
from starlette.types import Message

from feed.guards import headers_over
from feed.site import Web
from qotd.http import granian_http1


def _address(value: str) -> tuple[str, int] | None:
    host, _, port = value.rpartition(":")
    return (host.strip("[]"), int(port)) if port.isdigit() else None


def _str_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]


class Site:
    """The site as an RSGI application: cached answers straight from `Web`, the rest via ASGI."""

    def __init__(self, app: Starlette):
        self.app = app
        self.web: Web = app.state.web

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto == "http" and scope.method in ("GET", "HEAD"):
            path, pairs = scope.path, scope.headers.items()
            # A path with a trailing slash is redirected, and headers over the limits refused,
            # by the app's guards (feed/guards.py), as over ASGI.
            if (path == "/" or not path.endswith("/")) and not headers_over(pairs):
                try:
                    found = await self.web.cached_answer(
                        path, {k.encode("latin-1"): v.encode("latin-1") for k, v in pairs}
                    )
                except Exception:  # the app's own error handling answers (500) and logs it
                    found = None
                if found is not None:
                    status, raw, body = found
                    body = b"" if scope.method == "HEAD" else body
                    protocol.response_bytes(status, _str_headers(raw), body)
                    return
        await asgi_call(self.app, scope, protocol)


async def asgi_call(app: Starlette, scope: Any, protocol: Any) -> None:
    """Run one RSGI HTTP request through an ASGI application (ASGI 3, HTTP scope 2.3)."""
    asgi_scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": scope.http_version,
        "method": scope.method,
        "scheme": scope.scheme,
        "path": scope.path,  # (granian gives it percent-decoded, as ASGI's is)
        # (granian decodes a query's raw bytes as UTF-8: encoded back the same way, they are
        # the bytes the client sent, as ASGI's query_string is)
        "query_string": scope.query_string.encode("utf-8"),
        "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in scope.headers.items()],
        "client": _address(scope.client),
        "server": _address(scope.server),
    }
    chunks = protocol.__aiter__()
    body_done = False
    start: tuple[int, list[tuple[str, str]]] | None = None
    stream: Any = None
    answered = False

    async def receive() -> Message:
        nonlocal body_done
        if not body_done:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                body_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}
        await protocol.client_disconnect()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal start, stream, answered
        if message["type"] == "http.response.start":
            start = (message["status"], _str_headers(list(message.get("headers", []))))
        elif message["type"] == "http.response.body":
            assert start is not None, "ASGI: http.response.start comes first"
            body, more = message.get("body", b""), message.get("more_body", False)
            if stream is None and not more:
                protocol.response_bytes(*start, body)
                answered = True
                return
            if stream is None:
                stream = protocol.response_stream(*start)
            if body:
                await stream.send_bytes(body)
            answered = answered or not more

    await app(asgi_scope, receive, send)
    if not answered and start is not None and stream is None:
        protocol.response_bytes(*start, b"")  # a start and no body: an empty answer


def granian_server(app: Starlette, log_level: str, host: str, port: int) -> Granian:
    """granian's embedded server for the site: its HTTP in Rust threads, the app in this event
    loop, over RSGI (qotd/rsgi.py), with the HTTP limits granian has (qotd/http.py)."""
    # Granian's records go to the root logger's handlers, like everything else the service logs.
    loggers = {name: {"handlers": [], "propagate": True} for name in ("_granian", "granian.access")}
    return Granian(
        Site(app),
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        websockets=False,
        http1_settings=HTTP1Settings(**granian_http1()),
        log_level=LogLevels(log_level.lower()),
        log_dictconfig={"loggers": loggers},
        log_access=log_level in ("DEBUG", "INFO"),
    )
