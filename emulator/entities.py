"""Message text formatting: HTML, MarkdownV2 and Markdown parse modes, as Telegram parses them.

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

Entity = dict[str, Any]


class EntityParseError(ValueError):
    """The text cannot be parsed in its parse mode; the message is tdlib's."""


def utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _u16_of_bytes(chunk: bytes) -> int:
    if chunk.isascii():
        return len(chunk)
    return len(chunk.decode("utf-8", "replace").encode("utf-16-le")) // 2


_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
# td::is_space counts the terminating NUL as space; at() answers 0 past the end
_SPACE = frozenset(b" \t\r\n\v\x00")


def _is_space(c: int) -> bool:
    return c in _SPACE


def _is_alnum(c: int) -> bool:
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122


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

    def at(i: int) -> int:
        return b[i] if i < n else 0

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
        c = b[i]
        if c == 0x26:  # '&'
            code, end = _decode_html_entity(b, i)
            if code:
                if 0xD800 <= code <= 0xDFFF:
                    raise EntityParseError(
                        "Text contains invalid Unicode characters after decoding HTML entities, "
                        "check for unmatched surrogate code units"
                    )
                out += chr(code).encode("utf-8")
                u16 += 2 if code > 0xFFFF else 1
                i = end
            else:
                out.append(c)
                u16 += 1
                i += 1
            continue
        # '<'
        begin = i
        i += 1
        if at(i) != 0x2F:  # start tag
            while at(i) and not _is_space(at(i)) and at(i) != 0x3E:
                i += 1
            if at(i) == 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
            tag = b[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _HTML_TAGS:
                raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while at(i) != 0x3E:
                while at(i) and _is_space(at(i)):
                    i += 1
                if at(i) == 0x3E:
                    break
                attr_begin = i
                while at(i) and not _is_space(at(i)) and at(i) not in (0x3D, 0x3E):
                    i += 1
                attr_name = b[attr_begin:i].decode("utf-8", "replace")
                if not attr_name:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while at(i) and _is_space(at(i)):
                    i += 1
                if at(i) != 0x3D:
                    if tag == "blockquote" and attr_name == "expandable":
                        # expandable is a boolean attribute (tdlib allows it without a value)
                        argument = "1"
                        continue
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {begin}'
                    )
                i += 1
                while at(i) and _is_space(at(i)):
                    i += 1
                if at(i) == 0:
                    raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if at(i) not in (0x27, 0x22):
                    token_begin = i
                    while _is_alnum(at(i)) or at(i) in (0x2E, 0x2D):
                        i += 1
                    value = b[token_begin:i].decode("utf-8", "replace").lower()
                    if not _is_space(at(i)) and at(i) != 0x3E:
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    quote = b[i]
                    i += 1
                    val = bytearray()
                    while at(i) != quote and at(i) != 0:
                        if b[i] == 0x26:
                            code, end = _decode_html_entity(b, i)
                            if code:
                                val += chr(code).encode("utf-8")
                                i = end
                                continue
                        val.append(b[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = val.decode("utf-8", "replace")
                if at(i) == 0:
                    raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
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
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
                )
            stack.append([tag, argument, u16, len(out)])
            i += 1  # skip '>'
            continue
        # end tag
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
        while at(i) and not _is_space(at(i)) and at(i) != 0x3E:
            i += 1
        end_tag = b[begin + 2 : i].decode("utf-8", "replace").lower()
        while at(i) and _is_space(at(i)):
            i += 1
        if at(i) != 0x3E:
            raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
        i += 1
        tag, argument, offset, begin_pos = stack.pop()
        if end_tag and end_tag != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_tag}>"'
            )
        if u16 > offset:
            length = u16 - offset
            _html_entity(entities, tag, argument, offset, length, bytes(out[begin_pos:]))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.decode("utf-8", "replace"), _sorted(entities)


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
            entities.append(
                {"type": "text_link", "offset": offset, "length": length, "url": checked}
            )
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


def _sorted(entities: list[Entity]) -> list[Entity]:
    for ent in entities:
        if ent["type"] == "code":
            ent.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"], _TYPE_ORDER.get(e["type"], 99)))
    return entities


# tdlib sorts entities by offset, then longer first, then by type
_TYPE_ORDER = {
    t: n
    for n, t in enumerate(
        [
            "mention", "hashtag", "bot_command", "url", "email", "bold", "italic", "code", "pre",
            "text_link", "text_mention", "cashtag", "phone_number", "underline",
            "strikethrough", "blockquote", "bank_card", "spoiler", "custom_emoji",
            "expandable_blockquote",
        ]
    )
}  # fmt: skip

_SCHEMES = ("http://", "https://", "tg://", "ton://", "ftp://")
_HOST = re.compile(r"^[A-Za-z0-9\-._~%]+(?::\d+)?$")


