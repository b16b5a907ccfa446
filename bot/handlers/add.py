"""/add: a guided conversation that builds a quote, or one message with every field.

The conversation asks in turn for the text, the speaker (", role" after the name), the source
(an existing one by id, or a new one: title, URL, publisher, date), the quote's date and its
topics, then shows the quote exactly as readers will see it, with Save and Cancel. Each answer
is checked when it is given; a wrong one is answered with the problem and asked again. Nothing
is written until Save.

The one-message form, for power users, saves at once when every field passes:

    /add
    text: The world has become less predictable.
    speaker: Sergey Lavrov, Russian Foreign Minister
    source: cfr-same-boat          (or: source title / source url / publisher / source date)
    date: 15 November 2010
    topics: security, world order
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.handlers import documents
from bot.handlers.admins import REFUSED
from bot.handlers.common import Context, actor, argument_text, is_admin, now, reply, store, today
from bot.messages import MAX_MESSAGE, QuoteMessage, quote_message, snippet, telegram_length
from bot.messages import escape as e
from quotes.curation import (
    Checked,
    Draft,
    DraftError,
    DuplicateQuote,
    NewSource,
    add_quote,
    check_draft,
    check_line,
    check_source_url,
    check_text,
    existing_source,
    parse_date,
    parse_topics,
)
from quotes.search import find_duplicate
from quotes.verification import sentence

log = logging.getLogger(__name__)

(TEXT, SPEAKER, SOURCE, SOURCE_TITLE, SOURCE_URL, SOURCE_PUBLISHER, SOURCE_DATE, DATE, TOPICS, CONFIRM) = (
    range(10)
)
DRAFT = "add_draft"
# The draft lives in user_data, which bot/persistence.py keeps in the database with the
# conversation's step: an /add continues after a restart, on any replica. One left for a day
# is dropped when its admin comes back, and they are told:
DRAFT_DROPPED = (
    "Your unfinished /add (last answer on {day}) was more than a day old and has been dropped: "
    "nothing was saved. /add starts again."
)
NEW, SKIP, SAVE, CANCEL, UNKNOWN = "New source", "-", "Save", "Cancel", "unknown"
SAVE_UNVERIFIED = "Save as unverified"
YES = ("yes", "y", "true", "1")
LISTED_SOURCES = 8
NAME = "add"  # the conversation's name in the database (bot/persistence.py)

FORM_KEYS = {
    "text": "text",
    "speaker": "speaker",
    "role": "role",
    "source": "source",
    "source id": "source",
    "source title": "source title",
    "title": "source title",
    "source url": "source url",
    "url": "source url",
    "publisher": "publisher",
    "source publisher": "publisher",
    "source date": "source date",
    "date": "date",
    "topics": "topics",
    "note": "note",
    "notes": "note",
    "unverified": "unverified",
}


def _keyboard(*rows: list[str]) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(label) for label in row] for row in rows if row],
        one_time_keyboard=True,
        resize_keyboard=True,
        input_field_placeholder="or type your answer",
    )


def _user_data(context: Context) -> dict[Any, Any]:
    user_data = context.user_data
    # The conversation is per user and per chat: PTB hands it only updates with both.
    assert user_data is not None, "the /add conversation only gets updates with a user"
    return user_data


def _draft(context: Context) -> Draft:
    return _user_data(context).setdefault(DRAFT, Draft())


def _new_source(context: Context) -> NewSource:
    new_source = _draft(context).new_source
    assert new_source is not None, "got_source made it: the new source's steps come only after New source"
    return new_source


def _end(context: Context) -> int:
    _user_data(context).pop(DRAFT, None)
    return ConversationHandler.END


async def _wrong(update: Update, context: Context, exc: DraftError, again: str, markup=None) -> None:
    await reply(update, context, f"{e(exc)}.\n{again}", markup)


def _answer(update: Update) -> str:
    message = update.effective_message
    assert message is not None, "the steps are MessageHandlers: every update they get has a message"
    return message.text or ""


# --- questions -----------------------------------------------------------------------------

ASK_TEXT = "Send the quote's text, exactly as the source has it (up to 3500 characters). /cancel stops."
ASK_SPEAKER = (
    "Who said or wrote it? The name, then a comma and their role at the time, "
    "e.g. <i>Sergey Lavrov, Russian Foreign Minister</i>."
)
ASK_TITLE = (
    "The new source's title (of the page or document the quote is taken from)? "
    "Or send its file (plain text, HTML, Markdown) to keep a copy the quote is checked against."
)
ASK_URL = "Its URL (http:// or https://), or - if it has none."
ASK_PUBLISHER = "Its publisher, or - if unknown."
ASK_SOURCE_DATE = "Its date: <i>15 November 2010</i>, <i>March 2013</i>, <i>2013</i>, or <i>unknown</i>."
ASK_DATE = (
    "When was the quote said or written? <i>15 November 2010</i>, <i>March 2013</i>, <i>2013</i>, "
    "or <i>unknown</i>: never more precise than the source."
)
ASK_TOPICS = "Topics, separated by commas (e.g. <i>NATO, security</i>), or - for none."


async def ask_speaker(update: Update, context: Context) -> int:
    names = [s.name for s in store(context).speakers()][:6]
    await reply(update, context, ASK_SPEAKER, _keyboard(names) if names else ReplyKeyboardRemove())
    return SPEAKER


async def ask_source(update: Update, context: Context) -> int:
    listed = store(context).sources()[:LISTED_SOURCES]
    lines = [
        "Which source is it from? Tap or send an existing source's id, or <b>New source</b>, "
        "or send the source's file (plain text, HTML, Markdown) so the quote can be checked in it:"
    ]
    lines += [f"<code>{e(s.id)}</code> {e(snippet(s.title, 60))}" for s in listed]
    lines.append("/sources lists them all.")
    await reply(update, context, "\n".join(lines), _keyboard([NEW], *([s.id] for s in listed)))
    return SOURCE


async def ask_date(update: Update, context: Context) -> int:
    draft = _draft(context)
    if draft.new_source is not None:
        suggestion = draft.new_source.date
    else:
        # got_source set source_id to a source existing_source found (sources are never deleted).
        assert draft.source_id is not None, "ask_date comes after got_source: a source id or a new source"
        source = store(context).source(draft.source_id)
        assert source is not None, "got_source checked that the source exists"
        suggestion = source.date.iso()
    options = [suggestion] if suggestion and suggestion not in (SKIP, UNKNOWN) else []
    await reply(update, context, ASK_DATE, _keyboard([*options, UNKNOWN]))
    return DATE


# --- the conversation's steps --------------------------------------------------------------


async def start(update: Update, context: Context) -> int:
    if not is_admin(update, context):
        await reply(update, context, REFUSED)
        return ConversationHandler.END
    chat = update.effective_chat
    assert chat is not None, "the /add conversation only gets updates with a chat"
    if chat.type != ChatType.PRIVATE:
        await reply(update, context, "Add quotes in a private chat with the bot.")
        return ConversationHandler.END
    form = argument_text(update.effective_message)
    if form:
        await one_message(update, context, form)
        return _end(context)
    _user_data(context)[DRAFT] = Draft()
    await reply(update, context, f"Adding a quote. {ASK_TEXT}", ReplyKeyboardRemove())
    return TEXT


async def got_text(update: Update, context: Context) -> int:
    draft = _draft(context)
    try:
        text = check_text(_answer(update))
        if existing := find_duplicate(store(context), text):
            raise DuplicateQuote(existing)
    except DraftError as exc:
        await _wrong(update, context, exc, ASK_TEXT)
        return TEXT
    draft.text = text
    if draft.speaker is not None and draft.topics is not None:  # back from a too-long preview
        return await preview(update, context)
    return await ask_speaker(update, context)


async def got_speaker(update: Update, context: Context) -> int:
    draft = _draft(context)
    name, _, role = _answer(update).partition(",")
    try:
        draft.speaker = check_line("speaker", name, required=True, limit=200)
        draft.role = check_line("role", role)
    except DraftError as exc:
        draft.speaker = draft.role = None
        await _wrong(update, context, exc, ASK_SPEAKER)
        return SPEAKER
    return await ask_source(update, context)


async def got_source(update: Update, context: Context) -> int:
    draft = _draft(context)
    answer = _answer(update).strip()
    if answer.casefold() in (NEW.casefold(), "new"):
        draft.source_id, draft.new_source = None, NewSource()
        await reply(update, context, ASK_TITLE, ReplyKeyboardRemove())
        return SOURCE_TITLE
    try:
        source = existing_source(store(context), answer.split()[0] if answer else "")
    except DraftError as exc:
        await _wrong(update, context, exc, "Send an existing source's id, or New source.")
        return SOURCE
    draft.source_id, draft.new_source = source.id, None
    return await ask_date(update, context)


async def got_source_file(update: Update, context: Context) -> int:
    """The source's file, at the source step or the new source's title: kept with the new source."""
    draft = _draft(context)
    brought = await documents.upload(update, context)
    if brought is None:
        return SOURCE_TITLE if draft.new_source is not None else SOURCE
    title = brought.extracted.title
    draft.source_id, draft.new_source = None, NewSource(upload=brought)
    found = documents.found_text(brought.extracted)
    question = "The new source's title?" + (" Tap the one the file gives, or send another." if title else "")
    await reply(
        update,
        context,
        f"Got the source's copy: {found}. The quote will be looked for in it.\n{question}",
        _keyboard([snippet(title, 200)]) if title else ReplyKeyboardRemove(),
    )
    return SOURCE_TITLE


async def got_source_title(update: Update, context: Context) -> int:
    try:
        _new_source(context).title = check_line("source title", _answer(update), required=True)
    except DraftError as exc:
        await _wrong(update, context, exc, ASK_TITLE)
        return SOURCE_TITLE
    await reply(update, context, ASK_URL, _keyboard([SKIP]))
    return SOURCE_URL


async def got_source_url(update: Update, context: Context) -> int:
    answer = _answer(update).strip()
    try:
        url = None if answer == SKIP else check_source_url(answer)
    except DraftError as exc:
        await _wrong(update, context, exc, ASK_URL, _keyboard([SKIP]))
        return SOURCE_URL
    _new_source(context).url = url
    await reply(update, context, ASK_PUBLISHER, _keyboard([SKIP]))
    return SOURCE_PUBLISHER


async def got_source_publisher(update: Update, context: Context) -> int:
    answer = _answer(update).strip()
    try:
        publisher = None if answer == SKIP else check_line("publisher", answer)
    except DraftError as exc:
        await _wrong(update, context, exc, ASK_PUBLISHER, _keyboard([SKIP]))
        return SOURCE_PUBLISHER
    _new_source(context).publisher = publisher
    await reply(update, context, ASK_SOURCE_DATE, _keyboard([UNKNOWN]))
    return SOURCE_DATE


async def got_source_date(update: Update, context: Context) -> int:
    answer = _answer(update)
    try:
        date = parse_date("source date", answer, today(context))
    except DraftError as exc:
        await _wrong(update, context, exc, ASK_SOURCE_DATE, _keyboard([UNKNOWN]))
        return SOURCE_DATE
    _new_source(context).date = date.iso()
    return await ask_date(update, context)


async def got_date(update: Update, context: Context) -> int:
    answer = _answer(update)
    try:
        date = parse_date("date", answer, today(context))
    except DraftError as exc:
        await _wrong(update, context, exc, ASK_DATE, _keyboard([UNKNOWN]))
        return DATE
    _draft(context).date = date.iso()
    await reply(update, context, ASK_TOPICS, _keyboard([SKIP]))
    return TOPICS


async def got_topics(update: Update, context: Context) -> int:
    answer = _answer(update)
    try:
        parse_topics(answer)
    except DraftError as exc:
        await _wrong(update, context, exc, ASK_TOPICS, _keyboard([SKIP]))
        return TOPICS
    _draft(context).topics = answer
    return await preview(update, context)


def _render(checked: Checked) -> str:
    return _preview(checked).html


def _preview(checked: Checked) -> QuoteMessage:
    """The quote as readers will see it, with what the save's check will find."""
    quote = replace(checked.quote, verification=checked.found)
    return quote_message(quote, checked.source, checked.cites, "Preview")


