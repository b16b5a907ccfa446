"""Text shown in a limited space: one line, cut at a word with "…" when it is too long."""

from __future__ import annotations


def snippet(text: str, limit: int = 90) -> str:
    """Return the start of a text on one line, cut at a word with "…" when longer than `limit`."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0]
    return (cut if len(cut) > limit // 2 else line[: limit - 1]) + "…"
