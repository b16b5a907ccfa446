"""The /time picker: buttons for the hour, then the minutes, then a timezone.

The timezone comes from a shared location (the zone found offline by timezonefinder), from a
short list of the usual zones of the reader's language, or from a search by city: a city's
name in English or in the reader's language (Babel's CLDR exemplar cities), or the city part
of an IANA zone name. Typed `/time 07:30 Europe/Paris` keeps working (bot/handlers/readers.py).

The picked hour and minutes travel in the buttons' callback data; while the picker waits for a
location or a city, the time is kept in the chat's data.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import zoneinfo

from babel import Locale
from babel.dates import get_timezone_location
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType
from timezonefinder import TimezoneFinder

from bot.handlers.common import Context, may_manage_chat, reply, sentence, words
from bot.handlers.readers import ONLY_ADMINS, parse_time, plain_text, set_time
from bot.handlers.readers import time_command as typed_time
from bot.i18n import Words
from bot.messages import escape as e
from bot.messages import snippet

log = logging.getLogger(__name__)

PICK = "time:"  # callback_data prefix: time:h:07, time:m:07:30, time:z:07:30:Europe/Paris
WAITING = "time_picker"  # chat_data key: the picked HH:MM while a location or a city is awaited
MINUTES = (0, 15, 30, 45)
_HOUR = r"(?:[01][0-9]|2[0-3])"
_PICKED = {  # what each step's callback data looks like
    "h": re.compile(_HOUR),
    "m": re.compile(rf"{_HOUR}:[0-5][0-9]"),
    "z": re.compile(rf"{_HOUR}:[0-5][0-9]:[A-Za-z0-9_+\-/]+"),
}
_NOTHING = re.compile(r"(?!)")
FOUND_AT_MOST = 8
# The usual zones of each language's readers, west to east; every list ends with UTC.
ZONES = {
    "en": (
        "America/Los_Angeles",
        "America/Denver",
        "America/Chicago",
        "America/New_York",
        "Europe/London",
        "Europe/Berlin",
        "Asia/Kolkata",
        "Asia/Singapore",
        "Australia/Sydney",
        "UTC",
    ),
    "ru": (
        "Europe/Kaliningrad",
        "Europe/Moscow",
        "Europe/Samara",
        "Asia/Yekaterinburg",
        "Asia/Omsk",
        "Asia/Novosibirsk",
        "Asia/Krasnoyarsk",
        "Asia/Irkutsk",
        "Asia/Yakutsk",
        "Asia/Vladivostok",
        "Asia/Magadan",
        "Asia/Kamchatka",
        "UTC",
    ),
}


@functools.cache
def _finder() -> TimezoneFinder:
    return TimezoneFinder()  # (reads its polygon files lazily: built once, on the first location)


def zone_at(latitude: float, longitude: float) -> str | None:
    """The IANA timezone at a point on earth (None: none there, e.g. open sea far from land)."""
    return _finder().timezone_at(lat=latitude, lng=longitude)


def city(zone: str, language: str) -> str:
    """A zone's city as readers of `language` name it: 'Москва', 'New York' (UTC: 'UTC')."""
    if "/" not in zone:
        return zone
    return get_timezone_location(zone, locale=language, return_city=True)


@functools.cache
def _cities(language: str) -> dict[str, str]:
    """Every zone's city, casefolded, in English, in `language` and as the zone writes it → zone."""
    names: dict[str, str] = {}
    locale = Locale.parse(language)
    for zone in sorted(zoneinfo.available_timezones()):
        if "/" not in zone or zone.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/")):
            continue
        for name in (zone.rsplit("/", 1)[1].replace("_", " "), locale.time_zones.get(zone, {}).get("city")):
            if name:
                names.setdefault(name.casefold(), zone)
    return names


def find_zones(text: str, language: str) -> list[str]:
    """The zones whose city is `text` (exactly, else beginning with it, else containing it)."""
    wanted = " ".join(text.replace("_", " ").split()).casefold()
    if not wanted:
        return []
    cities = _cities(language) | _cities("en")
    if wanted in cities:
        return [cities[wanted]]
    for match in (str.startswith, str.__contains__):
        found = sorted({zone for name, zone in cities.items() if match(name, wanted)})
        if found:
            return found[:FOUND_AT_MOST]
    return []


def _offset(zone: str, when: dt.datetime) -> str:
    offset = when.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "") if minutes else "UTC"


def _zone_buttons(at: str, zones: list[str] | tuple[str, ...], speech: Words, when: dt.datetime):
    buttons = [
        InlineKeyboardButton(
            f"{city(zone, speech.language)} ({_offset(zone, when)})", callback_data=f"{PICK}z:{at}:{zone}"
        )
        for zone in zones
    ]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def hours_markup() -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(f"{h:02d}", callback_data=f"{PICK}h:{h:02d}") for h in range(24)]
    return InlineKeyboardMarkup([buttons[i : i + 6] for i in range(0, 24, 6)])


