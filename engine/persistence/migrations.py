"""Versioned schema migrations, one ordered list per SQL dialect.

A store applies every migration newer than its `schema_version` table says, all in one
transaction at open, and refuses a database migrated by a newer engine. Migrations are never
edited once released: change the schema by appending a new one to both lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import LiteralString

from engine.errors import ConfigError
from engine.persistence.url import Dialect


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[LiteralString, ...]


# Bootstrap, run before reading the version: not itself a migration.
SCHEMA_VERSION_TABLE: dict[Dialect, LiteralString] = {
    "sqlite": """
        CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )
    """,
    "postgresql": """
        CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
    """,
}

MIGRATIONS: dict[Dialect, tuple[Migration, ...]] = {
    "sqlite": (
        Migration(
            1,
            "cluster metadata",
            (
                """
                CREATE TABLE cluster_metadata (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    cluster_id TEXT NOT NULL,
                    cluster_name TEXT NOT NULL,
                    created_at TEXT NOT NULL
                )
                """,
            ),
        ),
    ),
    "postgresql": (
        Migration(
            1,
            "cluster metadata",
            (
                """
                CREATE TABLE cluster_metadata (
                    singleton SMALLINT PRIMARY KEY CHECK (singleton = 1),
                    cluster_id TEXT NOT NULL,
                    cluster_name TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL
                )
                """,
            ),
        ),
    ),
}


def latest_version(dialect: Dialect) -> int:
    return MIGRATIONS[dialect][-1].version


def pending_migrations(dialect: Dialect, current: int) -> tuple[Migration, ...]:
    """Migrations to apply on top of `current`; refuses a schema newer than this engine."""
    latest = latest_version(dialect)
    if current > latest:
        raise ConfigError(
            f"engine database schema version {current} is newer than this engine supports ({latest}); upgrade Sundial"
        )
    return tuple(m for m in MIGRATIONS[dialect] if m.version > current)
