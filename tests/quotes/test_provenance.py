"""Provenance as data: held documents, verification decided on every write, curated text protected.

Each test runs on SQLite and on PostgreSQL (the `database_url` fixture), through the store and
through the `qotd` command as a user would run it.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from feed.site import create_app
from quotes.documents import DocumentError, extract, media_type_of
from quotes.model import ADMIN, Quote
from quotes.store import CuratedChange
from quotes.store import schema as t
from quotes.transfer import export_csv
from quotes.verification import as_read, text_digest
from tests.conftest import NOW
from tests.feed.conftest import SITE, settings_for

PAGE = b"""<!doctype html><html><head><title>Remarks at the Example Forum</title>
<script>var tracking = "Diplomacy is";</script></head>
<body><nav>Home | News</nav><h1>Remarks at the Example Forum</h1>
<p>Thank you, chair. Let me begin with a plain observation.</p>
<p>Diplomacy is the art of letting other people have your way,
   and we practise it <em>every</em> day.</p>
<ul><li>First, we listen.</li><li>Then we talk.</li></ul>
</body></html>"""
VERBATIM = "Diplomacy is the art of letting other people have your way, and we practise it every day."
NEAR_MISS = "Diplomacy is the art of letting other people have their way."
SHIPPED = "database: 20 of 20 quotes verified against their held documents; 2 documents held"


def rows(store) -> dict[str, list]:
    """Every row of the tables a write could touch, for "nothing changed" checks."""
    with store.read() as conn:
        return {
            table.name: sorted(tuple(str(v) for v in row) for row in conn.execute(sa.select(table)))
            for table in (t.quotes, t.sources, t.documents, t.audit_log)
        }


def csv_row(store, quote_id: str, **changes) -> bytes:
    record = store.record(store.quote(quote_id)) | changes
    return export_csv([record]).encode()


# --- extraction -----------------------------------------------------------------------------


def test_html_is_read_by_blocks_without_scripts_or_navigation():
    found = extract(PAGE, "text/html")
    assert found.title == "Remarks at the Example Forum"
    assert found.text == (
        "Remarks at the Example Forum\n\n"
        "Thank you, chair. Let me begin with a plain observation.\n\n"
        "Diplomacy is the art of letting other people have your way,\nand we practise it every day.\n\n"
        "First, we listen.\n\nThen we talk."
    )
    assert found.paragraphs == 5


def test_markdown_and_plain_text_and_what_is_refused():
    md = extract(b"# A talk\n\nSome *plain* words.\n\n> A quoted line.\n", "text/markdown")
    assert (md.title, md.text) == ("A talk", "A talk\n\nSome plain words.\n\nA quoted line.")
    plain = extract(b"\xef\xbb\xbfFirst line\r\n\r\n\r\nSecond   para\r\n", "text/plain")
    assert plain.text == "First line\n\nSecond para"
    assert media_type_of("talk.MD", None) == "text/markdown"
    assert media_type_of(None, "text/html; charset=utf-8") == "text/html"
    with pytest.raises(DocumentError, match="PDF is not taken"):
        media_type_of("talk.pdf", "application/pdf")
    with pytest.raises(DocumentError, match="not UTF-8"):
        extract(b"\xff\xfe bad", "text/plain")
    with pytest.raises(DocumentError, match="no readable text"):
        extract(b"<html><script>x</script></html>", "text/html")


# --- the shipped data -----------------------------------------------------------------------


def test_the_shipped_corpus_is_held_and_every_quote_verified(store, qotd):
    documents = store.documents()
    assert [d.id for d in documents] == ["000_19d2d4881eae016f.txt", "002_7ded14b25396bc87.txt"]
    assert all(d.obtained_from.startswith("corpus: quotes/data/documents/") for d in documents)
    fp01 = store.quote("fp-01").verification
    assert (fp01.state, fp01.document, fp01.paragraph, fp01.offset) == (
        "verified",
        "002_7ded14b25396bc87.txt",
        6,
        343,
    )
    code, out, err = qotd("quotes", "check")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        SHIPPED,
        "corpus file: 20 quotes checked against 2 documents: all verbatim",
    ]


# --- curated text is the corpus file's alone -------------------------------------------------


def test_an_import_that_changes_curated_text_is_refused_and_changes_nothing(store, qotd, tmp_path):
    before = rows(store)
    for field, value in (("text", "NATO has lost its reason to be."), ("speaker", "Someone Else")):
        path = tmp_path / f"{field}.csv"
        path.write_bytes(csv_row(store, "fp-01", **{field: value}))
        code, out, err = qotd("quotes", "import", str(path))
        assert (code, out) == (2, "")  # bad input: the error contract's status 2
        assert err == (
            f"qotd: {path}: row 1: quote fp-01: field {field!r}: it is curated: its {field} is the "
            "corpus file's and is never changed here (hide it and add a corrected quote instead); "
            "nothing was imported\n"
        )
    assert rows(store) == before
    assert store.quote("fp-01").text.startswith("NATO has lost its raison d’être")


def test_a_made_up_row_calling_itself_curated_is_refused(store, qotd, tmp_path):
    before = rows(store)
    record = store.record(store.quote("fp-01")) | {"id": "fp-99", "text": "A sentence nobody said."}
    path = tmp_path / "fake.json"
    path.write_text(json.dumps({"quotes": [record]}))
    code, _, err = qotd("quotes", "import", str(path))
    assert code == 2
    assert "row 1: quote fp-99: field 'origin': it calls itself curated, but it is not in the corpus" in err
    assert rows(store) == before and store.quote("fp-99") is None


def test_an_import_that_changes_a_curated_source_is_refused(store, qotd, tmp_path):
    before = rows(store)
    record = store.record(store.quote("sb-01"))
    record["source"] |= {"url": "https://example.org/elsewhere"}
    path = tmp_path / "source.json"
    path.write_text(json.dumps([record]))
    code, _, err = qotd("quotes", "import", str(path))
    assert (code, err) == (
        2,
        f"qotd: {path}: row 1: source cfr-same-boat: field 'url': it is curated: it is the corpus file's "
        "and is never changed here; nothing was imported\n",
    )
    assert rows(store) == before


def test_no_admin_path_changes_a_curated_speaker_or_source(store):
    quote = store.quote("sb-01")
    for change in ({"speaker": "Someone Else"}, {"source": "comite-lavrov-fp"}):
        with pytest.raises(CuratedChange, match="it is curated"):
            store.save([], [dataclasses.replace(quote, **change)], "tg:1", NOW, action="edit")
    assert store.quote("sb-01") == quote


def test_the_corpus_load_restores_curated_text_an_older_version_let_an_admin_change(store, corpus):
    with store.write() as conn:
        conn.execute(
            t.quotes.update()
            .where(t.quotes.c.id == "fp-01")
            .values(text="NATO has lost its reason to be.", admin_edited=True, topics=["kept"])
        )
    report = store.load_corpus(corpus, NOW)
    assert report.restored == ("fp-01",)
    quote = store.quote("fp-01")
    assert quote.text == corpus.quotes[[q.id for q in corpus.quotes].index("fp-01")].text
    assert quote.topics == ("kept",)  # the admin's topics stay: only text, speaker and source are restored
    assert quote.verification.verified


# --- qotd sources add, qotd quotes add ---------------------------------------------------------


def test_a_source_brought_on_the_command_line_and_a_quote_located_in_it(store, qotd, tmp_path):
    page = tmp_path / "remarks.html"
    page.write_bytes(PAGE)
    code, out, err = qotd(
        "sources", "add", str(page), "--url", "https://example.org/remarks", "--date", "March 2013",
        "--id", "example-remarks",
    )  # fmt: skip
    assert (code, err) == (0, "")
    document = store.document(store.source("example-remarks").document)
    assert out.splitlines() == [
        "example-remarks",
        f"'Remarks at the Example Forum': 211 characters, 5 paragraphs (document {document.id}, "
        f"sha256 {document.sha256})",
    ]
    assert document.data == PAGE and document.media_type == "text/html"
    assert document.obtained_from == "cli: remarks.html" and document.obtained_at == NOW

    common = ("--source", "example-remarks", "--speaker", "Sergey Lavrov", "--date", "March 2013")
    code, out, _ = qotd("quotes", "add", "--text", VERBATIM, *common)
    quote_id = out.split()[1].rstrip(":")
    assert code == 0
    assert out == (
        f"added {quote_id}: Checked against the copy of the source held here, paragraph 3 "
        f"({document.id}, character 88)\n"
    )

    before = rows(store)
    code, out, err = qotd("quotes", "add", "--text", NEAR_MISS, *common)
    assert code == 2 and out.startswith("  quote:")  # where it departs, on stdout
    assert err == (
        f"qotd: text: it is not in the source's copy: text departs from {document.id} after 50 matching "
        "characters (paragraph 3, document character 138); nothing was saved; --unverified saves it "
        "as unverified\n"
    )
    assert rows(store) == before
    code, out, _ = qotd("quotes", "add", "--text", NEAR_MISS, *common, "--unverified")
    unverified_id = out.split()[1].rstrip(":")
    assert (code, out) == (
        0,
        f"added {unverified_id}: Not checked: the text is not in the copy of the source held here\n",
    )

    code, out, _ = qotd("quotes", "check")
    assert code == 0
    assert out.splitlines()[:3] == [
        "database: 21 of 22 quotes verified against their held documents; 3 documents held",
        "unverified (1):",
        f"  {unverified_id}: the text is not in the copy of the source held here",
    ]


def test_a_bad_file_or_a_taken_id_stores_nothing(store, qotd, tmp_path):
    before = rows(store)
    pdf = tmp_path / "talk.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    code, _, err = qotd("sources", "add", str(pdf), "--title", "A talk")
    assert code == 2 and err.startswith(f"qotd: {pdf}: PDF is not taken")
    page = tmp_path / "p.html"
    page.write_bytes(PAGE)
    code, _, err = qotd("sources", "add", str(page), "--id", "cfr-same-boat")
    assert (code, err) == (
        2,
        f"qotd: {page}: id: there is already a source cfr-same-boat; nothing was stored\n",
    )
    assert rows(store) == before


# --- what is served is what is checked --------------------------------------------------------


def test_text_changed_with_plain_sql_fails_the_check_and_reads_unverified(store, qotd, database_url):
    with store.write() as conn:
        conn.execute(t.quotes.update().where(t.quotes.c.id == "sb-02").values(text="Made up words."))
    assert store.quote("sb-02").verification.reason == "changed"
    code, out, err = qotd("quotes", "check")
    assert code == 1  # the world: what is served fails its check
    assert out.splitlines() == [
        "database: 19 of 20 quotes verified against their held documents; 2 documents held",
        "unverified (1):",
        "  sb-02: stored as verified, but its text or source changed after it was checked",
        "FAILED quote sb-02: stored as verified, but its text or source changed after it was checked",
    ]
    assert err == (
        "qotd: 1 problem(s) (listed above): a quote shown as verified fails, or a document changed\n"
    )
    app = create_app(settings_for(database_url), store, clock=lambda: NOW, version_ttl=0)
    with TestClient(app, base_url=SITE) as client:
        html = client.get("/q/sb-02").text
    assert ">Not checked: the text or its source changed after it was checked</span>." in html
    assert "Checked against" not in html
    assert store.record(store.quote("sb-02"))["verification"]["state"] == "unverified"


def test_a_documents_bytes_changed_fail_the_check(store, qotd):
    with store.write() as conn:
        conn.execute(
            t.documents.update()
            .where(t.documents.c.id == "000_19d2d4881eae016f.txt")
            .values(data=b"Somebody else's page.")
        )
    code, out, _ = qotd("quotes", "check")
    assert code == 1
    failures = [line for line in out.splitlines() if line.startswith("FAILED")]
    assert failures[0] == "FAILED document 000_19d2d4881eae016f.txt: its bytes no longer match its sha256"
    # every quote checked against it fails with it; the other document's quotes hold
    failed = {line.split()[2].rstrip(":") for line in failures[1:]}
    assert failed == {q.id for q in store.quotes() if q.source == "cfr-same-boat"} and len(failed) == 9
    # the load does not paper over it: the shipped file is unchanged, so the held row is left for the check
    code, _, _ = qotd("quotes", "check")
    assert code == 1


def test_check_corpus_file_alone_does_not_read_the_database(qotd, tmp_path, env):
    broken = {"DATABASE_URL": "sqlite:////nonexistent/dir/x.db"}
    code, out, _ = qotd("quotes", "check", "--corpus", "quotes/data/corpus.toml", extra_env=broken)
    assert (code, out) == (0, "20 quotes checked against 2 documents: all verbatim\n")


def test_rows_from_before_the_migration_are_checked_at_the_next_load(store, corpus):
    with store.write() as conn:
        conn.execute(t.quotes.update().values(verification="unverified", verification_reason="not-checked"))
    assert not store.quote("fp-01").verification.verified
    store.load_corpus(corpus, NOW)
    assert store.check().verified == 20
    assert store.audit_log(1)[0]["action"] == "verification.backfill"


def test_every_write_decides_the_verification_again(store):
    mine = Quote(id="u-00000001", text=VERBATIM, speaker="Someone", source="cfr-same-boat", origin=ADMIN)
    store.save([], [mine], "tg:1", NOW, action="add")
    assert store.quote(mine.id).verification.reason == "not-found"
    fixed = dataclasses.replace(mine, text="the Russia-NATO Council")
    store.save([], [fixed], "tg:1", NOW, action="edit")
    found = store.quote(mine.id)
    # in the document, but in the editor's summary, not in Lavrov's own paragraphs
    assert (found.verification.state, found.verification.reason) == ("unverified", "editor")
    spoken = dataclasses.replace(mine, text="There is much talk today about a rapidly changing world")
    store.save([], [spoken], "tg:1", NOW, action="edit")
    checked = store.quote(mine.id)
    assert (checked.verification.state, checked.paragraph, checked.verification.paragraph) == (
        "verified",
        7,
        7,
    )
    assert as_read(checked.verification, "other", "cfr-same-boat").reason == "changed"
    assert checked.verification.digest == text_digest(spoken.text, "cfr-same-boat")


def test_the_export_carries_each_quotes_verification(store, qotd):
    assert qotd("quotes", "export")[0] == 0
    _, out, _ = qotd("quotes", "export")
    records = {r["id"]: r for r in json.loads(out)["quotes"]}
    assert records["fp-01"]["verification"] | {"checked_at": None} == {
        "state": "verified",
        "reason": None,
        "reason_text": None,
        "document": "002_7ded14b25396bc87.txt",
        "sha256": store.document("002_7ded14b25396bc87.txt").sha256,
        "paragraph": 6,
        "offset": 343,
        "digest": text_digest(records["fp-01"]["text"], "comite-lavrov-fp"),
        "checked_at": None,
    }
    _, out, _ = qotd("quotes", "export", "--format", "csv")
    header = out.splitlines()[0].split(",")
    assert "verification.state" in header


def test_a_database_from_before_documents_is_upgraded_and_its_quotes_checked(empty_store, corpus):
    from alembic import command

    config = empty_store._alembic()
    with empty_store.write() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002_bot")
    fp01 = next(q for q in corpus.quotes if q.id == "fp-01")
    with empty_store.write() as conn:  # the rows an older version wrote: no verification columns yet
        conn.execute(
            sa.text(
                "INSERT INTO sources (id, kind, title, date_precision, published_precision, document, "
                "speaker_paragraphs, notes, origin, created_at, updated_at) VALUES ('comite-lavrov-fp', "
                "'news page', 'T', 'unknown', 'unknown', '002_7ded14b25396bc87.txt', '[4, 5, 6]', '[]', "
                "'curated', :now, :now)"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        conn.execute(
            sa.text(
                "INSERT INTO quotes (id, text, speaker, source_id, date_precision, paragraph, char_offset, "
                "topics, notes, hidden, origin, admin_edited, created_at, updated_at, updated_by, cycle_due, "
                "shuffle_key) VALUES ('fp-01', :text, 'Sergey Lavrov', 'comite-lavrov-fp', 'unknown', 6, "
                "343, '[]', '[]', false, 'curated', true, :now, :now, 'tg:1', 1, 1)"
            ),
            {"text": "NATO has lost its reason to be.", "now": NOW.replace(tzinfo=None)},
        )
    empty_store.upgrade()
    assert empty_store.quote("fp-01").verification.reason == "not-checked"
    report = empty_store.load_corpus(corpus, NOW)
    assert report.restored == ("fp-01",)
    quote = empty_store.quote("fp-01")
    assert quote.text == fp01.text and quote.verification.verified
    assert empty_store.check().verified == len(corpus.quotes) and empty_store.check().ok
