"""The HTML parse mode as tdlib parses it (``parse_html``, ``decode_html_entity``): the tags,
their attributes, character references, and the entity each tag makes; :func:`parse_html` walks
the text and hands each reference, start tag and end tag to a step of its own.
"""

from __future__ import annotations

import re
from typing import Any

from .entities_common import (
    Entity,
    EntityParseError,
    _at,
    _is_alnum,
    _is_space,
    _sorted,
    _u16_of_bytes,
    checked_link,
)

_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip


def _decode_html_entity(b: bytes, pos: int) -> tuple[int, int]:
    """(code point, position after the reference), or (0, pos) if it is not one."""
    n = len(b)

    def at(i: int) -> int:
        return b[i] if i < n else 0

    end = pos + 1
    res = 0
    if at(pos + 1) == 0x23:  # '#'
        end += 1
        if at(pos + 2) == 0x78:  # 'x'
            end += 1
            while chr(at(end)) in "0123456789abcdefABCDEF" and at(end):
                res = res * 16 + int(chr(b[end]), 16)
                end += 1
        else:
            while 48 <= at(end) <= 57:
                res = res * 10 + b[end] - 48
                end += 1
        if res == 0 or res >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while 65 <= at(end) <= 90 or 97 <= at(end) <= 122:
            end += 1
        name = b[pos + 1 : end]
        res = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}.get(name, 0)
        if not res:
            return 0, pos
    if at(end) == 0x3B:  # ';'
        end += 1
    return res, end


