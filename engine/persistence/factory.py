"""Pick the store implementation for a database URL."""

from __future__ import annotations

from engine.persistence.postgres import PostgresStore
from engine.persistence.sqlite import SqliteStore
from engine.persistence.store import Store
from engine.persistence.url import DatabaseUrl, parse_database_url


def create_store(url: str | DatabaseUrl) -> Store:
    """An unopened store for `url`; raises `ConfigError` for a bad URL."""
    parsed = parse_database_url(url) if isinstance(url, str) else url
    if parsed.dialect == "sqlite":
        return SqliteStore(parsed)
    return PostgresStore(parsed)


async def open_store(url: str | DatabaseUrl) -> Store:
    """Open the store for `url`, applying pending migrations; raises `ConfigError` if it cannot."""
    store = create_store(url)
    await store.open()
    return store
