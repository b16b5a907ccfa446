"""Leadership with a fencing epoch: the `leadership` row, the claimer's epoch on each delivery,
and the claims refused because they came from a leader that had been replaced.

Revision ID: 0008_fencing
Revises: 0007_subscriber_controls
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_fencing"
down_revision = "0007_subscriber_controls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    leadership = op.create_table(
        "leadership",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("backend_pid", sa.Integer(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leadership")),
    )
    op.bulk_insert(leadership, [{"name": "scheduler", "epoch": 0}])
    op.add_column("deliveries", sa.Column("epoch", sa.BigInteger(), nullable=True))
    op.create_table(
        "refused_claims",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("current_epoch", sa.BigInteger(), nullable=True),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refused_claims")),
    )


def downgrade() -> None:
    op.drop_table("refused_claims")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("epoch")
    op.drop_table("leadership")
