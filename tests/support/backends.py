"""Which backends this test pass runs on, and fresh databases for processes the tests start.

`make test` runs the suite twice: once on the embedded defaults (no variables set) and once
with DATABASE_URL / ENGINE_DATABASE_URL on PostgreSQL and REDIS_URL on Redis.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def postgres_url() -> str | None:
    """The control-plane PostgreSQL URL of this pass, or None on the embedded pass."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextmanager
def fresh_postgres_database(base_url: str, prefix: str) -> Iterator[str]:
    """Create a uniquely named database on base_url's server; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_url = _with_database(base_url.replace("postgres://", "postgresql://", 1), "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(base_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def process_databases(data_dir: Path) -> Iterator[dict[str, str]]:
    """Environment for a subprocess (e.g. ``sundial up``) with its own empty databases.

    Embedded pass: SQLite files under data_dir. PostgreSQL pass: two fresh databases.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {"SUNDIAL_DATA_DIR": str(data_dir)}
    pg = postgres_url()
    if pg is None:
        env["DATABASE_URL"] = f"sqlite:///{data_dir / 'sundial.sqlite3'}"
        env["ENGINE_DATABASE_URL"] = f"sqlite:///{data_dir / 'engine.sqlite3'}"
        yield env
        return
    engine_base = os.environ.get("ENGINE_DATABASE_URL") or pg
    with fresh_postgres_database(pg, "sundial_cp") as cp, fresh_postgres_database(engine_base, "sundial_en") as en:
        env["DATABASE_URL"] = cp
        env["ENGINE_DATABASE_URL"] = en.replace("postgres://", "postgresql://", 1)
        yield env
