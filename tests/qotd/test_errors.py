"""The error contract, case by case (tests/qotd/error_cases.py): exit status, one line, no change.

Each case runs `qotd` in-process on a database that is up to date, and asserts that stderr is
exactly `qotd: <the line>` (one line, no traceback), the exit status, and that every table of the
database holds what it held before. A few behaviours only a real process shows (a broken pipe,
`--debug`) run as subprocesses.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from qotd.cli import main
from quotes.store import Store
from quotes.store import schema as t
from tests.conftest import NOW
from tests.qotd.error_cases import CASES, DOWN, REFUSED, fill, make_files
from tests.qotd.process import ROOT


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    store = Store.connect(url)
    try:
        with store.read() as conn:
            return {
                table.name: sorted(map(tuple, conn.execute(sa.select(table))), key=repr)
                for table in t.metadata.sorted_tables
            }
    finally:
        store.close()


@pytest.fixture
def ready(env, database_url, tmp_path):
    """An up-to-date database with the corpus, the cases' files, and the schema's head."""
    assert main(["db", "upgrade"], env, now=NOW) == 0
    files = tmp_path / "files"
    files.mkdir()
    make_files(files)
    store = Store.connect(database_url)
    head = store.head_revision()
    store.close()
    return files, head


def test_the_table_has_every_kind_of_case():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)) and len(CASES) >= 40
    from qotd.settings import VARIABLES

    checked = {name for c in CASES for name in c.env}
    assert {name for name, _, _ in VARIABLES} <= checked  # each setting has a case


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_failure_is_one_line_and_changes_nothing(case, env, database_url, ready, capsys):
    files, head = ready
    capsys.readouterr()
    before = snapshot(database_url)
    case_env = env | {k: fill(v, files, head) for k, v in case.env.items()}
    status = main([fill(a, files, head) for a in case.argv], case_env, now=NOW)
    err = capsys.readouterr().err
    expected = fill(case.line, files, head)
    assert err == (expected if expected.startswith("qotd ") else f"qotd: {expected}") + "\n"
    assert status == case.status
    assert snapshot(database_url) == before
    assert "pw-not-logged" not in err


def test_debug_shows_the_traceback_above_the_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATA_DIR": str(tmp_path), "DATABASE_URL": DOWN}
    plain = subprocess.run(
        [sys.executable, "-m", "qotd", "today"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert (plain.returncode, plain.stderr) == (1, f"qotd: {REFUSED}\n")
    debug = subprocess.run(
        [sys.executable, "-m", "qotd", "--debug", "today"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert debug.returncode == 1
    assert debug.stderr.startswith("Traceback (most recent call last):\n")
    assert debug.stderr.endswith(f"qotd: {REFUSED}\n")
    assert "psycopg.OperationalError" in debug.stderr
    assert "pw-not-logged" not in debug.stderr  # the password is redacted even in the traceback


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`qotd schedule --json | head -1`: the reader goes away; no BrokenPipeError, no line."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        f"{sys.executable} -m qotd schedule --days 3000 --json | head -c 10",
        shell=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout == "[\n  {\n    "
    assert done.stderr == ""


def test_version_and_serve_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == "qotd 0.1.0\n"
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    from qotd.settings import VARIABLES

    assert "--host HOST" in out and "--port PORT" in out
    for name, default, _ in VARIABLES:
        assert f"  {name} " in out and f"Default: {default}." in out


def test_a_dry_run_reports_and_writes_nothing(qotd, env, database_url, tmp_path):
    assert qotd("db", "upgrade")[0] == 0
    records = json.loads(qotd("quotes", "export")[1])["quotes"]
    records[0]["topics"] += ["edited"]  # a curated quote's topics are an admin's to change, its text is not
    records.append(dict(records[1], id="new-1", origin="admin", paragraph=None, offset=None))
    path = tmp_path / "change.json"
    path.write_text(json.dumps({"quotes": records}), encoding="utf-8")
    before = snapshot(database_url)
    code, out, err = qotd("quotes", "import", str(path), "--dry-run")
    assert (code, err) == (0, "")
    assert (
        out
        == f"dry run of {path}: would be 1 added, 1 updated, 19 unchanged, 0 refused; nothing was written\n"
    )
    assert snapshot(database_url) == before
    code, out, _ = qotd("quotes", "import", str(path))
    assert out == f"imported {path}: 1 added, 1 updated, 19 unchanged\n"


def test_a_dry_run_lists_every_refused_record(qotd, tmp_path):
    assert qotd("db", "upgrade")[0] == 0
    path = tmp_path / "mixed.csv"
    path.write_text(
        "id,text,speaker,source,date\n"
        "u-1,One.,Sergey Lavrov,comite-lavrov-fp,2013\n"
        "u-2,Two.,Sergey Lavrov,nowhere,2013\n"
        "u-3,Three.,,comite-lavrov-fp,2099\n",
        encoding="utf-8",
    )
    code, out, err = qotd("quotes", "import", str(path), "--dry-run")
    assert code == 2
    assert out.splitlines() == [
        f"dry run of {path}: would be 1 added, 0 updated, 0 unchanged, 2 refused",
        "refused: line 3 column 'source': no source has the id 'nowhere' (give its title and url in source.* "
        "columns, or add the source first)",
        "refused: line 4 column 'speaker': is required",
    ]
    assert err == f"qotd: {path}: 2 record(s) would be refused (listed above); nothing was imported\n"