def minutes_markup(hour: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"{hour}:{m:02d}", callback_data=f"{PICK}m:{hour}:{m:02d}") for m in MINUTES]]
    )


async def time_command(update: Update, context: Context) -> None:
    """`/time` alone: the picker; with arguments, the typed form."""
    if context.args:
        await typed_time(update, context)
    else:
        await open_picker(update, context)


async def open_picker(update: Update, context: Context) -> None:
    """`/time` alone: the hours."""
    _ = words(update, context).gettext
    await reply(update, context, _("When should the daily quote come? Pick the hour:"), hours_markup())


async def _edit(update: Update, html: str, markup: InlineKeyboardMarkup | None) -> None:
    query = update.callback_query
    assert query is not None
    message = query.message
    if isinstance(message, Message):
        await message.edit_text(html, parse_mode="HTML", reply_markup=markup)


async def picked(update: Update, context: Context) -> None:
    """A picker button: an hour, minutes, or a zone."""
    query = update.callback_query
    assert query is not None and query.data is not None, "a CallbackQueryHandler's update has data"
    speech = words(update, context)
    _ = speech.gettext
    if not await may_manage_chat(update, context):
        await query.answer(_(ONLY_ADMINS), show_alert=True)
        return
    step, _sep, value = query.data[len(PICK) :].partition(":")
    await query.answer()
    # The data is the client's to send: only a picker's own values go on (the zone is checked
    # with the typed form's checks in _finish).
    if not _PICKED.get(step, _NOTHING).fullmatch(value):
        log.info("picker: ignored callback data %r", query.data)
        return
    if step == "h":
        await _edit(update, _("{time}: and the minutes?").format(time=f"{value}:__"), minutes_markup(value))
    elif step == "m":
        await _ask_zone(update, context, value, speech)
    elif step == "z":
        hour, minutes, zone = ([*value.split(":", 2), "", ""])[:3]
        await _finish(update, context, f"{hour}:{minutes}", zone)


async def _ask_zone(update: Update, context: Context, at: str, speech: Words) -> None:
    _ = speech.gettext
    context_now = context.bot_data["clock"]()
    zones = ZONES.get(speech.language, ZONES["en"])
    private = update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE
    if private:
        text = _("{time} in which timezone? Pick one, send the name of your city, or share your location.")
    else:
        text = _("{time} in which timezone? Pick one, or send /time {time} Area/City.")
    await _edit(
        update, text.format(time=at), InlineKeyboardMarkup(_zone_buttons(at, zones, speech, context_now))
    )
    if private:
        assert context.chat_data is not None
        context.chat_data[WAITING] = at
        share = ReplyKeyboardMarkup(
            [[KeyboardButton(_("Share location"), request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        await reply(update, context, _("Or share your location: only its timezone is kept."), share)


async def _finish(update: Update, context: Context, at: str, zone: str) -> None:
    """Set the picked time: through the same checks as a typed /time (readers.parse_time)."""
    speech = words(update, context)
    try:
        time, zone_name = parse_time([at, zone], speech)
    except ValueError as exc:
        await reply(update, context, e(sentence(str(exc))) + ".")
        return
    if await set_time(update, context, time, zone_name) and context.chat_data is not None:
        context.chat_data.pop(WAITING, None)


async def location(update: Update, context: Context) -> None:
    """A shared location: its timezone, for the time being picked (or for the current time)."""
    message = update.effective_message
    assert message is not None and message.location is not None, "filters.LOCATION passes only locations"
    _ = words(update, context).gettext
    at = (context.chat_data or {}).get(WAITING)
    if at is None:
        await reply(
            update, context, _("Thanks, but no time is being set: send /time first."), ReplyKeyboardRemove()
        )
        return
    zone = zone_at(message.location.latitude, message.location.longitude)
    if zone is None:
        await reply(
            update, context, _("No timezone is known at that place; pick one from the list or send a city.")
        )
        return
    await reply(update, context, _("Your timezone: {zone}.").format(zone=e(zone)), ReplyKeyboardRemove())
    await _finish(update, context, at, zone)


async def text(update: Update, context: Context) -> None:
    """Plain text in a private chat: a city while the picker waits for one, else a hint."""
    message = update.effective_message
    at = (context.chat_data or {}).get(WAITING)
    if at is None or message is None or not message.text:
        await plain_text(update, context)
        return
    speech = words(update, context)
    _ = speech.gettext
    found = find_zones(message.text, speech.language)
    if len(found) == 1:
        await reply(
            update, context, _("Your timezone: {zone}.").format(zone=e(found[0])), ReplyKeyboardRemove()
        )
        await _finish(update, context, at, found[0])
        return
    if not found:
        await reply(
            update,
            context,
            _("No timezone found for “{city}”: try a larger city nearby, or share your location.").format(
                city=e(snippet(message.text, 60))
            ),
        )
        return
    when = context.bot_data["clock"]()
    await reply(
        update, context, _("Which one?"), InlineKeyboardMarkup(_zone_buttons(at, found, speech, when))
    )
