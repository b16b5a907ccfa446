"""The `qotd` command as a user runs it, on SQLite and on PostgreSQL."""

import csv
import datetime as dt
import io
import json

import pytest

from tests.conftest import NOW


@pytest.fixture
def qotd_db(qotd):
    """`qotd` on a database whose schema is up to date (PostgreSQL is never upgraded implicitly)."""
    assert qotd("db", "upgrade")[0] == 0
    return qotd


def test_help_lists_every_command(capsys):
    from qotd.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("today", "schedule", "quotes", "db"):
        assert command in out


def test_today_is_the_same_quote_across_runs_and_restarts(qotd_db):
    code, first, _ = qotd_db("today")
    assert code == 0
    assert first.startswith("“") and "— Sergey Lavrov, Russian Foreign Minister" in first
    assert "Quote of the day for 2026-11-23" in first
    assert qotd_db("today", at=NOW + dt.timedelta(hours=5))[1] == first  # later that day, new process


def test_today_json_carries_the_provenance(qotd_db):
    code, out, _ = qotd_db("today", "--json")
    record = json.loads(out)
    assert code == 0
    assert {"id", "text", "speaker", "source", "date", "date_precision"} <= set(record)
    assert {"title", "url", "publisher", "date", "date_precision", "document"} <= set(record["source"])
    if record["source"]["id"] == "comite-lavrov-fp":
        assert record["cites"]["publisher"] == "Foreign Policy"
        assert (record["date"], record["date_precision"], record["date_text"]) == (
            "2013-03",
            "month",
            "March 2013",
        )


def test_dates_read_as_people_write_them(qotd_db):
    out = qotd_db("quotes", "show", "sb-01")[1]
    assert "— Sergey Lavrov, Russian Foreign Minister, 15 November 2010" in out
    out = qotd_db("quotes", "show", "fp-01")[1]
    assert "March 2013" in out and "(date unknown)" in out and "published 29 April 2013" in out


def test_the_timezone_decides_which_day_it_is(qotd_db):
    late = dt.datetime(2026, 11, 23, 22, 30, tzinfo=dt.UTC)
    out = qotd_db("today", at=late, extra_env={"TIMEZONE": "Asia/Tokyo"})[1]
    assert "Quote of the day for 2026-11-24" in out


def test_a_future_date_is_a_preview_that_stores_nothing(qotd_db):
    out = qotd_db("today", "--date", "2026-12-01")[1]
    assert "(preview: not fixed yet)" in out
    schedule = qotd_db("schedule", "--days", "9", "--json")[1]
    picks = json.loads(schedule)
    assert [p["stored"] for p in picks] == [False] * 9
    assert picks[-1]["id"] in out


def test_schedule_lists_the_coming_picks(qotd_db):
    qotd_db("today")
    lines = qotd_db("schedule", "--days", "20")[1].splitlines()
    assert len(lines) == 20 and "fixed" in lines[0] and "preview" in lines[1]
    assert len({line.split()[1] for line in lines}) == 20


# Bad arguments, settings and files: the table in tests/qotd/error_cases.py (test_errors.py).


def test_show_an_unknown_quote(qotd_db):
    code, _, err = qotd_db("quotes", "show", "nope")
    assert (code, err) == (2, "qotd: there is no quote 'nope' (see `qotd quotes list`)\n")


def test_list_shows_every_quote_and_hidden_ones_on_request(qotd_db, store_of):
    assert len(qotd_db("quotes", "list")[1].splitlines()) == 20
    store_of().set_hidden("sb-01", True, "cli", NOW)
    assert len(qotd_db("quotes", "list")[1].splitlines()) == 19
    assert "hidden" in qotd_db("quotes", "list", "--all")[1]


