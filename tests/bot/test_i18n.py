"""The catalogs: every message of the code is in each, Russian translates all of them, the
compiled .mo files say what their .po files say, and dates read as the language writes them."""

from __future__ import annotations

import datetime as dt

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, extract, language_of, translator
from quotes.dates import PartialDate, day_text


def _catalog(language: str):
    with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as f:
        return read_po(f, locale=language)


def _source_ids() -> set[str]:
    """The message ids in the bot's code, found as `python -m bot.i18n` finds them."""
    return {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_message_of_the_code_is_in_each_catalog(language):
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(language) if m.id}
    missing = sorted(_source_ids() - ids)
    assert not missing, f"{language}: run `python -m bot.i18n` and translate: {missing}"


def test_russian_translates_every_message():
    untranslated = [m.id for m in _catalog("ru") if m.id and (not m.string or "fuzzy" in m.flags)]
    assert not untranslated


def _key(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_compiled_catalogs_say_what_the_po_files_say(language):
    # What a reader gets for each id: its translation, or (untranslated) the English id itself.
    po = {
        _key(m.id): _key(m.string) if any(_key(m.string)) and "fuzzy" not in m.flags else _key(m.id)
        for m in _catalog(language)
        if m.id
    }
    with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as f:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
    mo = {key: compiled.get(key, key) for key in po | compiled}
    assert mo == po, "the .mo is older than its .po: run `python -m bot.i18n`"


def test_a_missing_translation_falls_back_to_english():
    assert translator("ru").gettext("a message no catalog has") == "a message no catalog has"
    assert translator("de").gettext("Quote of the day") == "Quote of the day"  # not a bot language
    assert translator("ru").gettext("Quote of the day") == "Цитата дня"


def test_telegram_language_codes_choose_the_language():
    assert [language_of(c) for c in ("ru", "ru-RU", "RU", "en-GB", "uk", "", None)] == [
        "ru", "ru", "ru", "en", "en", "en", "en",
    ]  # fmt: skip


def test_dates_read_as_each_language_writes_them():
    day = dt.date(2010, 11, 15)
    assert day_text(day) == "15 November 2010"
    assert day_text(day, "ru") == "15 ноября 2010"
    assert PartialDate(2013, 3).human("ru") == "март 2013"
    assert PartialDate(2013).human("ru") == "2013"
    assert translator("ru").date(PartialDate()) == "дата неизвестна"
    assert translator("ru").ngettext(
        "{count} quote matches “{words}”", "{count} quotes match “{words}”", 5
    ) == ("{count} цитат по запросу «{words}»")
