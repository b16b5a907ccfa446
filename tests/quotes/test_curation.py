"""Admins' write paths: checked drafts, ids that never collide, duplicates, audited edits."""

from __future__ import annotations

import datetime as dt

import pytest

from quotes.curation import (
    Draft,
    DraftError,
    DuplicateQuote,
    NewSource,
    add_quote,
    check_draft,
    check_import,
    edit_quote,
    parse_date,
    parse_topics,
    pin_date,
)
from quotes.dates import PartialDate
from quotes.model import Quote, Source
from quotes.search import find_duplicate, normalise
from quotes.store import NotFound
from quotes.transfer import ImportFileError

TODAY = dt.date(2026, 11, 23)


def draft(**changes) -> Draft:
    fields = dict(
        text="A brand new sentence that nobody has said before.",
        speaker="Sergey Lavrov",
        role="Russian Foreign Minister",
        source_id="cfr-same-boat",
        date="15 November 2010",
        topics="NATO, security",
    )
    return Draft(**(fields | changes))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("15 November 2010", PartialDate(2010, 11, 15)),
        ("November 15, 2010", PartialDate(2010, 11, 15)),
        ("15 Nov 2010", PartialDate(2010, 11, 15)),
        ("2010-11-15", PartialDate(2010, 11, 15)),
        ("March 2013", PartialDate(2013, 3)),
        ("2013-03", PartialDate(2013, 3)),
        ("2013", PartialDate(2013)),
        ("unknown", PartialDate()),
        ("-", PartialDate()),
        ("", PartialDate()),
    ],
)
def test_dates_as_people_write_them(text, expected):
    assert parse_date("date", text, TODAY) == expected


@pytest.mark.parametrize(
    "text, problem",
    [
        ("30 February 2013", "not a real date"),
        ("Smarch 2013", "not a real date"),
        ("2013-13", "not a real date"),
        ("yesterday", "not a real date"),
        ("24 November 2026", "in the future"),
        ("December 2026", "in the future"),
        ("2027", "in the future"),
    ],
)
def test_bad_dates_are_named(text, problem):
    with pytest.raises(DraftError, match=problem) as caught:
        parse_date("date", text, TODAY)
    assert caught.value.field == "date"


def test_topics_are_split_and_checked():
    assert parse_topics("NATO,  security , NATO") == ("NATO", "security")
    assert parse_topics("-") == ()
    with pytest.raises(DraftError, match="empty topic"):
        parse_topics("NATO,,security")


def test_normalising_makes_quotes_and_space_plain():
    assert normalise("  “It’s\n\tthe   world”  ") == '"It\'s the world"'


def test_a_duplicate_with_other_quotes_and_spacing_is_found(store):
    original = store.quote("sb-02").text
    variant = "  " + original.replace(" ", "\n  ", 3).replace(":", ":") + " "
    assert find_duplicate(store, variant) == "sb-02"
    assert find_duplicate(store, variant, exclude="sb-02") is None
    assert find_duplicate(store, "Something else entirely.") is None


def test_a_typographic_variant_of_a_quote_is_a_duplicate(store, now):
    checked = check_draft(store, draft(text="He said ‘no’ — and “meant” it."), TODAY)
    add_quote(store, checked, "tg:1", now, unverified=True)
    with pytest.raises(DuplicateQuote) as caught:
        check_draft(store, draft(text="He said 'no'  —  and \"meant\" it."), TODAY)
    assert caught.value.existing_id == checked.quote.id
    assert checked.quote.id in str(caught.value)


def test_an_added_quote_gets_a_fresh_id_and_an_audit_entry(store, now):
    checked = check_draft(store, draft(), TODAY)
    quote = add_quote(store, checked, "tg:7", now, unverified=True)
    assert quote.id.startswith("u-") and len(quote.id) == 10
    assert quote.origin == "admin" and quote.topics == ("NATO", "security")
    assert quote.date == PartialDate(2010, 11, 15)
    entry = store.audit_log(1)[0]
    assert (entry["actor"], entry["action"], entry["target"], entry["at"]) == (
        "tg:7",
        "add.quote.add",
        quote.id,
        now,
    )
    second = check_draft(store, draft(text="Another new sentence."), TODAY)
    assert second.quote.id != quote.id


def test_a_new_source_is_saved_with_the_quote(store, now):
    new = NewSource(title="A talk", url="https://example.org/talk", publisher="Example", date="March 2013")
    checked = check_draft(store, draft(source_id=None, new_source=new, date="March 2013"), TODAY)
    quote = add_quote(store, checked, "tg:7", now)
    source = store.source(quote.source)
    assert source.id.startswith("us-") and source.origin == "admin"
    assert (source.title, source.url, source.date) == (
        "A talk",
        "https://example.org/talk",
        PartialDate(2013, 3),
    )


@pytest.mark.parametrize(
    "changes, field, problem",
    [
        ({"text": "   "}, "text", "is required"),
        ({"text": "x" * 3501}, "text", "at most 3500"),
        ({"text": "bad \x00 byte"}, "text", "control character"),
        ({"speaker": ""}, "speaker", "is required"),
        ({"speaker": "Two\nlines"}, "speaker", "single line"),
        ({"source_id": "no-such-source"}, "source", "there is no source"),
        ({"source_id": "Not An Id!"}, "source", "there is no source"),
        ({"source_id": None, "new_source": NewSource(title="")}, "source title", "is required"),
        ({"source_id": None, "new_source": NewSource(title="T", url="ftp://x.org/a")}, "url", "http"),
        ({"source_id": None, "new_source": NewSource(title="T", url="javascript:alert(1)")}, "url", "http"),
        ({"date": "2099"}, "date", "in the future"),
        ({"topics": "a,,b"}, "topics", "empty topic"),
    ],
)
def test_a_bad_draft_names_the_field_and_writes_nothing(store, changes, field, problem):
    before = store.audit_log(1000)
    with pytest.raises(DraftError, match=problem) as caught:
        check_draft(store, draft(**changes), TODAY)
    assert caught.value.field == field
    assert store.audit_log(1000) == before