def _check_length(checked: Checked) -> None:
    length = telegram_length(_render(checked))
    if length > MAX_MESSAGE:
        raise DraftError(
            "text",
            f"with its attribution the message would be {length} characters; Telegram allows {MAX_MESSAGE}",
        )


def where_found(checked: Checked) -> str:
    """Where the text stands in the source's copy, or where the closest passage departs from it."""
    found = checked.found
    if found.verified:
        return f"Found in paragraph {found.paragraph} of the source's copy: it will be saved as checked."
    if checked.missing:
        return (
            f"<b>Not found in the source's copy.</b> {e(found.reason_text or '')}:\n"
            f"<pre>{e(found.detail or '')}</pre>"
        )
    return f"{e(sentence(found))}: it will be saved as not checked."


def _checked(context: Context) -> Checked:
    checked = check_draft(store(context), _draft(context), today(context), now(context))
    _check_length(checked)
    return checked


async def preview(update: Update, context: Context) -> int:
    try:
        checked = _checked(context)
    except DraftError as exc:
        if exc.field != "text":
            await reply(
                update, context, f"{e(exc)}. Nothing was saved; /add starts again.", ReplyKeyboardRemove()
            )
            return _end(context)
        await _wrong(update, context, exc, "Send a shorter text (the other answers are kept), or /cancel.")
        return TEXT
    message = _preview(checked)
    await reply(update, context, message.html, message.markup)
    if checked.missing:
        await reply(
            update,
            context,
            f"{where_found(checked)}\nSend the corrected text, or tap <b>{SAVE_UNVERIFIED}</b> to save it "
            "as not checked, or Cancel.",
            _keyboard([SAVE_UNVERIFIED, CANCEL]),
        )
    else:
        await reply(update, context, f"{where_found(checked)}\nSave this quote?", _keyboard([SAVE, CANCEL]))
    return CONFIRM


