"""Import and export as a user runs them: the format from the suffix, the minimal CSV, formula cells
that a spreadsheet would run, and records that change only what they name."""

from __future__ import annotations

import csv
import io
import json

import pytest

from quotes.transfer import neutralise, restore


@pytest.fixture
def qotd_db(qotd):
    assert qotd("db", "upgrade")[0] == 0
    return qotd


def test_the_suffix_chooses_the_format_and_the_file_comes_back(qotd_db, tmp_path):
    path = tmp_path / "quotes.csv"
    code, out, _ = qotd_db("quotes", "export", "-o", str(path))
    assert (code, out) == (0, f"exported 20 quotes to {path} as csv\n")
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("id,text,speaker,speaker_role,date,")
    code, out, err = qotd_db("quotes", "import", str(path))
    assert (code, out, err) == (0, f"imported {path}: 0 added, 0 updated, 20 unchanged\n", "")
    as_json = tmp_path / "quotes.json"
    assert qotd_db("quotes", "export", "-o", str(as_json))[0] == 0
    assert json.loads(as_json.read_text(encoding="utf-8"))["format"] == "qotd-quotes"


def test_a_minimal_csv_adds_quotes_to_a_known_source(qotd_db, tmp_path):
    path = tmp_path / "minimal.csv"
    path.write_text(
        "id,text,speaker,source,topics\n"
        'u-1,"NATO is, once more, the question.",Sergey Lavrov,comite-lavrov-fp,"[""NATO""]"\n'
        "u-2,A second sentence.,Sergey Lavrov,comite-lavrov-fp,\n",
        encoding="utf-8",
    )
    code, out, _ = qotd_db("quotes", "import", str(path))
    assert (code, out) == (0, f"imported {path}: 2 added, 0 updated, 0 unchanged\n")
    shown = json.loads(qotd_db("quotes", "show", "u-1", "--json")[1])
    assert (shown["text"], shown["speaker"], shown["topics"], shown["origin"]) == (
        "NATO is, once more, the question.",
        "Sergey Lavrov",
        ["NATO"],
        "admin",
    )
    assert shown["source"]["publisher"] == "Comité pour la République du Canada"  # the stored source


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "@SUM(1+1)", "+1", "-2", "\tTab", "\rCR"]


def test_formula_cells_are_neutralised_on_export_and_restored_on_import(qotd_db, tmp_path):
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["id", "text", "speaker", "source", "speaker_role"])
    for number, formula in enumerate(FORMULAS, 1):
        writer.writerow([f"f-{number}", formula, "Sergey Lavrov", "comite-lavrov-fp", formula])
    # The file an admin writes by hand holds the cells as they are; import takes them verbatim...
    raw = tmp_path / "raw.csv"
    raw.write_text(rows.getvalue(), encoding="utf-8")
    assert qotd_db("quotes", "import", str(raw))[0] == 0
    # ... the export neutralises every one of them for a spreadsheet ...
    exported = tmp_path / "out.csv"
    assert qotd_db("quotes", "export", "-o", str(exported))[0] == 0
    with exported.open(encoding="utf-8", newline="") as file:  # a cell's \r is data, not a line end
        cells = {row["id"]: row for row in csv.DictReader(file)}
    for number, formula in enumerate(FORMULAS, 1):
        assert cells[f"f-{number}"]["text"] == "'" + formula
        assert cells[f"f-{number}"]["speaker_role"] == "'" + formula
    assert cells["fp-01"]["text"][0] not in "=+-@\t\r'"
    # ... and importing the export gives back exactly the text that was stored.
    assert qotd_db("quotes", "import", str(exported))[1].endswith(" 0 added, 0 updated, 26 unchanged\n")
    for number, formula in enumerate(FORMULAS, 1):
        assert json.loads(qotd_db("quotes", "show", f"f-{number}", "--json")[1])["text"] == formula


@pytest.mark.parametrize("cell", ["=1", "''=1", "'", "'x", "plain", "-", "", "a=b"])
def test_restore_undoes_neutralise(cell):
    assert restore(neutralise(cell)) == cell


def test_a_partial_record_changes_only_what_it_names(qotd_db, tmp_path, database_url):
    from quotes.store import Store

    full = tmp_path / "full.json"
    source = {"id": "u-src", "title": "A speech", "publisher": "A ministry", "url": "https://example.org/s"}
    full.write_text(
        json.dumps([{"id": "u-1", "text": "Said once.", "speaker": "Sergey Lavrov", "source": source}]),
        encoding="utf-8",
    )
    assert qotd_db("quotes", "import", str(full))[0] == 0
    before = json.loads(qotd_db("quotes", "show", "u-1", "--json")[1])
    partial = tmp_path / "partial.json"
    records = [
        {"id": "u-1", "speaker_role": "Minister", "source": {"id": "u-src", "title": "A speech, in full"}},
        # a curated quote and its curated source, named in part (as they are: a curated source
        # is the corpus file's, so changing it would be refused; naming it must blank nothing)
        {"id": "fp-01", "source": {"id": "comite-lavrov-fp", "kind": "news page"}},
    ]
    partial.write_text(
        json.dumps({"format": "qotd-quotes", "version": 1, "quotes": records}), encoding="utf-8"
    )
    code, out, _ = qotd_db("quotes", "import", str(partial))
    assert (code, out) == (0, f"imported {partial}: 0 added, 1 updated, 1 unchanged\n")
    store = Store.connect(database_url)  # read before the next command reloads the curated corpus
    try:
        curated = store.source("comite-lavrov-fp")
    finally:
        store.close()
    assert curated is not None and curated.kind == "news page"
    assert curated.publisher == "Comité pour la République du Canada"
    assert curated.url == "https://comiterepubliquecanada.ca/article3064.html"
    after = json.loads(qotd_db("quotes", "show", "u-1", "--json")[1])
    assert after == before | {
        "speaker_role": "Minister",
        "source": before["source"] | {"title": "A speech, in full"},  # publisher and URL kept
    }


def test_a_partial_csv_leaves_the_columns_it_lacks(qotd_db, tmp_path):
    before = json.loads(qotd_db("quotes", "show", "fp-02", "--json")[1])
    path = tmp_path / "partial.csv"
    path.write_text('id,topics\nfp-02,"[""NATO"", ""UN""]"\n', encoding="utf-8")
    assert qotd_db("quotes", "import", str(path))[0] == 0
    after = json.loads(qotd_db("quotes", "show", "fp-02", "--json")[1])
    assert after == before | {"topics": ["NATO", "UN"]}