_HTML_SPECIAL = re.compile(rb"[<&]")


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into plain text and Bot API entities (tdlib ``parse_html``)."""
    b = text.encode("utf-8")
    n = len(b)
    out = bytearray()
    u16 = 0
    entities: list[Entity] = []
    # stack of [tag_name, argument, utf16 offset, byte position in out]
    stack: list[list[Any]] = []
    i = 0
    while i < n:
        m = _HTML_SPECIAL.search(b, i)
        if m is None:
            chunk = b[i:]
            out += chunk
            u16 += _u16_of_bytes(chunk)
            break
        j = m.start()
        if j > i:
            chunk = b[i:j]
            out += chunk
            u16 += _u16_of_bytes(chunk)
            i = j
        if b[i] == 0x26:  # '&'
            i, units = _html_reference(b, i, out)
            u16 += units
            continue
        # '<'
        begin = i
        if i + 1 >= n or b[i + 1] != 0x2F:  # start tag
            tag, argument, i = _html_start_tag(b, begin)
            stack.append([tag, argument, u16, len(out)])
            continue
        # end tag
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
        end_tag, i = _html_end_tag(b, begin)
        tag, argument, offset, begin_pos = stack.pop()
        if end_tag and end_tag != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", found "</{end_tag}>"'
            )
        if u16 > offset:
            length = u16 - offset
            _html_entity(entities, tag, argument, offset, length, bytes(out[begin_pos:]))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.decode("utf-8", "replace"), _sorted(entities)


def _html_reference(b: bytes, i: int, out: bytearray) -> tuple[int, int]:
    """At a '&': append the character it stands for (or the '&' itself) to ``out``; answers the
    position after it and the UTF-16 code units appended."""
    code, end = _decode_html_entity(b, i)
    if not code:
        out.append(b[i])
        return i + 1, 1
    if 0xD800 <= code <= 0xDFFF:
        raise EntityParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    out += chr(code).encode("utf-8")
    return end, 2 if code > 0xFFFF else 1


def _html_start_tag(b: bytes, begin: int) -> tuple[str, str, int]:
    """The start tag at ``begin`` (its '<'): its name, its argument (href, language, class,
    emoji-id, expandable) and the position after its '>'."""
    i = begin + 1
    while _at(b, i) and not _is_space(_at(b, i)) and _at(b, i) != 0x3E:
        i += 1
    if _at(b, i) == 0:
        raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
    tag = b[begin + 1 : i].decode("utf-8", "replace").lower()
    if tag not in _HTML_TAGS:
        raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
    argument = ""
    while _at(b, i) != 0x3E:
        while _at(b, i) and _is_space(_at(b, i)):
            i += 1
        if _at(b, i) == 0x3E:
            break
        i, attr_name, value = _html_attribute(b, i, tag, begin)
        if value is None:
            # expandable is a boolean attribute (tdlib allows it without a value)
            argument = "1"
            continue
        if tag == "a" and attr_name == "href":
            argument = value
        elif tag == "code" and attr_name == "class" and value.startswith("language-"):
            argument = value[9:]
        elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
            argument = value[3:]
        elif tag == "tg-emoji" and attr_name == "emoji-id":
            argument = value
        elif tag == "blockquote" and attr_name == "expandable":
            argument = "1"
    if tag == "span" and argument != "spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
    return tag, argument, i + 1  # skip '>'


def _html_attribute(b: bytes, i: int, tag: str, begin: int) -> tuple[int, str, str | None]:
    """The attribute at ``i`` in the start tag ``tag`` (which begins at ``begin``): the position
    after it, its name and its value (None for ``expandable`` of a blockquote without one)."""
    attr_begin = i
    while _at(b, i) and not _is_space(_at(b, i)) and _at(b, i) not in (0x3D, 0x3E):
        i += 1
    attr_name = b[attr_begin:i].decode("utf-8", "replace")
    if not attr_name:
        raise EntityParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
    while _at(b, i) and _is_space(_at(b, i)):
        i += 1
    if _at(b, i) != 0x3D:
        if tag == "blockquote" and attr_name == "expandable":
            return i, attr_name, None
        raise EntityParseError(
            f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte offset {begin}'
        )
    i += 1
    while _at(b, i) and _is_space(_at(b, i)):
        i += 1
    if _at(b, i) == 0:
        raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
    if _at(b, i) not in (0x27, 0x22):
        token_begin = i
        while _is_alnum(_at(b, i)) or _at(b, i) in (0x2E, 0x2D):
            i += 1
        value = b[token_begin:i].decode("utf-8", "replace").lower()
        if not _is_space(_at(b, i)) and _at(b, i) != 0x3E:
            raise EntityParseError(f"Unexpected end of name token at byte offset {token_begin}")
    else:
        i, value = _html_quoted_value(b, i)
    if _at(b, i) == 0:
        raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
    return i, attr_name, value


def _html_quoted_value(b: bytes, i: int) -> tuple[int, str]:
    """The attribute value quoted at ``i`` (character references decoded): the position after
    the closing quote (or the end of the text) and the value."""
    quote = b[i]
    i += 1
    val = bytearray()
    while _at(b, i) != quote and _at(b, i) != 0:
        if b[i] == 0x26:
            code, end = _decode_html_entity(b, i)
            if code:
                val += chr(code).encode("utf-8")
                i = end
                continue
        val.append(b[i])
        i += 1
    if _at(b, i) == quote:
        i += 1
    return i, val.decode("utf-8", "replace")


def _html_end_tag(b: bytes, begin: int) -> tuple[str, int]:
    """The end tag at ``begin`` (its '<'): its name ('' for ``</>``) and the position after it."""
    i = begin + 1
    while _at(b, i) and not _is_space(_at(b, i)) and _at(b, i) != 0x3E:
        i += 1
    end_tag = b[begin + 2 : i].decode("utf-8", "replace").lower()
    while _at(b, i) and _is_space(_at(b, i)):
        i += 1
    if _at(b, i) != 0x3E:
        raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
    return end_tag, i + 1


def _html_entity(
    entities: list[Entity], tag: str, argument: str, offset: int, length: int, inner: bytes
) -> None:
    simple = {
        "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
        "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
        "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler",
    }  # fmt: skip
    if tag in simple:
        entities.append({"type": simple[tag], "offset": offset, "length": length})
    elif tag == "blockquote":
        kind = "expandable_blockquote" if argument else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
    elif tag == "tg-emoji":
        if not argument.isdigit() or int(argument) == 0 or int(argument) >= 2**63:
            raise EntityParseError("Invalid custom emoji identifier specified")
        entities.append(
            {"type": "custom_emoji", "offset": offset, "length": length,
             "custom_emoji_id": argument}
        )  # fmt: skip
    elif tag == "a":
        url = argument or inner.decode("utf-8", "replace")
        checked = checked_link(url)
        if checked:
            entities.append({"type": "text_link", "offset": offset, "length": length, "url": checked})
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
            and last.get("language")
        ):
            last["type"] = "pre"
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif tag == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "pre"
            and last["offset"] == offset
            and last["length"] == length
            and argument
        ):
            last["language"] = argument
        else:
            ent: Entity = {"type": "code", "offset": offset, "length": length}
            if argument:
                ent["language"] = argument  # dropped below unless it becomes a pre
            entities.append(ent)
