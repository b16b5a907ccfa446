"""SIGKILL during an edit run: `qotd deliver --once` processes killed at random (seeded) points
while they edit the sent messages of a replaced day. Nothing is edited twice, nothing is
missed, and the outcome of an interrupted edit is recorded."""

from __future__ import annotations

import datetime as dt
import random
import time

import sqlalchemy as sa

from bot.delivery.edit_ledger import EDITED, EDITING, NOT_MODIFIED, PENDING, EditLedger
from bot.delivery.ledger import SENT, Ledger
from quotes.store import schema as t
from tests.bot.delivery.conftest import DAY, PUBLISH, subscribe
from tests.qotd.processes import Delivery

HIDDEN_AT = PUBLISH + dt.timedelta(minutes=10)


def edit_statuses(store) -> dict[str, int]:
    with store.read() as conn:
        rows = conn.execute(
            sa.select(t.message_edits.c.status, sa.func.count()).group_by(t.message_edits.c.status)
        )
        return dict(rows.all())


def test_sigkill_during_edits_never_edits_twice_nor_misses_one(emu, token, store, database_url, tmp_path):
    rng = random.Random(20261124)
    channel = emu.create_channel()
    users = subscribe(store, [emu.create_user() for _ in range(150)])
    env = {"CHANNEL_IDS": str(channel), "EDIT_SENT": "all"}
    first = Delivery(
        emu, token, database_url, tmp_path / "send.log", "--once", "--rate", "400", now=PUBLISH, env=env
    )
    assert first.wait() == 0, first.text()[-2000:]
    ledger = Ledger(store)
    assert ledger.counts(DAY)[SENT] == 151
    hidden = store.stored_pick(DAY).quote
    assert store.set_hidden(hidden.id, True, "tg:1", HIDDEN_AT, today=DAY, why="misattributed")
    replacement = store.stored_pick(DAY).quote

    kills = interrupted = attempt = 0
    while True:
        log = tmp_path / f"edit-{attempt}.log"
        attempt += 1
        run = Delivery(emu, token, database_url, log, "--once", "--rate", "300", now=HIDDEN_AT, env=env)
        if kills < 30 and (interrupted == 0 or kills < 8):
            before = edit_statuses(store).get(EDITED, 0)
            deadline = time.monotonic() + 20
            # Kill once this run is editing: a few more messages edited, then a random moment.
            while run.running() and edit_statuses(store).get(EDITED, 0) < before + 3:
                assert time.monotonic() < deadline, run.text()[-2000:]
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.05))
            if run.running():
                run.kill()
                kills += 1
                interrupted += edit_statuses(store).get(EDITING, 0)
                continue
        assert run.wait() == 0, run.text()[-2000:]
        break

    statuses = edit_statuses(store)
    assert set(statuses) <= {EDITED, NOT_MODIFIED} and sum(statuses.values()) == 151
    assert statuses.get(PENDING, 0) == statuses.get(EDITING, 0) == 0
    for chat in [channel, *users]:
        (message,) = emu.bot_messages(chat)
        assert len(message["edits"]) == 1, chat  # edited once, never twice
        assert replacement.text in message["text"] and hidden.text not in message["text"]
    retried = [r for r in EditLedger(store).rows() if r.attempts > 1]
    assert retried and all("retried after an interrupted attempt" in (r.error or "") for r in retried)
    print(
        f"\nedit crash test: 151 messages, {kills} SIGKILLs, {interrupted} edits interrupted in flight, "
        f"{len(retried)} retried ({sum(r.status == NOT_MODIFIED for r in retried)} had been applied: "
        f"Telegram said not modified); every message edited exactly once"
    )
    assert kills >= 8 and interrupted >= 1
