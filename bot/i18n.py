"""The bot's words in the reader's language: gettext catalogs made with Babel (en, ru).

Every message the bot writes itself goes through `Words.gettext` (handlers call it `_`);
quotes never do, they stay verbatim. A chat's language is the one it chose with /language
(stored in `chat_languages`), else the user's Telegram `language_code`, else English; a
message a catalog does not translate falls back to English.

The catalogs live in bot/locale/<language>/LC_MESSAGES/messages.po, compiled to .mo beside
them. After changing a message in the code:

    python -m bot.i18n          # extract the messages, update every .po, compile every .mo

then translate the new `msgstr ""` entries of the .po files and run it again.
tests/bot/test_i18n.py fails while a catalog lacks a message or a .mo is older than its .po.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from gettext import NullTranslations
from pathlib import Path

from babel.support import Translations

from quotes.dates import PartialDate, day_text

LANGUAGES = {"en": "English", "ru": "Русский"}  # code -> the language's own name
DEFAULT = "en"
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
MAPPING = LOCALE_DIR / "babel.cfg"


def N_(message: str) -> str:
    """Mark a message for the catalogs where it is defined; it is translated where it is used."""
    return message


def language_of(code: str | None) -> str:
    """Return the supported language for a Telegram language_code ('ru-RU' → 'ru'; else 'en')."""
    if not code:
        return DEFAULT
    base = code.replace("_", "-").split("-")[0].casefold()
    return base if base in LANGUAGES else DEFAULT


@functools.cache
def _catalog(language: str) -> NullTranslations:
    if language == DEFAULT:
        return NullTranslations()  # the messages are written in English
    return Translations.load(str(LOCALE_DIR), [language], DOMAIN)


@dataclass(frozen=True)
class Words:
    """The bot's words in one language."""

    language: str

    def gettext(self, message: str) -> str:
        return _catalog(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _catalog(self.language).ngettext(singular, plural, n)

    def day(self, day: dt.date) -> str:
        """A calendar date as readers of this language write it: '15 ноября 2010'."""
        return day_text(day, self.language)

    def date(self, date: PartialDate) -> str:
        """A date with its precision ('March 2013', 'март 2013'), or 'date unknown' translated."""
        return date.human(self.language) if date.known else self.gettext("date unknown")


@functools.cache
def translator(language: str | None) -> Words:
    """Return the words of `language` (a code; None or unsupported: English)."""
    return Words(language_of(language))


ENGLISH = translator(DEFAULT)


def extract():
    """The messages of the bot's code, as a Babel catalog (what pybabel extract finds)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with open(MAPPING) as f:
        method_map, options_map = parse_mapping_cfg(f)
    template = Catalog()
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = extract_from_dir(str(LOCALE_DIR.parent), method_map, options_map, keywords=keywords)
    for _filename, _line, message, comments, context in found:
        template.add(message, None, auto_comments=comments, context=context, flags=["python-brace-format"])
    return template


def update_catalogs() -> None:
    """Extract the messages, merge them into every catalog and compile it (pybabel's steps).

    New messages get an empty translation (never a fuzzy guess from a similar one); messages
    gone from the code are dropped; a catalog whose messages did not change is left as it was.
    """
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po, write_po

    template = extract()
    for language in LANGUAGES:
        folder = LOCALE_DIR / language / "LC_MESSAGES"
        po_path, mo_path = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
        if po_path.exists():
            with open(po_path, "rb") as f:
                catalog = read_po(f, locale=language)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language)
        template.creation_date = catalog.creation_date  # (so an unchanged catalog stays byte for byte)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        for path, write in ((po_path, _po_writer(write_po)), (mo_path, write_mo)):
            with open(path, "wb") as f:
                write(f, catalog)
        untranslated = sum(1 for m in catalog if m.id and not any(_strings(m.string)))
        where = po_path.relative_to(LOCALE_DIR.parents[1])
        print(f"{where}: {len(catalog)} messages, {untranslated} untranslated")


def _po_writer(write_po):
    return lambda f, catalog: write_po(f, catalog, width=0, no_location=True, sort_output=True)


def _strings(value) -> tuple[str, ...]:
    if value is None:  # a message new to the catalog has no translation yet
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


if __name__ == "__main__":
    update_catalogs()
