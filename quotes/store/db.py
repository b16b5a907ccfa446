"""The store: the quotes, sources, speakers, picks and audit log, behind methods that take the time.

This module holds those tables' SQL; the schema and its migrations sit beside it
(quotes/store/schema.py, quotes/store/migrations/). Two other places query the same database
for a job of their own: quotes/search.py (finding quotes) and bot/delivery/ (the subscribers
and the delivery ledger).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

import quotes.store.migrations
from quotes.corpus import Corpus
from quotes.dates import day_text
from quotes.documents import Document
from quotes.model import CURATED, Correction, Pick, Quote, Source, Speaker
from quotes.selection import WINDOW, Choice, Ranked, choose, shuffle_key
from quotes.store import held
from quotes.store import schema as t
from quotes.store.engine import create_engine
from quotes.store.held import CheckReport
from quotes.store.rows import (
    digest,
    document_from_row,
    quote_fields,
    quote_from_row,
    source_fields,
    source_from_row,
    verification_fields,
)
from quotes.transfer import quote_record

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic's own table of the schema's revision (not part of the schema's metadata).
_ALEMBIC_VERSION = sa.table("alembic_version", sa.column("version_num", sa.String))

# A curated quote's columns that are the corpus file's alone, whatever an admin did.
CORPUS_OWN = ("text", "speaker", "source_id", "cites_id", "paragraph", "char_offset")

# Serialises picks on PostgreSQL (pg_advisory_xact_lock key; "qotd" in ASCII).
_PICK_LOCK = 0x716F7464
# Ids per `IN (...)` list when reading rows by id (well under SQLite's 32,766 parameters).
_ID_BATCH = 500


def _newest(column: sa.Column[Any], *where: sa.ColumnElement[bool]) -> sa.ScalarSelect[Any]:
    """The greatest value of an indexed column, read from the index's end."""
    return sa.select(column).where(*where).order_by(column.desc()).limit(1).scalar_subquery()


# How a correction names the fields it changed (the rest by their column name).
CORRECTED_FIELDS = {
    "text": "the text",
    "speaker": "the speaker",
    "speaker_role": "the speaker's role",
    "source_id": "the source",
    "cites_id": "the cited work",
    "date": "the date",
    "date_precision": "the date's precision",
    "hidden": "whether it is shown",
}


class SchemaOutdated(RuntimeError):
    """The database schema is older than the code; the message says how to fix it."""


def _audited(fields: dict[str, Any]) -> dict[str, Any]:
    """A quote's columns as the audit log keeps them (JSON: the check's time as text)."""
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in fields.items()}


class NotFound(LookupError):
    """A quote, source or date that the store does not have."""


@dataclass(frozen=True)
class LoadReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: tuple[str, ...] = ()  # curated quotes an admin has edited: left as the admin made them
    restored: tuple[str, ...] = ()  # of those, the ones whose text, speaker or source came back

    def __str__(self) -> str:
        text = f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged"
        text += f", {len(self.kept)} kept as admins edited them" if self.kept else ""
        if self.restored:
            text += f" ({len(self.restored)} with the corpus file's text, speaker and source restored)"
        return text


