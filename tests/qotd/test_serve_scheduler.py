"""`qotd serve` runs the scheduler: a real process delivers the day's quote to a subscriber."""

from __future__ import annotations

import datetime as dt
import time

from bot.delivery.ledger import SENT, Ledger
from quotes.store import Store
from tests.bot.delivery.conftest import subscribe
from tests.qotd.process import Served


def test_qotd_serve_delivers_to_subscribers_and_posts_to_channels(tmp_path, emu, token):
    # The publish time was an hour ago, so the service catches up on start (within the window).
    now = dt.datetime.now(dt.UTC)
    publish = now - dt.timedelta(hours=1)
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    store = Store.connect(url)
    store.upgrade()
    (user,) = subscribe(store, [emu.create_user()], at=now - dt.timedelta(days=2))
    channel = emu.create_channel()
    served = Served(
        tmp_path,
        {
            "DATABASE_URL": url,
            "BOT_TOKEN": token,
            "TELEGRAM_API_URL": emu.url,
            "PUBLISH_TIME": publish.strftime("%H:%M"),
            "CHANNEL_IDS": str(channel),
        },
    )
    try:
        assert served.wait_ready().json()["scheduler"] in ("leader", "standby")
        deadline = time.monotonic() + 20
        while len(emu.texts(user)) < 1 or len(emu.texts(channel)) < 1:
            assert time.monotonic() < deadline, served.text()
            time.sleep(0.05)
        code, seconds = served.terminate()
        assert code == 0 and seconds < 10, served.text()
    finally:
        served.close()
    day = publish.date()
    ledger = Ledger(store)
    try:
        assert ledger.get(day, user).status == SENT and ledger.get(day, channel).status == SENT
        assert len(emu.texts(user)) == 1 and len(emu.texts(channel)) == 1
        assert store.stored_pick(day).quote.text in emu.texts(user)[0]
    finally:
        store.close()
