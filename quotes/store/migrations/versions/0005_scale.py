"""Indexes that keep every request's cost flat as the corpus grows.

- `updated_at` of quotes and sources, `picked_at` of the picks: the data version
  (Store.changes) is a few max() lookups, each one step down an index instead of a table scan.
- `quotes(source_id, id)` and `quotes(cites_id, id)`: a source's page reads only its own quotes
  and the quotes citing it.
- `quotes(hidden, shuffle_key)`: a random quote is one seek to a random key (quotes/search.py).
- `quotes(verification_reason)`: start-up's held.verify_unchecked finds the rows not yet checked
  without reading every quote; `quotes(verification, hidden)`: the home page's count of verified
  quotes reads only the rows stored as verified.

Revision ID: 0005_scale
Revises: 0004_days
"""

from alembic import op

revision = "0005_scale"
down_revision = "0004_days"
branch_labels = None
depends_on = None

# (index name, table, columns): quotes/store/schema.py declares the same.
INDEXES = [
    ("ix_quotes_updated_at", "quotes", ["updated_at"]),
    ("ix_sources_updated_at", "sources", ["updated_at"]),
    ("ix_daily_picks_picked_at", "daily_picks", ["picked_at"]),
    ("ix_quotes_source", "quotes", ["source_id", "id"]),
    ("ix_quotes_cites", "quotes", ["cites_id", "id"]),
    ("ix_quotes_random", "quotes", ["hidden", "shuffle_key"]),
    ("ix_quotes_verification_reason", "quotes", ["verification_reason"]),
    ("ix_quotes_verified", "quotes", ["verification", "hidden"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