class Store:
    """Everything the service keeps, behind methods that take the time as an argument."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    @classmethod
    def connect(cls, url: str) -> Store:
        return cls(create_engine(url))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """Open a write transaction (on SQLite, one that holds the write lock from the start)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(qotd_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # --- schema ----------------------------------------------------------------------------

    def _alembic(self) -> Config:
        # Alembic (a tenth of a start-up's imports) only when there is a migration to run.
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(quotes.store.migrations.__file__).parent))
        return config

    def schema_revision(self) -> str | None:
        """The revision in alembic_version (None: no schema yet), read as alembic reads it."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(_ALEMBIC_VERSION.name):
                return None
            return conn.scalar(sa.select(_ALEMBIC_VERSION.c.version_num))

    def head_revision(self) -> str:
        return quotes.store.migrations.head()

    def upgrade(self) -> tuple[str | None, str]:
        """Apply every pending migration; return the revisions before and after."""
        before, head = self.schema_revision(), self.head_revision()
        if before == head:
            return before, head  # nothing to run: alembic is not even loaded
        from alembic import command  # see _alembic

        config = self._alembic()
        with self.write() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return before, head

    def check_schema(self) -> None:
        current, head = self.schema_revision(), self.head_revision()
        if current != head:
            raise SchemaOutdated(
                f"the database schema is at revision {current or '(none)'} and this version "
                f"of qotd needs {head}: run `qotd db upgrade`"
            )

    def prepare(self, corpus: Corpus, now: dt.datetime) -> LoadReport:
        """Bring an embedded SQLite database up to date (check any other), then load the corpus."""
        if self.is_sqlite:
            self.upgrade()
        else:
            self.check_schema()
        return self.load_corpus(corpus, now)

    # --- the curated corpus ----------------------------------------------------------------

    def load_corpus(self, corpus: Corpus, now: dt.datetime) -> LoadReport:
        """Add and update the curated records; never touch what an admin added or edited."""
        added = updated = unchanged = 0
        kept: list[str] = []
        restored: list[str] = []
        with self.write() as conn:
            for speaker in corpus.speakers:
                values = {"aliases": list(speaker.aliases), "notes": list(speaker.notes)}
                if conn.execute(
                    sa.select(t.speakers.c.name).where(t.speakers.c.name == speaker.name)
                ).first():
                    conn.execute(t.speakers.update().where(t.speakers.c.name == speaker.name).values(values))
                else:
                    conn.execute(t.speakers.insert().values(name=speaker.name, **values))
            # Sources a curated source cites come first, for the foreign key.
            for source in sorted(corpus.sources, key=lambda s: s.cites is not None):
                self._upsert_source(conn, source, now, curated_only=True)
            held.load_documents(conn, corpus, now)
            cycle = self._current_cycle(conn)
            # Only the corpus's own rows, and only what the comparison needs (the store may be large).
            wanted = ("id", "origin", "admin_edited", "curated_digest", *CORPUS_OWN)
            columns = [t.quotes.c[n] for n in wanted]
            ids = [quote.id for quote in corpus.quotes]
            existing = {
                r.id: r
                for start in range(0, len(ids), _ID_BATCH)
                for r in conn.execute(
                    sa.select(*columns).where(t.quotes.c.id.in_(ids[start : start + _ID_BATCH]))
                )
            }
            for quote in corpus.quotes:
                fields = quote_fields(quote)
                checked = digest(fields)
                row = existing.get(quote.id)
                if row is None:
                    conn.execute(
                        t.quotes.insert().values(
                            id=quote.id,
                            hidden=False,
                            origin=CURATED,
                            admin_edited=False,
                            curated_digest=checked,
                            created_at=now,
                            updated_at=now,
                            updated_by="corpus",
                            cycle_due=cycle,
                            shuffle_key=shuffle_key(quote.id, cycle),
                            **fields,
                            **held.placed(quote, held.verify_in(conn, quote, now)),
                        )
                    )
                    added += 1
                elif row.origin != CURATED or row.admin_edited:
                    kept.append(quote.id)
                    # The text, speaker and source are the corpus file's alone, edited or not.
                    own = {k: fields[k] for k in CORPUS_OWN}
                    if row.origin == CURATED and any(getattr(row, k) != v for k, v in own.items()):
                        restored.append(quote.id)
                        conn.execute(
                            t.quotes.update()
                            .where(t.quotes.c.id == quote.id)
                            .values(
                                updated_at=now,
                                updated_by="corpus",
                                **own,
                                **held.placed(quote, held.verify_in(conn, quote, now)),
                            )
                        )
                elif row.curated_digest == checked:
                    unchanged += 1
                else:
                    before = quote_fields(self._quote_in(conn, quote.id))
                    conn.execute(
                        t.quotes.update()
                        .where(t.quotes.c.id == quote.id)
                        .values(
                            curated_digest=checked,
                            updated_at=now,
                            updated_by="corpus",
                            **fields,
                            **held.placed(quote, held.verify_in(conn, quote, now)),
                        )
                    )
                    updated += 1
                    changed = {k: v for k, v in fields.items() if before[k] != v}
                    published = sa.select(t.daily_picks.c.date).where(t.daily_picks.c.quote_id == quote.id)
                    if changed and conn.execute(published.limit(1)).first() is not None:
                        self._correct(
                            conn, now, "corpus", quote.id, changed, "corrected in the curated corpus"
                        )
            checked_now = held.verify_unchecked(conn, now)
            report = LoadReport(added, updated, unchanged, tuple(kept), tuple(restored))
            if added or updated or restored:
                self._audit(conn, now, "corpus", "corpus.load", None, {"report": str(report)})
            elif checked_now:
                self._audit(conn, now, "corpus", "verification.backfill", None, {"quotes": checked_now})
        return report

    # --- reading ---------------------------------------------------------------------------

    def quote(self, quote_id: str) -> Quote | None:
        with self.read() as conn:
            row = conn.execute(sa.select(t.quotes).where(t.quotes.c.id == quote_id)).first()
        return quote_from_row(row) if row else None

    def source(self, source_id: str) -> Source | None:
        with self.read() as conn:
            row = conn.execute(sa.select(t.sources).where(t.sources.c.id == source_id)).first()
        return source_from_row(row) if row else None

    def provenance(self, quote: Quote) -> tuple[Source, Source | None]:
        """Return a quote's source and the work it cites (if any)."""
        with self.read() as conn:
            ids = [quote.source] + ([quote.cites] if quote.cites else [])
            rows = {
                r.id: source_from_row(r)
                for r in conn.execute(sa.select(t.sources).where(t.sources.c.id.in_(ids)))
            }
        return rows[quote.source], rows.get(quote.cites) if quote.cites else None

    def record(self, quote: Quote) -> dict[str, Any]:
        """Return a quote's JSON form (see quotes.transfer.quote_record)."""
        return quote_record(quote, *self.provenance(quote))

    def sources_by_id(self, ids: Iterable[str]) -> dict[str, Source]:
        """Return the sources of these ids that exist, by id."""
        wanted = sorted(set(ids))
        with self.read() as conn:
            return {
                r.id: source_from_row(r)
                for start in range(0, len(wanted), _ID_BATCH)
                for r in conn.execute(
                    sa.select(t.sources).where(t.sources.c.id.in_(wanted[start : start + _ID_BATCH]))
                )
            }

    def source_quotes(self, source_id: str) -> tuple[list[Quote], list[tuple[Quote, Source]]]:
        """Return a source's visible quotes and the visible quotes citing it (with their own
        sources), each in id order: two index lookups (migration 0005_scale), not a scan."""
        visible = t.quotes.c.hidden.is_(False)
        with self.read() as conn:
            own = conn.execute(
                sa.select(t.quotes).where(t.quotes.c.source_id == source_id, visible).order_by(t.quotes.c.id)
            )
            quotes_ = [quote_from_row(r) for r in own]
            citing = [
                quote_from_row(r)
                for r in conn.execute(
                    sa.select(t.quotes)
                    .where(t.quotes.c.cites_id == source_id, t.quotes.c.source_id != source_id, visible)
                    .order_by(t.quotes.c.id)
                )
            ]
        sources = self.sources_by_id(q.source for q in citing)
        return quotes_, [(q, sources[q.source]) for q in citing]

    def sources(self) -> list[Source]:
        with self.read() as conn:
            return [source_from_row(r) for r in conn.execute(sa.select(t.sources).order_by(t.sources.c.id))]

    def speakers(self) -> list[Speaker]:
        with self.read() as conn:
            rows = conn.execute(sa.select(t.speakers).order_by(t.speakers.c.name))
            return [Speaker(r.name, tuple(r.aliases), tuple(r.notes)) for r in rows]

    def quotes(self, include_hidden: bool = True) -> Iterator[Quote]:
        """Yield quotes in id order, streamed in batches."""
        query = sa.select(t.quotes).order_by(t.quotes.c.id)
        if not include_hidden:
            query = query.where(t.quotes.c.hidden.is_(False))
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=1000).execute(query)
            for row in result:
                yield quote_from_row(row)

    def last_seq(self, table: str) -> int:
        """The highest `seq` of `table` ("quotes", hidden ones counted, or "sources"), 0 if it is
        empty: one step down its index. Rows are numbered as they are added (0009_tallies), so
        runs of `seq` split a listing into pages that no later row moves."""
        column = {"quotes": t.quotes.c.seq, "sources": t.sources.c.seq}[table]
        with self.read() as conn:
            return conn.scalar(sa.select(sa.func.max(column))) or 0

    def seq_ids(self, table: str, first: int, last: int) -> list[str]:
        """The ids of the rows of `table` numbered `first` to `last` (both included), in that
        order; of quotes, the visible ones only: a range of the `seq` index."""
        table_ = {"quotes": t.quotes, "sources": t.sources}[table]
        seq = table_.c.seq
        # Hidden quotes are left out here, not in the WHERE: given `hidden = false`, SQLite
        # would read ix_quotes_selection's million entries and sort them rather than this range.
        hidden = t.quotes.c.hidden if table_ is t.quotes else sa.false()
        query = sa.select(table_.c.id, hidden.label("hidden")).where(seq >= first, seq <= last)
        with self.read() as conn:
            return [row.id for row in conn.execute(query.order_by(seq)) if not row.hidden]

    def unused_id(self, table: str, prefix: str) -> str:
        """Return `prefix` and 8 random hex digits that no row of `table` ("quotes", "sources") has."""
        column = {"quotes": t.quotes.c.id, "sources": t.sources.c.id}[table]
        with self.read() as conn:
            while True:
                candidate = prefix + secrets.token_hex(4)
                if conn.execute(sa.select(column).where(column == candidate)).first() is None:
                    return candidate

    # --- writing quotes --------------------------------------------------------------------

    def _audit(
        self,
        conn: sa.Connection,
        now: dt.datetime,
        actor: str,
        action: str,
        target: str | None,
        details: dict[str, Any],
    ) -> None:
        conn.execute(
            t.audit_log.insert().values(at=now, actor=actor, action=action, target=target, details=details)
        )

    def _correct(
        self,
        conn: sa.Connection,
        now: dt.datetime,
        actor: str,
        quote_id: str,
        changed: dict[str, Any],
        why: str,
    ) -> None:
        """Record the correction of a published quote (its page lists it, the feeds say so)."""
        names = [CORRECTED_FIELDS.get(name, name) for name in changed]
        what = "changed " + ", ".join(names)
        conn.execute(
            t.corrections.insert().values(at=now, actor=actor, quote_id=quote_id, what=what, why=why)
        )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(sa.select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]

    def _upsert_source(
        self, conn: sa.Connection, source: Source, now: dt.datetime, curated_only: bool
    ) -> str | None:
        """Insert or update a source; return "add", "update" or None (unchanged or not ours).

        curated_only: update only sources that came from the corpus (the corpus loader never
        overwrites an admin's source).
        """
        fields = source_fields(source)
        row = conn.execute(sa.select(t.sources).where(t.sources.c.id == source.id)).first()
        if not curated_only:  # an admin's write: a curated source is the corpus file's
            held.refuse_curated_source(source, row, fields)
        if row is None:
            conn.execute(
                t.sources.insert().values(
                    id=source.id, origin=source.origin, created_at=now, updated_at=now, **fields
                )
            )
            return "add"
        if curated_only and row.origin != CURATED:
            return None
        if any(getattr(row, k) != v for k, v in fields.items()):
            conn.execute(
                t.sources.update().where(t.sources.c.id == source.id).values(updated_at=now, **fields)
            )
            return "update"
        return None

    def save(
        self,
        sources: Iterable[Source],
        quotes_: Iterable[Quote],
        actor: str,
        now: dt.datetime,
        action: str = "import",
        documents: Iterable[Document] = (),
        why: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, int]:
        """Add or update sources, their documents and quotes in one transaction, as an admin's change.

        Records that differ from what is stored are written (a curated quote then becomes
        admin-edited, so the corpus loader keeps the admin's topics or notes); identical ones
        are left alone. Every quote written gets its verification decided against its source's
        held copy. A curated quote's text, speaker and source are the corpus file's: a change to
        them, or a new quote calling itself curated, raises CuratedChange and writes nothing.
        Every change goes to the audit log. With dry_run, the same transaction is rolled back
        at the end: the counts say what would have changed, nothing has.
        """
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        with self.write() as conn:
            for source in sorted(sources, key=lambda s: s.cites is not None):
                if change := self._upsert_source(conn, source, now, curated_only=False):
                    self._audit(
                        conn, now, actor, f"{action}.source.{change}", source.id, source_fields(source)
                    )
            for document in documents:
                held.insert_document(conn, document)
                obtained = {
                    "source": document.source,
                    "sha256": document.sha256,
                    "from": document.obtained_from,
                }
                self._audit(conn, now, actor, f"{action}.document.add", document.id, obtained)
            cycle = self._current_cycle(conn)
            for quote in quotes_:
                row = conn.execute(sa.select(t.quotes).where(t.quotes.c.id == quote.id)).first()
                held.refuse_curated(quote, row)
                verification = held.verify_in(conn, quote, now)
                fields = quote_fields(quote) | held.placed(quote, verification)
                if row is None:
                    conn.execute(
                        t.quotes.insert().values(
                            id=quote.id,
                            hidden=quote.hidden,
                            origin=quote.origin,
                            admin_edited=False,
                            curated_digest=None,
                            created_at=now,
                            updated_at=now,
                            updated_by=actor,
                            cycle_due=cycle,
                            shuffle_key=shuffle_key(quote.id, cycle),
                            **fields,
                        )
                    )
                    counts["added"] += 1
                    self._audit(conn, now, actor, f"{action}.quote.add", quote.id, _audited(fields))
                    continue
                before = quote_fields(quote_from_row(row))
                changed = {k: v for k, v in quote_fields(quote).items() if before[k] != v}
                if quote.origin != CURATED:  # an admin's quote is where its check found it
                    changed |= {k: fields[k] for k in ("paragraph", "char_offset") if before[k] != fields[k]}
                if row.hidden != quote.hidden:
                    changed["hidden"] = quote.hidden
                if not changed:
                    counts["unchanged"] += 1
                    continue
                values = changed | verification_fields(verification)
                conn.execute(
                    t.quotes.update()
                    .where(t.quotes.c.id == quote.id)
                    .values(admin_edited=True, updated_at=now, updated_by=actor, **values)
                )
                counts["updated"] += 1
                details: dict[str, Any] = {
                    k: {"from": before.get(k, row.hidden), "to": v} for k, v in changed.items()
                }
                details["verification"] = {"to": verification.state}
                self._audit(conn, now, actor, f"{action}.quote.update", quote.id, details)
                published = sa.select(t.daily_picks.c.date).where(t.daily_picks.c.quote_id == quote.id)
                if conn.execute(published.limit(1)).first() is not None:
                    self._correct(conn, now, actor, quote.id, changed, why or f"{action} by an admin")
            if dry_run:
                transaction = conn.get_transaction()
                assert transaction is not None, "inside write(): a transaction is open"
                transaction.rollback()
        return counts

    # --- documents and the check -----------------------------------------------------------

    def document(self, document_id: str) -> Document | None:
        with self.read() as conn:
            return held.document_in(conn, document_id)

    def documents(self) -> list[Document]:
        with self.read() as conn:
            rows = conn.execute(sa.select(t.documents).order_by(t.documents.c.id))
            return [document_from_row(r) for r in rows]

    def add_source(self, source: Source, document: Document | None, actor: str, now: dt.datetime) -> None:
        """Store a new source and its held copy (as `qotd sources add` and the bot's /document do)."""
        self.save([source], [], actor, now, action="source", documents=[document] if document else [])

    def verification_counts(self) -> tuple[int, int]:
        """Return how many visible quotes read as verified, and how many visible quotes there are:
        the two tallies the database keeps as quotes are written (migration 0009_tallies), so the
        answer costs the same at any size. A row changed behind the store's back is marked by the
        database as it changes, so it is counted as quotes.verification.as_read shows it."""
        with self.read() as conn:
            tallies = {row.name: row.value for row in conn.execute(sa.select(t.tallies))}
        return tallies["quotes_verified"], tallies["quotes_visible"]

    def check(self) -> CheckReport:
        """Check the documents against their sha256 and every verified quote against its document."""
        with self.read() as conn:
            return held.check(conn)

    def set_hidden(
        self,
        quote_id: str,
        hidden: bool,
        actor: str,
        now: dt.datetime,
        today: dt.date | None = None,
        why: str | None = None,
    ) -> bool:
        """Hide or unhide a quote; return whether anything changed.

        Hiding the quote fixed for `today` (the current day, quotes.days.day_of) gives the day a
        replacement in the same transaction, recorded with `why`. Raises NoQuoteError (nothing
        changed) when no other quote could replace it.
        """
        with self.write() as conn:
            row = conn.execute(sa.select(t.quotes.c.hidden).where(t.quotes.c.id == quote_id)).first()
            if row is None:
                raise NotFound(f"there is no quote {quote_id}")
            if row.hidden == hidden:
                return False
            conn.execute(
                t.quotes.update()
                .where(t.quotes.c.id == quote_id)
                .values(hidden=hidden, updated_at=now, updated_by=actor)
            )
            self._audit(conn, now, actor, "hide" if hidden else "unhide", quote_id, {})
            if hidden and today is not None:
                fixed = conn.scalar(sa.select(t.daily_picks.c.quote_id).where(t.daily_picks.c.date == today))
                if fixed == quote_id:
                    self._replace(conn, today, actor, now, why or f"{quote_id} was hidden", None)
            return True

    def pin(
        self,
        day: dt.date,
        quote_id: str,
        actor: str,
        now: dt.datetime,
        today: dt.date,
        why: str | None = None,
    ) -> Pick | None:
        """Pin a quote to today or a future date (replacing an earlier pin for that date).

        Pinning to today when today's quote is already fixed replaces it (recorded with `why`)
        and returns the day's new pick; otherwise the pin waits for the day to be fixed (None).
        """
        if day < today:
            raise ValueError(f"{day.isoformat()} is in the past: only today or a future date can be pinned")
        with self.write() as conn:
            row = conn.execute(sa.select(t.quotes.c.hidden).where(t.quotes.c.id == quote_id)).first()
            if row is None:
                raise NotFound(f"there is no quote {quote_id}")
            if row.hidden:
                raise ValueError(f"quote {quote_id} is hidden: unhide it before pinning it")
            fixed = conn.scalar(sa.select(t.daily_picks.c.quote_id).where(t.daily_picks.c.date == day))
            if fixed is not None and day != today:
                raise ValueError(f"the quote of {day.isoformat()} is already fixed")
            if fixed == quote_id:
                raise ValueError(f"{quote_id} already is the quote of {day.isoformat()}")
            conn.execute(t.pins.delete().where(t.pins.c.date == day))
            conn.execute(t.pins.insert().values(date=day, quote_id=quote_id, pinned_by=actor, pinned_at=now))
            self._audit(conn, now, actor, "pin", quote_id, {"date": day.isoformat()})
            if fixed is None:
                return None
            return self._replace(conn, day, actor, now, why or f"{quote_id} was pinned to the day", quote_id)

    # --- the quote of the day --------------------------------------------------------------

    def _current_cycle(self, conn: sa.Connection) -> int:
        return conn.scalar(sa.select(sa.func.max(t.daily_picks.c.cycle))) or 1

    def _pick(self, conn: sa.Connection, day: dt.date, now: dt.datetime) -> tuple[Pick, bool]:
        """Return the date's pick and whether it was made now (inside the caller's transaction)."""
        self._lock_picks(conn)
        row = conn.execute(sa.select(t.daily_picks).where(t.daily_picks.c.date == day)).first()
        if row is not None:
            return self._pick_of(conn, row), False
        pin = conn.scalar(
            sa.select(t.pins.c.quote_id)
            .join(t.quotes, t.quotes.c.id == t.pins.c.quote_id)
            .where(t.pins.c.date == day, t.quotes.c.hidden.is_(False))
        )
        choice = self._choose(conn, day, pin)
        conn.execute(
            t.daily_picks.insert().values(
                date=day, quote_id=choice.quote_id, cycle=choice.cycle, pinned=choice.pinned, picked_at=now
            )
        )
        due = choice.cycle + 1
        conn.execute(
            t.quotes.update()
            .where(t.quotes.c.id == choice.quote_id)
            .values(cycle_due=due, shuffle_key=shuffle_key(choice.quote_id, due))
        )
        quote = self._quote_in(conn, choice.quote_id)
        return Pick(day, quote, choice.cycle, choice.pinned), True

    def _choose(self, conn: sa.Connection, day: dt.date, pin: str | None) -> Choice:
        """Choose the date's quote from the active ones (quotes.selection.choose decides)."""
        cycle = self._current_cycle(conn)
        window = dt.timedelta(days=WINDOW)
        nearby = set(
            conn.scalars(
                sa.select(t.daily_picks.c.quote_id).where(
                    t.daily_picks.c.date.between(day - window, day + window)
                )
            )
        )
        reserved = set(conn.scalars(sa.select(t.pins.c.quote_id).where(t.pins.c.date > day)))
        ranked = [
            Ranked(r.id, r.cycle_due, r.shuffle_key)
            for r in conn.execute(
                sa.select(t.quotes.c.id, t.quotes.c.cycle_due, t.quotes.c.shuffle_key)
                .where(t.quotes.c.hidden.is_(False))
                .order_by(t.quotes.c.cycle_due, t.quotes.c.shuffle_key, t.quotes.c.id)
                .limit(len(nearby | reserved) + 1)
            )
        ]
        return choose(cycle, ranked, nearby, reserved, pin)

    def _lock_picks(self, conn: sa.Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PICK_LOCK})

    def fix_day(self, day: dt.date, now: dt.datetime) -> Pick | None:
        """Fix the date's quote for good if it is not yet, in order: a date before the newest
        fixed one that was never fixed stays unpublished (None). Raises NoQuoteError."""
        with self.write() as conn:
            self._lock_picks(conn)
            row = conn.execute(sa.select(t.daily_picks).where(t.daily_picks.c.date == day)).first()
            if row is not None:
                return self._pick_of(conn, row)
            latest = conn.scalar(sa.select(sa.func.max(t.daily_picks.c.date)))
            if latest is not None and day < latest:
                return None
            pick, _ = self._pick(conn, day, now)
            return pick

    def _replace(
        self, conn: sa.Connection, day: dt.date, actor: str, now: dt.datetime, why: str, quote_id: str | None
    ) -> Pick:
        """Give a fixed day another quote (`quote_id`, or the selection's next) and record why."""
        self._lock_picks(conn)
        row = conn.execute(sa.select(t.daily_picks).where(t.daily_picks.c.date == day)).one()
        choice = Choice(quote_id, row.cycle, pinned=True) if quote_id else self._choose(conn, day, None)
        conn.execute(
            t.daily_picks.update()
            .where(t.daily_picks.c.date == day)
            .values(quote_id=choice.quote_id, cycle=choice.cycle, pinned=choice.pinned, replaced_at=now)
        )
        due = choice.cycle + 1
        conn.execute(
            t.quotes.update()
            .where(t.quotes.c.id == choice.quote_id)
            .values(cycle_due=due, shuffle_key=shuffle_key(choice.quote_id, due))
        )
        what = f"the quote of {day_text(day)} {row.quote_id} was replaced by {choice.quote_id}"
        conn.execute(
            t.corrections.insert().values(
                at=now,
                actor=actor,
                date=day,
                quote_id=choice.quote_id,
                replaced_id=row.quote_id,
                what=what,
                why=why,
            )
        )
        details = {"date": day.isoformat(), "from": row.quote_id, "to": choice.quote_id, "why": why}
        self._audit(conn, now, actor, "replace", choice.quote_id, details)
        return self._pick_of(
            conn, conn.execute(sa.select(t.daily_picks).where(t.daily_picks.c.date == day)).one()
        )

    def replace_day(
        self, day: dt.date, actor: str, now: dt.datetime, why: str, quote_id: str | None = None
    ) -> Pick:
        """Replace a fixed day's quote (an admin's decision), recorded in corrections and the audit log."""
        with self.write() as conn:
            if (
                conn.execute(sa.select(t.daily_picks.c.date).where(t.daily_picks.c.date == day)).first()
                is None
            ):
                raise NotFound(f"the quote of {day.isoformat()} is not fixed")
            return self._replace(conn, day, actor, now, why, quote_id)

    def corrections(self, quote_id: str | None = None, pending_edits: bool = False) -> list[Correction]:
        """The corrections of a quote (as corrected, replaced or replacement), oldest first; or,
        with pending_edits, those whose edits of sent messages are not planned yet."""
        query = sa.select(t.corrections).order_by(t.corrections.c.id)
        if quote_id is not None:
            query = query.where(
                sa.or_(t.corrections.c.quote_id == quote_id, t.corrections.c.replaced_id == quote_id)
            )
        if pending_edits:
            query = query.where(t.corrections.c.edits_planned.is_(False))
        with self.read() as conn:
            return [
                Correction(r.id, r.at, r.actor, r.quote_id, r.what, r.why, r.date, r.replaced_id)
                for r in conn.execute(query)
            ]

    def _pick_of(self, conn: sa.Connection, row: sa.Row[Any]) -> Pick:
        quote = self._quote_in(conn, row.quote_id)
        return Pick(row.date, quote, row.cycle, row.pinned, replaced_at=row.replaced_at)

    def _quote_in(self, conn: sa.Connection, quote_id: str) -> Quote:
        return quote_from_row(conn.execute(sa.select(t.quotes).where(t.quotes.c.id == quote_id)).one())

    def pick_for(self, day: dt.date, now: dt.datetime) -> Pick:
        """Return the date's quote, fixing it on first request. Raises NoQuoteError."""
        with self.write() as conn:
            pick, _ = self._pick(conn, day, now)
        return pick

    def stored_pick(self, day: dt.date) -> Pick | None:
        """Return the date's pick if it has been made, without making it."""
        with self.read() as conn:
            row = conn.execute(sa.select(t.daily_picks).where(t.daily_picks.c.date == day)).first()
            return self._pick_of(conn, row) if row else None

    def recent_picks(self, until: dt.date, days: int) -> list[Pick]:
        """Return the stored picks of the `days` dates up to `until`, newest first."""
        with self.read() as conn:
            # Both tables have a `date`: the pick's columns are labelled, the quote's keep their names.
            rows = conn.execute(
                sa.select(
                    t.daily_picks.c.date.label("pick_date"),
                    t.daily_picks.c.cycle.label("pick_cycle"),
                    t.daily_picks.c.pinned.label("pick_pinned"),
                    t.daily_picks.c.replaced_at.label("pick_replaced_at"),
                    t.quotes,
                )
                .join(t.quotes, t.quotes.c.id == t.daily_picks.c.quote_id)
                .where(t.daily_picks.c.date <= until, t.daily_picks.c.date > until - dt.timedelta(days=days))
                .order_by(t.daily_picks.c.date.desc())
            )
            return [
                Pick(
                    r.pick_date,
                    quote_from_row(r),
                    r.pick_cycle,
                    r.pick_pinned,
                    replaced_at=r.pick_replaced_at,
                )
                for r in rows
            ]

    def first_and_last_pick(self, until: dt.date) -> tuple[dt.date, dt.date] | None:
        """Return the dates of the first and the newest pick up to `until` (None if none)."""
        date = t.daily_picks.c.date
        with self.read() as conn:
            row = conn.execute(
                sa.select(
                    sa.select(date).where(date <= until).order_by(date).limit(1).scalar_subquery(),
                    _newest(date, date <= until),
                )
            ).one()
        return (row[0], row[1]) if row[0] is not None else None

    def changes(self, until: dt.date) -> tuple[Any, ...]:
        """Return what the published history depends on, cheaply: the newest pick up to `until`,
        the last pick made, the last change to any quote or source, and the last correction (a
        cache key)."""
        with self.read() as conn:
            # Each is the last entry of an index (migration 0005_scale; corrections.id is the
            # primary key): O(log n), no scan.
            row = conn.execute(
                sa.select(
                    _newest(t.daily_picks.c.date, t.daily_picks.c.date <= until),
                    _newest(t.daily_picks.c.picked_at),
                    _newest(t.quotes.c.updated_at),
                    _newest(t.sources.c.updated_at),
                    _newest(t.corrections.c.id),
                )
            ).one()
        return tuple(row)

    def schedule(self, start: dt.date, days: int, now: dt.datetime) -> list[Pick]:
        """Preview the picks of `days` dates from `start`, storing nothing."""
        picks = []
        with self.engine.connect() as conn:
            conn = conn.execution_options(qotd_write=True)
            transaction = conn.begin()
            try:
                for offset in range(days):
                    pick, made = self._pick(conn, start + dt.timedelta(days=offset), now)
                    picks.append(replace(pick, stored=not made))
            finally:
                transaction.rollback()
        return picks
