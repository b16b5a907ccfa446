"""One truth for the day: replacements of a fixed day, corrections, and the edits of sent messages.

- `daily_picks.replaced_at`: when the day's quote was last replaced (hidden or re-pinned after
  it was fixed); the feed entry's `updated` follows it.
- `corrections`: each correction of a published quote (an admin's edit) or replacement of a
  fixed day: when, by whom, what changed and why. Quote pages list them; the feeds say
  "Corrected on …".
- `message_edits`: the ledger of edits of sent messages (one row per correction and message),
  claimed before the request and recorded after it, like the deliveries.

Revision ID: 0004_days
Revises: 0002_bot
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_days"
down_revision = "0003_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("daily_picks") as batch:
        batch.add_column(sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("date", sa.Date, nullable=True),
        sa.Column("quote_id", sa.String(64), sa.ForeignKey("quotes.id"), nullable=False),
        sa.Column("replaced_id", sa.String(64), sa.ForeignKey("quotes.id"), nullable=True),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("why", sa.Text, nullable=False),
        sa.Column("edits_planned", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_corrections"),
    )
    op.create_index("ix_corrections_quote_id", "corrections", ["quote_id"])
    op.create_index("ix_corrections_edits_planned", "corrections", ["edits_planned"])
    op.create_table(
        "message_edits",
        sa.Column("correction_id", sa.Integer, sa.ForeignKey("corrections.id"), nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("quote_id", sa.String(64), sa.ForeignKey("quotes.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("correction_id", "chat_id", name="pk_message_edits"),
    )
    op.create_index("ix_message_edits_status", "message_edits", ["status"])


def downgrade() -> None:
    op.drop_index("ix_message_edits_status", "message_edits")
    op.drop_table("message_edits")
    op.drop_index("ix_corrections_edits_planned", "corrections")
    op.drop_index("ix_corrections_quote_id", "corrections")
    op.drop_table("corrections")
    with op.batch_alter_table("daily_picks") as batch:
        batch.drop_column("replaced_at")