def checked_link(url: str) -> str:
    """A simplified ``LinkManager::get_checked_link``: '' when the URL is not acceptable."""
    url = url.strip()
    if not url:
        return ""
    lowered = url.lower()
    if not lowered.startswith(_SCHEMES):
        if "://" in url or lowered.startswith(("javascript:", "data:")):
            return ""
        url = "http://" + url
        lowered = url.lower()
    if lowered.startswith(("tg://", "ton://")):
        return url
    rest = url.split("://", 1)[1]
    host, _, path = rest.partition("/")
    if not host or not _HOST.match(host) or "." not in host.split(":")[0]:
        return ""
    return f"{url.split('://', 1)[0]}://{host}/{path}"


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
        is_end = False
        if stack:
            kind = stack[-1][0]
            if have_blockquote and c == 0x0A and (i + 1 == n or b[i + 1] != 0x3E):
                is_end = True
            elif kind == "bold":
                is_end = c == 0x2A
            elif kind == "italic":
                is_end = c == 0x5F and at(i + 1) != 0x5F
            elif kind == "code":
                is_end = c == 0x60
            elif kind in ("pre", "precode"):
                is_end = c == 0x60 and at(i + 1) == 0x60 and at(i + 2) == 0x60
            elif kind in ("text_link", "custom_emoji"):
                is_end = c == 0x5D
            elif kind == "underline":
                is_end = c == 0x5F and at(i + 1) == 0x5F
            elif kind == "strikethrough":
                is_end = c == 0x7E
            elif kind == "spoiler":
                is_end = c == 0x7C and at(i + 1) == 0x7C
        if not is_end:
            argument = ""
            byte_offset = i
            kind = ""
            if c == 0x5F:
                if at(i + 1) == 0x5F:
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif c == 0x2A:
                kind = "bold"
            elif c == 0x7E:
                kind = "strikethrough"
            elif c == 0x7C and at(i + 1) == 0x7C:
                i += 1
                kind = "spoiler"
            elif c == 0x5B:
                kind = "text_link"
            elif c == 0x60:
                if at(i + 1) == 0x60 and at(i + 2) == 0x60:
                    i += 3
                    kind = "pre"
                    lang_end = i
                    while at(lang_end) and not _is_space(at(lang_end)) and at(lang_end) != 0x60:
                        lang_end += 1
                    if i != lang_end and lang_end < n and b[lang_end] != 0x60:
                        kind = "precode"
                        argument = b[i:lang_end].decode("utf-8", "replace")
                        i = lang_end
                    if at(i) in (0x0A, 0x0D):
                        if at(i + 1) in (0x0A, 0x0D) and at(i) != at(i + 1):
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "code"
            elif c == 0x21 and at(i + 1) == 0x5B:
                i += 1
                kind = "custom_emoji"
            elif c == 0x0A:
                out.append(0x0A)
                u16 += 1
                if i + 1 < n and b[i + 1] == 0x3E:
                    i += 1
                    if not have_blockquote:
                        kind = "blockquote"
                        have_blockquote = True
                if not kind:
                    i += 1
                    continue
            elif c == 0x3E and i == 0:
                kind = "blockquote"
                have_blockquote = True
            if not kind:
                raise EntityParseError(
                    f"Character '{chr(c)}' is reserved and must be escaped with the preceding '\\'"
                )
            stack.append([kind, argument, u16, byte_offset, len(out)])
            i += 1
            continue
        # end of an entity
        kind, argument, offset, byte_offset, begin_pos = stack[-1]
        if c == 0x0A and kind != "blockquote":
            raise EntityParseError(
                f"Can't find end of {_MDV2_ENTITY_NAMES[kind]} entity at byte offset {byte_offset}"
            )
        skip = u16 == offset
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind in ("pre", "precode"):
            i += 2
        elif kind == "text_link":
            if at(i + 1) != 0x28:
                url = bytes(out[begin_pos:]).decode("utf-8", "replace")
            else:
                i += 2
                url_begin = i
                ub = bytearray()
                while i < n and b[i] != 0x29:
                    if b[i] == 0x5C and 0 < at(i + 1) <= 126:
                        ub.append(b[i + 1])
                        i += 2
                        continue
                    ub.append(b[i])
                    i += 1
                if at(i) != 0x29:
                    raise EntityParseError(f"Can't find end of a URL at byte offset {url_begin}")
                url = ub.decode("utf-8", "replace")
            argument = checked_link(url)
            if not argument:
                skip = True
        elif kind == "custom_emoji":
            if at(i + 1) != 0x28:
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            i += 2
            url_begin = i
            ub = bytearray()
            while i < n and b[i] != 0x29:
                ub.append(b[i])
                i += 1
            if at(i) != 0x29:
                raise EntityParseError(
                    f"Can't find end of a custom emoji URL at byte offset {url_begin}"
                )
            m2 = re.fullmatch(rb"tg://emoji\?id=(\d+)", bytes(ub))
            if not m2:
                raise EntityParseError("Custom emoji URL must have an emoji identifier")
            argument = m2.group(1).decode()
        elif kind == "blockquote":
            have_blockquote = False
            out.append(c)
            u16 += 1
        if not skip:
            _md_entity(entities, kind, argument, offset, u16 - offset)
        stack.pop()
        i += 1
    if have_blockquote and stack and stack[-1][0] == "blockquote":
        _, _, offset, _, _ = stack.pop()
        if u16 != offset:
            entities.append({"type": "blockquote", "offset": offset, "length": u16 - offset})
    if stack:
        kind, _, _, byte_offset, _ = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_ENTITY_NAMES[kind]} entity at byte offset {byte_offset}"
        )
    return out.decode("utf-8", "replace"), _sorted(entities)


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
            i += 2
            is_pre = True
            lang_end = i
            while at(lang_end) and not _is_space(at(lang_end)) and at(lang_end) != 0x60:
                lang_end += 1
            if i != lang_end and lang_end < n and b[lang_end] != 0x60:
                language = b[i:lang_end].decode("utf-8", "replace")
                i = lang_end
            if at(i) in (0x0A, 0x0D):
                if at(i + 1) in (0x0A, 0x0D) and at(i) != at(i + 1):
                    i += 2
                else:
                    i += 1
        offset = u16
        while i < n and (
            b[i] != end_char or (is_pre and not (at(i + 1) == 0x60 and at(i + 2) == 0x60))
        ):
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
                    entities.append(
                        {"type": "text_link", "offset": offset, "length": length, "url": checked}
                    )
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
