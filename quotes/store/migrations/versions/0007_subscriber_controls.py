"""Subscribers in control: forum topics, pause, silent delivery, the chat's language.

A subscription is now a chat *and* a forum topic (`thread_id`, 0 for the chat itself), so one
forum group may subscribe several topics: `thread_id` joins the primary keys of `subscribers`
and `deliveries`. `/pause` writes `paused_at` and `resumes_on` (NULL: until /resume); `/silent`
the `silent` flag. `chat_languages` keeps the language a chat chose with /language.

Revision ID: 0007_subscriber_controls
Revises: 0006_persistence
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_subscriber_controls"
down_revision = "0006_persistence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers", recreate="always") as batch:
        batch.add_column(sa.Column("thread_id", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resumes_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("silent", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.drop_constraint("pk_subscribers", type_="primary")
        batch.create_primary_key("pk_subscribers", ["chat_id", "thread_id"])
    with op.batch_alter_table("deliveries", recreate="always") as batch:
        batch.add_column(sa.Column("thread_id", sa.BigInteger(), nullable=False, server_default="0"))
        batch.drop_constraint("pk_deliveries", type_="primary")
        batch.create_primary_key("pk_deliveries", ["date", "chat_id", "thread_id"])
    op.create_table(
        "chat_languages",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_chat_languages")),
    )


def downgrade() -> None:
    op.drop_table("chat_languages")
    op.execute("DELETE FROM deliveries WHERE thread_id <> 0")
    op.execute("DELETE FROM subscribers WHERE thread_id <> 0")
    with op.batch_alter_table("deliveries", recreate="always") as batch:
        batch.drop_constraint("pk_deliveries", type_="primary")
        batch.create_primary_key("pk_deliveries", ["date", "chat_id"])
        batch.drop_column("thread_id")
    with op.batch_alter_table("subscribers", recreate="always") as batch:
        batch.drop_constraint("pk_subscribers", type_="primary")
        batch.create_primary_key("pk_subscribers", ["chat_id"])
        batch.drop_column("silent")
        batch.drop_column("resumes_on")
        batch.drop_column("paused_at")
        batch.drop_column("thread_id")
