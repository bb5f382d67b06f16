"""Group-commit batches that mix the kinds of transitions PostgreSQL writes in different ways.

On PostgreSQL, updates that leave the current run alone are written with one statement per batch
and the rest (creates, current-run changes) through per-transition savepoints; a batch where two
transitions share a workflow id, or whose one statement hits stored history, goes the savepoint
way as a whole. Whatever the path, every caller must get the outcome, and the database the state,
that applying the transitions one by one gives. The tests run on this pass's backend: SQLite has
a single path and must agree. On PostgreSQL, `savepointed` also shows which path each took.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest

from engine.errors import StoreError
from engine.persistence import Store, open_store
from engine.persistence import postgres_executions as pg_ops
from engine.persistence.group_commit import Outcome
from engine.persistence.records import (
    CurrentRun,
    CurrentRunConflict,
    ExecutionConflict,
    ExecutionKey,
    HistoryBatch,
    StoreConflict,
    Transition,
)
from tests.engine.test_engine_store_executions import COMPLETED, NS, RUNNING, run, start, stats_of, update


@pytest.fixture
def savepointed(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Positions each call of the PostgreSQL savepoint path was given (stays empty on SQLite)."""
    calls: list[list[int]] = []
    real = pg_ops._write_with_savepoints

    async def spy(
        conn: pg_ops.Connection,
        transitions: Sequence[Transition],
        positions: Sequence[int],
        outcomes: list[Outcome],
    ) -> None:
        calls.append(list(positions))
        await real(conn, transitions, positions, outcomes)

    monkeypatch.setattr(pg_ops, "_write_with_savepoints", spy)
    return calls


async def commit_batch(store: Store, transitions: list[Transition]) -> list[BaseException | None]:
    """Commit concurrently and check the store made one batch (one transaction) of them."""
    before = stats_of(store).transactions
    results = await asyncio.gather(*(store.commit(t) for t in transitions), return_exceptions=True)
    assert stats_of(store).transactions == before + 1
    return results


def on_postgres(store: Store) -> bool:
    return store.url.dialect == "postgresql"


async def test_stale_updates_among_many_fail_alone_and_the_rest_is_durable(
    engine_db_url: str, savepointed: list[list[int]]
) -> None:
    store = await open_store(engine_db_url)
    keys = [run(f"wf-{i}") for i in range(30)]
    await asyncio.gather(*(store.commit(start(k)) for k in keys))
    await asyncio.gather(*(store.commit(update(k, 1, state=b"v2", history=HistoryBatch(3, 3, b"3"))) for k in keys))
    savepointed.clear()
    stale = {i for i in range(30) if i % 4 == 1}
    batch = [
        update(
            k,
            (1 if i % 8 == 1 else 3) if i in stale else 2,  # behind or ahead of the row's version 2
            state=b"v3 " + k.workflow_id.encode(),
            history=HistoryBatch(4, 5, b"4-5 " + k.workflow_id.encode()) if i % 5 else None,
            close=i % 3 == 0,
        )
        for i, k in enumerate(keys)
    ]

    results = await commit_batch(store, batch)
    await store.close()

    assert [i for i, r in enumerate(results) if r is not None] == sorted(stale)
    assert savepointed == []  # on PostgreSQL, no transition took a savepoint
    reopened = await open_store(engine_db_url)
    try:
        for i, (k, t, result) in enumerate(zip(keys, batch, results, strict=True)):
            row = await reopened.get_execution(k)
            current = await reopened.get_current_run(NS, k.workflow_id)
            history = await reopened.read_history(k)
            assert row is not None
            assert current is not None
            if i in stale:
                assert isinstance(result, ExecutionConflict)
                assert (
                    str(result) == f"execution {k.workflow_id}/{k.run_id} is not at db_version {t.expected_db_version}"
                )
                assert (row.state, row.next_event_id, row.db_version, row.running) == (b"v2", 4, 2, True)
                assert [b.first_event_id for b in history] == [1, 3]
                assert (current.running, current.status) == (True, RUNNING)
            else:
                assert (row.state, row.next_event_id, row.db_version, row.running) == (
                    t.state,
                    t.next_event_id,
                    3,
                    t.running,
                )
                assert history[:2] == [
                    HistoryBatch(1, 2, b"events 1-2 of " + k.run_id.encode()),
                    HistoryBatch(3, 3, b"3"),
                ]
                assert history[2:] == ([] if t.history is None else [t.history])
                assert (current.running, current.status) == ((True, RUNNING) if t.running else (False, COMPLETED))
    finally:
        await reopened.close()