@pytest.fixture
def store_of(database_url):
    from quotes.store import Store

    stores = []

    def open_store():
        stores.append(Store.connect(database_url))
        return stores[-1]

    yield open_store
    for store in stores:
        store.close()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_and_import_round_trip_every_field(qotd_db, tmp_path, fmt, env, database_url, store_of):
    store = store_of()
    store.set_hidden("fp-03", True, "cli", NOW)
    exported = tmp_path / f"quotes.{fmt}"
    assert qotd_db("quotes", "export", "--format", fmt, "-o", str(exported))[0] == 0
    # Into a fresh database, then out again: the same bytes.
    other = dict(env, DATABASE_URL=f"sqlite:///{tmp_path / 'other.sqlite3'}")
    from qotd.cli import main

    assert main(["quotes", "import", str(exported)], other, now=NOW) == 0
    again = tmp_path / f"again.{fmt}"
    assert main(["quotes", "export", "--format", fmt, "-o", str(again)], other, now=NOW) == 0
    assert again.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")


def _export_records(qotd_db):
    return json.loads(qotd_db("quotes", "export")[1])["quotes"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda rs: rs[1].update(date="2013-02-30"),
            "row 2 field 'date': '2013-02-30' is not a real date (day is out of range for month)",
        ),
        (lambda rs: rs[2].update(text=""), "row 3 field 'text': is required"),
        (
            lambda rs: rs[0]["source"].update(url="ftp://x"),
            "row 1 field 'source.url': 'ftp://x' is not an http(s) URL",
        ),
        (
            lambda rs: rs[4].update(id="Bad Id!"),
            "row 5 field 'id': 'Bad Id!' is not a valid id (lowercase letters, digits, - and _, at most 48)",
        ),
        (lambda rs: rs[5].update(date="2099-01"), "row 6 field 'date': 2099-01 is in the future"),
        (
            lambda rs: rs[6].update(topics="NATO"),
            "row 7 field 'topics': must be a JSON array, e.g. [\"NATO\"]",
        ),
        (lambda rs: rs[7].update(hidden="maybe"), "row 8 field 'hidden': must be true or false, not 'maybe'"),
        (lambda rs: rs.append(dict(rs[0])), "row 21 field 'id': quote fp-01 is also in row 1"),
    ],
)
def test_a_bad_import_names_the_row_and_field_and_writes_nothing(qotd_db, tmp_path, mutate, message):
    records = _export_records(qotd_db)  # in id order: fp-01 first
    for record in records:
        record["text"] = record["text"] + " (edited)"  # every good row would change a quote
    mutate(records)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"quotes": records}), encoding="utf-8")
    before = qotd_db("quotes", "export")[1]
    code, _, err = qotd_db("quotes", "import", str(path))
    assert code == 2
    assert err == f"qotd: {path}: {message}; nothing was imported\n"
    assert qotd_db("quotes", "export")[1] == before


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        (b"{not json", ".json", "the file is not valid JSON (line 1"),
        (b"\xff\xfe\x00", ".json", "the file is not UTF-8 text"),
        (b"[]", ".json", "the file holds no quotes"),
        (b'{"quotes": 3}', ".json", 'must be a list of quotes or {"quotes": [...]}'),
        (b"id,text\nx-1,hello,extra\n", ".csv", "line 2: has 3 cells, the header has 2 columns"),
    ],
)
def test_a_malformed_import_file_is_refused(qotd_db, tmp_path, content, suffix, message):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    code, _, err = qotd_db("quotes", "import", str(path))
    assert code == 2 and message in err


def test_an_import_adds_an_admins_quote_and_a_new_source(qotd_db, tmp_path):
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(
        ["id", "text", "speaker", "date", "source.id", "source.title", "source.url", "source.date"]
    )
    writer.writerow(
        [
            "u-1",
            "A new <quote>.",
            "Sergey Lavrov",
            "2014",
            "new-src",
            "New",
            "https://example.org/a",
            "2014-05-01",
        ]
    )
    path = tmp_path / "new.csv"
    path.write_text(rows.getvalue(), encoding="utf-8")
    code, out, _ = qotd_db("quotes", "import", str(path))
    assert code == 0 and "1 added" in out
    shown = json.loads(qotd_db("quotes", "show", "u-1", "--json")[1])
    assert shown["text"] == "A new <quote>."
    assert (shown["date_precision"], shown["origin"], shown["source"]["date_precision"]) == (
        "year",
        "admin",
        "day",
    )


def test_qotd_emulator_hands_its_options_to_the_emulator(capsys):
    from qotd.cli import main

    assert main(["emulator", "--help"]) == 0
    assert "--port" in capsys.readouterr().out
