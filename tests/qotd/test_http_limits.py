"""The HTTP limits of `qotd serve` (docs/web.md), each tried against a real process or server."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from bot.webhook import MAX_BODY, WEBHOOK_PATH, webhook_secret
from feed.guards import MAX_HEADERS, SlashRedirect
from qotd.settings import Settings
from qotd.uvicorn_http import GuardedH11Protocol, server_config
from tests.qotd.process import Served, free_port


def _exchange(port: int, head: bytes, body: bytes = b"", timeout: float = 10) -> bytes:
    """Send a request head (and some body), then read until the server closes or answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def _serve_with_bot(tmp_path, emulator, server="granian"):
    port = free_port()
    token = emulator.new_bot_token(username="qotd_limits_bot")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": emulator.url,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WEB_SERVER": server,
    }
    served = Served(tmp_path, env, port=port)
    settings = Settings.from_env(env)
    return served, webhook_secret(settings)


def test_webhook_bodies_over_a_megabyte_are_refused_unread_and_never_logged(tmp_path, emulator):
    served, secret = _serve_with_bot(tmp_path, emulator)
    try:
        assert served.wait_ready().status_code == 200, served.text()
        marker = b"SECRET-BODY-MARKER"
        head = (
            f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\nContent-Length: {10 * 1024 * 1024}\r\n\r\n"
        ).encode()
        # 10 MB declared, 64 KB sent: the answer comes without the rest ever being sent.
        answer = _exchange(served.port, head, b'{"update_id": 1, "x": "' + marker * 3000)
        assert answer.startswith(b"HTTP/1.1 413 "), answer
        # No Content-Length (chunked): refused once what has arrived passes the limit.
        chunked = (
            f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\n\r\n"
        ).encode()
        chunk = marker * 4096
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY // len(chunk) + 2))
        answer = _exchange(served.port, chunked, body)
        assert answer.startswith(b"HTTP/1.1 413 "), answer
        # A body within the limit still goes through.
        ok = httpx.post(
            served.url + WEBHOOK_PATH,
            json={"update_id": 5, "message": None},
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
        )
        assert ok.status_code == 200
        assert served.text().count(f"update refused: over {MAX_BODY} bytes") == 2
        assert marker.decode() not in served.text()
    finally:
        served.close()


@pytest.mark.parametrize(
    ("server", "huge_status"),
    [("granian", b"431"), ("uvicorn", b"400")],  # granian's hyper answers 431, h11 400 (both close)
)
def test_heads_too_big_or_with_too_many_headers_are_refused(tmp_path, emulator, server, huge_status):
    served, _ = _serve_with_bot(tmp_path, emulator, server)
    try:
        assert served.wait_ready().status_code == 200, served.text()
        huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
        assert _exchange(served.port, huge).startswith(b"HTTP/1.1 " + huge_status + b" ")
        many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(10000))
        assert _exchange(served.port, many + b"\r\n").startswith(b"HTTP/1.1 431 ")
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        over = head + b"".join(b"X-%d: 1\r\n" % n for n in range(MAX_HEADERS))
        assert _exchange(served.port, over + b"\r\n").startswith(b"HTTP/1.1 431 ")
        wide = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Wide: %s\r\n" % (b"w" * 8000) * 3
        assert _exchange(served.port, wide + b"\r\n").startswith(b"HTTP/1.1 431 ")  # 24 KB at once
        within = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(90))
        assert _exchange(served.port, within + b"\r\n").startswith(b"HTTP/1.1 200 ")
    finally:
        served.close()


def test_redirects_go_to_public_url_never_to_the_host_asked(settings, week_store, clock):
    from feed.site import create_app

    app = create_app(settings, week_store, clock=clock)
    with TestClient(app, base_url="http://evil.example") as client:
        answer = client.get("/q/sb-01/?a=1", follow_redirects=False)
    assert answer.status_code == 308
    assert answer.headers["location"] == f"{settings.public_url}/q/sb-01?a=1"
    # Without PUBLIC_URL the Location is the path alone, and never protocol-relative.
    assert SlashRedirect(app, None).location("//evil.example/", b"") == "/evil.example"


class _Quick(GuardedH11Protocol):
    head_seconds = 0.5


async def test_slow_and_silent_connections_are_closed_after_the_head_deadline(settings, week_store, clock):
    from feed.site import create_app

    app = create_app(settings, week_store, clock=clock)
    port = free_port()
    config = server_config(app, "127.0.0.1", port, "WARNING", 1)
    config.http = _Quick
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)

    def slow_loris(send_nothing: bool) -> float:
        """Trickle a head a byte at a time (or send nothing); return when the server closed it."""
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
            for byte in head if not send_nothing else b"":
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    break
                time.sleep(0.05)  # the client under test is slow on purpose
            sock.settimeout(10)
            try:
                while sock.recv(1024):
                    pass
            except OSError:
                pass
        return time.monotonic() - start

    try:
        silent = await asyncio.to_thread(slow_loris, True)
        slow = await asyncio.to_thread(slow_loris, False)
        async with httpx.AsyncClient() as client:  # a normal client is served meanwhile
            assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    finally:
        server.should_exit = True
        await serving
    # Closed after the 0.5 s deadline, well before the 10 s (silent) or 10 s (slow) it would take.
    assert silent < 5 and slow < 5, (silent, slow)
