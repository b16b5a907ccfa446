"""Rendered once, served many times: the feeds' and the pages' cache, with conditional GET and gzip.

A `Rendered` is one answer (status, body) in its two encodings, plain and gzipped, with its
raw ASGI headers ready; `answer` picks the encoding a request takes and answers 304 to a
conditional GET it satisfies. `PageCache` keeps the rendered pages of one data version (up to
a number of bytes, least recently used out first), and renders each page once however many
requests ask for it at the same moment.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime

from starlette.concurrency import run_in_threadpool

RawHeaders = list[tuple[bytes, bytes]]
# Bodies shorter than this are sent plain: gzip would save next to nothing.
GZIP_MIN = 500


@dataclass(frozen=True)
class Variant:
    """One encoding of an answer, with the raw headers of its 200 and of its 304."""

    body: bytes
    etag: str
    ok_headers: RawHeaders
    not_modified_headers: RawHeaders

    @classmethod
    def of(
        cls,
        body: bytes,
        etag: str,
        media_type: str,
        modified: str,
        encoding: str | None,
        extra: Iterable[tuple[bytes, bytes]] = (),
    ) -> Variant:
        validators = [
            (b"etag", etag.encode()),
            (b"last-modified", modified.encode()),
            (b"vary", b"Accept-Encoding"),
        ]
        ok = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
        if encoding:
            ok.append((b"content-encoding", encoding.encode()))
        return cls(body, etag, [*ok, *validators, *extra], validators)


@dataclass(frozen=True)
class Rendered:
    """One answer, rendered once: plain and (when worth it) gzipped, with its validators."""

    status: int
    plain: Variant
    gzipped: Variant | None
    last_modified: dt.datetime

    @classmethod
    def of(
        cls,
        body: bytes,
        media_type: str,
        updated: dt.datetime,
        status: int = 200,
        extra: Iterable[tuple[bytes, bytes]] = (),
    ) -> Rendered:
        extra = list(extra)
        tag = hashlib.sha256(body).hexdigest()[:32]
        modified = updated.astimezone(dt.UTC).replace(microsecond=0)
        stamp = format_datetime(modified, usegmt=True)
        packed = None
        if len(body) >= GZIP_MIN:
            packed = Variant.of(
                gzip.compress(body, compresslevel=9, mtime=0), f'"{tag}-gz"', media_type, stamp, "gzip", extra
            )
        return cls(status, Variant.of(body, f'"{tag}"', media_type, stamp, None, extra), packed, modified)


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header admits gzip (gzip or *, with a non-zero q)."""
    if not header:
        return False
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        quality = params.strip().lower()
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def etag_matches(match: str, *etags: str) -> bool:
    """Whether an If-None-Match header names one of `etags` (or is *)."""
    if match.strip() == "*":
        return True
    tags = {t.strip().removeprefix("W/") for t in match.split(",")}
    return any(tag in tags for tag in etags)


def not_modified(match: str | None, since: str | None, rendered: Rendered) -> bool:
    """Conditional GET: If-None-Match when present (it wins), else If-Modified-Since."""
    if match is not None:
        return etag_matches(match, *(v.etag for v in (rendered.plain, rendered.gzipped) if v is not None))
    if since:
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return rendered.last_modified <= moment
    return False


def answer(
    rendered: Rendered, headers: dict[bytes, bytes], cache_control: bytes
) -> tuple[int, RawHeaders, bytes]:
    """Answer a GET from a rendered answer: (status, raw headers, body), conditional and gzipped
    as the request asks (a 304 only where the answer is a 200)."""
    cache = (b"cache-control", cache_control)
    encoding = headers.get(b"accept-encoding")
    variant = rendered.plain
    if rendered.gzipped is not None and encoding and accepts_gzip(encoding.decode("latin-1")):
        variant = rendered.gzipped
    match, since = headers.get(b"if-none-match"), headers.get(b"if-modified-since")
    if (
        rendered.status == 200
        and (match or since)
        and not_modified(
            match.decode("latin-1") if match is not None else None,
            since.decode("latin-1") if since is not None else None,
            rendered,
        )
    ):
        return 304, [*variant.not_modified_headers, cache], b""
    return rendered.status, [*variant.ok_headers, cache], variant.body


class PageCache:
    """The rendered pages of one data version, by path: each rendered once, in a worker thread,
    and kept while their bodies together stay under `max_bytes` (least recently used out first)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._version: Hashable = None
        self._pages: OrderedDict[str, Rendered] = OrderedDict()
        self._rendering: dict[tuple[Hashable, str], asyncio.Future[Rendered]] = {}

    def __len__(self) -> int:
        return len(self._pages)

    @staticmethod
    def _size(page: Rendered) -> int:
        return len(page.plain.body) + (len(page.gzipped.body) if page.gzipped else 0)

    async def get(self, version: Hashable, path: str, render: Callable[[], Rendered]) -> Rendered:
        """The page at `path` for `version`, rendered by `render` if no request has yet."""
        if version != self._version:
            self._pages.clear()
            self.bytes = 0
            self._version = version
        page = self._pages.get(path)
        if page is not None:
            self._pages.move_to_end(path)
            return page
        key = (version, path)
        pending = self._rendering.get(key)
        if pending is None:
            # One render however many requests wait for it; shielded, so a waiter that goes
            # away does not cancel the others' page.
            pending = asyncio.ensure_future(run_in_threadpool(render))
            self._rendering[key] = pending
            pending.add_done_callback(lambda _: self._rendering.pop(key, None))
        page = await asyncio.shield(pending)
        if self._version == version and path not in self._pages:
            self._pages[path] = page
            self.bytes += self._size(page)
            while self.bytes > self.max_bytes and len(self._pages) > 1:
                self.bytes -= self._size(self._pages.popitem(last=False)[1])
        return page
