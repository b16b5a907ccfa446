"""Search indexes for the bot's /search and inline mode, so a search need not scan every quote.

SQLite: an FTS5 table with the trigram tokenizer (`quote_search`: text, speaker, role, topics)
kept in step with `quotes` by triggers, and `quote_search_rows` mapping each quote id to its
row in it (a table with a text primary key has no stable rowid: VACUUM may renumber it). A
trigram MATCH finds the quotes holding a word anywhere, case-insensitively, as LIKE '%word%'
would; quotes/search.py uses it to narrow the candidates and keeps its LIKE conditions exact.

PostgreSQL: pg_trgm GIN indexes on the same columns, which ILIKE '%word%' uses directly. Where
the extension cannot be created (no privilege), the indexes are left out and search scans.

Revision ID: 0002_bot
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_bot"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE quote_search USING fts5(text, speaker, speaker_role, topics, tokenize='trigram')",
    "CREATE TABLE quote_search_rows (quote_id VARCHAR(64) PRIMARY KEY, search_rowid INTEGER NOT NULL UNIQUE)",
    """CREATE TRIGGER quote_search_insert AFTER INSERT ON quotes BEGIN
        INSERT INTO quote_search(text, speaker, speaker_role, topics)
            VALUES (new.text, new.speaker, coalesce(new.speaker_role, ''), new.topics);
        INSERT INTO quote_search_rows(quote_id, search_rowid) VALUES (new.id, last_insert_rowid());
    END""",
    """CREATE TRIGGER quote_search_update AFTER UPDATE OF text, speaker, speaker_role, topics ON quotes BEGIN
        DELETE FROM quote_search
            WHERE rowid = (SELECT search_rowid FROM quote_search_rows WHERE quote_id = old.id);
        INSERT INTO quote_search(rowid, text, speaker, speaker_role, topics)
            VALUES ((SELECT search_rowid FROM quote_search_rows WHERE quote_id = old.id),
                    new.text, new.speaker, coalesce(new.speaker_role, ''), new.topics);
    END""",
    """CREATE TRIGGER quote_search_delete AFTER DELETE ON quotes BEGIN
        DELETE FROM quote_search
            WHERE rowid = (SELECT search_rowid FROM quote_search_rows WHERE quote_id = old.id);
        DELETE FROM quote_search_rows WHERE quote_id = old.id;
    END""",
    """INSERT INTO quote_search_rows(quote_id, search_rowid)
        SELECT id, row_number() OVER (ORDER BY id) FROM quotes""",
    """INSERT INTO quote_search(rowid, text, speaker, speaker_role, topics)
        SELECT r.search_rowid, q.text, q.speaker, coalesce(q.speaker_role, ''), q.topics
        FROM quotes q JOIN quote_search_rows r ON r.quote_id = q.id""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS quote_search_insert",
    "DROP TRIGGER IF EXISTS quote_search_update",
    "DROP TRIGGER IF EXISTS quote_search_delete",
    "DROP TABLE IF EXISTS quote_search_rows",
    "DROP TABLE IF EXISTS quote_search",
]
# (index name, indexed expression): the expressions quotes/search.py matches with ILIKE.
POSTGRES_INDEXES = [
    ("ix_quotes_text_trgm", "text"),
    ("ix_quotes_speaker_trgm", "speaker"),
    ("ix_quotes_role_trgm", "(coalesce(speaker_role, ''))"),
    ("ix_quotes_topics_trgm", "(CAST(topics AS TEXT))"),
]


def _fts5_trigram(bind: sa.Connection) -> bool:
    """Say whether this SQLite has FTS5 with the trigram tokenizer (3.34 and later)."""
    try:
        bind.exec_driver_sql("CREATE VIRTUAL TABLE temp.qotd_probe USING fts5(x, tokenize='trigram')")
    except sa.exc.OperationalError:
        return False
    bind.exec_driver_sql("DROP TABLE temp.qotd_probe")
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if _fts5_trigram(bind):
            for statement in SQLITE_UP:
                bind.exec_driver_sql(statement)
    elif bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except sa.exc.DBAPIError:
            return
        for name, expression in POSTGRES_INDEXES:
            bind.exec_driver_sql(f"CREATE INDEX {name} ON quotes USING gin ({expression} gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            bind.exec_driver_sql(statement)
    elif bind.dialect.name == "postgresql":
        for name, _ in POSTGRES_INDEXES:
            bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