async def confirm(update: Update, context: Context) -> int:
    answer = _answer(update).strip().casefold()
    if answer == CANCEL.casefold():
        return await cancel(update, context)
    try:
        # Checked again: the draft is what is stored (the persistence keeps data, not objects),
        # and the store may have changed since the preview.
        checked = _checked(context)
    except DraftError as exc:
        await reply(update, context, f"{e(exc)}. Nothing was saved.", ReplyKeyboardRemove())
        return _end(context)
    if checked.missing and answer != SAVE_UNVERIFIED.casefold():
        if answer == SAVE.casefold():
            await reply(
                update,
                context,
                f"The text is not in the source's copy: send the corrected text, or tap {SAVE_UNVERIFIED}.",
                _keyboard([SAVE_UNVERIFIED, CANCEL]),
            )
            return CONFIRM
        return await got_text(update, context)  # the corrected text: checked and located again
    if not checked.missing and answer != SAVE.casefold():
        await reply(update, context, "Tap Save or Cancel.", _keyboard([SAVE, CANCEL]))
        return CONFIRM
    try:
        quote = add_quote(store(context), checked, actor(update), now(context), unverified=checked.missing)
    except DraftError as exc:
        await reply(update, context, f"{e(exc)}. Nothing was saved.", ReplyKeyboardRemove())
        return _end(context)
    await reply(
        update,
        context,
        f"Saved as <code>{e(quote.id)}</code>. {e(sentence(quote.verification))}.\n"
        f"/edit {e(quote.id)} changes it; /hide {e(quote.id)} hides it.",
        ReplyKeyboardRemove(),
    )
    return _end(context)


