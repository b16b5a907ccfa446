"""The scheduler service in-process: publish, channels, catch-up, local times, DST, leadership."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.delivery.ledger import PENDING, SENT, SKIPPED
from bot.delivery.pacing import Pacing
from qotd.scheduler import SchedulerService
from quotes.store import Store
from tests.bot.delivery.conftest import DAY, PUBLISH, settings_for, subscribe

FAST = Pacing(rate=500, concurrency=8, backoff=0.01, grace=2.0)


def service(store, bot, at: dt.datetime, published=None, **env) -> SchedulerService:
    settings = settings_for(str(store.engine.url.render_as_string(hide_password=False)), **env)
    calls = published if published is not None else []
    return SchedulerService(
        settings,
        store,
        bot,
        clock=lambda: at,
        pacing=FAST,
        on_publish=[lambda day, pick: calls.append((day, pick.quote.id))],
        standby_poll=0.05,
    )


def texts(emu, chat_id) -> list[str]:
    return [m["text"] for m in emu.bot_messages(chat_id) if m.get("text")]


async def test_the_publish_fixes_the_quote_posts_to_channels_runs_callbacks_and_delivers(
    emu, bot, store, ledger
):
    channel = emu.create_channel()
    users = subscribe(store, [emu.create_user() for _ in range(5)])
    published = []
    report = await service(store, bot, PUBLISH, published, CHANNEL_IDS=str(channel)).run_once()
    pick = store.stored_pick(DAY)
    assert published == [(DAY, pick.quote.id)]
    assert report.sent == 6
    assert len(texts(emu, channel)) == 1 and pick.quote.text in texts(emu, channel)[0]
    assert all(len(texts(emu, u)) == 1 for u in users)
    assert ledger.get(DAY, channel).status == SENT


async def test_a_restart_never_posts_twice(emu, bot, store, ledger):
    channel = emu.create_channel()
    users = subscribe(store, [emu.create_user() for _ in range(3)])
    later = PUBLISH + dt.timedelta(minutes=30)
    await service(store, bot, PUBLISH, CHANNEL_IDS=str(channel)).run_once()
    published = []
    second = await service(store, bot, later, published, CHANNEL_IDS=str(channel)).run_once()
    assert second.done == 0
    assert published == [(DAY, store.stored_pick(DAY).quote.id)]  # feeds are rebuilt, harmlessly
    assert len(texts(emu, channel)) == 1
    assert all(len(texts(emu, u)) == 1 for u in users)


async def test_a_channel_named_by_username_is_resolved(emu, bot, store, ledger):
    channel = emu.create_channel(username="qotd_channel")
    await service(store, bot, PUBLISH, CHANNEL_IDS="@qotd_channel").run_once()
    assert len(texts(emu, channel)) == 1
    assert ledger.get(DAY, channel).status == SENT


async def test_nothing_is_sent_before_it_is_due(emu, bot, store, ledger):
    users = subscribe(store, [emu.create_user()])
    report = await service(store, bot, PUBLISH - dt.timedelta(seconds=1)).run_once()
    assert report.done == 0 and texts(emu, users[0]) == []
    assert ledger.counts(DAY)[PENDING] == 0


@pytest.mark.parametrize(
    ("late", "delivered"),
    [(dt.timedelta(hours=5, minutes=59), True), (dt.timedelta(hours=6, minutes=1), False)],
)
async def test_after_downtime_deliveries_go_out_late_within_the_window_else_are_skipped(
    late, delivered, emu, bot, store, ledger
):
    channel = emu.create_channel()
    users = subscribe(store, [emu.create_user() for _ in range(3)])
    published = []
    await service(store, bot, PUBLISH + late, published, CHANNEL_IDS=str(channel)).run_once()
    counts = ledger.counts(DAY)
    assert published  # the quote is fixed and the feeds rebuilt either way
    if delivered:
        assert counts[SENT] == 4
        assert all(len(texts(emu, u)) == 1 for u in [*users, channel])
    else:
        assert counts[SKIPPED] == 4 and counts[SENT] == 0
        assert all(texts(emu, u) == [] for u in [*users, channel])


async def test_the_catch_up_window_is_configurable(emu, bot, store, ledger):
    subscribe(store, [emu.create_user()])
    await service(store, bot, PUBLISH + dt.timedelta(hours=2), CATCH_UP_HOURS="1").run_once()
    assert ledger.counts(DAY)[SKIPPED] == 1


async def test_a_day_of_downtime_leaves_yesterday_unpublished_and_delivers_today(emu, bot, store, ledger):
    (user,) = subscribe(store, [emu.create_user()], at=PUBLISH - dt.timedelta(days=3))
    now = PUBLISH + dt.timedelta(days=1, hours=1)
    await service(store, bot, now).run_once()
    # Yesterday was never fixed (nobody was shown it): it stays unpublished, nothing is planned.
    assert store.stored_pick(DAY) is None and ledger.get(DAY, user) is None
    assert ledger.get(DAY + dt.timedelta(days=1), user).status == SENT
    assert len(texts(emu, user)) == 1


async def test_a_pending_row_left_from_before_the_window_is_skipped_not_sent(emu, bot, store, ledger):
    (user,) = subscribe(store, [emu.create_user()])
    pick = store.pick_for(DAY, PUBLISH)
    ledger.plan(DAY, pick.quote.id, ledger.groups()[0], PUBLISH, PENDING, PUBLISH)  # then a crash
    await service(store, bot, PUBLISH + dt.timedelta(hours=7)).run_once()
    assert ledger.get(DAY, user).status == SKIPPED and texts(emu, user) == []


async def test_subscribers_get_it_at_their_own_local_time(emu, bot, store, ledger):
    (default,) = subscribe(store, [emu.create_user()])
    (tokyo,) = subscribe(store, [emu.create_user()], delivery_time="07:30", timezone="Asia/Tokyo")
    (evening,) = subscribe(store, [emu.create_user()], delivery_time="20:00")
    await service(store, bot, PUBLISH).run_once()
    assert [len(texts(emu, c)) for c in (default, tokyo, evening)] == [1, 0, 0]
    # 20:00 UTC: the evening subscriber's turn.
    await service(store, bot, dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)).run_once()
    assert [len(texts(emu, c)) for c in (default, tokyo, evening)] == [1, 0, 1]
    # 07:30 in Tokyo on the 24th is 22:30 UTC on the 23rd: the quote that is today's at that
    # instant (TIMEZONE is UTC: the 23rd's, what /today shows then), on the 23rd's row.
    await service(store, bot, dt.datetime(2026, 11, 23, 22, 30, tzinfo=dt.UTC)).run_once()
    assert [len(texts(emu, c)) for c in (default, tokyo, evening)] == [1, 1, 1]
    assert ledger.get(DAY, tokyo).status == SENT
    assert store.stored_pick(DAY).quote.text in texts(emu, tokyo)[0]
    assert store.stored_pick(DAY + dt.timedelta(days=1)) is None  # the 24th is not fixed before it begins


@pytest.mark.parametrize(
    ("start", "expected_due"),
    [
        # spring forward: 02:30 does not exist; delivered once, at 03:30 CEST (01:30 UTC)
        (dt.datetime(2026, 3, 28, 22, 0, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)),
        # fall back: 02:30 happens twice; delivered once, at the first (00:30 UTC)
        (dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC), dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)),
    ],
)
async def test_a_0230_delivery_on_a_dst_night_goes_out_exactly_once(
    start, expected_due, emu, bot, store, ledger
):
    (user,) = subscribe(
        store,
        [emu.create_user()],
        at=start - dt.timedelta(days=2),
        delivery_time="02:30",
        timezone="Europe/Berlin",
    )
    day = expected_due.astimezone(dt.UTC).date()
    # Restart the service every 10 minutes through the night; each one catches up from the ledger.
    now = start
    while now <= start + dt.timedelta(hours=6):
        await service(store, bot, now).run_once()
        now += dt.timedelta(minutes=10)
    assert len(texts(emu, user)) == 1
    row = ledger.get(day, user)
    assert (row.status, row.due_at) == (SENT, expected_due)


async def test_one_leader_at_a_time_and_the_standby_takes_over(emu, bot, store, ledger):
    subscribe(store, [emu.create_user()])
    other_store = Store.connect(store.engine.url.render_as_string(hide_password=False))
    first = service(store, bot, PUBLISH)
    second = service(other_store, bot, PUBLISH)
    try:
        assert (first.state, second.state) == ("stopped", "stopped")
        await first.start()
        await _until(lambda: first.state == "leader")
        await second.start()
        await asyncio.sleep(0.3)
        assert (first.state, second.state) == ("leader", "standby")
        await first.stop()
        assert first.state == "stopped"
        await _until(lambda: second.state == "leader")
    finally:
        await first.stop()
        await second.stop()
        other_store.close()
    assert second.state == "stopped"
    assert ledger.counts(DAY)[SENT] == 1


async def test_the_wake_up_fires_at_the_due_instant(emu, bot, store, ledger):
    (user,) = subscribe(store, [emu.create_user()])
    offset = (PUBLISH - dt.timedelta(seconds=1)) - dt.datetime.now(dt.UTC)  # one second before 09:00
    settings = settings_for(store.engine.url.render_as_string(hide_password=False))
    svc = SchedulerService(
        settings, store, bot, clock=lambda: dt.datetime.now(dt.UTC) + offset, pacing=FAST, standby_poll=0.05
    )
    await svc.start()
    try:
        await _until(lambda: svc.state == "leader")
        assert texts(emu, user) == []
        await _until(lambda: len(texts(emu, user)) == 1, within=5)
        job = svc._apscheduler.get_job("safety-net")
        assert job.misfire_grace_time is None and job.coalesce
    finally:
        await svc.stop()
    assert ledger.get(DAY, user).status == SENT


async def _until(condition, within: float = 5.0) -> None:
    """Poll another component's state until `condition` holds (fail after `within` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def test_the_service_qotd_serve_runs_delivers_with_a_bot_of_its_own(emu, token, store, ledger):
    from qotd.scheduler import scheduler_service

    (user,) = subscribe(store, [emu.create_user()])
    url = store.engine.url.render_as_string(hide_password=False)
    settings = settings_for(url, BOT_TOKEN=token, TELEGRAM_API_URL=emu.url.rstrip("/"))
    published = []
    svc = scheduler_service(settings, store, on_publish=[lambda day, pick: published.append(day)])
    svc.clock = lambda: PUBLISH
    await svc.start()
    try:
        await _until(lambda: ledger.counts(DAY)[SENT] == 1)
    finally:
        await svc.stop()
    assert svc.state == "stopped"
    assert published == [DAY] and len(texts(emu, user)) == 1


async def test_without_a_bot_token_the_service_only_publishes(store, ledger):
    from qotd.scheduler import scheduler_service

    subscribe(store, [1])
    settings = settings_for(store.engine.url.render_as_string(hide_password=False))
    published = []
    svc = scheduler_service(
        settings, store, on_publish=[lambda day, pick: published.append((day, pick.quote.id))]
    )
    svc.clock = lambda: PUBLISH
    await svc.start()
    try:
        await _until(lambda: published)
    finally:
        await svc.stop()
    assert published == [(DAY, store.stored_pick(DAY).quote.id)]
    assert sum(ledger.counts(DAY).values()) == 0  # nobody to send as: no deliveries planned
