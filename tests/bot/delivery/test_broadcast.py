"""The broadcast engine against the emulator over HTTP, with PTB's real Bot.

Each test reads back what users received from the emulator and what the ledger says.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.delivery.broadcast import Broadcast, claim_run
from bot.delivery.ledger import BLOCKED, FAILED, MIGRATED, PENDING, SENDING, SENT, UNCERTAIN
from bot.delivery.pacing import Pacing
from tests.bot.delivery.conftest import DAY, PUBLISH, plan_today, subscribe

FAST = Pacing(rate=500, concurrency=16, backoff=0.01, grace=2.0)


def clock():
    return PUBLISH + dt.timedelta(minutes=1)


async def broadcast(bot, store, pacing=FAST):
    return await Broadcast(bot, store, pacing, clock=clock).run()


async def test_every_due_subscriber_gets_the_quote_once_with_its_message_id(emu, bot, store, ledger):
    users = subscribe(store, [emu.create_user() for _ in range(30)])
    quote_id = plan_today(store, ledger)
    report = await broadcast(bot, store)
    assert report.sent == 30
    quote = store.quote(quote_id)
    for user in users:
        (message,) = emu.bot_messages(user)
        assert quote.text in message["text"]  # verbatim, HTML entities decoded by Telegram
        assert message["text"].startswith("Quote of the day · 23 November 2026")
        row = ledger.get(DAY, user)
        assert (row.status, row.message_id, row.attempts) == (SENT, message["message_id"], 1)
    assert (await broadcast(bot, store)).sent == 0  # a second run finds nothing to do
    assert emu.counters(per_chat=False)["duplicates"] == 0


async def test_below_the_claims_gather_the_dispatcher_claims_runs_of_a_sixth_of_a_second(
    emu, bot, store, ledger
):
    """At 30/s a run is 5 rows: 12 subscribers are claimed in three commits, not 12 (a commit per
    message was most of the free tier's CPU). At 400/s each send claims its own row again: those
    claims gather in the journal, and a crash leaves fewer unsent rows claimed."""
    users = subscribe(store, [emu.create_user() for _ in range(12)])
    plan_today(store, ledger)
    assert (claim_run(Pacing(rate=30)), claim_run(Pacing(rate=400))) == (5, 1)
    engine = Broadcast(bot, store, Pacing(rate=30, concurrency=32), clock=clock)
    claims: list[int] = []
    apply = engine.ledger.apply

    def recording(outcomes, keys, *args):
        claims.append(len(keys))
        return apply(outcomes, keys, *args)

    engine.ledger.apply = recording
    report = await engine.run()
    assert [n for n in claims if n] == [5, 5, 2]
    assert report.sent == 12 and ledger.counts(DAY)[SENT] == 12
    assert all(len(emu.bot_messages(u)) == 1 for u in users)


async def test_a_user_who_blocked_the_bot_is_made_inactive_and_kept(emu, bot, store, ledger):
    ann, bob = subscribe(store, [emu.create_user(), emu.create_user()])
    emu.block_bot(bob)
    plan_today(store, ledger)
    report = await broadcast(bot, store)
    assert (report.sent, report.blocked) == (1, 1)
    assert ledger.get(DAY, ann).status == SENT
    row = ledger.get(DAY, bob)
    assert row.status == BLOCKED and "blocked" in row.error
    kept = ledger.subscriber(bob)
    assert (kept.active, kept.inactive_reason) == (False, "blocked")
    assert emu.bot_messages(bob) == []


async def test_a_migrated_group_gets_the_quote_at_its_new_id(emu, bot, store, ledger):
    group = emu.create_group(members=[emu.create_user()])
    supergroup = emu.upgrade_group(group)
    subscribe(store, [group], kind="group")
    plan_today(store, ledger)
    report = await broadcast(bot, store)
    assert (report.migrated, report.sent) == (1, 1)
    assert ledger.get(DAY, group).status == MIGRATED
    assert ledger.get(DAY, group).error == f"migrated to {supergroup}"
    assert ledger.get(DAY, supergroup).status == SENT
    assert len([m for m in emu.bot_messages(supergroup) if m.get("text")]) == 1
    assert ledger.subscriber(supergroup).active and not ledger.subscriber(group).active
    assert ledger.subscriber(group).migrated_to == supergroup


async def test_429_is_honoured_and_everyone_still_gets_one_message(emu, bot, store, ledger):
    # Telegram allows 5/s here while we pace at 500/s: the emulator answers 429 retry_after=1.
    emu.configure_limits(enabled=True, global_rate=5, global_burst=5)
    users = subscribe(store, [emu.create_user() for _ in range(12)])
    plan_today(store, ledger)
    started = asyncio.get_running_loop().time()
    report = await broadcast(bot, store, Pacing(rate=500, concurrency=4, backoff=0.01))
    elapsed = asyncio.get_running_loop().time() - started
    counters = emu.counters()
    assert report.retry_after == counters["too_many_requests"] > 0
    assert report.sent == 12
    assert all(len(emu.bot_messages(u)) == 1 for u in users)
    assert counters["duplicates"] == 0
    # The pause is global: after the first 429 nothing more is tried until retry_after is over,
    # so there are few 429s, not one per waiting message per attempt.
    assert report.retry_after <= 8
    assert elapsed >= 1.0


async def test_server_errors_are_retried_with_backoff_then_recorded_failed(emu, bot, store, ledger):
    ann, bob = subscribe(store, [emu.create_user(), emu.create_user()])
    emu.inject_fault("error", count=2, method="sendMessage", chat_id=ann)
    emu.inject_fault("error", count=50, method="sendMessage", chat_id=bob)
    plan_today(store, ledger)
    report = await broadcast(bot, store, Pacing(rate=500, concurrency=4, backoff=0.01, max_attempts=4))
    assert ledger.get(DAY, ann).status == SENT
    assert ledger.get(DAY, ann).attempts == 1  # one claim; the retries are inside it
    assert len(emu.bot_messages(ann)) == 1
    failed = ledger.get(DAY, bob)
    assert failed.status == FAILED and "Internal Server Error" in failed.error
    assert emu.bot_messages(bob) == []
    assert report.retries == 2 + 3


@pytest.mark.parametrize("kind", ["lost", "drop", "slow"])
async def test_an_answer_that_never_comes_is_uncertain_and_not_resent(kind, emu, bot, store, ledger):
    # lost: done, answer lost; drop: connection closed first; slow: done, answered after our
    # read timeout. The client cannot tell these apart from a send that happened.
    emu.configure_faults(slow_delay=3.0)
    ann, bob = subscribe(store, [emu.create_user(), emu.create_user()])
    emu.inject_fault(kind, method="sendMessage", chat_id=ann)
    plan_today(store, ledger)
    report = await broadcast(bot, store)
    assert (report.uncertain, report.sent) == (1, 1)
    assert ledger.get(DAY, ann).status == UNCERTAIN
    assert ledger.get(DAY, bob).status == SENT
    carried_out = {"lost": 1, "drop": 0, "slow": 1}[kind]
    await asyncio.sleep(0)
    assert len(emu.bot_messages(ann)) <= carried_out
    assert (await broadcast(bot, store)).done == 0  # and nobody resends it


@pytest.mark.parametrize("rate", [40, 20], ids=["claims-of-their-own", "claimed-in-runs"])
async def test_stop_hands_unsent_rows_back_and_the_next_run_finishes_exactly_once(
    emu, bot, store, ledger, rate
):
    users = subscribe(store, [emu.create_user() for _ in range(40)])
    plan_today(store, ledger)
    slow = Pacing(rate=rate, concurrency=8, grace=2.0)
    assert claim_run(slow) == {40: 1, 20: 3}[rate]
    engine = Broadcast(bot, store, slow, clock=clock)
    run = asyncio.create_task(engine.run())
    while engine.report.sent < 5:  # noqa: ASYNC110 - polling the engine from outside
        await asyncio.sleep(0.01)
    started = asyncio.get_running_loop().time()
    engine.stop()
    first = await run
    assert asyncio.get_running_loop().time() - started < 10
    counts = ledger.counts(DAY)
    assert counts[SENDING] == 0  # consistent: nothing left half-way
    assert counts[PENDING] > 0 and counts[SENT] == first.sent
    second = await broadcast(bot, store)
    assert first.sent + second.sent + first.uncertain == 40
    assert all(len(emu.bot_messages(u)) == 1 for u in users if ledger.get(DAY, u).status == SENT)
    assert emu.counters(per_chat=False)["duplicates"] == 0


async def test_cancelling_the_broadcast_task_also_leaves_the_ledger_consistent(emu, bot, store, ledger):
    subscribe(store, [emu.create_user() for _ in range(30)])
    plan_today(store, ledger)
    run = asyncio.create_task(Broadcast(bot, store, Pacing(rate=30, concurrency=4), clock=clock).run())
    await asyncio.sleep(0.3)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    counts = ledger.counts(DAY)
    assert counts[SENDING] == 0
    assert counts[SENT] + counts[PENDING] + counts[UNCERTAIN] == 30


async def test_paid_broadcast_asks_telegram_for_it(emu, bot, store, ledger):
    users = subscribe(store, [emu.create_user() for _ in range(3)])
    plan_today(store, ledger)
    report = await broadcast(bot, store, Pacing.for_settings(True, backoff=0.01))
    assert report.sent == 3
    assert emu.counters(per_chat=False)["paid_messages"] == 3
    assert all(len(emu.bot_messages(u)) == 1 for u in users)


async def test_a_chat_that_does_not_exist_is_failed_not_retried(emu, bot, store, ledger):
    subscribe(store, [999])
    plan_today(store, ledger)
    report = await broadcast(bot, store)
    assert report.failed == 1 and report.retries == 0
    assert "chat not found" in ledger.get(DAY, 999).error.lower()


async def test_the_keep_alive_network_layer_tells_lost_answers_from_unsent_requests(
    emu, token, store, ledger
):
    """bot.delivery.keepalive (what broadcasts use): a 5xx or a refused connection is retried; a request
    written but not answered is uncertain."""
    from bot.delivery.broadcast import delivery_bot

    ok, flaky, lost, dropped, slow = subscribe(store, [emu.create_user() for _ in range(5)])
    emu.configure_faults(slow_delay=3.0)
    emu.inject_fault("error", count=2, method="sendMessage", chat_id=flaky)
    emu.inject_fault("lost", method="sendMessage", chat_id=lost)
    emu.inject_fault("drop", method="sendMessage", chat_id=dropped)
    emu.inject_fault("slow", method="sendMessage", chat_id=slow)
    plan_today(store, ledger)
    pacing = Pacing(rate=500, concurrency=4, backoff=0.01)
    bot = delivery_bot(token, emu.url.rstrip("/"), pacing, read_timeout=1.0)
    async with bot:
        report = await Broadcast(bot, store, pacing, clock=clock).run()
    assert (report.sent, report.uncertain, report.retries) == (2, 3, 2)
    assert [ledger.get(DAY, c).status for c in (ok, flaky, lost, dropped, slow)] == [
        SENT,
        SENT,
        UNCERTAIN,
        UNCERTAIN,
        UNCERTAIN,
    ]
    assert [len(emu.bot_messages(c)) for c in (ok, flaky)] == [1, 1]


async def test_the_keep_alive_network_layer_retries_when_nobody_listens(store, ledger):
    from bot.delivery.broadcast import delivery_bot

    subscribe(store, [7])
    plan_today(store, ledger)
    pacing = Pacing(rate=500, concurrency=2, backoff=0.01, max_attempts=3)
    bot = delivery_bot("123456:" + "A" * 35, "http://127.0.0.1:9", pacing)  # port 9: refused
    try:  # not initialised: getMe would fail the same way
        report = await Broadcast(bot, store, pacing, clock=clock).run()
    finally:
        await bot.request.shutdown()
    assert (report.failed, report.retries, report.uncertain) == (1, 2, 0)
    assert "cannot connect" in ledger.get(DAY, 7).error
