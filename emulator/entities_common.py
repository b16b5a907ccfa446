"""What the parse modes share: :class:`EntityParseError` (tdlib's messages), UTF-16 lengths
(of text, and of UTF-8 bytes), tdlib's byte classes, the order tdlib sorts entities in, and
:func:`checked_link`, which accepts or refuses a link's URL.
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


# td::is_space counts the terminating NUL as space; at() answers 0 past the end
_SPACE = frozenset(b" \t\r\n\v\x00")


def _at(b: bytes, i: int) -> int:
    """The byte at ``i``, or 0 past the end (tdlib reads the terminating NUL there)."""
    return b[i] if i < len(b) else 0


def _is_space(c: int) -> bool:
    return c in _SPACE


def _is_alnum(c: int) -> bool:
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122


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
