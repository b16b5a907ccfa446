"""/healthz from kept state: the probe's last answer (its own thread and connection), no query per request."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from starlette.testclient import TestClient

from feed.health import DatabaseProbe, Reading
from feed.site import create_app
from quotes.store import Store
from tests.feed.conftest import SITE


class Ticks:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_probe_keeps_its_answer_and_a_late_one_counts_as_down(week_store):
    ticks = Ticks()
    probe = DatabaseProbe(week_store, lambda: dt.date(2026, 11, 23), stale_after=5, monotonic=ticks)
    assert probe.current().error == "unknown: not checked yet"
    assert probe.check().ok and probe.current().last_publish == dt.date(2026, 11, 23)
    ticks.now += 4.9
    assert probe.current().ok
    ticks.now += 0.2  # no answer for over 5 s: the probe is stuck on a database that does not answer
    assert (probe.current().ok, probe.current().error) == (False, "unreachable: no answer for 5s")
    probe.stop()


def test_an_unreachable_database_is_named(tmp_path):
    broken = Store(sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"))
    reading = DatabaseProbe(broken, lambda: dt.date(2026, 11, 23)).check()
    assert not reading.ok
    assert reading.error == "unreachable: OperationalError: unable to open database file"


def test_healthz_asks_the_probe_not_the_store(settings, week_store, clock, monkeypatch):
    app = create_app(settings, week_store, clock=clock)
    with TestClient(app, base_url=SITE) as client:
        # The app's own store busy or broken (a thousand readers): /healthz does not wait on it.
        monkeypatch.setattr(week_store, "changes", lambda day: (_ for _ in ()).throw(TimeoutError()))
        assert client.get("/healthz").json()["database"] == "ok"
        probe = app.state.web.probe
        probe.stop()  # from here on its answer is the test's
        probe.reading = Reading(False, "unreachable: OperationalError: down", None, probe.monotonic())
        down = client.get("/healthz")
    assert down.status_code == 503
    assert down.json()["database"] == "unreachable: OperationalError: down"
