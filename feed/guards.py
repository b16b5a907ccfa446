"""The site's HTTP guards, before any route (docs/web.md lists every limit).

- `SlashRedirect`: `/q/sb-01/` redirects to `/q/sb-01` at PUBLIC_URL (or, without it, to the
  path alone), never to the Host the request named: Starlette's own slash redirect builds
  its URL from the Host header, an open redirect (`Host: evil.example`).
- `HeaderLimit`: a request with more than MAX_HEADERS headers, or whose headers come to more
  than MAX_HEADER_BYTES, gets 431. (A head that arrives in pieces is already cut off by h11 at
  MAX_HEADER_BYTES, qotd/http.py; one that arrives at once, up to the 256 KB a read takes, is
  counted here.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import AnyStr
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_HEADERS = 100
MAX_HEADER_BYTES = 16 * 1024


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    length = (b"content-length", b"%d" % len(body))
    headers = [(b"content-type", b"text/plain; charset=utf-8"), length, *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SlashRedirect:
    """Redirect a path with a trailing slash to the path without, at the site's own address."""

    def __init__(self, app: ASGIApp, public_url: str | None):
        self.app = app
        self.base = (public_url or "").rstrip("/")

    def location(self, path: str, query: bytes) -> str:
        # One leading slash: "//evil.example/" must not become a protocol-relative URL.
        target = "/" + path.strip("/")
        location = self.base + quote(target, safe="/:@!$&'()*+,;=-._~")
        if query:
            location += "?" + query.decode("latin-1")
        return location

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path != "/" and path.endswith("/"):
            where = self.location(path, scope.get("query_string", b""))
            await _answer(send, 308, [(b"location", where.encode("latin-1"))], b"")
            return
        await self.app(scope, receive, send)


def headers_over(
    headers: Sequence[tuple[AnyStr, AnyStr]], limit: int = MAX_HEADERS, size: int = MAX_HEADER_BYTES
) -> bool:
    """Whether a request's headers (bytes as in ASGI, or str as in RSGI) pass `limit` or `size`."""
    return len(headers) > limit or sum(len(k) + len(v) + 4 for k, v in headers) > size


class HeaderLimit:
    """Refuse requests with more than `limit` headers, or more than `size` bytes of them (431)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_HEADERS, size: int = MAX_HEADER_BYTES):
        self.app, self.limit, self.size = app, limit, size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and headers_over(scope.get("headers", []), self.limit, self.size):
            await _answer(send, 431, [(b"connection", b"close")], b"request headers too many or too large\n")
            return
        await self.app(scope, receive, send)
