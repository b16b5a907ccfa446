"""What the home page and the sitemaps count, kept by the database as rows are written, so that
no request reads every quote to count them or to split them into sitemaps.

- `quotes.seq`, `sources.seq`: each row's number in the order rows were added (the existing
  rows numbered in id order). The database gives it to every new row, however it is written: on
  PostgreSQL a sequence is the column's default; on SQLite a trigger sets the next number after
  the insert (SQLite has one writer at a time, so max + 1 cannot collide), which is why the
  column is nullable there. The sitemap of quotes number k lists seq from (k-1)×size+1 to k×size:
  the index is one max() and a new row joins the last sitemap, so no page moves between them.
- `tallies`: how many quotes are visible, and how many of those read as verified (stored as
  verified, with no reason against it). Triggers on `quotes` keep both on every insert, delete
  and change of `hidden` or of the verification, in the statement's own transaction.
- A quote's text or source changed while its checked digest and verification reason were not
  (plain SQL, behind the application's back: every write through the store decides the
  verification again and sets both) is marked by the database itself: `verification_reason` becomes
  "changed", so the tally, quotes.verification.as_read and `qotd quotes check` agree that it is
  no longer checked. Rows stored as verified whose digest already fails are marked so here.

Revision ID: 0009_tallies
Revises: 0008_fencing
"""

# ruff: noqa: S608 -- the triggers' SQL is built from this file's own constants, no input.

import sqlalchemy as sa
from alembic import op

from quotes.verification import text_digest

revision = "0009_tallies"
down_revision = "0008_fencing"
branch_labels = None
depends_on = None

SEQ_TABLES = ("quotes", "sources")

# What each tally counts, as SQL over a row (NEW or OLD): quotes/store/db.py reads the names.
COUNTED = {
    "quotes_visible": "NOT {row}.hidden",
    "quotes_verified": (
        "NOT {row}.hidden AND {row}.verification = 'verified' AND {row}.verification_reason IS NULL"
    ),
}
# The columns a tally depends on: an update of none of them leaves both alone.
TALLIED = ("hidden", "verification", "verification_reason")
# What the checked digest vouches for (quotes.verification.text_digest): a change marks the row.
DIGESTED = ("text", "source_id")


def _is(row: str, name: str) -> str:
    return f"(CASE WHEN {COUNTED[name].format(row=row)} THEN 1 ELSE 0 END)"


def _changed(a: str, b: str, columns: tuple[str, ...], distinct: str) -> str:
    return " OR ".join(f"{a}.{c} {distinct} {b}.{c}" for c in columns)


def _sqlite_triggers() -> list[str]:
    statements = [
        f"CREATE TRIGGER {table}_seq AFTER INSERT ON {table} WHEN NEW.seq IS NULL BEGIN "
        f"UPDATE {table} SET seq = (SELECT coalesce(max(seq), 0) + 1 FROM {table}) "
        f"WHERE rowid = NEW.rowid; END"
        for table in SEQ_TABLES
    ]
    for event, sign, row in (("INSERT", "+", "NEW"), ("DELETE", "-", "OLD")):
        body = " ".join(
            f"UPDATE tallies SET value = value {sign} {_is(row, name)} WHERE name = '{name}';"
            for name in COUNTED
        )
        statements.append(
            f"CREATE TRIGGER quotes_tally_{event.lower()} AFTER {event} ON quotes BEGIN {body} END"
        )
    body = " ".join(
        f"UPDATE tallies SET value = value + {_is('NEW', name)} - {_is('OLD', name)} WHERE name = '{name}';"
        for name in COUNTED
    )
    statements.append(
        "CREATE TRIGGER quotes_tally_update AFTER UPDATE ON quotes "
        f"WHEN {_changed('OLD', 'NEW', TALLIED, 'IS NOT')} BEGIN {body} END"
    )
    statements.append(
        f"CREATE TRIGGER quotes_changed AFTER UPDATE OF {', '.join(DIGESTED)} ON quotes "
        "WHEN NEW.verification = 'verified' AND NEW.checked_digest IS OLD.checked_digest "
        "AND NEW.verification_reason IS OLD.verification_reason "
        f"AND ({_changed('OLD', 'NEW', DIGESTED, 'IS NOT')}) BEGIN "
        "UPDATE quotes SET verification_reason = 'changed' WHERE rowid = NEW.rowid; END"
    )
    return statements


