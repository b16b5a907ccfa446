"""The database tables (SQLAlchemy Core). Migrations in quotes/store/migrations create them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC timestamp on every backend (SQLite stores naive text otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def numbered(table: str) -> tuple[Column[int], Index]:
    """`seq`: a row's number in the order rows were added, which the database gives on every
    insert (migration 0009_tallies: a sequence on PostgreSQL; on SQLite a trigger, after the
    insert, which is why the column is nullable)."""
    return Column("seq", BigInteger), Index(f"ix_{table}_seq", "seq", unique=True)


speakers = Table(
    "speakers",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("aliases", JSON, nullable=False),
    Column("notes", JSON, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("title", Text, nullable=False),
    Column("publisher", Text),
    Column("url", Text),
    Column("author", Text),
    Column("date", String(10)),
    Column("date_precision", String(8), nullable=False),
    Column("published", String(10)),
    Column("published_precision", String(8), nullable=False),
    Column("place", Text),
    Column("document", String(200)),
    Column("speaker_paragraphs", JSON, nullable=False),
    Column("cites_id", String(64), ForeignKey("sources.id")),
    Column("cites_confidence", Text),
    Column("notes", JSON, nullable=False),
    Column("origin", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_sources_updated_at", "updated_at"),  # the data version (migration 0005_scale)
    *numbered("sources"),
)

quotes = Table(
    "quotes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("speaker", String(200), nullable=False),
    Column("speaker_role", Text),
    Column("source_id", String(64), ForeignKey("sources.id"), nullable=False),
    Column("cites_id", String(64), ForeignKey("sources.id")),
    Column("date", String(10)),
    Column("date_precision", String(8), nullable=False),
    Column("paragraph", Integer),
    Column("char_offset", Integer),
    Column("topics", JSON, nullable=False),
    Column("notes", JSON, nullable=False),
    Column("hidden", Boolean, nullable=False, default=False),
    # curated: from the corpus file; admin: added by an admin. An admin's edit of a curated
    # quote sets admin_edited, and the corpus loader leaves that quote alone from then on.
    Column("origin", String(16), nullable=False),
    Column("admin_edited", Boolean, nullable=False, default=False),
    Column("curated_digest", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
    # Selection state: the cycle in which the quote is next due, and its place in that
    # cycle's order (see quotes/selection.py).
    Column("cycle_due", Integer, nullable=False),
    Column("shuffle_key", BigInteger, nullable=False),
    # Verification (migration 0003_documents; quotes/verification.py decides it on every write):
    # verified or unverified with the reason, and what was checked against what, when.
    Column("verification", String(16), nullable=False, server_default="unverified"),
    Column("verification_reason", String(16), server_default="not-checked"),
    Column("verification_detail", Text),
    Column("checked_document", String(200)),
    Column("checked_sha256", String(64)),
    Column("checked_paragraph", Integer),
    Column("checked_offset", Integer),
    Column("checked_digest", String(64)),
    Column("checked_at", UTCDateTime),
    Index("ix_quotes_selection", "hidden", "cycle_due", "shuffle_key", "id"),
    # Migration 0005_scale: the data version, a source's quotes, a random quote.
    Index("ix_quotes_updated_at", "updated_at"),
    Index("ix_quotes_source", "source_id", "id"),
    Index("ix_quotes_cites", "cites_id", "id"),
    Index("ix_quotes_random", "hidden", "shuffle_key"),
    # 0005_scale: start-up's held.verify_unchecked, and the home page's count of verified quotes.
    Index("ix_quotes_verification_reason", "verification_reason"),
    Index("ix_quotes_verified", "verification", "hidden"),
    *numbered("quotes"),  # where the sitemaps split the quotes
)

# Counts the database keeps by triggers on `quotes` (migration 0009_tallies): "quotes_visible",
# and "quotes_verified" (visible, stored as verified, no reason against it).
tallies = Table(
    "tallies",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# A source's held copy (migration 0003_documents): sources.document names its id.
documents = Table(
    "documents",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("source_id", String(64), ForeignKey("sources.id"), nullable=False, unique=True),
    Column("media_type", String(64), nullable=False),
    Column("file_name", Text),
    Column("data", LargeBinary, nullable=False),  # the bytes as obtained
    Column("text", Text, nullable=False),  # extracted when stored: what quotes are located in
    Column("sha256", String(64), nullable=False),  # of data
    Column("text_sha256", String(64), nullable=False),  # of text
    Column("obtained_from", Text, nullable=False),
    Column("obtained_at", UTCDateTime, nullable=False),
)

pins = Table(
    "pins",
    metadata,
    Column("date", Date, primary_key=True),
    Column("quote_id", String(64), ForeignKey("quotes.id"), nullable=False),
    Column("pinned_by", String(64), nullable=False),
    Column("pinned_at", UTCDateTime, nullable=False),
)

daily_picks = Table(
    "daily_picks",
    metadata,
    Column("date", Date, primary_key=True),
    Column("quote_id", String(64), ForeignKey("quotes.id"), nullable=False),
    Column("cycle", Integer, nullable=False, index=True),
    Column("pinned", Boolean, nullable=False),
    Column("picked_at", UTCDateTime, nullable=False),
    Column("replaced_at", UTCDateTime),  # the last replacement of a fixed day's quote (0004_days)
    Index("ix_daily_picks_picked_at", "picked_at"),  # the data version (migration 0005_scale)
)

# A correction of a published quote (an admin's edit: date NULL) or the replacement of a fixed
# day's quote (date set, replaced_id the quote it took the place of). 0004_days.
corrections = Table(
    "corrections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("date", Date),
    Column("quote_id", String(64), ForeignKey("quotes.id"), nullable=False, index=True),
    Column("replaced_id", String(64), ForeignKey("quotes.id")),
    Column("what", Text, nullable=False),
    Column("why", Text, nullable=False),
    Column("edits_planned", Boolean, nullable=False, default=False, index=True),
)

# The edits of sent messages a correction needs, one per (correction, chat): the ledger's edit
# path (bot/delivery/edits.py). pending, editing, edited, not_modified, not_found, failed.
message_edits = Table(
    "message_edits",
    metadata,
    Column("correction_id", Integer, ForeignKey("corrections.id"), primary_key=True),
    Column("chat_id", BigInteger, primary_key=True),
    Column("date", Date, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("quote_id", String(64), ForeignKey("quotes.id"), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("chat_id", BigInteger, primary_key=True),
    # the forum topic (message_thread_id) the quote goes to; 0: the chat itself, no topic
    Column("thread_id", BigInteger, primary_key=True, default=0, server_default="0"),
    Column("kind", String(16), nullable=False),  # private, group, supergroup, channel
    Column("title", Text),
    Column("active", Boolean, nullable=False),
    Column("delivery_time", String(5)),  # HH:MM, or NULL for the service's publish time
    Column("timezone", String(64)),  # IANA name, or NULL for the service's timezone
    Column("subscribed_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("inactive_reason", Text),  # why active became false: unsubscribed, blocked, ...
    Column("migrated_to", BigInteger),
    # /pause: paused since then (NULL: not paused), until the local date it resumes on (NULL: /resume)
    Column("paused_at", UTCDateTime),
    Column("resumes_on", Date),
    Column("silent", Boolean, nullable=False, default=False, server_default=false()),  # /silent
    Index("ix_subscribers_active_chat", "active", "chat_id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("date", Date, primary_key=True),
    Column("chat_id", BigInteger, primary_key=True),
    Column("thread_id", BigInteger, primary_key=True, default=0, server_default="0"),  # as subscribers'
    Column("quote_id", String(64), ForeignKey("quotes.id"), nullable=False),
    # pending, sending, sent, blocked, migrated, failed, uncertain, skipped, paused
    Column("status", String(16), nullable=False),
    Column("message_id", BigInteger),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("due_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The leadership epoch of the scheduler that last claimed the row (migration 0008_fencing).
    Column("epoch", BigInteger),
    Index("ix_deliveries_date_status", "date", "status"),
)

# The language a chat chose with /language, or had when it subscribed (bot/i18n.py)
chat_languages = Table(
    "chat_languages",
    metadata,
    Column("chat_id", BigInteger, primary_key=True),
    Column("language", String(8), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The scheduler's leadership (migration 0008_fencing): one row per lock, whose epoch goes up by
# one each time an instance becomes the leader. A claim in `deliveries` names the claimer's
# epoch and is refused unless it is still this row's (qotd/leadership.py, bot/delivery/ledger.py).
leadership = Table(
    "leadership",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("epoch", BigInteger, nullable=False),
    Column("holder", String(128)),  # host:pid:random of the leader
    Column("backend_pid", Integer),  # PostgreSQL: the leader's session (dead session: lease void)
    Column("lease_until", UTCDateTime),  # PostgreSQL: the database's clock; unused on SQLite
    Column("acquired_at", UTCDateTime),
)

# Claims the database refused because the claimer's epoch was no longer the leader's.
refused_claims = Table(
    "refused_claims",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("date", Date, nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("thread_id", BigInteger, nullable=False, default=0, server_default="0"),  # as deliveries'
    Column("epoch", BigInteger, nullable=False),  # the stale claimer's
    Column("current_epoch", BigInteger),  # the leader's at the refusal
    Column("refused_at", UTCDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),  # "tg:<user id>" or "cli"
    Column("action", String(40), nullable=False),
    Column("target", String(64)),
    Column("details", JSON, nullable=False),
)

# The bot's state (migration 0006_persistence; bot/persistence.py and bot/updates.py):
# PTB's user and chat data, the persistent conversations' states, the webhook updates seen.
bot_state = Table(
    "bot_state",
    metadata,
    Column("kind", String(8), primary_key=True),  # user, chat
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("data", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

conversations = Table(
    "conversations",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),  # JSON array of the key's ids
    Column("state", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

updates_seen = Table(
    "updates_seen",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("claimed_at", UTCDateTime, nullable=False, index=True),
    Column("handled_at", UTCDateTime),
)

# Search indexes (migration 0002_bot; not tables SQLAlchemy manages, so not in `metadata`):
# on SQLite, the FTS5 trigram table `quote_search` (text, speaker, speaker_role, topics) with
# `quote_search_rows` (quote_id -> its row) kept in step with `quotes` by triggers; on
# PostgreSQL, pg_trgm GIN indexes on quotes.text, speaker, coalesce(speaker_role, '') and
# CAST(topics AS TEXT). quotes/search.py and quotes/curation.py use them.
