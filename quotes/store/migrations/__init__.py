"""The store's schema migrations (alembic: env.py, versions/, one file a revision)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

_FIELD = re.compile(r'^(revision|down_revision) = (?:"([^"]+)"|None)$', re.MULTILINE)


@functools.cache
def head() -> str:
    """The newest revision, read from the migration files themselves: each says `revision = "…"`
    and `down_revision = "…"`, and the head is the revision no other revises. Without alembic,
    whose imports are a tenth of a start-up that finds the schema at head
    (tests/quotes/test_store.py checks that it is alembic's own head)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (Path(__file__).parent / "versions").glob("*.py"):
        fields = dict(_FIELD.findall(path.read_text(encoding="utf-8")))
        revisions.add(fields["revision"])
        revised.add(fields["down_revision"])
    (newest,) = revisions - revised
    return newest