def test_an_edit_records_who_when_and_what(store, now):
    quote = add_quote(store, check_draft(store, draft(), TODAY), "tg:7", now, unverified=True)
    later = now + dt.timedelta(minutes=5)
    change = edit_quote(store, quote.id, "date", "2010", "tg:8", later, TODAY)
    assert change.changed and change.quote.date == PartialDate(2010)
    entry = store.audit_log(1)[0]
    assert (entry["actor"], entry["action"], entry["at"]) == ("tg:8", "edit.quote.update", later)
    assert entry["details"]["date"] == {"from": "2010-11-15", "to": "2010"}
    assert edit_quote(store, quote.id, "date", "2010", "tg:8", later, TODAY).changed is False


def test_each_quote_field_can_be_edited(store, now):
    quote = add_quote(store, check_draft(store, draft(), TODAY), "tg:7", now, unverified=True)
    for name, value, check in [
        ("text", "A corrected sentence.", lambda q: q.text == "A corrected sentence."),
        ("speaker", "Sergei Lavrov", lambda q: q.speaker == "Sergei Lavrov"),
        ("role", "-", lambda q: q.speaker_role is None),
        ("topics", "diplomacy", lambda q: q.topics == ("diplomacy",)),
        (
            "notes",
            "Checked against the print issue.",
            lambda q: q.notes == ("Checked against the print issue.",),
        ),
        (
            "source",
            "comite-lavrov-fp",
            lambda q: q.source == "comite-lavrov-fp" and q.cites == "fp-law-of-politics",
        ),
        ("cites", "-", lambda q: q.cites is None),
    ]:
        assert check(edit_quote(store, quote.id, name, value, "tg:7", now, TODAY).quote), name


def test_curated_text_and_sources_are_not_edited(store, now):
    with pytest.raises(DraftError, match="verbatim"):
        edit_quote(store, "sb-01", "text", "Changed.", "tg:1", now, TODAY)
    with pytest.raises(DraftError, match="curated"):
        edit_quote(store, "sb-01", "source.title", "Changed", "tg:1", now, TODAY)
    assert store.audit_log(1000) == [e for e in store.audit_log(1000) if e["actor"] == "corpus"]


def test_an_admin_source_can_be_edited(store, now):
    new = NewSource(title="A talk", url=None, publisher=None, date=None)
    quote = add_quote(store, check_draft(store, draft(source_id=None, new_source=new), TODAY), "tg:7", now)
    change = edit_quote(store, quote.id, "source.url", "https://example.org/a", "tg:7", now, TODAY)
    assert change.changed and store.source(quote.source).url == "https://example.org/a"
    assert store.audit_log(1)[0]["action"] == "edit.source.update"


def test_edit_errors_name_the_problem(store, now):
    with pytest.raises(NotFound, match="no quote"):
        edit_quote(store, "nope", "date", "2010", "tg:1", now, TODAY)
    with pytest.raises(DraftError, match="not a field"):
        edit_quote(store, "sb-01", "colour", "red", "tg:1", now, TODAY)
    with pytest.raises(DraftError, match="there is no source"):
        edit_quote(store, "sb-01", "source", "nope", "tg:1", now, TODAY)


def test_pin_dates_must_be_real_and_not_past():
    assert pin_date("2026-12-01", TODAY) == dt.date(2026, 12, 1)
    assert pin_date("2026-11-23", TODAY) == TODAY  # today: replaces today's quote
    with pytest.raises(DraftError, match="YYYY-MM-DD"):
        pin_date("1 Dec", TODAY)
    with pytest.raises(DraftError, match="2026-11-22 is in the past"):
        pin_date("2026-11-22", TODAY)


def test_import_checks_what_the_database_would_refuse():
    source = Source(id="s", title="T", origin="admin")
    good = Quote(id="q", text="Fine.", speaker="S", source="s")
    check_import((good,), (source,))
    with pytest.raises(ImportFileError, match=r"row 2.*speaker"):
        check_import((good, Quote(id="r", text="t", speaker="x" * 201, source="s")), (source,))
    with pytest.raises(ImportFileError, match=r"row 1.*text.*control"):
        check_import((Quote(id="r", text="a\x00b", speaker="S", source="s"),), (source,))
    with pytest.raises(ImportFileError, match=r"source s.*origin"):
        check_import((good,), (Source(id="s", title="T", origin="someone"),))


@pytest.mark.parametrize("text", ["No.", '50% of a_b, \\ and "c"', "Ёлки-палки, “сказал” он."])
def test_duplicates_of_short_and_special_texts(store, now, text):
    quote = add_quote(store, check_draft(store, draft(text=text), TODAY), "tg:1", now, unverified=True)
    variant = "  " + text.replace(" ", "\n").replace('"', "“") + " "
    assert find_duplicate(store, variant) == quote.id
    assert find_duplicate(store, text.upper() if text.upper() != text else text + "!") is None
