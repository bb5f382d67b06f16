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
        Migration(
            2,
            "namespaces, executions, current runs and history",
            (
                """
                CREATE TABLE namespaces (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    state INTEGER NOT NULL,
                    data BLOB NOT NULL,
                    version INTEGER NOT NULL
                )
                """,
                """
                CREATE TABLE executions (
                    namespace_id TEXT NOT NULL,
                    workflow_id TEXT NOT NULL,
                    run_id TEXT NOT NULL,
                    state BLOB NOT NULL,
                    next_event_id INTEGER NOT NULL,
                    db_version INTEGER NOT NULL,
                    running INTEGER NOT NULL,
                    PRIMARY KEY (namespace_id, workflow_id, run_id)
                )
                """,
                # start-up recovery pages through running executions in key order
                """
                CREATE INDEX executions_running ON executions (namespace_id, workflow_id, run_id)
                WHERE running
                """,
                """
                CREATE TABLE current_executions (
                    namespace_id TEXT NOT NULL,
                    workflow_id TEXT NOT NULL,
                    run_id TEXT NOT NULL,
                    running INTEGER NOT NULL,
                    start_request_id TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    PRIMARY KEY (namespace_id, workflow_id)
                ) WITHOUT ROWID
                """,
                """
                CREATE TABLE history_batches (
                    namespace_id TEXT NOT NULL,
                    workflow_id TEXT NOT NULL,
                    run_id TEXT NOT NULL,
                    first_event_id INTEGER NOT NULL,
                    last_event_id INTEGER NOT NULL,
                    data BLOB NOT NULL,
                    PRIMARY KEY (namespace_id, workflow_id, run_id, first_event_id)
                )
                """,
            ),
        ),
        Migration(
            3,
            "visibility and search attributes",
            (
                """
                CREATE TABLE executions_visibility (
                    namespace_id TEXT NOT NULL,
                    run_id TEXT NOT NULL,
                    workflow_id TEXT NOT NULL,
                    workflow_type TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    start_time INTEGER NOT NULL,
                    execution_time INTEGER NOT NULL,
                    close_time INTEGER,
                    execution_duration INTEGER,
                    task_queue TEXT NOT NULL,
                    history_length INTEGER NOT NULL,
                    history_size_bytes INTEGER NOT NULL,
                    state_transition_count INTEGER NOT NULL,
                    parent_workflow_id TEXT,
                    parent_run_id TEXT,
                    root_workflow_id TEXT NOT NULL,
                    root_run_id TEXT NOT NULL,
                    memo BLOB NOT NULL,
                    search_attributes BLOB NOT NULL,
                    PRIMARY KEY (namespace_id, run_id)
                ) WITHOUT ROWID
                """,
                # the default listing order: open runs first, then by close time, newest first
                """
                CREATE INDEX visibility_order ON executions_visibility
                (namespace_id, COALESCE(close_time, 9223372036854775807) DESC, start_time DESC, run_id)
                """,
                "CREATE INDEX visibility_workflow_id ON executions_visibility (namespace_id, workflow_id)",
                "CREATE INDEX visibility_type ON executions_visibility (namespace_id, workflow_type, start_time)",
                "CREATE INDEX visibility_status ON executions_visibility (namespace_id, status, start_time)",
                "CREATE INDEX visibility_start ON executions_visibility (namespace_id, start_time)",
                "CREATE INDEX visibility_close ON executions_visibility (namespace_id, close_time)",
                """
                CREATE TABLE visibility_attributes (
                    namespace_id TEXT NOT NULL,
                    run_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    text_value TEXT,
                    int_value INTEGER,
                    double_value REAL
                )
                """,
                "CREATE INDEX visibility_attributes_run ON visibility_attributes (namespace_id, run_id, name)",
                """
                CREATE INDEX visibility_attributes_text ON visibility_attributes (namespace_id, name, text_value)
                WHERE text_value IS NOT NULL
                """,
                """
                CREATE INDEX visibility_attributes_int ON visibility_attributes (namespace_id, name, int_value)
                WHERE int_value IS NOT NULL
                """,
                """
                CREATE INDEX visibility_attributes_double ON visibility_attributes (namespace_id, name, double_value)
                WHERE double_value IS NOT NULL
                """,
                """
                CREATE TABLE search_attributes (
                    namespace_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    type INTEGER NOT NULL,
                    PRIMARY KEY (namespace_id, name)
                ) WITHOUT ROWID
                """,
            ),
        ),
        Migration(
            4,
            "schedules and batch operations",
            (
                """
                CREATE TABLE schedules (
                    namespace_id TEXT NOT NULL,
                    schedule_id TEXT NOT NULL,
                    data BLOB NOT NULL,
                    version INTEGER NOT NULL,
                    PRIMARY KEY (namespace_id, schedule_id)
                ) WITHOUT ROWID
                """,
                """
                CREATE TABLE batch_operations (
                    namespace_id TEXT NOT NULL,
                    job_id TEXT NOT NULL,
                    data BLOB NOT NULL,
                    PRIMARY KEY (namespace_id, job_id)
                ) WITHOUT ROWID
                """,
            ),
        ),
        Migration(
            5,
            "namespace access: auth settings, principals, grants, API keys",
            (
                # mTLS off: mtls_ca_bundle_pem NULL. mtls_filters: a JSON list of filter objects.
                """
                CREATE TABLE namespace_auth (
                    namespace_id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL,
                    api_key_auth INTEGER NOT NULL,
                    mtls_ca_bundle_pem TEXT,
                    mtls_filters TEXT NOT NULL
                ) WITHOUT ROWID
                """,
                "CREATE INDEX namespace_auth_account ON namespace_auth (account_id)",
                """
                CREATE TABLE principals (
                    principal_id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    account_admin INTEGER NOT NULL
                ) WITHOUT ROWID
                """,
                "CREATE INDEX principals_account ON principals (account_id)",
                # namespace: the short name (the part of the namespace id before its first '.')
                """
                CREATE TABLE principal_grants (
                    principal_id TEXT NOT NULL,
                    namespace TEXT NOT NULL,
                    permission TEXT NOT NULL,
                    PRIMARY KEY (principal_id, namespace)
                ) WITHOUT ROWID
                """,
                # expires_at: nanoseconds since the epoch, NULL for a key that never expires
                """
                CREATE TABLE api_keys (
                    key_id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL,
                    principal_id TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    expires_at INTEGER,
                    disabled INTEGER NOT NULL
                ) WITHOUT ROWID
                """,
                "CREATE INDEX api_keys_account ON api_keys (account_id)",
                # bumped by every change of the above: engines reload their access snapshot when it moves
                """
                CREATE TABLE access_version (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    version INTEGER NOT NULL
                )
                """,
                "INSERT INTO access_version (singleton, version) VALUES (1, 0)",
            ),
        ),
        Migration(
            6,
            "search attribute aliases: a stable stored field per custom attribute",
            (
                "ALTER TABLE search_attributes ADD COLUMN field TEXT NOT NULL DEFAULT ''",
                "UPDATE search_attributes SET field = name",
                "CREATE UNIQUE INDEX search_attributes_field ON search_attributes (namespace_id, field)",
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
        Migration(
            2,
            "namespaces, executions, current runs and history",
            (
                # Keys compare bytewise (COLLATE "C"): pages and orderings match SQLite's and Python's.
                """
                CREATE TABLE namespaces (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    name TEXT COLLATE "C" NOT NULL UNIQUE,
                    state INTEGER NOT NULL,
                    data BYTEA NOT NULL,
                    version BIGINT NOT NULL
                )
                """,
                # fillfactor leaves room on each page so state updates stay HOT (no index writes).
                """
                CREATE TABLE executions (
                    namespace_id TEXT COLLATE "C" NOT NULL,
                    workflow_id TEXT COLLATE "C" NOT NULL,
                    run_id TEXT COLLATE "C" NOT NULL,
                    state BYTEA NOT NULL,
                    next_event_id BIGINT NOT NULL,
                    db_version BIGINT NOT NULL,
                    running BOOLEAN NOT NULL,
                    PRIMARY KEY (namespace_id, workflow_id, run_id)
                ) WITH (fillfactor = 80)
                """,
                """
                CREATE INDEX executions_running ON executions (namespace_id, workflow_id, run_id)
                WHERE running
                """,
                """
                CREATE TABLE current_executions (
                    namespace_id TEXT COLLATE "C" NOT NULL,
                    workflow_id TEXT COLLATE "C" NOT NULL,
                    run_id TEXT COLLATE "C" NOT NULL,
                    running BOOLEAN NOT NULL,
                    start_request_id TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    PRIMARY KEY (namespace_id, workflow_id)
                ) WITH (fillfactor = 80)
                """,
                """
                CREATE TABLE history_batches (
                    namespace_id TEXT COLLATE "C" NOT NULL,
                    workflow_id TEXT COLLATE "C" NOT NULL,
                    run_id TEXT COLLATE "C" NOT NULL,
                    first_event_id BIGINT NOT NULL,
                    last_event_id BIGINT NOT NULL,
                    data BYTEA NOT NULL,
                    PRIMARY KEY (namespace_id, workflow_id, run_id, first_event_id)
                )
                """,
            ),
        ),
        Migration(
            3,
            "visibility and search attributes",
            (
                """
                CREATE TABLE executions_visibility (
                    namespace_id TEXT COLLATE "C" NOT NULL,
                    run_id TEXT COLLATE "C" NOT NULL,
                    workflow_id TEXT COLLATE "C" NOT NULL,
                    workflow_type TEXT COLLATE "C" NOT NULL,
                    status INTEGER NOT NULL,
                    start_time BIGINT NOT NULL,
                    execution_time BIGINT NOT NULL,
                    close_time BIGINT,
                    execution_duration BIGINT,
                    task_queue TEXT COLLATE "C" NOT NULL,
                    history_length BIGINT NOT NULL,
                    history_size_bytes BIGINT NOT NULL,
                    state_transition_count BIGINT NOT NULL,
                    parent_workflow_id TEXT COLLATE "C",
                    parent_run_id TEXT COLLATE "C",
                    root_workflow_id TEXT COLLATE "C" NOT NULL,
                    root_run_id TEXT COLLATE "C" NOT NULL,
                    memo BYTEA NOT NULL,
                    search_attributes BYTEA NOT NULL,
                    PRIMARY KEY (namespace_id, run_id)
                ) WITH (fillfactor = 90)
                """,
                # the default listing order: open runs first, then by close time, newest first
                """
                CREATE INDEX visibility_order ON executions_visibility
                (namespace_id, COALESCE(close_time, 9223372036854775807) DESC, start_time DESC, run_id)
                """,
                "CREATE INDEX visibility_workflow_id ON executions_visibility (namespace_id, workflow_id)",
                "CREATE INDEX visibility_type ON executions_visibility (namespace_id, workflow_type, start_time)",
                "CREATE INDEX visibility_status ON executions_visibility (namespace_id, status, start_time)",
                "CREATE INDEX visibility_start ON executions_visibility (namespace_id, start_time)",
                "CREATE INDEX visibility_close ON executions_visibility (namespace_id, close_time)",
                """
                CREATE TABLE visibility_attributes (
                    namespace_id TEXT COLLATE "C" NOT NULL,
                    run_id TEXT COLLATE "C" NOT NULL,
                    name TEXT COLLATE "C" NOT NULL,
                    text_value TEXT COLLATE "C",
                    int_value BIGINT,
                    double_value DOUBLE PRECISION
                )
                """,
                "CREATE INDEX visibility_attributes_run ON visibility_attributes (namespace_id, run_id, name)",
                """
                CREATE INDEX visibility_attributes_text ON visibility_attributes (namespace_id, name, text_value)
                WHERE text_value IS NOT NULL
                """,
                """
                CREATE INDEX visibility_attributes_int ON visibility_attributes (namespace_id, name, int_value)
                WHERE int_value IS NOT NULL
                """,
                """
                CREATE INDEX visibility_attributes_double ON visibility_attributes (namespace_id, name, double_value)
                WHERE double_value IS NOT NULL
                """,
                """
                CREATE TABLE search_attributes (
                    namespace_id TEXT COLLATE "C" NOT NULL,
                    name TEXT COLLATE "C" NOT NULL,
                    type INTEGER NOT NULL,
                    PRIMARY KEY (namespace_id, name)
                )
                """,
            ),
        ),
        Migration(
            4,
            "schedules and batch operations",
            (
                """
                CREATE TABLE schedules (
                    namespace_id TEXT COLLATE "C" NOT NULL,
                    schedule_id TEXT COLLATE "C" NOT NULL,
                    data BYTEA NOT NULL,
                    version BIGINT NOT NULL,
                    PRIMARY KEY (namespace_id, schedule_id)
                )
                """,
                """
                CREATE TABLE batch_operations (
                    namespace_id TEXT COLLATE "C" NOT NULL,
                    job_id TEXT COLLATE "C" NOT NULL,
                    data BYTEA NOT NULL,
                    PRIMARY KEY (namespace_id, job_id)
                )
                """,
            ),
        ),
        Migration(
            5,
            "namespace access: auth settings, principals, grants, API keys",
            (
                """
                CREATE TABLE namespace_auth (
                    namespace_id TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL,
                    api_key_auth BOOLEAN NOT NULL,
                    mtls_ca_bundle_pem TEXT,
                    mtls_filters TEXT NOT NULL
                )
                """,
                "CREATE INDEX namespace_auth_account ON namespace_auth (account_id)",
                """
                CREATE TABLE principals (
                    principal_id TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    account_admin BOOLEAN NOT NULL
                )
                """,
                "CREATE INDEX principals_account ON principals (account_id)",
                """
                CREATE TABLE principal_grants (
                    principal_id TEXT COLLATE "C" NOT NULL,
                    namespace TEXT COLLATE "C" NOT NULL,
                    permission TEXT NOT NULL,
                    PRIMARY KEY (principal_id, namespace)
                )
                """,
                """
                CREATE TABLE api_keys (
                    key_id TEXT COLLATE "C" PRIMARY KEY,
                    account_id TEXT COLLATE "C" NOT NULL,
                    principal_id TEXT COLLATE "C" NOT NULL,
                    digest TEXT NOT NULL,
                    expires_at BIGINT,
                    disabled BOOLEAN NOT NULL
                )
                """,
                "CREATE INDEX api_keys_account ON api_keys (account_id)",
                """
                CREATE TABLE access_version (
                    singleton SMALLINT PRIMARY KEY CHECK (singleton = 1),
                    version BIGINT NOT NULL
                )
                """,
                "INSERT INTO access_version (singleton, version) VALUES (1, 0)",
            ),
        ),
        Migration(
            6,
            "search attribute aliases: a stable stored field per custom attribute",
            (
                """ALTER TABLE search_attributes ADD COLUMN field TEXT COLLATE "C" NOT NULL DEFAULT ''""",
                "UPDATE search_attributes SET field = name",
                "CREATE UNIQUE INDEX search_attributes_field ON search_attributes (namespace_id, field)",
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