async def test_a_batch_mixing_creates_current_run_changes_and_updates(
    engine_store: Store, savepointed: list[list[int]]
) -> None:
    a, b, c, g, i, j = (run(w) for w in "abcgij")
    for key in (a, b, c, g, i, j):
        await engine_store.commit(start(key, request_id=f"req-{key.workflow_id}"))
    await engine_store.commit(update(b, 1, state=b"b done", close=True))
    d, b2, e, i2 = run("d"), run("b"), run("e"), run("i")
    savepointed.clear()
    batch = [
        start(d, request_id="req-d"),
        update(c, 1, state=b"c done", history=HistoryBatch(3, 4, b"c 3-4"), close=True),
        start(b2, expected_run_id=b.run_id, request_id="req-b2"),
        Transition(a, b"created twice", 3, 0, True),  # a create without a current-run change
        update(j, 1, state=b"j 2", history=HistoryBatch(3, 3, b"j 3")),
        start(e, expected_run_id=str(uuid.uuid4())),
        update(g, 5, state=b"g stale", history=HistoryBatch(3, 3, b"g 3")),
        start(i2, request_id="req-i2"),
    ]

    results = await commit_batch(engine_store, batch)

    assert [r is None for r in results] == [True, True, True, False, True, False, False, False]
    assert isinstance(results[3], ExecutionConflict)
    assert str(results[3]) == f"execution a/{a.run_id} already exists"
    assert isinstance(results[5], CurrentRunConflict)
    assert results[5].current is None
    assert isinstance(results[6], ExecutionConflict)
    assert isinstance(results[7], CurrentRunConflict)
    assert results[7].current == CurrentRun(NS, "i", i.run_id, True, "req-i", RUNNING)
    if on_postgres(engine_store):
        assert savepointed == [[2, 3, 5]]  # new workflows (0, 7) go by one statement

    get = engine_store.get_current_run
    assert await get(NS, "d") == CurrentRun(NS, "d", d.run_id, True, "req-d", RUNNING)
    assert await get(NS, "b") == CurrentRun(NS, "b", b2.run_id, True, "req-b2", RUNNING)
    assert await get(NS, "c") == CurrentRun(NS, "c", c.run_id, False, "req-c", COMPLETED)
    assert await get(NS, "a") == CurrentRun(NS, "a", a.run_id, True, "req-a", RUNNING)
    assert await get(NS, "e") is None
    assert await get(NS, "i") == CurrentRun(NS, "i", i.run_id, True, "req-i", RUNNING)
    for key, state, version, firsts in (
        (d, b"state-1", 1, [1]),
        (b2, b"state-1", 1, [1]),
        (c, b"c done", 2, [1, 3]),
        (a, b"state-1", 1, [1]),
        (j, b"j 2", 2, [1, 3]),
        (g, b"state-1", 1, [1]),
    ):
        row = await engine_store.get_execution(key)
        assert row is not None
        assert (row.state, row.db_version) == (state, version)
        assert [h.first_event_id for h in await engine_store.read_history(key)] == firsts
    assert await engine_store.get_execution(e) is None
    assert await engine_store.get_execution(i2) is None
    assert await engine_store.read_history(i2) == []


async def test_two_transitions_for_one_workflow_id_apply_in_order(
    engine_store: Store, savepointed: list[list[int]]
) -> None:
    a, b = run("a"), run("b")
    for key in (a, b):
        await engine_store.commit(start(key))
    a2 = run("a")
    savepointed.clear()
    batch = [
        update(a, 1, state=b"a 2", history=HistoryBatch(3, 3, b"3")),
        update(b, 1, state=b"b 2"),
        update(a, 2, state=b"a 3", history=HistoryBatch(4, 4, b"4"), close=True),
        update(b, 1, state=b"b stale"),  # stale only because the transition before it was written
        start(a2, expected_run_id=a.run_id, request_id="req-a2"),  # a closed earlier in this batch
    ]

    results = await commit_batch(engine_store, batch)

    assert [r is None for r in results] == [True, True, True, False, True]
    assert isinstance(results[3], ExecutionConflict)
    assert str(results[3]) == f"execution b/{b.run_id} is not at db_version 1"
    if on_postgres(engine_store):
        assert savepointed == [[0, 1, 2, 3, 4]]  # the whole batch, one by one
    row = await engine_store.get_execution(a)
    assert row is not None
    assert (row.state, row.db_version, row.running) == (b"a 3", 3, False)
    assert [h.first_event_id for h in await engine_store.read_history(a)] == [1, 3, 4]
    row = await engine_store.get_execution(b)
    assert row is not None
    assert (row.state, row.db_version) == (b"b 2", 2)
    assert await engine_store.get_current_run(NS, "a") == CurrentRun(NS, "a", a2.run_id, True, "req-a2", RUNNING)


