"""The bot's state in the database: PTB's user and chat data, conversation states, updates seen.

`bot_state` holds what PTB's persistence keeps per user and per chat (JSON; bot/persistence.py
encodes it), `conversations` the state of each persistent ConversationHandler per key (the
/add drafts' step) with the time it was last written, so that a stale one can be dropped, and
`updates_seen` each webhook update's id when a replica took it and when it was handled, so that
Telegram's retries of one update are handled once across replicas.

Revision ID: 0006_persistence
Revises: 0005_scale
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_persistence"
down_revision = "0005_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_state",
        sa.Column("kind", sa.String(length=8), nullable=False),  # user, chat
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", name=op.f("pk_bot_state")),
    )
    op.create_table(
        "conversations",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),  # JSON array of the key's ids
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "key", name=op.f("pk_conversations")),
    )
    op.create_table(
        "updates_seen",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_updates_seen")),
    )
    op.create_index(op.f("ix_updates_seen_claimed_at"), "updates_seen", ["claimed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_updates_seen_claimed_at"), table_name="updates_seen")
    op.drop_table("updates_seen")
    op.drop_table("conversations")
    op.drop_table("bot_state")
