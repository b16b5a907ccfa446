"""`qotd serve` as a real process: it starts, serves, and stops cleanly on SIGTERM."""

from __future__ import annotations

import httpx
import pytest

from tests.qotd.process import Served


@pytest.fixture
def served(tmp_path):
    """`qotd serve` with no token, on an embedded SQLite database it creates and upgrades."""
    process = Served(tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}"})
    yield process
    process.close()


def test_serve_without_a_token_serves_the_site_and_stops_on_sigterm(served):
    health = served.wait_ready()
    assert health.status_code == 200
    assert health.json()["telegram"] == "off" and health.json()["database"] == "ok"
    with httpx.Client(base_url=served.url, timeout=5) as client:
        home = client.get("/")
        atom = client.get("/atom.xml")
    assert home.status_code == 200 and "<blockquote>" in home.text  # today's quote, picked on demand
    assert atom.status_code == 200 and atom.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert f"http://localhost:{served.port}/atom.xml" in atom.text  # PUBLIC_URL's default
    code, seconds = served.terminate(timeout=10)
    log = served.text()
    assert code == 0, log
    assert seconds < 10
    assert "Telegram is off" in log
    assert "Shutting down granian" in log and "stopped" in log  # WEB_SERVER's default
    assert "INFO _granian: Embedded server is experimental!" in log  # known, said in docs/web.md
    assert " WARNING " not in log.replace("WARNING qotd.serve: Telegram is off", "")


def test_serve_refuses_a_bad_setting_with_its_name(tmp_path):
    process = Served(tmp_path, {"PORT": "not-a-port"})
    try:
        code = process.process.wait(timeout=30)
        assert code == 2
        assert process.text() == "qotd: PORT='not-a-port' is not a whole number\n"
    finally:
        process.close()


def test_serve_upgrades_sqlite_but_asks_for_db_upgrade_on_postgres(tmp_path, database_url):
    from quotes.store import Store

    process = Served(tmp_path, {"DATABASE_URL": database_url})
    try:
        if database_url.startswith("sqlite"):
            assert process.wait_ready().status_code == 200
            store = Store.connect(database_url)
            try:
                assert store.schema_revision() == store.head_revision()
            finally:
                store.close()
            assert process.terminate()[0] == 0
        else:  # an empty PostgreSQL database: the release phase (`qotd db upgrade`) has not run
            assert process.process.wait(timeout=30) == 1
            assert "run `qotd db upgrade`" in process.text()
    finally:
        process.close()


def test_serve_with_uvicorn_serves_the_cached_pages_and_stops_on_sigterm(tmp_path):
    served = Served(
        tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}", "WEB_SERVER": "uvicorn"}
    )
    try:
        assert served.wait_leader().json()["scheduler"] == "leader"
        with httpx.Client(base_url=served.url, timeout=5) as client:
            home = client.get("/")
            again = client.get("/", headers={"if-none-match": home.headers["etag"]})
        assert home.status_code == 200 and "<blockquote>" in home.text
        assert home.headers["content-encoding"] == "gzip"
        assert again.status_code == 304
        code, seconds = served.terminate(timeout=10)
        log = served.text()
        assert code == 0, log
        assert seconds < 10
        assert "Application shutdown complete" in log and "stopped" in log
    finally:
        served.close()