async def cancel(update: Update, context: Context) -> int:
    await reply(update, context, "Cancelled: nothing was saved.", ReplyKeyboardRemove())
    return _end(context)


async def still_adding(update: Update, context: Context) -> int | None:
    await reply(update, context, "You are adding a quote: answer the last question, or /cancel to stop.")
    return None


# --- the one-message form ------------------------------------------------------------------


def parse_form(form: str) -> Draft:
    """Read `key: value` lines into a draft; a line without a known key continues the last value."""
    fields: dict[str, list[str]] = {}
    notes: list[str] = []
    current: list[str] | None = None
    for line in form.splitlines():
        key, colon, value = line.partition(":")
        name = FORM_KEYS.get(" ".join(key.split()).casefold()) if colon else None
        if name is None:
            if current is None:
                raise DraftError(
                    "form",
                    "start each line with a field name and a colon, e.g. text: …, speaker: …, source: …",
                )
            current.append(line)
            continue
        if name in ("note", "unverified"):
            if name == "note":
                notes.append(value)
            else:
                fields[name] = [value]
            current = None
            continue
        if name in fields:
            raise DraftError(name, "is given twice")
        current = fields[name] = [value]
    values = {name: "\n".join(lines).strip() for name, lines in fields.items()}
    speaker, role = values.get("speaker", ""), values.get("role")
    if role is None and "," in speaker:
        speaker, _, role = speaker.partition(",")
    new_keys = ("source title", "source url", "publisher", "source date")
    if "source" in values and any(k in values for k in new_keys):
        raise DraftError("source", "give either an existing source's id or a new source's title, not both")
    new_source = None
    if any(k in values for k in new_keys):
        new_source = NewSource(
            title=values.get("source title"),
            url=values.get("source url"),
            publisher=values.get("publisher"),
            date=values.get("source date"),
        )
    return Draft(
        text=values.get("text"),
        speaker=speaker,
        role=role,
        source_id=values.get("source"),
        new_source=new_source,
        date=values.get("date"),
        topics=values.get("topics"),
        notes=notes,
    )


