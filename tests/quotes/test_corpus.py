"""The curated corpus: verbatim, attributed, dated as the sources allow."""

import dataclasses
import shutil
import tomllib
from pathlib import Path

import pytest

from quotes.corpus import CorpusError, check_corpus, check_quote, load_corpus, parse_corpus

DATA = Path(__file__).parents[2] / "quotes" / "data"


def test_every_curated_quote_is_verbatim_in_the_speakers_part_of_its_document(corpus):
    assert check_corpus(corpus) == []
    assert len(corpus.quotes) >= 20
    assert {q.source for q in corpus.quotes} == {"cfr-same-boat", "comite-lavrov-fp"}


def _check(corpus, quote_id, **changes):
    quote = next(q for q in corpus.quotes if q.id == quote_id)
    changed = dataclasses.replace(quote, **changes)
    source = corpus.source(quote.source)
    return check_quote(changed, source, corpus.document(source))


def test_one_changed_character_is_caught_and_located(corpus):
    quote = next(q for q in corpus.quotes if q.id == "fp-10")
    problems = _check(corpus, "fp-10", text=quote.text.replace("dissatisfied", "satisfied"))
    assert len(problems) == 1
    message = str(problems[0])
    assert message.startswith("fp-10: text departs from 002_7ded14b25396bc87.txt")
    assert "quote:    " in message and "document: " in message and "paragraph 7" in message


def test_a_fixed_slip_is_a_departure_too(corpus):
    # "not to be dissatisfied" is Lavrov's slip; "correcting" it must fail the check.
    quote = next(q for q in corpus.quotes if q.id == "fp-10")
    assert _check(corpus, "fp-10", text=quote.text.replace("not to be dissatisfied", "to be satisfied"))


def test_only_runs_of_white_space_may_differ(corpus):
    quote = next(q for q in corpus.quotes if q.id == "sb-01")
    assert _check(corpus, "sb-01", text=quote.text.replace("talk today", "talk  today")) != []
    source = corpus.source("cfr-same-boat")
    document = corpus.document(source).replace("talk today", "talk\n   today")
    assert check_quote(quote, source, document) == []


@pytest.mark.parametrize(
    ("source_id", "editor_text"),
    [
        ("cfr-same-boat", "What does Russia stand to gain from a partnership with NATO"),
        ("cfr-same-boat", "Raison d’etre"),
        ("cfr-same-boat", "Russian Foreign Minister Sergey Lavrov writes of the warming of relations"),
        ("comite-lavrov-fp", "NATO Takes Universal Military Posture"),
        ("comite-lavrov-fp", "Russian Foreign Minister Sergey Lavrov granted a long interview in March"),
    ],
)
def test_editors_text_is_never_a_quote(corpus, source_id, editor_text):
    quote = next(q for q in corpus.quotes if q.source == source_id)
    problems = _check(corpus, quote.id, text=editor_text)
    assert len(problems) == 1
    assert "editor's, not the speaker's" in str(problems[0])


def test_a_wrong_location_is_reported(corpus):
    problems = _check(corpus, "sb-02", offset=10, paragraph=3)
    assert [p.message for p in problems] == [
        "offset is 10, but the text starts at 646",
        "paragraph is 3, but the text is in 7",
    ]


def test_provenance_follows_the_sources_page(corpus):
    cfr, comite, fp = (corpus.source(i) for i in ("cfr-same-boat", "comite-lavrov-fp", "fp-law-of-politics"))
    assert (cfr.date.iso(), cfr.date.precision) == ("2010-11-15", "day")
    assert cfr.publisher == "Council on Foreign Relations"
    assert any("stale" in n for n in cfr.notes)
    assert comite.date.precision == "unknown" and comite.cites == "fp-law-of-politics"
    assert (fp.date.iso(), fp.published.iso()) == ("2013-03", "2013-04-29")
    assert fp.title == "'The Law of Politics' According to Sergei Lavrov"
    for quote in corpus.quotes:
        assert quote.speaker == "Sergey Lavrov"
        assert quote.speaker_role == "Russian Foreign Minister"
        if quote.source == "comite-lavrov-fp":
            # Spoken in March 2013: no day is invented, and not the 2010 summit's date.
            assert (quote.date.iso(), quote.date.precision, quote.cites) == (
                "2013-03",
                "month",
                "fp-law-of-politics",
            )
        else:
            assert quote.date.iso() == "2010-11-15" and quote.cites is None
    assert "Sergei Lavrov" in corpus.speakers[0].aliases


def test_elisions_and_slips_are_kept_and_noted(corpus):
    by_id = {q.id: q for q in corpus.quotes}
    assert "anywhere on Earth...," in by_id["fp-02"].text
    assert by_id["fp-05"].text.endswith("legally binding....")
    assert any("slip" in n for n in by_id["fp-10"].notes)
    assert any("cut" in n for n in by_id["fp-02"].notes)


def test_qotd_quotes_check_passes_on_the_shipped_corpus(store, qotd):
    code, out, _ = qotd("quotes", "check")  # on PostgreSQL, the schema is upgraded first (`store`)
    assert code == 0
    assert out.splitlines()[-1] == "corpus file: 20 quotes checked against 2 documents: all verbatim"


def test_qotd_quotes_check_fails_on_a_quote_with_one_character_changed(qotd, tmp_path):
    shutil.copytree(DATA, tmp_path / "corpus")
    path = tmp_path / "corpus" / "corpus.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("feel vulnerable.", "feel vulnerable!", 1), encoding="utf-8")
    code, out, err = qotd("quotes", "check", "--corpus", str(path))
    assert code == 2
    assert "sb-02: text departs from 000_19d2d4881eae016f.txt" in out  # the report, on stdout
    assert err == "qotd: 1 problem(s) in 20 quotes (listed above)\n"


def test_a_malformed_corpus_names_the_record_and_field():
    data = tomllib.loads((DATA / "corpus.toml").read_text(encoding="utf-8"))
    data["quotes"][3]["date"] = "2010-11-31"
    with pytest.raises(CorpusError, match=r"quote sb-04: 'date': '2010-11-31' is not a real date"):
        parse_corpus(data, DATA / "documents")
    data = tomllib.loads((DATA / "corpus.toml").read_text(encoding="utf-8"))
    data["quotes"][4]["id"] = data["quotes"][3]["id"]
    with pytest.raises(CorpusError, match="quote sb-04: id is used twice"):
        parse_corpus(data, DATA / "documents")


def test_load_corpus_reads_a_given_file(tmp_path):
    shutil.copytree(DATA, tmp_path / "corpus")
    assert len(load_corpus(tmp_path / "corpus" / "corpus.toml").quotes) == 20
