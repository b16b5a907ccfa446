"""Admins bring the source: a file sent with the caption /document becomes a source with its copy.

The bot downloads the file (getFile, at most Telegram's 20 MB for bots), extracts its readable
text (quotes/documents.py: plain text, HTML through BeautifulSoup and lxml, Markdown through
markdown-it-py), stores the source and its held copy in one write, and answers with the new
source's id and what it found. The caption may give the source's fields on lines of their own:

    /document
    title: Remarks at the Example Forum
    url: https://example.org/remarks
    publisher: Example Forum
    date: March 2013

`fetch()` is also how /import and /add's new-source step download a file.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.handlers.common import Context, actor, now, reply, store, today
from bot.limits import TELEGRAM
from bot.messages import escape as e
from quotes.curation import DraftError, NewSource, add_source
from quotes.documents import DocumentError, Extracted, Upload, read_upload

log = logging.getLogger(__name__)

HOW = (
    "Send the source's file (plain text, HTML or Markdown, up to 20 MB) with the caption /document; "
    "lines after it may give <code>title:</code>, <code>url:</code>, <code>publisher:</code> and "
    "<code>date:</code>. The bot keeps the file, finds its text, and answers with the new source's id."
)
CAPTION_KEYS = {"title": "title", "url": "url", "publisher": "publisher", "date": "date"}


async def fetch(
    update: Update, context: Context, limit: int = TELEGRAM.download_size, too_big: str | None = None
) -> bytes | None:
    """Download the message's document; answer the problem and return None if it cannot be.

    A file Telegram says is over `limit` is refused before it is downloaded, with `too_big`
    (HTML) when the caller words it itself (/import names IMPORT_MAX_BYTES)."""
    message = update.effective_message
    doc = message.document if message is not None else None
    assert doc is not None, "called for a message with a document"
    if doc.file_size is not None and doc.file_size > limit:
        answer = too_big or (
            f"{e(doc.file_name or 'The file')} is {doc.file_size} bytes; at most "
            f"{limit // 1024 // 1024} MB are taken. Nothing was stored."
        )
        await reply(update, context, answer)
        return None
    try:
        file = await context.bot.get_file(doc.file_id)
        return bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        log.info("download of %s failed: %s", doc.file_name, exc.message)
        await reply(update, context, f"The file could not be downloaded ({e(exc.message)}); send it again.")
        return None


async def upload(update: Update, context: Context) -> Upload | None:
    """Download and read the message's document as a source's copy (None: the admin was told why)."""
    message = update.effective_message
    doc = message.document if message is not None else None
    assert doc is not None, "called for a message with a document"
    data = await fetch(update, context)
    if data is None:
        return None
    try:
        return read_upload(
            data,
            doc.file_name,
            doc.mime_type,
            f"telegram: {doc.file_name or 'a file'} sent by {actor(update)}",
        )
    except DocumentError as exc:
        await reply(update, context, f"{e(doc.file_name or 'The file')}: {e(exc)}. Nothing was stored.")
        return None


def found_text(extracted: Extracted) -> str:
    """What a file gave, for the admin: its title, its length, its paragraphs."""
    title = f"“{e(extracted.title)}”" if extracted.title else "no title"
    return f"{title}, {len(extracted.text)} characters in {extracted.paragraphs} paragraphs"


def caption_fields(caption: str) -> NewSource:
    """Read the `key: value` lines after /document (title, url, publisher, date)."""
    given = NewSource()
    for line in caption.splitlines()[1:]:
        key, colon, value = line.partition(":")
        name = CAPTION_KEYS.get(key.strip().casefold()) if colon else None
        if name is None:
            if line.strip():
                raise DraftError("caption", f"{line.strip()!r}: give title:, url:, publisher: or date: lines")
            continue
        setattr(given, name, value.strip())
    return given


async def document_upload(update: Update, context: Context) -> None:
    """A file with the caption /document, from an admin (admins.document checked): a new source."""
    chat = update.effective_chat
    message = update.effective_message
    assert chat is not None and message is not None, "a document comes in a message, in a chat"
    if chat.type != ChatType.PRIVATE:
        await reply(update, context, "Send sources in a private chat with the bot.")
        return
    try:
        given = caption_fields(message.caption or "")
    except DraftError as exc:
        await reply(update, context, f"{e(exc)}. Nothing was stored.")
        return
    brought = await upload(update, context)
    if brought is None:
        return
    given.upload = brought
    try:
        source, document = add_source(store(context), given, actor(update), now(context), today(context))
    except DraftError as exc:
        await reply(update, context, f"{e(exc)}. Nothing was stored.")
        return
    assert document is not None  # the source was given its upload
    await reply(
        update,
        context,
        f"Stored as source <code>{e(source.id)}</code>: {found_text(brought.extracted)} "
        f"(sha256 <code>{e(document.sha256[:16])}</code>…). "
        f"/add a quote and give <code>{e(source.id)}</code> as its source: the text is looked for in it.",
    )