def _postgres_triggers() -> list[str]:
    statements = []
    for table in SEQ_TABLES:
        statements += [
            f"CREATE SEQUENCE {table}_seq_seq OWNED BY {table}.seq",
            f"SELECT setval('{table}_seq_seq', (SELECT coalesce(max(seq), 0) + 1 FROM {table}), false)",
            f"ALTER TABLE {table} ALTER COLUMN seq SET DEFAULT nextval('{table}_seq_seq')",
            f"ALTER TABLE {table} ALTER COLUMN seq SET NOT NULL",
        ]
    adds = "\n".join(
        f"  IF TG_OP <> 'DELETE' THEN d_{name} := d_{name} + {_is('NEW', name)}; END IF;\n"
        f"  IF TG_OP <> 'INSERT' THEN d_{name} := d_{name} - {_is('OLD', name)}; END IF;\n"
        f"  IF d_{name} <> 0 THEN UPDATE tallies SET value = value + d_{name} WHERE name = '{name}'; END IF;"
        for name in COUNTED
    )
    declared = " ".join(f"d_{name} bigint := 0;" for name in COUNTED)
    statements.append(
        "CREATE FUNCTION quotes_tally() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"DECLARE {declared}\nBEGIN\n{adds}\n  RETURN NULL;\nEND $$"
    )
    statements += [
        "CREATE TRIGGER quotes_tally_rows AFTER INSERT OR DELETE ON quotes "
        "FOR EACH ROW EXECUTE FUNCTION quotes_tally()",
        # WHEN on the values, not UPDATE OF: quotes_changed below sets a column the UPDATE did not name.
        "CREATE TRIGGER quotes_tally_update AFTER UPDATE ON quotes FOR EACH ROW "
        f"WHEN ({_changed('OLD', 'NEW', TALLIED, 'IS DISTINCT FROM')}) EXECUTE FUNCTION quotes_tally()",
        "CREATE FUNCTION quotes_changed() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  NEW.verification_reason := 'changed';\n  RETURN NEW;\nEND $$",
        f"CREATE TRIGGER quotes_changed BEFORE UPDATE OF {', '.join(DIGESTED)} ON quotes FOR EACH ROW "
        "WHEN (NEW.verification = 'verified' AND NEW.checked_digest IS NOT DISTINCT FROM OLD.checked_digest "
        "AND NEW.verification_reason IS NOT DISTINCT FROM OLD.verification_reason "
        f"AND ({_changed('OLD', 'NEW', DIGESTED, 'IS DISTINCT FROM')})) "
        "EXECUTE FUNCTION quotes_changed()",
    ]
    return statements


def upgrade() -> None:
    conn = op.get_bind()
    for table in SEQ_TABLES:
        op.add_column(table, sa.Column("seq", sa.BigInteger(), nullable=True))
        op.execute(
            f"UPDATE {table} SET seq = numbered.n FROM "
            f"(SELECT id, row_number() OVER (ORDER BY id) AS n FROM {table}) AS numbered "
            f"WHERE {table}.id = numbered.id"
        )
        op.create_index(f"ix_{table}_seq", table, ["seq"], unique=True)
    stale = [
        row.id
        for row in conn.execute(
            sa.text("SELECT id, text, source_id, checked_digest FROM quotes WHERE verification = 'verified'")
        )
        if row.checked_digest != text_digest(row.text, row.source_id)
    ]
    for start in range(0, len(stale), 500):
        conn.execute(
            sa.text("UPDATE quotes SET verification_reason = 'changed' WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": stale[start : start + 500]},
        )
    tallies = op.create_table(
        "tallies",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tallies")),
    )
    counts = {
        name: conn.execute(
            sa.text(f"SELECT count(*) FROM quotes WHERE {COUNTED[name].format(row='quotes')}")
        ).scalar_one()
        for name in COUNTED
    }
    op.bulk_insert(tallies, [{"name": name, "value": value} for name, value in counts.items()])
    for statement in _postgres_triggers() if conn.dialect.name == "postgresql" else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("DROP TRIGGER quotes_changed ON quotes")
        op.execute("DROP TRIGGER quotes_tally_update ON quotes")
        op.execute("DROP TRIGGER quotes_tally_rows ON quotes")
        op.execute("DROP FUNCTION quotes_changed()")
        op.execute("DROP FUNCTION quotes_tally()")
    else:
        for trigger in (
            "quotes_changed",
            "quotes_tally_update",
            "quotes_tally_delete",
            "quotes_tally_insert",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
        for table in SEQ_TABLES:
            op.execute(f"DROP TRIGGER {table}_seq")
    op.drop_table("tallies")
    # Rows marked "changed" stay so: as_read finds their digest fails either way.
    for table in reversed(SEQ_TABLES):
        op.drop_index(f"ix_{table}_seq", table_name=table)
        # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch rebuild of `sources` would drop
        # a table the quotes' foreign keys name.
        op.drop_column(table, "seq")
