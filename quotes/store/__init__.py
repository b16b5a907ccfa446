"""The store: the engine, the schema and its migrations, and the queries of quotes, sources and picks.

`Store` (quotes/store/db.py) is what the rest of the service holds; `create_engine` and
`database_url` (engine.py) turn a DATABASE_URL into an engine, and `dialect_insert` is an INSERT
with ON CONFLICT in the engine's dialect; rows.py maps rows to the model.
"""

from quotes.model import ADMIN, CURATED
from quotes.selection import NoQuoteError
from quotes.store.db import LoadReport, NotFound, SchemaOutdated, Store
from quotes.store.engine import create_engine, database_url, dialect_insert
from quotes.store.held import CheckReport, CuratedChange
from quotes.store.rows import quote_from_row, source_from_row

__all__ = [
    "ADMIN",
    "CURATED",
    "CheckReport",
    "CuratedChange",
    "LoadReport",
    "NoQuoteError",
    "NotFound",
    "SchemaOutdated",
    "Store",
    "create_engine",
    "database_url",
    "dialect_insert",
    "quote_from_row",
    "source_from_row",
]
