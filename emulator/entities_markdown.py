"""The MarkdownV2 and legacy Markdown parse modes as tdlib parses them (``parse_markdown_v2``,
``parse_markdown``): reserved characters and escapes, where each entity opens and closes, links,
custom emoji, pre blocks with a language, and blockquotes.
"""

from __future__ import annotations

import re
from typing import Any

from .entities_common import Entity, EntityParseError, _at, _is_space, _sorted, _u16_of_bytes, checked_link

_MDV2_ENTITY_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "precode": "PreCode",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}
_MDV2_RESERVED = frozenset(b"_*[]()~`>#+-=|{}.!\n")
_MDV2_PLAIN = re.compile(rb"[_*\[\]()~`>#+\-=|{}.!\n\\]")


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2 (tdlib ``parse_markdown_v2``)."""
    b = text.encode("utf-8")
    n = len(b)

    def at(i: int) -> int:
        return b[i] if i < n else 0

    out = bytearray()
    u16 = 0
    entities: list[Entity] = []
    # [kind, argument, utf16 offset, byte offset in the input, byte position in out]
    stack: list[list[Any]] = []
    have_blockquote = False
    i = 0
    while i < n:
        in_code = bool(stack) and stack[-1][0] in ("code", "pre", "precode")
        if not in_code:
            m = _MDV2_PLAIN.search(b, i)
            j = n if m is None else m.start()
            if j > i:
                chunk = b[i:j]
                out += chunk
                u16 += _u16_of_bytes(chunk)
                i = j
                continue
        c = b[i]
        if c == 0x5C and 0 < at(i + 1) <= 126:  # backslash escape
            out.append(b[i + 1])
            u16 += 1
            i += 2
            continue
        reserved = b"`" if in_code else _MDV2_RESERVED
        if c not in reserved:
            if (c & 0xC0) != 0x80:
                u16 += 2 if c >= 0xF0 else 1
            out.append(c)
            i += 1
            continue
        if not (stack and _mdv2_ends(b, i, stack[-1][0], have_blockquote)):
            byte_offset = i
            if c == 0x0A:  # a new line; a '>' after it starts a blockquote unless one is open
                out.append(0x0A)
                u16 += 1
                kind, argument = "", ""
                if i + 1 < n and b[i + 1] == 0x3E:
                    i += 1
                    if not have_blockquote:
                        kind = "blockquote"
                        have_blockquote = True
                if not kind:
                    i += 1
                    continue
            else:
                kind, argument, i = _mdv2_opening(b, i)
                if kind == "blockquote":
                    have_blockquote = True
            stack.append([kind, argument, u16, byte_offset, len(out)])
            i += 1
            continue
        # end of an entity
        kind, argument, offset, byte_offset, begin_pos = stack[-1]
        if c == 0x0A and kind != "blockquote":
            raise _mdv2_unclosed(kind, byte_offset)
        skip = u16 == offset
        if kind == "blockquote":
            have_blockquote = False
            out.append(c)
            u16 += 1
        else:
            i, argument, valid = _mdv2_closing(b, i, kind, argument, out, begin_pos)
            skip = skip or not valid
        if not skip:
            _md_entity(entities, kind, argument, offset, u16 - offset)
        stack.pop()
        i += 1
    _mdv2_end_of_text(stack, have_blockquote, u16, entities)
    return out.decode("utf-8", "replace"), _sorted(entities)


def _mdv2_end_of_text(
    stack: list[list[Any]], have_blockquote: bool, u16: int, entities: list[Entity]
) -> None:
    """At the end of the text: a blockquote still open ends there; any other open entity is an
    error."""
    if have_blockquote and stack and stack[-1][0] == "blockquote":
        _, _, offset, _, _ = stack.pop()
        if u16 != offset:
            entities.append({"type": "blockquote", "offset": offset, "length": u16 - offset})
    if stack:
        kind, _, _, byte_offset, _ = stack[-1]
        raise _mdv2_unclosed(kind, byte_offset)


def _mdv2_unclosed(kind: str, byte_offset: int) -> EntityParseError:
    return EntityParseError(
        f"Can't find end of {_MDV2_ENTITY_NAMES[kind]} entity at byte offset {byte_offset}"
    )


def _mdv2_ends(b: bytes, i: int, kind: str, have_blockquote: bool) -> bool:
    """Does the reserved character at ``i`` end the open entity of this kind?"""
    n = len(b)
    c = b[i]
    if have_blockquote and c == 0x0A and (i + 1 == n or b[i + 1] != 0x3E):
        return True
    if kind == "bold":
        return c == 0x2A
    if kind == "italic":
        return c == 0x5F and _at(b, i + 1) != 0x5F
    if kind == "code":
        return c == 0x60
    if kind in ("pre", "precode"):
        return c == 0x60 and _at(b, i + 1) == 0x60 and _at(b, i + 2) == 0x60
    if kind in ("text_link", "custom_emoji"):
        return c == 0x5D
    if kind == "underline":
        return c == 0x5F and _at(b, i + 1) == 0x5F
    if kind == "strikethrough":
        return c == 0x7E
    if kind == "spoiler":
        return c == 0x7C and _at(b, i + 1) == 0x7C
    return False


def _mdv2_opening(b: bytes, i: int) -> tuple[str, str, int]:
    """The entity the reserved character at ``i`` (not a new line) starts: its kind, its argument
    (a pre's language) and the position of the last byte of its opening sequence."""
    c = b[i]
    argument = ""
    kind = ""
    if c == 0x5F:
        if _at(b, i + 1) == 0x5F:
            kind = "underline"
            i += 1
        else:
            kind = "italic"
    elif c == 0x2A:
        kind = "bold"
    elif c == 0x7E:
        kind = "strikethrough"
    elif c == 0x7C and _at(b, i + 1) == 0x7C:
        i += 1
        kind = "spoiler"
    elif c == 0x5B:
        kind = "text_link"
    elif c == 0x60:
        if _at(b, i + 1) == 0x60 and _at(b, i + 2) == 0x60:
            i, argument = _pre_language(b, i + 3)
            kind = "precode" if argument else "pre"
            i -= 1
        else:
            kind = "code"
    elif c == 0x21 and _at(b, i + 1) == 0x5B:
        i += 1
        kind = "custom_emoji"
    elif c == 0x3E and i == 0:
        kind = "blockquote"
    if not kind:
        raise EntityParseError(
            f"Character '{chr(c)}' is reserved and must be escaped with the preceding '\\'"
        )
    return kind, argument, i


def _pre_language(b: bytes, i: int) -> tuple[int, str]:
    """After the ``` that open a pre at ``i``: the position after its language (if any) and the
    new line that follows it, and the language ('' when none)."""
    n = len(b)
    language = ""
    lang_end = i
    while _at(b, lang_end) and not _is_space(_at(b, lang_end)) and _at(b, lang_end) != 0x60:
        lang_end += 1
    if i != lang_end and lang_end < n and b[lang_end] != 0x60:
        language = b[i:lang_end].decode("utf-8", "replace")
        i = lang_end
    if _at(b, i) in (0x0A, 0x0D):
        if _at(b, i + 1) in (0x0A, 0x0D) and _at(b, i) != _at(b, i + 1):
            i += 2
        else:
            i += 1
    return i, language


def _mdv2_closing(
    b: bytes, i: int, kind: str, argument: str, out: bytearray, begin_pos: int
) -> tuple[int, str, bool]:
    """At the character ``i`` that ends an entity (not a blockquote): the position of the last
    byte of its closing sequence, its argument (a link's URL, a custom emoji's id), and whether
    it is kept (False for a link whose URL is not acceptable)."""
    n = len(b)
    if kind in ("underline", "spoiler"):
        return i + 1, argument, True
    if kind in ("pre", "precode"):
        return i + 2, argument, True
    if kind == "text_link":
        if _at(b, i + 1) != 0x28:
            url = bytes(out[begin_pos:]).decode("utf-8", "replace")
        else:
            i += 2
            url_begin = i
            ub = bytearray()
            while i < n and b[i] != 0x29:
                if b[i] == 0x5C and 0 < _at(b, i + 1) <= 126:
                    ub.append(b[i + 1])
                    i += 2
                    continue
                ub.append(b[i])
                i += 1
            if _at(b, i) != 0x29:
                raise EntityParseError(f"Can't find end of a URL at byte offset {url_begin}")
            url = ub.decode("utf-8", "replace")
        argument = checked_link(url)
        return i, argument, bool(argument)
    if kind == "custom_emoji":
        if _at(b, i + 1) != 0x28:
            raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
        i += 2
        url_begin = i
        ub = bytearray()
        while i < n and b[i] != 0x29:
            ub.append(b[i])
            i += 1
        if _at(b, i) != 0x29:
            raise EntityParseError(f"Can't find end of a custom emoji URL at byte offset {url_begin}")
        m2 = re.fullmatch(rb"tg://emoji\?id=(\d+)", bytes(ub))
        if not m2:
            raise EntityParseError("Custom emoji URL must have an emoji identifier")
        return i, m2.group(1).decode(), True
    return i, argument, True


def _md_entity(entities: list[Entity], kind: str, argument: str, offset: int, length: int) -> None:
    if kind == "precode":
        entities.append({"type": "pre", "offset": offset, "length": length, "language": argument})
    elif kind == "text_link":
        entities.append({"type": "text_link", "offset": offset, "length": length, "url": argument})
    elif kind == "custom_emoji":
        entities.append(
            {"type": "custom_emoji", "offset": offset, "length": length,
             "custom_emoji_id": argument}
        )  # fmt: skip
    else:
        entities.append({"type": kind, "offset": offset, "length": length})


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Legacy Markdown (tdlib ``parse_markdown``): _italic_ *bold* `code` ```pre``` [text](url)."""
    b = text.encode("utf-8")
    n = len(b)

    def at(i: int) -> int:
        return b[i] if i < n else 0

    out = bytearray()
    u16 = 0
    entities: list[Entity] = []
    i = 0
    while i < n:
        c = b[i]
        if c == 0x5C and at(i + 1) in (0x5F, 0x2A, 0x60, 0x5B):
            out.append(b[i + 1])
            u16 += 1
            i += 2
            continue
        if c not in (0x5F, 0x2A, 0x60, 0x5B):
            if (c & 0xC0) != 0x80:
                u16 += 2 if c >= 0xF0 else 1
            out.append(c)
            i += 1
            continue
        begin = i
        end_char = 0x5D if c == 0x5B else c
        is_pre = False
        language = ""
        i += 1
        if c == 0x60 and at(i) == 0x60 and at(i + 1) == 0x60:
            is_pre = True
            i, language = _pre_language(b, i + 2)
        offset = u16
        while i < n and (b[i] != end_char or (is_pre and not (at(i + 1) == 0x60 and at(i + 2) == 0x60))):
            if (b[i] & 0xC0) != 0x80:
                u16 += 2 if b[i] >= 0xF0 else 1
            out.append(b[i])
            i += 1
        if i == n:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        if u16 != offset:
            length = u16 - offset
            if c == 0x5F:
                entities.append({"type": "italic", "offset": offset, "length": length})
            elif c == 0x2A:
                entities.append({"type": "bold", "offset": offset, "length": length})
            elif c == 0x5B:
                if at(i + 1) != 0x28:
                    url = b[begin + 1 : i].decode("utf-8", "replace")
                else:
                    i += 2
                    ub = bytearray()
                    while i < n and b[i] != 0x29:
                        ub.append(b[i])
                        i += 1
                    url = ub.decode("utf-8", "replace")
                checked = checked_link(url)
                if checked:
                    entities.append({"type": "text_link", "offset": offset, "length": length, "url": checked})
            elif is_pre:
                ent: Entity = {"type": "pre", "offset": offset, "length": length}
                if language:
                    ent["language"] = language
                entities.append(ent)
            else:
                entities.append({"type": "code", "offset": offset, "length": length})
        if is_pre:
            i += 2
        i += 1
    return out.decode("utf-8", "replace"), _sorted(entities)
