"""Message text formatting as Telegram does it: :func:`format_text` (a parse mode or explicit
entities, then tdlib's trimming and the entities Telegram finds in plain text).  The parse modes
are in ``emulator.entities_html`` and ``emulator.entities_markdown``, what they share in
``emulator.entities_common``; their names stay importable from here.

The rules follow tdlib, which Telegram's Bot API server links (``td/telegram/MessageEntity.cpp``:
``parse_html``, ``decode_html_entity``, ``parse_markdown_v2``, ``parse_markdown``,
``fix_formatted_text``) and its tests (``test/message_entities.cpp``), re-expressed here in
Python:

* Offsets and lengths of entities are in UTF-16 code units; error positions are *byte* offsets in
  the UTF-8 text (``Unsupported start tag "foo" at byte offset 13``).
* HTML knows the tags a, b, strong, i, em, s, strike, del, u, ins, tg-spoiler, tg-emoji, span
  (only with class="tg-spoiler"), pre, code (class="language-x" inside pre) and blockquote
  (optionally ``expandable``); the character references ``&lt; &gt; &amp; &quot;`` and numeric
  ones (``&#123;`` ``&#x1F600;``); any other ``&name;`` is kept as written.
* MarkdownV2 reserves ``_*[]()~`>#+-=|{}.!`` outside code; a reserved character that does not
  start an entity must be escaped with ``\\``.
* After parsing, ``fix_formatted_text`` drops ``\\r``, trims leading and trailing spaces and new
  lines, and the text must still be non-empty.  The Bot API server then counts the length of that
  text (4096 for messages, 1024 for captions) in UTF-16 code units.
* ``find_entities``: Telegram adds ``bot_command``, ``mention``, ``hashtag``, ``cashtag`` and
  ``url`` entities it finds in plain text.  Only the clear cases are found here (see the regular
  expressions below); tdlib's URL and phone heuristics are not reproduced.
"""

from __future__ import annotations

import re
from typing import Any

from .entities_common import (
    _TYPE_ORDER,
    Entity,
    EntityParseError,
    _sorted,
    checked_link,
    utf16_len,
)
from .entities_html import parse_html
from .entities_markdown import parse_markdown, parse_markdown_v2

__all__ = [
    "PARSERS",
    "Entity",
    "EntityParseError",
    "check_entities",
    "checked_link",
    "find_entities",
    "fix_text",
    "format_text",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "utf16_len",
]


def fix_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """The trimming part of tdlib's ``fix_formatted_text``.

    Drops ``\\r``, trims spaces and new lines at both ends, shifts and clips entities, and drops
    entities left empty.  Returns ("", []) when nothing but white space is left.
    """
    if "\r" in text:
        if entities:
            text, entities = _drop_cr(text, entities)
        else:
            text = text.replace("\r", "")
    stripped = text.strip(" \n")
    if not stripped:
        return "", []
    if stripped is text or len(stripped) == len(text):
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip(" \n"))])
    total = utf16_len(stripped)
    fixed = []
    for ent in entities:
        start = max(ent["offset"] - lead, 0)
        end = min(ent["offset"] + ent["length"] - lead, total)
        if end > start:
            new = dict(ent)
            new["offset"] = start
            new["length"] = end - start
            fixed.append(new)
    return stripped, fixed


def _drop_cr(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    # map each UTF-16 position to its position once the \r are gone
    positions = []
    pos = 0
    for ch in text:
        positions.append(pos)
        if ch != "\r":
            pos += 2 if ord(ch) > 0xFFFF else 1
        if ord(ch) > 0xFFFF:
            positions.append(pos)
    positions.append(pos)
    fixed = []
    for ent in entities:
        start = positions[min(ent["offset"], len(positions) - 1)]
        end = positions[min(ent["offset"] + ent["length"], len(positions) - 1)]
        if end > start:
            new = dict(ent)
            new["offset"], new["length"] = start, end - start
            fixed.append(new)
    return text.replace("\r", ""), fixed


_FOUND = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?)(?![\w/])"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{5,32})(?![\w@])"
    r"|(?P<hashtag>(?<![\w#])#[^\W\d_][\w]{0,255})"
    r"|(?P<cashtag>(?<![\w$])\$[A-Z]{1,8})(?![\w$])"
    r"|(?P<url>(?<![\w/])https?://[^\s<>\"]+[^\s<>\".,;:!?)\]}'])"
)
_CONTINUOUS = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def find_entities(text: str, entities: list[Entity] | None = None) -> list[Entity]:
    """Entities Telegram finds in the text itself, merged into the given ones."""
    result = list(entities or [])
    if not any(ch in text for ch in "/@#$:"):
        return result
    blocked = [(e["offset"], e["offset"] + e["length"]) for e in result if e["type"] in _CONTINUOUS]
    ascii_text = text.isascii()
    for m in _FOUND.finditer(text):
        kind = m.lastgroup or ""
        start, end = m.span(kind)
        if ascii_text:
            offset, length = start, end - start
        else:
            offset = utf16_len(text[:start])
            length = utf16_len(text[start:end])
        if any(offset < b_end and b_start < offset + length for b_start, b_end in blocked):
            continue
        result.append({"type": kind, "offset": offset, "length": length})
    return _sorted(result)


_ENTITY_TYPES = frozenset(_TYPE_ORDER) | {"text_mention"}


def check_entities(raw: Any, text_u16: int) -> list[Entity]:
    """Validate an explicit ``entities`` list (JSON objects as the Bot API takes them)."""
    if not isinstance(raw, list):
        raise EntityParseError('Field "entities" must be an Array')
    result = []
    for item in raw:
        if not isinstance(item, dict):
            raise EntityParseError("expected an Object")
        kind = item.get("type")
        if kind not in _ENTITY_TYPES:
            raise EntityParseError("Unsupported type specified")
        try:
            offset = int(item["offset"])
            length = int(item["length"])
        except (KeyError, TypeError, ValueError) as exc:
            raise EntityParseError('Field "offset" must be a valid Number') from exc
        if offset < 0 or offset > 1000000:
            raise EntityParseError(f"Receive an entity with incorrect offset {offset}")
        if length < 0 or length > 1000000:
            raise EntityParseError(f"Receive an entity with incorrect length {length}")
        if length == 0 or offset >= text_u16:
            continue
        ent: Entity = {"type": kind, "offset": offset, "length": min(length, text_u16 - offset)}
        for extra in ("url", "language", "custom_emoji_id", "user"):
            if extra in item:
                ent[extra] = item[extra]
        result.append(ent)
    return _sorted(result)


PARSERS = {
    "html": parse_html,
    "markdownv2": parse_markdown_v2,
    "markdown": parse_markdown,
}


def format_text(
    text: str, parse_mode: str | None, raw_entities: Any = None, *, auto: bool = True
) -> tuple[str, list[Entity]]:
    """Text and entities as Telegram would store them; raises EntityParseError."""
    if parse_mode:
        parser = PARSERS.get(parse_mode.lower())
        if parser is None:
            raise KeyError(parse_mode)
        plain, entities = parser(text)
    elif raw_entities is not None:
        plain = text
        entities = check_entities(raw_entities, utf16_len(text))
    else:
        plain, entities = text, []
    plain, entities = fix_text(plain, entities)
    if auto and plain:
        entities = find_entities(plain, entities)
    return plain, entities
