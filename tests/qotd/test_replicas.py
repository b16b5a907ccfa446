"""Three real `qotd serve` replicas on one PostgreSQL behind nginx (round robin), the emulator's
webhook pointed at nginx, Telegram's limits on, the budget shared in Redis.

An admin's guided /add whose steps land on different replicas saves one quote; readers'
commands are all answered; exactly one replica leads the scheduler; the emulator answers no 429.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot.delivery.ledger import add_subscribers
from quotes.store import Store
from quotes.store import schema as t
from tests.conftest import _empty_postgres
from tests.qotd.process import Served, free_port
from tests.qotd.test_restart import TEXT, Admin, release

pytestmark = pytest.mark.postgres

NGINX = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format upstream '$request_method $uri $status $upstream_addr';
    access_log {dir}/access.log upstream;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream qotd {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://qotd;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
}}
"""


def start_nginx(folder: Path, port: int, upstreams: list[int]) -> subprocess.Popen:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: .ci/run installs Debian's nginx")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    folder.mkdir()
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in upstreams)
    conf = folder / "nginx.conf"
    conf.write_text(NGINX.format(dir=folder, port=port, servers=servers))
    process = subprocess.Popen([binary, "-c", str(conf), "-p", str(folder)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except httpx.TransportError:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise AssertionError(f"nginx exited: {error}") from None
            time.sleep(0.05)  # polling for readiness, not waiting for a result
    raise AssertionError("nginx did not answer")


@pytest.fixture
def database_url(pg_server_url) -> str:
    """Replicas share one PostgreSQL (not SQLite): an emptied database."""
    _empty_postgres(pg_server_url)
    return pg_server_url


async def test_three_replicas_behind_nginx_share_the_conversation_and_the_limits(
    tmp_path, emulator, database_url
):
    release(database_url)
    emulator.configure_limits(enabled=True)
    token = emulator.new_bot_token(username="qotd_replicas_bot")
    admin = Admin(emulator, token)
    readers = [emulator.create_user(first_name=f"Reader {n}") for n in range(12)]
    front = free_port()
    ports = [free_port() for _ in range(3)]
    replicas: list[Served] = []
    nginx = None
    try:
        for n, port in enumerate(ports):
            folder = tmp_path / f"replica-{n}"
            folder.mkdir()
            env = {
                "DATABASE_URL": database_url,
                "BOT_TOKEN": token,
                "TELEGRAM_API_URL": emulator.url,
                "PUBLIC_URL": f"http://127.0.0.1:{front}",
                "ADMIN_IDS": str(admin.id),
                "REDIS_URL": "redis://127.0.0.1:6379/0",
            }
            replicas.append(Served(folder, env, port=port))
        for served in replicas:
            assert served.wait_ready().json()["services"]["telegram"] == "running", served.text()
        nginx = start_nginx(tmp_path / "nginx", front, ports)
        async with httpx.AsyncClient() as client:
            states = [(await client.get(f"{s.url}/healthz")).json()["scheduler"] for s in replicas]
        assert sorted(states) == ["leader", "standby", "standby"]

        front_served = replicas[0]  # (only for its log in the messages below)
        assert "Adding a quote" in await admin.say("/add", front_served)
        assert "Who said or wrote it?" in await admin.say(TEXT, front_served)
        assert "Which source is it from?" in await admin.say("Jane Roe, Minister of Replicas", front_served)
        assert "When was the quote said" in await admin.say("cfr-same-boat", front_served)
        assert "Topics" in await admin.say("2013", front_served)
        # a text not in the source's copy (issue 10): saved only as unverified, when asked
        preview = await admin.say("-", front_served, answers=2)
        assert preview.endswith("to save it as not checked, or Cancel.")
        saved = await admin.say("Save as unverified", front_served)
        assert saved.startswith("Saved as "), saved

        for n, reader in enumerate(readers):
            emulator.send_text(reader, ["/today", "/random", "/help", "/search peace"][n % 4], bot=token)
        for reader in readers:
            answered = await asyncio.to_thread(emulator.wait_messages, reader, 1, 30)
            assert answered, [s.text()[-2000:] for s in replicas]
        # Telegram has its 200 for every update (7 of the admin's, one a reader), then a stop.
        assert await asyncio.to_thread(emulator.wait_webhook, 7 + len(readers), token, 20)
        for served in replicas:
            code, _ = served.terminate()
            assert code == 0, served.text()
    finally:
        for served in replicas:
            served.close()
        if nginx is not None:
            nginx.terminate()
            nginx.communicate()  # waits, and closes its stderr pipe
    # The webhook's requests went round the three replicas, and the emulator answered no 429.
    access = (tmp_path / "nginx" / "access.log").read_text().splitlines()
    hooks = [line.split() for line in access if line.startswith("POST /telegram/webhook")]
    assert {fields[2] for fields in hooks} == {"200"}, access
    assert {fields[3] for fields in hooks} == {f"127.0.0.1:{p}" for p in ports}
    assert emulator.counters()["too_many_requests"] == 0
    store = Store.connect(database_url)
    try:
        assert [q.speaker for q in store.quotes() if q.text == TEXT] == ["Jane Roe"]
    finally:
        store.close()


async def test_killing_the_leader_mid_broadcast_hands_over_with_no_duplicate(
    tmp_path, emulator, database_url
):
    """Three replicas, 300 subscribers due now: SIGKILL the leader mid-broadcast; another
    replica leads and finishes the day; nobody gets it twice, and only rows the ledger calls
    `uncertain` (a request in flight when the leader died) may be missing."""
    release(database_url)
    emulator.configure_limits(enabled=True)
    token = emulator.new_bot_token(username="qotd_handover_bot")
    first, last = emulator.create_users(count=300)
    chats = range(first, last + 1)
    store = Store.connect(database_url)
    add_subscribers(store, chats, dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    front = free_port()
    replicas = []
    try:
        for n in range(3):
            folder = tmp_path / f"replica-{n}"
            folder.mkdir()
            env = {
                "DATABASE_URL": database_url,
                "BOT_TOKEN": token,
                "TELEGRAM_API_URL": emulator.url,
                "PUBLIC_URL": f"http://127.0.0.1:{front}",
                "REDIS_URL": "redis://127.0.0.1:6379/0",
                "TIMEZONE": "UTC",
                "PUBLISH_TIME": "00:00",  # today's is due, and within the catch-up:
                "CATCH_UP_HOURS": "24",
            }
            replicas.append(Served(folder, env))
        for served in replicas:
            served.wait_ready()
        deadline = time.monotonic() + 60
        while emulator.counters()["messages_sent"] < 60 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # (the emulator's count of another process's sends: no event)
        async with httpx.AsyncClient() as client:
            states = [(await client.get(f"{s.url}/healthz")).json()["scheduler"] for s in replicas]
        assert states.count("leader") == 1, states
        leader = replicas[states.index("leader")]
        leader.process.send_signal(signal.SIGKILL)
        leader.process.wait(timeout=10)
        sent_at_kill = emulator.counters()["messages_sent"]
        assert 60 <= sent_at_kill < 300, sent_at_kill
        # Another replica takes over and finishes: no row left pending or sending.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and open_rows(store):  # noqa: ASYNC110
            await asyncio.sleep(0.2)  # (rows another process writes: no event)
        assert open_rows(store) == 0, [s.text()[-1500:] for s in replicas if s is not leader]
        survivors = [s for s in replicas if s is not leader]
        async with httpx.AsyncClient() as client:
            states = [(await client.get(f"{s.url}/healthz")).json()["scheduler"] for s in survivors]
        assert sorted(states) == ["leader", "standby"]
    finally:
        for served in replicas:
            served.close()
    counters = emulator.counters(per_chat=True)
    per_chat = counters["messages_per_chat"]
    assert counters["duplicates"] == 0 and max(per_chat.get(str(c), 0) for c in chats) == 1
    assert counters["too_many_requests"] == 0
    missing = {c for c in chats if per_chat.get(str(c), 0) == 0}
    with store.read() as conn:
        uncertain = set(
            conn.execute(
                sa.select(t.deliveries.c.chat_id).where(t.deliveries.c.status == "uncertain")
            ).scalars()
        )
    store.close()
    assert missing <= uncertain and len(uncertain) <= 32  # at most the in-flight sends
    assert len(chats) - len(missing) >= 300 - 32


def open_rows(store: Store) -> int:
    with store.read() as conn:
        return conn.execute(
            sa.select(sa.func.count()).where(t.deliveries.c.status.in_(("pending", "sending")))
        ).scalar_one()
