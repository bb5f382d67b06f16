"""Executions, current runs and history in the engine store, on this run's backend.

Every test goes through the public `Store` methods; a few look at the database from outside
(`run_sql`) to poison a batch or kill a connection.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import StoreError
from engine.persistence import Store, open_store, parse_database_url
from engine.persistence.group_commit import CommitStats
from engine.persistence.postgres import PostgresStore
from engine.persistence.records import (
    CurrentRun,
    CurrentRunConflict,
    CurrentRunWrite,
    ExecutionConflict,
    ExecutionKey,
    HistoryBatch,
    Transition,
)
from engine.persistence.sqlite import SqliteStore
from tests.support.backends import fresh_postgres_database

NS = "0b9e4b7e-0000-4000-8000-000000000001"
RUNNING, COMPLETED = 1, 2  # WorkflowExecutionStatus values


def stats_of(store: Store) -> CommitStats:
    assert isinstance(store, SqliteStore | PostgresStore)
    return store.stats


def run_sql(url: str, statement: str) -> None:
    parsed = parse_database_url(url)
    if parsed.dialect == "sqlite":
        with sqlite3.connect(parsed.path) as conn:
            conn.executescript(statement)
        return
    with psycopg.connect(parsed.raw, autocommit=True) as pg:
        pg.execute(statement.encode())


def start(
    key: ExecutionKey, *, expected_run_id: str | None = None, state: bytes = b"state-1", request_id: str = "req"
) -> Transition:
    """The first transition of a run: WorkflowExecutionStarted + WorkflowTaskScheduled."""
    return Transition(
        key=key,
        state=state,
        next_event_id=3,
        expected_db_version=0,
        running=True,
        history=HistoryBatch(1, 2, b"events 1-2 of " + key.run_id.encode()),
        current=CurrentRunWrite(key.run_id, True, request_id, RUNNING, expected_run_id=expected_run_id),
    )


def update(
    key: ExecutionKey,
    version: int,
    *,
    state: bytes,
    history: HistoryBatch | None = None,
    close: bool = False,
) -> Transition:
    return Transition(
        key=key,
        state=state,
        next_event_id=history.last_event_id + 1 if history else 3,
        expected_db_version=version,
        running=not close,
        history=history,
        current_status=(False, COMPLETED) if close else None,
    )


def run(workflow_id: str, namespace_id: str = NS) -> ExecutionKey:
    return ExecutionKey(namespace_id, workflow_id, str(uuid.uuid4()))


async def test_a_started_run_reads_back_with_its_history_and_current_run(engine_store: Store) -> None:
    key = run("order-1")
    await engine_store.commit(start(key, request_id="req-1"))

    row = await engine_store.get_execution(key)
    assert row is not None
    assert (row.key, row.state, row.next_event_id, row.db_version, row.running) == (key, b"state-1", 3, 1, True)
    assert await engine_store.get_current_run(NS, "order-1") == CurrentRun(NS, "order-1", key.run_id, True, "req-1", 1)
    assert await engine_store.read_history(key) == [HistoryBatch(1, 2, b"events 1-2 of " + key.run_id.encode())]
    assert await engine_store.get_execution(run("order-1")) is None
    assert await engine_store.get_current_run(NS, "order-2") is None


async def test_an_update_at_the_read_version_is_written_and_bumps_it(engine_store: Store) -> None:
    key = run("order-1")
    await engine_store.commit(start(key))
    await engine_store.commit(update(key, 1, state=b"state-2", history=HistoryBatch(3, 4, b"3-4")))

    row = await engine_store.get_execution(key)
    assert row is not None
    assert (row.state, row.db_version, row.next_event_id) == (b"state-2", 2, 5)
    assert [b.first_event_id for b in await engine_store.read_history(key)] == [1, 3]


async def test_an_update_at_a_stale_version_conflicts_and_writes_nothing(engine_store: Store) -> None:
    key = run("order-1")
    await engine_store.commit(start(key))
    await engine_store.commit(update(key, 1, state=b"state-2"))

    stale = update(key, 1, state=b"lost", history=HistoryBatch(3, 4, b"lost"), close=True)
    with pytest.raises(ExecutionConflict):
        await engine_store.commit(stale)

    row = await engine_store.get_execution(key)
    assert row is not None
    assert (row.state, row.db_version, row.running) == (b"state-2", 2, True)
    assert [b.first_event_id for b in await engine_store.read_history(key)] == [1]
    current = await engine_store.get_current_run(NS, "order-1")
    assert current is not None
    assert current.running


async def test_creating_a_run_that_exists_conflicts(engine_store: Store) -> None:
    key = run("order-1")
    await engine_store.commit(start(key))
    again = Transition(key=key, state=b"again", next_event_id=3, expected_db_version=0, running=True)
    with pytest.raises(ExecutionConflict):
        await engine_store.commit(again)
    row = await engine_store.get_execution(key)
    assert row is not None
    assert row.state == b"state-1"


async def test_a_second_start_of_a_workflow_id_exposes_the_first_run(engine_store: Store) -> None:
    first, second = run("order-1"), run("order-1")
    await engine_store.commit(start(first, request_id="req-1"))

    with pytest.raises(CurrentRunConflict) as info:
        await engine_store.commit(start(second, request_id="req-2"))

    assert info.value.current == CurrentRun(NS, "order-1", first.run_id, True, "req-1", RUNNING)
    assert await engine_store.get_execution(second) is None
    assert await engine_store.read_history(second) == []


async def test_a_closed_run_is_replaced_only_by_a_start_that_names_it(engine_store: Store) -> None:
    first, second, third = run("order-1"), run("order-1"), run("order-1")
    await engine_store.commit(start(first))
    await engine_store.commit(update(first, 1, state=b"done", close=True))
    closed = CurrentRun(NS, "order-1", first.run_id, False, "req", COMPLETED)
    assert await engine_store.get_current_run(NS, "order-1") == closed

    with pytest.raises(CurrentRunConflict) as info:
        await engine_store.commit(start(second, expected_run_id=str(uuid.uuid4())))
    assert info.value.current == closed
    with pytest.raises(CurrentRunConflict) as info:
        await engine_store.commit(start(second, expected_run_id=None))
    assert info.value.current == closed

    await engine_store.commit(start(second, expected_run_id=first.run_id, request_id="req-2"))
    assert await engine_store.get_current_run(NS, "order-1") == CurrentRun(
        NS, "order-1", second.run_id, True, "req-2", RUNNING
    )
    # Closing the old run again must not touch the row that now names the new run.
    await engine_store.commit(update(first, 2, state=b"done again", close=True))
    current = await engine_store.get_current_run(NS, "order-1")
    assert current is not None
    assert (current.run_id, current.running) == (second.run_id, True)

    with pytest.raises(CurrentRunConflict) as info:  # a start naming a superseded run
        await engine_store.commit(start(third, expected_run_id=first.run_id))
    assert info.value.current == current


async def test_a_replacement_with_an_expected_run_but_no_current_row_conflicts(engine_store: Store) -> None:
    with pytest.raises(CurrentRunConflict) as info:
        await engine_store.commit(start(run("order-1"), expected_run_id=str(uuid.uuid4())))
    assert info.value.current is None


async def test_one_conflict_among_concurrent_commits_fails_alone_and_the_rest_is_durable(engine_db_url: str) -> None:
    store = await open_store(engine_db_url)
    keys = [run(f"order-{i}") for i in range(40)]
    await asyncio.gather(*(store.commit(start(k)) for k in keys))
    transactions_before = stats_of(store).transactions

    updates = [update(k, 1, state=b"v2 " + k.workflow_id.encode(), history=HistoryBatch(3, 3, b"3")) for k in keys]
    updates[17] = update(keys[17], 7, state=b"stale", history=HistoryBatch(3, 3, b"stale"))
    results = await asyncio.gather(*(store.commit(t) for t in updates), return_exceptions=True)
    assert stats_of(store).transactions == transactions_before + 1  # one batch: the conflict did not split it
    await store.close()

    assert isinstance(results[17], ExecutionConflict)
    assert all(r is None for i, r in enumerate(results) if i != 17)
    reopened = await open_store(engine_db_url)
    try:
        for i, key in enumerate(keys):
            row = await reopened.get_execution(key)
            assert row is not None
            history = await reopened.read_history(key)
            if i == 17:
                assert (row.state, row.db_version, len(history)) == (b"state-1", 1, 1)
            else:
                assert (row.state, row.db_version, len(history)) == (b"v2 " + key.workflow_id.encode(), 2, 2)
    finally:
        await reopened.close()


async def test_many_concurrent_commits_share_few_transactions(engine_store: Store) -> None:
    before = stats_of(engine_store).transactions
    keys = [run(f"wf-{i}") for i in range(200)]
    await asyncio.gather(*(engine_store.commit(start(k)) for k in keys))
    stats = stats_of(engine_store)
    assert stats.commits >= 200
    assert stats.transactions - before < 200 / 10

    async def worker(key: ExecutionKey) -> None:  # each caller commits again as soon as it may
        for version in range(1, 6):
            await engine_store.commit(update(key, version, state=b"v%d" % version))

    before = stats.transactions
    await asyncio.gather(*(worker(k) for k in keys))
    assert stats.transactions - before < 1000 / 10
    assert len(await engine_store.list_running_executions(after=None, limit=500)) == 200


async def test_history_reads_in_order_from_any_event(engine_store: Store) -> None:
    key = run("order-1")
    await engine_store.commit(start(key))
    await engine_store.commit(update(key, 1, state=b"s", history=HistoryBatch(3, 3, b"3")))
    await engine_store.commit(update(key, 2, state=b"s", history=HistoryBatch(4, 9, b"4-9")))
    await engine_store.commit(update(key, 3, state=b"s"))  # a transition without events
    await engine_store.commit(update(key, 4, state=b"s", history=HistoryBatch(10, 11, b"10-11")))

    async def firsts(from_event_id: int) -> list[int]:
        return [b.first_event_id for b in await engine_store.read_history(key, from_event_id=from_event_id)]

    assert await firsts(1) == [1, 3, 4, 10]
    assert await firsts(2) == [1, 3, 4, 10]  # inside the first batch: that batch first
    assert await firsts(3) == [3, 4, 10]
    assert await firsts(6) == [4, 10]
    assert await firsts(11) == [10]
    assert await firsts(12) == []
    other_run = ExecutionKey(NS, "order-1", str(uuid.uuid4()))
    assert await engine_store.read_history(other_run) == []


async def test_running_executions_page_in_key_order_without_closed_runs(engine_store: Store) -> None:
    other_ns = "0b9e4b7e-0000-4000-8000-000000000002"
    keys = [run(f"wf-{i}", ns) for ns in (other_ns, NS) for i in range(5)]
    await asyncio.gather(*(engine_store.commit(start(k)) for k in keys))
    closed = {keys[1], keys[6], keys[9]}
    await asyncio.gather(*(engine_store.commit(update(k, 1, state=b"done", close=True)) for k in closed))

    pages: list[list[ExecutionKey]] = []
    after: ExecutionKey | None = None
    while True:
        rows = await engine_store.list_running_executions(after=after, limit=3)
        assert all(r.running for r in rows)
        pages.append([r.key for r in rows])
        if len(rows) < 3:
            break
        after = rows[-1].key

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [k for p in pages for k in p] == sorted(set(keys) - closed)


async def test_a_failing_batch_fails_every_caller_and_the_next_batch_works(engine_db_url: str) -> None:
    store = await open_store(engine_db_url)
    try:
        if store.url.dialect == "sqlite":
            poison = (
                "CREATE TRIGGER poison BEFORE INSERT ON history_batches WHEN NEW.workflow_id = 'poison'"
                " BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
            )
        else:
            poison = (
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE 'poisoned'; END $$;"
                " CREATE TRIGGER poison BEFORE INSERT ON history_batches FOR EACH ROW"
                " WHEN (NEW.workflow_id = 'poison') EXECUTE FUNCTION poison()"
            )
        run_sql(engine_db_url, poison)
        keys = [run(f"wf-{i}") for i in range(5)] + [run("poison")] + [run(f"wf-{i}") for i in range(5, 10)]

        results = await asyncio.gather(*(store.commit(start(k)) for k in keys), return_exceptions=True)

        assert all(isinstance(r, StoreError) for r in results)
        assert stats_of(store).errors == len(keys)
        assert await store.list_running_executions(after=None, limit=100) == []
        healthy = [k for k in keys if k.workflow_id != "poison"]
        await asyncio.gather(*(store.commit(start(k)) for k in healthy))
        assert len(await store.list_running_executions(after=None, limit=100)) == len(healthy)
    finally:
        await store.close()


@pytest.fixture
def postgres_engine_url() -> Iterator[str]:
    """A fresh PostgreSQL database on every pass: this test is about PostgreSQL itself."""
    base = os.environ.get("ENGINE_DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        base = os.environ.get("SUNDIAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432") + "/postgres"
    with fresh_postgres_database(base, "sundial_engine_pg") as url:
        yield url.replace("postgres://", "postgresql://", 1)


async def test_a_lost_postgres_connection_fails_its_batch_and_the_store_reconnects(postgres_engine_url: str) -> None:
    engine_db_url = postgres_engine_url
    url = parse_database_url(engine_db_url)
    store = PostgresStore(url, pool_min_size=1, pool_max_size=1)
    await store.open()
    try:
        await store.commit(start(run("before")))
        database = url.raw.rsplit("/", 1)[1]
        run_sql(
            engine_db_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{database}' AND pid <> pg_backend_pid()",
        )
        with pytest.raises(StoreError):
            await store.commit(start(run("lost")))
        await store.commit(start(run("after")))
        current = await store.get_current_run(NS, "after")
        assert current is not None
        assert await store.get_current_run(NS, "lost") is None
    finally:
        await store.close()


async def test_close_finishes_queued_commits_then_refuses_new_ones(engine_db_url: str) -> None:
    store = await open_store(engine_db_url)
    keys = [run(f"wf-{i}") for i in range(300)]
    commits = [asyncio.ensure_future(store.commit(start(k))) for k in keys]
    await asyncio.sleep(0)  # let them queue
    await store.close()
    assert all(c.done() and c.exception() is None for c in commits)
    with pytest.raises(StoreError):
        await store.commit(start(run("late")))

    reopened = await open_store(engine_db_url)
    try:
        assert len(await reopened.list_running_executions(after=None, limit=500)) == len(keys)
    finally:
        await reopened.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=st.binary(max_size=4096), events=st.binary(max_size=4096), workflow_id=st.text(min_size=1, max_size=40))
def test_any_bytes_and_workflow_id_round_trip(
    engine_db_url: str, state: bytes, events: bytes, workflow_id: str
) -> None:
    workflow_id = workflow_id.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    key = ExecutionKey(str(uuid.uuid4()), workflow_id or "w", str(uuid.uuid4()))
    transition = Transition(
        key=key, state=state, next_event_id=2, expected_db_version=0, running=True, history=HistoryBatch(1, 1, events)
    )

    async def scenario() -> None:
        store = await open_store(engine_db_url)
        try:
            await store.commit(transition)
            row = await store.get_execution(key)
            assert row is not None
            assert row.state == state
            assert await store.read_history(key) == [HistoryBatch(1, 1, events)]
            assert key in [r.key for r in await store.list_running_executions(after=None, limit=1000)]
        finally:
            await store.close()

    asyncio.run(scenario())


async def test_an_in_memory_store_commits_and_reads_on_its_single_connection() -> None:
    store = await open_store("sqlite://:memory:")
    try:
        key = run("order-1")
        await store.commit(start(key))
        await store.commit(update(key, 1, state=b"state-2", history=HistoryBatch(3, 4, b"3-4")))
        row = await store.get_execution(key)
        assert row is not None
        assert row.db_version == 2
        assert len(await store.read_history(key)) == 2
    finally:
        await store.close()
