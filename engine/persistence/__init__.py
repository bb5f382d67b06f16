"""Engine persistence: one narrow `Store` interface, a SQLite and a PostgreSQL implementation."""

from engine.persistence.factory import create_store, open_store
from engine.persistence.store import ClusterMetadata, Store
from engine.persistence.url import DEFAULT_DATABASE_URL, DatabaseUrl, parse_database_url

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ClusterMetadata",
    "DatabaseUrl",
    "Store",
    "create_store",
    "open_store",
    "parse_database_url",
]
