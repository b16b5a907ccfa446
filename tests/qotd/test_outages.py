"""What production does to the service: the database goes away mid-broadcast, the leader freezes.

Real `qotd serve` / `qotd deliver` processes against a private PostgreSQL cluster of the test's
own (tests/qotd/pgcluster.py), which the test stops and starts again; the Bot API is the
emulator. These take real seconds of outage, so there are few of them; what they rest on is
tested deterministically elsewhere (tests/qotd/test_fencing.py, tests/bot/test_supervise.py).
"""

from __future__ import annotations

import datetime as dt
import signal
import time

import httpx
import pytest
import sqlalchemy as sa

from bot.delivery.ledger import PENDING, SENDING, SENT, UNCERTAIN, Ledger
from bot.messages import heading
from quotes.corpus import load_corpus
from quotes.store import Store
from quotes.store.engine import database_url
from tests.bot.delivery.conftest import subscribe
from tests.qotd.pgcluster import Cluster
from tests.qotd.process import Served, free_port
from tests.qotd.processes import Delivery

pytestmark = pytest.mark.postgres


def wait_until(condition, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            if condition():
                return
        except Exception:  # the database the condition reads may be down
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s")
        time.sleep(0.1)


def health(served: Served) -> int:
    try:
        return httpx.get(f"{served.url}/healthz", timeout=2).status_code
    except httpx.TransportError:
        return 0


def database(served: Served) -> str:
    try:
        return httpx.get(f"{served.url}/healthz", timeout=2).json()["database"]
    except httpx.TransportError:
        return ""


def received(emu, user: int, day: dt.date) -> int:
    return sum(1 for text in emu.texts(user) if text.startswith(heading(day)))


def prepared(cluster: Cluster, emu, count: int, since: dt.datetime) -> tuple[Store, list[int]]:
    # No pool: the test's own connections close at once (the cluster is stopped under them).
    store = Store(sa.create_engine(database_url(cluster.url), poolclass=sa.pool.NullPool))
    store.upgrade()
    store.load_corpus(load_corpus(), since)
    return store, subscribe(store, [emu.create_user() for _ in range(count)], at=since)


@pytest.mark.parametrize(("outage", "instances"), [(8, 1), (60, 2)])
def test_a_database_outage_mid_broadcast_is_survived_without_anyone(
    private_pg,
    emu,
    token,
    tmp_path,
    outage,
    instances,
):
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    due = now - dt.timedelta(minutes=2)
    day = due.date()
    store, users = prepared(private_pg, emu, 600, now - dt.timedelta(days=2))
    ledger = Ledger(store)
    served = []
    try:
        for n in range(instances):
            port = free_port()
            folder = tmp_path / f"instance{n}"
            folder.mkdir()
            env = {
                "DATABASE_URL": private_pg.url,
                "BOT_TOKEN": token,
                "TELEGRAM_API_URL": emu.url,
                "PUBLIC_URL": f"http://127.0.0.1:{port}",
                "PUBLISH_TIME": due.strftime("%H:%M"),
                "LEADER_LEASE_SECONDS": "5",
            }
            served.append(Served(folder, env, port=port))
        for s in served:
            assert s.wait_ready().status_code == 200, s.text()
        wait_until(lambda: ledger.counts(day)[SENT] >= 60, 60, "the broadcast under way")
        private_pg.stop()
        for s in served:  # 503 within seconds, naming the database
            wait_until(lambda s=s: database(s).startswith("unreachable"), 10, "the database named")
            assert health(s) == 503
        time.sleep(outage)  # the outage itself: real seconds, on purpose
        private_pg.start()
        for s in served:
            wait_until(lambda s=s: health(s) == 200, 60, "200 once the database is back")
        wait_until(
            lambda: ledger.counts(day)[PENDING] == ledger.counts(day)[SENDING] == 0,
            90,
            "the broadcast finished after the outage",
        )
        counts = ledger.counts(day)
    finally:
        for s in served:
            s.close()
        store.close()
    texts = "\n".join(s.log_path.read_text(errors="replace") for s in served)
    assert "scheduler: leadership failed: OperationalError" in texts
    assert texts.count("scheduler: leadership failed: OperationalError") == instances  # once each
    assert "scheduler: leadership recovered after" in texts
    if instances == 1:  # the leader wrote what it could not during the outage: all sent
        assert counts[SENT] == len(users), counts
    else:  # the other instance may lead first: the old leader's unwritten sends become uncertain
        assert counts[SENT] + counts[UNCERTAIN] == len(users), counts
    assert [received(emu, u, day) for u in users] == [1] * len(users)
    assert emu.counters(per_chat=False)["duplicates"] == 0


def test_a_frozen_leader_is_replaced_within_its_lease_and_sends_nothing_when_it_wakes(
    private_pg,
    emu,
    token,
    tmp_path,
):
    publish = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    day = publish.date()
    store, users = prepared(private_pg, emu, 200, publish - dt.timedelta(days=2))
    ledger = Ledger(store)
    lease = 3
    args = ("--serve", "--standby-poll", "0.2", "--rate", "20")
    env = {"LEADER_LEASE_SECONDS": str(lease)}
    first = Delivery(emu, token, private_pg.url, tmp_path / "a.log", *args, now=publish, env=env)
    second = None
    try:
        first.wait_for("leader now (epoch 1)")
        second = Delivery(emu, token, private_pg.url, tmp_path / "b.log", *args, now=publish, env=env)
        second.wait_for("standing by")
        wait_until(lambda: ledger.counts(day)[SENT] >= 30, 30, "the broadcast under way")
        first.proc.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        second.wait_for("leader now (epoch 2)", within=lease + 10)
        took_over = time.monotonic() - frozen_at
        # Finished: nothing pending, and nothing claimed and not yet answered (the dispatcher
        # claims rows a run ahead of their requests at this pace).
        wait_until(
            lambda: (counts := ledger.counts(day))[PENDING] == counts[SENDING] == 0,
            60,
            "the standby finished the broadcast",
        )
        sent_before = emu.counters(per_chat=False)["messages_sent"]
        first.proc.send_signal(signal.SIGCONT)
        # Woken, it finds out one of two ways, depending on where it froze: its next claims are
        # refused by the fence, or (frozen inside a claim's transaction, which the database
        # ended after 2 s idle) its commit fails; either way it then finds the new epoch.
        first.wait_for("another instance took the leadership; standing by", within=20)
        time.sleep(2)  # give the woken leader the time it would need to send anything more
        sent_after = emu.counters(per_chat=False)["messages_sent"]
        refused = ledger.refused(day)
        counts = ledger.counts(day)
        assert second.terminate() == 0
        assert first.terminate() == 0
    finally:
        first.proc.send_signal(signal.SIGCONT)
        first.kill()
        if second is not None:
            second.kill()
        store.close()
    assert took_over < lease + 5, took_over
    assert sent_after == sent_before  # the woken leader sent nothing more
    assert {(r.epoch, r.current_epoch) for r in refused} <= {(1, 2)}
    assert bool(refused) == ("claims refused" in first.text())
    assert counts[SENT] + counts[UNCERTAIN] == len(users) and counts[SENDING] == 0
    for user in users:
        row = ledger.get(day, user)
        assert received(emu, user, day) in {SENT: {1}, UNCERTAIN: {0, 1}}[row.status], (user, row.status)
    assert emu.counters(per_chat=False)["duplicates"] == 0
