"""Initial schema: sources, quotes, speakers, pins, daily picks, subscribers, deliveries, audit log.

`upgrade` is one function of about 130 lines on purpose: a migration is a record of what was
applied, written once and never edited, and reads best as the tables in order.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("date", sa.String(length=10), nullable=True),
        sa.Column("date_precision", sa.String(length=8), nullable=False),
        sa.Column("published", sa.String(length=10), nullable=True),
        sa.Column("published_precision", sa.String(length=8), nullable=False),
        sa.Column("place", sa.Text(), nullable=True),
        sa.Column("document", sa.String(length=200), nullable=True),
        sa.Column("speaker_paragraphs", sa.JSON(), nullable=False),
        sa.Column("cites_id", sa.String(length=64), nullable=True),
        sa.Column("cites_confidence", sa.Text(), nullable=True),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cites_id"], ["sources.id"], name=op.f("fk_sources_cites_id_sources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
    )
    op.create_table(
        "speakers",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_speakers")),
    )
    op.create_table(
        "subscribers",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("delivery_time", sa.String(length=5), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inactive_reason", sa.Text(), nullable=True),
        sa.Column("migrated_to", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_subscribers")),
    )
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.create_index("ix_subscribers_active_chat", ["active", "chat_id"], unique=False)

    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("speaker", sa.String(length=200), nullable=False),
        sa.Column("speaker_role", sa.Text(), nullable=True),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("cites_id", sa.String(length=64), nullable=True),
        sa.Column("date", sa.String(length=10), nullable=True),
        sa.Column("date_precision", sa.String(length=8), nullable=False),
        sa.Column("paragraph", sa.Integer(), nullable=True),
        sa.Column("char_offset", sa.Integer(), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("admin_edited", sa.Boolean(), nullable=False),
        sa.Column("curated_digest", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("cycle_due", sa.Integer(), nullable=False),
        sa.Column("shuffle_key", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["cites_id"], ["sources.id"], name=op.f("fk_quotes_cites_id_sources")),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_quotes_source_id_sources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quotes_selection", ["hidden", "cycle_due", "shuffle_key", "id"], unique=False
        )

    op.create_table(
        "daily_picks",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("quote_id", sa.String(length=64), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_daily_picks_quote_id_quotes")),
        sa.PrimaryKeyConstraint("date", name=op.f("pk_daily_picks")),
    )
    with op.batch_alter_table("daily_picks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_daily_picks_cycle"), ["cycle"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("quote_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_deliveries_quote_id_quotes")),
        sa.PrimaryKeyConstraint("date", "chat_id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_date_status", ["date", "status"], unique=False)

    op.create_table(
        "pins",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("quote_id", sa.String(length=64), nullable=False),
        sa.Column("pinned_by", sa.String(length=64), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_pins_quote_id_quotes")),
        sa.PrimaryKeyConstraint("date", name=op.f("pk_pins")),
    )


def downgrade() -> None:
    op.drop_table("pins")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_date_status")

    op.drop_table("deliveries")
    with op.batch_alter_table("daily_picks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_daily_picks_cycle"))

    op.drop_table("daily_picks")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index("ix_quotes_selection")

    op.drop_table("quotes")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_index("ix_subscribers_active_chat")

    op.drop_table("subscribers")
    op.drop_table("speakers")
    op.drop_table("sources")
    op.drop_table("audit_log")
