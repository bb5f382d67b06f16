"""The engine store on whichever backend this run uses (SQLite, or PostgreSQL in CI's second run)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest

from engine.errors import ConfigError
from engine.persistence import open_store, parse_database_url
from engine.persistence.migrations import latest_version
from engine.persistence.records import NamespaceRecord


def run_sql(url: str, statement: str) -> list[tuple[object, ...]]:
    """Look at (or tamper with) the database from outside the engine."""
    parsed = parse_database_url(url)
    if parsed.dialect == "sqlite":
        with sqlite3.connect(parsed.path) as conn:
            return conn.execute(statement).fetchall()
    with psycopg.connect(parsed.raw, autocommit=True) as pg:
        cur = pg.execute(statement.encode())
        return cur.fetchall() if cur.description else []


async def test_opening_a_new_database_applies_every_migration(engine_db_url: str) -> None:
    store = await open_store(engine_db_url)
    try:
        await store.ping()
        assert await store.schema_version() == latest_version(store.url.dialect)
        metadata = await store.cluster_metadata()
        assert metadata.cluster_name == "sundial"
        assert len(metadata.cluster_id) == 36
    finally:
        await store.close()
    versions = run_sql(engine_db_url, "SELECT version FROM schema_version ORDER BY version")
    assert [row[0] for row in versions] == list(range(1, latest_version(store.url.dialect) + 1))


async def test_reopening_is_idempotent_and_keeps_the_cluster_id(engine_db_url: str) -> None:
    first = await open_store(engine_db_url)
    before = (await first.schema_version(), await first.cluster_metadata())
    await first.close()

    second = await open_store(engine_db_url)
    after = (await second.schema_version(), await second.cluster_metadata())
    await second.close()

    assert after == before
    rows = run_sql(engine_db_url, "SELECT COUNT(*) FROM schema_version")
    assert rows[0][0] == before[0]


async def test_engines_opening_one_database_at_once_migrate_it_once(engine_db_url: str) -> None:
    stores = await asyncio.gather(*(open_store(engine_db_url) for _ in range(3)))
    try:
        cluster_ids = {(await s.cluster_metadata()).cluster_id for s in stores}
    finally:
        for store in stores:
            await store.close()
    assert len(cluster_ids) == 1
    rows = run_sql(engine_db_url, "SELECT COUNT(*) FROM schema_version")
    assert rows[0][0] == latest_version(stores[0].url.dialect)


async def test_it_refuses_a_database_migrated_by_a_newer_engine(engine_db_url: str) -> None:
    store = await open_store(engine_db_url)
    await store.close()
    run_sql(
        engine_db_url,
        "INSERT INTO schema_version (version, description, applied_at)"
        " VALUES (999, 'from the future', '2099-01-01T00:00:00+00:00')",
    )
    with pytest.raises(ConfigError, match="schema version 999 is newer than this engine supports"):
        await open_store(engine_db_url)


async def test_sqlite_default_creates_its_directory_and_uses_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = await open_store("sqlite:///var/engine.sqlite3")
    try:
        assert (tmp_path / "var" / "engine.sqlite3").is_file()
        assert run_sql("sqlite:///var/engine.sqlite3", "PRAGMA journal_mode") == [("wal",)]
    finally:
        await store.close()


async def test_a_sqlite_write_waits_for_another_writer_without_stalling_the_engine(tmp_path: Path) -> None:
    """The store's connection lives on the event loop: while another process holds the write
    lock, a commit retries asynchronously, other coroutines keep running, and it lands after."""
    url = f"sqlite:///{tmp_path}/engine.sqlite3"
    store = await open_store(url)
    other = sqlite3.connect(tmp_path / "engine.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        write = asyncio.create_task(store.create_namespace(NamespaceRecord(str(uuid.uuid4()), "waits", 1, b"")))
        await asyncio.sleep(0.2)  # a write blocking the loop would hold it here, then fail as busy
        assert not write.done()  # waiting for the other writer, while the loop runs on
        other.execute("COMMIT")
        await asyncio.wait_for(write, 5)
        found = await store.get_namespace(name="waits")
        assert found is not None
    finally:
        other.close()
        await store.close()


async def test_sqlite_in_memory_works_for_throwaway_engines() -> None:
    store = await open_store("sqlite://:memory:")
    try:
        assert await store.schema_version() == latest_version("sqlite")
    finally:
        await store.close()


async def test_an_unreachable_postgres_is_a_one_line_config_error(free_port: int) -> None:
    with pytest.raises(ConfigError) as info:
        await open_store(f"postgresql://postgres:hunter2@127.0.0.1:{free_port}/sundial")
    assert str(info.value) == (
        f"cannot connect to engine database postgresql://postgres@127.0.0.1:{free_port}/sundial: connection refused"
    )