@pytest.mark.parametrize("with_start", [False, True], ids=["updates-only", "with-a-start"])
async def test_history_overlapping_stored_events_fails_alone_on_either_path(
    engine_store: Store, savepointed: list[list[int]], with_start: bool
) -> None:
    """The batch's one update statement fails as a whole; redone one by one, only the culprit
    fails (with a `StoreError`, not a conflict), and nothing is written twice."""
    a, b, c, d = run("a"), run("b"), run("c"), run("d")
    for key in (a, b, c):
        await engine_store.commit(start(key))
    savepointed.clear()
    batch = [
        Transition(b, b"b overlapping", 3, 1, True, HistoryBatch(1, 2, b"again")),
        update(a, 1, state=b"a 2", history=HistoryBatch(3, 4, b"a 3-4")),
        Transition(c, b"c stale", 3, 7, True, HistoryBatch(1, 2, b"again")),  # refused before its history
    ]
    if with_start:
        batch.insert(1, start(d, request_id="req-d"))

    results = await commit_batch(engine_store, batch)

    assert isinstance(results[0], StoreError)
    assert not isinstance(results[0], StoreConflict)
    assert str(results[0]) == f"history of b/{b.run_id} already has a batch starting at event 1"
    assert isinstance(results[-1], ExecutionConflict)
    assert all(r is None for r in results[1:-1])
    if on_postgres(engine_store):
        everything = list(range(len(batch)))
        assert savepointed == [everything]  # the statements failed as a whole: all redone one by one
    row = await engine_store.get_execution(b)
    assert row is not None
    assert (row.state, row.db_version) == (b"state-1", 1)
    assert [h.data for h in await engine_store.read_history(b)] == [b"events 1-2 of " + b.run_id.encode()]
    row = await engine_store.get_execution(c)
    assert row is not None
    assert (row.state, row.db_version) == (b"state-1", 1)
    assert [h.first_event_id for h in await engine_store.read_history(a)] == [1, 3]
    if with_start:
        assert await engine_store.get_current_run(NS, "d") == CurrentRun(NS, "d", d.run_id, True, "req-d", RUNNING)
        assert [h.first_event_id for h in await engine_store.read_history(d)] == [1]

    await engine_store.commit(update(a, 2, state=b"a 3", history=HistoryBatch(5, 5, b"a 5")))  # the store goes on
    assert [h.first_event_id for h in await engine_store.read_history(a)] == [1, 3, 5]


async def test_awkward_ids_and_bytes_round_trip_through_a_batch_of_updates(
    engine_store: Store, savepointed: list[list[int]]
) -> None:
    workflow_ids = ["NULL", "a,b", 'q"uote', "back\\slash", "{brace}", " spaced ", "é ü 漢字 🙂", "'", ""]
    keys = [ExecutionKey(NS, w, str(uuid.uuid4())) for w in workflow_ids]
    await asyncio.gather(*(engine_store.commit(start(k)) for k in keys))
    payloads = [b"", b"\x00", b"\\x00", bytes(range(256)), b"{NULL}", b'"', b",", b"\xff" * 5000, b"NULL"]
    batch = [
        update(k, 1, state=p, history=HistoryBatch(3, 3, p[::-1]), close=n % 2 == 0)
        for n, (k, p) in enumerate(zip(keys, payloads, strict=True))
    ]
    savepointed.clear()

    results = await commit_batch(engine_store, batch)

    assert results == [None] * len(batch)
    assert savepointed == []
    for k, t in zip(keys, batch, strict=True):
        row = await engine_store.get_execution(k)
        assert row is not None
        assert (row.key, row.state, row.db_version, row.running) == (k, t.state, 2, t.running)
        assert (await engine_store.read_history(k, from_event_id=3)) == [t.history]
        current = await engine_store.get_current_run(NS, k.workflow_id)
        assert current is not None
        assert current.status == (RUNNING if t.running else COMPLETED)
