"""A start-up without BOT_TOKEN, on SQLite, imports no Telegram and no PostgreSQL.

PTB and httpx (its network layer) were a quarter of `qotd serve`'s start-up, and PostgreSQL's
dialect some 30 ms of it, on a service that sends nothing and has no PostgreSQL: the start-up
to the first answer is what bench/scale.py --only startup measures (docs/architecture.md).
"""

from __future__ import annotations

import json
import sys
import time

import httpx

from quotes.store import Store
from tests.qotd.process import Served

# `qotd serve` as `python -m qotd serve` runs it, noting at exit which of the modules it never
# needs were loaded at any time in its life (the site, its first answers, the scheduler's turns).
SERVE_AND_LIST = """
import atexit, json, sys

from qotd.cli import main

UNNEEDED = ("telegram", "httpx", "httpcore", "sqlalchemy.dialects.postgresql")


def note():
    loaded = [m for m in sys.modules if any(m == u or m.startswith(u + ".") for u in UNNEEDED)]
    with open(sys.argv[1], "w") as out:
        json.dump(sorted(loaded), out)


atexit.register(note)
sys.exit(main(["serve"]))
"""


def test_serve_without_a_token_on_sqlite_loads_no_telegram_no_httpx_no_postgresql(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    store = Store.connect(url)
    store.upgrade()  # as a service's database is after its first start (Alembic only migrates)
    store.close()
    listed = tmp_path / "loaded.json"
    served = Served(tmp_path, {"DATABASE_URL": url}, argv=[sys.executable, "-c", SERVE_AND_LIST, str(listed)])
    try:
        health = served.wait_leader().json()
        assert health["telegram"] == "off" and health["scheduler"] == "leader"
        with httpx.Client(base_url=served.url, timeout=5) as client:
            deadline = time.monotonic() + 30
            while client.get("/healthz").json()["details"]["scheduler"]["last_wake"] is None:
                assert time.monotonic() < deadline, served.text()
                time.sleep(0.05)  # polling for the leader's first wake-up (it then ticks), not a result
            assert client.get("/").status_code == 200
            assert client.get("/atom.xml").status_code == 200
        code, _ = served.terminate()
        assert code == 0, served.text()
    finally:
        served.close()
    assert json.loads(listed.read_text()) == []
