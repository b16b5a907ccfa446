"""The bot's words in the reader's language: gettext catalogs made with Babel (en, ru).

Every message the bot writes itself goes through `Words.gettext` (handlers call it `_`);
quotes never do, they stay verbatim. A chat's language is the one it chose with /language
(stored in `chat_languages`), else the user's Telegram `language_code`, else English; a
message a catalog does not translate falls back to English.

The catalogs live in bot/locale/<language>/LC_MESSAGES/messages.po, compiled to .mo beside
them. After changing a message in the code:

    python -m bot.i18n          # extract (messages.pot), update every .po, compile every .mo

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
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"


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


def update_catalogs() -> None:
    """Extract the messages from the code, update every catalog and compile it (pybabel's steps)."""
    from babel.messages.frontend import CommandLineInterface

    root = LOCALE_DIR.parents[1]

    def pybabel(*args: str) -> None:
        CommandLineInterface().run(["pybabel", "-q", *args])

    pybabel(
        "extract",
        "--no-location",
        "--omit-header",
        "--sort-output",
        "-F",
        str(MAPPING),
        "-k",
        "N_",
        "-o",
        str(TEMPLATE),
        str(root / "bot"),
    )
    for language in LANGUAGES:
        po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        verb = "update" if po.exists() else "init"
        options = ["--no-wrap", "--ignore-obsolete"] if verb == "update" else ["--no-wrap"]
        pybabel(verb, "-i", str(TEMPLATE), "-d", str(LOCALE_DIR), "-l", language, "-D", DOMAIN, *options)
    pybabel("compile", "-d", str(LOCALE_DIR), "-D", DOMAIN)


if __name__ == "__main__":
    update_catalogs()