def wants_unverified(form: str) -> bool:
    """Whether the one-message form says, explicitly, to save a text not found as unverified."""
    for line in form.splitlines():
        key, colon, value = line.partition(":")
        if colon and key.strip().casefold() == "unverified":
            return value.strip().casefold() in YES
    return False


async def one_message(update: Update, context: Context, form: str) -> None:
    try:
        draft = parse_form(form)
        checked = check_draft(store(context), draft, today(context), now(context))
        _check_length(checked)
        if checked.missing and not wants_unverified(form):
            await reply(
                update,
                context,
                f"{where_found(checked)}\nNothing was saved: correct the text, or add the line "
                "<code>unverified: yes</code> to save it as not checked.",
            )
            return
        quote = add_quote(store(context), checked, actor(update), now(context), unverified=checked.missing)
    except DraftError as exc:
        await reply(update, context, f"{e(exc)}. Nothing was saved.")
        return
    message = quote_message(quote, checked.source, checked.cites, f"Saved as {quote.id}")
    await reply(update, context, f"{message.html}\n\n{e(sentence(quote.verification))}.", message.markup)


def conversation() -> ConversationHandler:
    """The /add conversation handler (register it before the other command handlers)."""
    text = filters.TEXT & ~filters.COMMAND
    steps = {
        TEXT: got_text,
        SPEAKER: got_speaker,
        SOURCE: got_source,
        SOURCE_TITLE: got_source_title,
        SOURCE_URL: got_source_url,
        SOURCE_PUBLISHER: got_source_publisher,
        SOURCE_DATE: got_source_date,
        DATE: got_date,
        TOPICS: got_topics,
        CONFIRM: confirm,
    }
    states: dict[object, list[BaseHandler[Update, Any, object]]] = {
        state: [MessageHandler(text, step)] for state, step in steps.items()
    }
    for state in (SOURCE, SOURCE_TITLE):  # the source's file, to keep its copy
        states[state].append(MessageHandler(filters.Document.ALL, got_source_file))
    return ConversationHandler(
        entry_points=[CommandHandler("add", start)],
        states=states,
        fallbacks=[CommandHandler("cancel", cancel), MessageHandler(filters.ALL, still_adding)],
        name=NAME,
        persistent=True,
    )
