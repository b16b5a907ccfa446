"""`qotd serve` on granian (the default): cached answers over RSGI, everything else through the
ASGI app (qotd/rsgi.py), tried against the real embedded server on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import httpx
import pytest

from qotd.http import HEAD_SECONDS, granian_http1
from qotd.rsgi import granian_server
from tests.qotd.process import free_port


@contextlib.asynccontextmanager
async def served(app):
    """The site on granian as `qotd serve` runs it: the lifespan around the embedded server."""
    port = free_port()
    server = granian_server(app, "WARNING", "127.0.0.1", port)
    async with app.router.lifespan_context(app):
        serving = asyncio.create_task(server.serve())
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                for _ in range(500):
                    try:
                        await client.get("/favicon.svg")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.01)  # the server is starting
                yield client, port
        finally:
            server.signal_handler_interrupt()
            await serving


def _raw_get(port: int, target: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return sock.recv(65536)


async def test_cached_answers_are_conditional_gzipped_and_headless_over_rsgi(settings, week_store, clock):
    from feed.site import create_app

    async with served(create_app(settings, week_store, clock=clock)) as (client, _):
        plain = await client.get("/atom.xml", headers={"accept-encoding": "identity"})
        zipped = await client.get("/atom.xml", headers={"accept-encoding": "gzip"})
        again = await client.get("/atom.xml", headers={"if-none-match": plain.headers["etag"]})
        head = await client.head("/atom.xml", headers={"accept-encoding": "identity"})
        page = await client.get("/q/sb-01", headers={"accept-encoding": "identity"})
    assert plain.status_code == 200 and plain.content.startswith(b"<?xml")
    assert plain.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content  # (httpx decoded the gzip)
    assert again.status_code == 304 and again.content == b""
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(plain.content))
    assert head.headers["etag"] == plain.headers["etag"]
    assert page.status_code == 200 and "content-security-policy" in page.headers


async def test_other_requests_go_through_the_asgi_app_with_its_guards(settings, week_store, clock):
    from feed.site import create_app

    async with served(create_app(settings, week_store, clock=clock)) as (client, port):
        health = await client.get("/healthz")
        missing = await client.get("/nowhere")
        slash = await client.get("/q/sb-01/?a=%20b", follow_redirects=False)
        many = await client.get("/atom.xml", headers={f"x-{n}": "1" for n in range(120)})
        post = await client.post("/atom.xml", content=b"x")
        card = await client.get("/q/sb-01.png")
        # A query sent as raw UTF-8 (not percent-encoded) reaches the app as the bytes sent.
        raw = await asyncio.to_thread(_raw_get, port, "/nowhere?q=Привет".encode())
    assert health.status_code == 200 and health.json()["database"] == "ok"
    assert missing.status_code == 404 and "There is no such page." in missing.text
    assert slash.status_code == 308
    assert slash.headers["location"] == f"{settings.public_url}/q/sb-01?a=%20b"
    assert many.status_code == 431  # over the header limit: refused, not served from the cache
    assert post.status_code == 405
    assert card.status_code == 200 and card.content.startswith(b"\x89PNG")
    assert raw.startswith(b"HTTP/1.1 404 ")


async def test_granian_closes_slow_heads_and_idle_kept_alive_connections(settings, week_store, clock):
    """A head trickled a byte at a time, and a kept-alive connection left idle, are closed after
    the head deadline (here 0.5 s instead of HEAD_SECONDS)."""
    from feed.site import create_app

    assert granian_http1()["header_read_timeout"] == HEAD_SECONDS * 1000
    app = create_app(settings, week_store, clock=clock)

    def slow(port: int, idle: bool) -> float:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            if idle:  # one request answered, then nothing
                sock.sendall(b"GET /favicon.svg HTTP/1.1\r\nHost: x\r\n\r\n")
                sock.recv(65536)
            start = time.monotonic()
            for byte in b"" if idle else b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    break
                time.sleep(0.05)  # the client under test is slow on purpose
            with contextlib.suppress(OSError):
                while sock.recv(1024):
                    pass
            return time.monotonic() - start

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("qotd.http.HEAD_SECONDS", 0.5)
        async with served(app) as (client, port):
            trickled = await asyncio.to_thread(slow, port, False)
            idle = await asyncio.to_thread(slow, port, True)
            assert (await client.get("/healthz")).status_code == 200  # others are served meanwhile
    assert trickled < 5 and idle < 5, (trickled, idle)
