"""Alembic environment: runs on the connection the caller hands over (see quotes/store/db.py)."""

from alembic import context

from quotes.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `qotd db upgrade`, which passes a connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
