"""No secret in any log: whole runs of `qotd serve` at LOG_LEVEL=DEBUG, everything captured.

A run starts, long-polls, catches up on the day's broadcast, takes a reader through /start and
/today, and hits an error (the Bot API answering 500); another run takes its updates by webhook
with a WEBHOOK_SECRET. On PostgreSQL the database URL carries a password (the test server trusts
local connections, so any password works). Neither the token, nor the secret, nor the password
appears in anything either process wrote — and the redaction did work: its markers are there.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from urllib.parse import quote

import sqlalchemy as sa

from qotd.logs import Demote, RedactingFormatter, Redactor
from quotes.store import Store
from tests.bot.delivery.conftest import subscribe
from tests.qotd.process import Served, free_port

SECRET = "wh-secret-never-logged-0123456789"
PASSWORD = "pw-never-logged-4242"


def wait_for(condition, served: Served, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, served.text()[-4000:]
        time.sleep(0.05)


def assert_clean(text: str, token: str) -> None:
    for secret in (token, quote(token, safe=""), SECRET, PASSWORD, token.split(":")[1]):
        assert secret not in text


def test_a_whole_run_at_debug_logs_no_secret(tmp_path, emu, token, database_url):
    url = database_url
    if url.startswith("postgresql"):
        url = sa.engine.make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)
    store = Store.connect(url)
    store.upgrade()
    now = dt.datetime.now(dt.UTC)
    publish = now - dt.timedelta(hours=1)  # due an hour ago: the service catches up at start
    (subscriber,) = subscribe(store, [emu.create_user()], at=now - dt.timedelta(days=2))
    store.close()
    env = {
        "DATABASE_URL": url,
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": emu.url,
        "PUBLISH_TIME": publish.strftime("%H:%M"),
        "LOG_LEVEL": "DEBUG",
    }
    (tmp_path / "polling").mkdir()
    polling = Served(tmp_path / "polling", env)
    try:
        assert polling.wait_ready().status_code == 200, polling.text()
        wait_for(lambda: len(emu.texts(subscriber)) == 1, polling)  # the broadcast
        reader = emu.create_user(first_name="Ann")
        emu.send_command(reader, "start", bot=token)
        emu.send_command(reader, "today", bot=token)
        wait_for(lambda: len(emu.texts(reader)) >= 2, polling)
        emu.configure_faults(error_rate=1.0, methods=["sendMessage"])  # the Bot API fails
        emu.send_command(reader, "today", bot=token)
        wait_for(lambda: "Traceback" in polling.text(), polling)
        emu.configure_faults(error_rate=0.0)
        assert polling.terminate()[0] == 0
    finally:
        polling.close()
    port = free_port()
    (tmp_path / "webhook").mkdir()
    webhook = Served(
        tmp_path / "webhook",
        env | {"PUBLIC_URL": f"http://127.0.0.1:{port}", "WEBHOOK_SECRET": SECRET},
        port=port,
    )
    try:
        assert webhook.wait_ready().status_code == 200, webhook.text()
        emu.send_command(reader, "random", bot=token)
        wait_for(lambda: emu.webhook_info(bot=token).get("pending_update_count") == 0, webhook)
        wait_for(lambda: len(emu.texts(reader)) >= 3, webhook)
        assert webhook.terminate()[0] == 0
    finally:
        webhook.close()

    logs = {
        name: run.log_path.read_text(errors="replace")
        for name, run in (("polling", polling), ("webhook", webhook))
    }
    for text in logs.values():
        assert_clean(text, token)
        assert "/bot[BOT_TOKEN]/" in text  # httpx's request lines, at DEBUG, redacted
    # httpx's per-request and APScheduler's per-run lines are there, demoted below INFO
    assert " DEBUG httpx: HTTP Request: POST" in logs["polling"] and "getUpdates" in logs["polling"]
    assert " INFO httpx" not in logs["polling"] and " INFO apscheduler" not in logs["polling"]
    assert "Traceback (most recent call last)" in logs["polling"]  # the error was logged whole
    assert "[WEBHOOK_SECRET]" in logs["webhook"]  # setWebhook's parameters, at DEBUG, redacted


def test_the_formatter_redacts_messages_arguments_and_exceptions():
    redact = Redactor({"BOT_TOKEN": "123:secret-token", "DATABASE_URL password": "p@ss/word"})
    formatter = RedactingFormatter(redact, "%(levelname)s %(message)s")
    try:
        raise RuntimeError("failed at https://api.telegram.org/bot123:secret-token/getMe")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "url %s pw %s",
            ("bot123%3Asecret-token", "p%40ss%2Fword"),
            sys.exc_info(),
        )
    text = formatter.format(record)
    assert text.startswith("ERROR url bot[BOT_TOKEN] pw [DATABASE_URL password]\nTraceback")
    assert "secret-token" not in text and "p@ss/word" not in text and "p%40ss%2Fword" not in text
    assert "RuntimeError: failed at https://api.telegram.org/bot[BOT_TOKEN]/getMe" in text


def test_library_chatter_is_below_info():
    demote = Demote(logging.INFO)
    request = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP Request: POST …", (), None)
    job = logging.LogRecord(
        "apscheduler.executors.default", logging.INFO, __file__, 1, "Running job", (), None
    )
    ours = logging.LogRecord("qotd.serve", logging.INFO, __file__, 1, "stopped", (), None)
    warning = logging.LogRecord("httpx", logging.WARNING, __file__, 1, "retrying", (), None)
    assert [demote.filter(r) for r in (request, job, ours, warning)] == [False, False, True, True]
    assert Demote(logging.DEBUG).filter(request) and request.levelname == "DEBUG"
