"""Documents and verification: held copies of sources, and each quote's check against its copy.

`documents` holds a source's copy: the bytes as obtained, the text quotes are located in, the
sha256 of both, its media type, and when and from where it was obtained. Each quote gains its
verification (quotes/verification.py): verified or unverified with the reason, the document
and its sha256, the paragraph and offset, the digest of the checked text, when. Existing rows
start as unverified, "not checked yet"; the next corpus load (`qotd db upgrade`, any command
that opens the store) checks them.

Revision ID: 0003_documents
Revises: 0002_bot
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_documents"
down_revision = "0002_bot"
branch_labels = None
depends_on = None


def quote_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("verification", sa.String(length=16), nullable=False, server_default="unverified"),
        sa.Column("verification_reason", sa.String(length=16), nullable=True, server_default="not-checked"),
        sa.Column("verification_detail", sa.Text(), nullable=True),
        sa.Column("checked_document", sa.String(length=200), nullable=True),
        sa.Column("checked_sha256", sa.String(length=64), nullable=True),
        sa.Column("checked_paragraph", sa.Integer(), nullable=True),
        sa.Column("checked_offset", sa.Integer(), nullable=True),
        sa.Column("checked_digest", sa.String(length=64), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("obtained_from", sa.Text(), nullable=False),
        sa.Column("obtained_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_documents_source_id_sources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("source_id", name=op.f("uq_documents_source_id")),
    )
    for column in quote_columns():
        op.add_column("quotes", column)


def downgrade() -> None:
    with op.batch_alter_table("quotes") as batch:
        for column in reversed(quote_columns()):
            batch.drop_column(column.name)
    op.drop_table("documents")
