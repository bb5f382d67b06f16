"""Group commit against a model: a batch behaves exactly as its transitions applied one by one.

Hypothesis draws a few existing runs and then a burst of concurrent commits (starts with every
kind of current-run expectation, updates at right and wrong versions, duplicate creates) that the
store groups into one or a few transactions. Each caller must get the outcome, and the database
the final state, that applying the same transitions sequentially to a plain-Python model gives.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import StoreError
from engine.persistence import Store, parse_database_url
from engine.persistence.postgres import PostgresStore
from engine.persistence.records import (
    CurrentRun,
    CurrentRunConflict,
    CurrentRunWrite,
    ExecutionConflict,
    ExecutionKey,
    HistoryBatch,
    StoreConflict,
    Transition,
)
from engine.persistence.sqlite import SqliteStore

WORKFLOWS = ("a", "b", "c")
RUN_NAMES = ("r0", "n0", "n1", "n2", "n3")
RUNNING, COMPLETED = 1, 2


@dataclass(frozen=True)
class Start:
    workflow: str
    run: str
    expect: str | None  # a run name, "?" for a run that never existed, or None


@dataclass(frozen=True)
class Update:
    workflow: str
    run: str
    version: int
    close: bool


@dataclass
class Model:
    namespace: str
    executions: dict[ExecutionKey, tuple[bytes, int, bool]] = field(default_factory=dict)
    current: dict[str, CurrentRun] = field(default_factory=dict)
    history: dict[ExecutionKey, list[int]] = field(default_factory=dict)

    def key(self, workflow: str, run: str) -> ExecutionKey:
        return ExecutionKey(self.namespace, workflow, f"{workflow}-{run}")

    def transition(self, op: Start | Update) -> Transition:
        key = self.key(op.workflow, op.run)
        if isinstance(op, Start):
            expected = None if op.expect is None else self.key(op.workflow, op.expect).run_id
            write = CurrentRunWrite(key.run_id, True, f"req-{op.run}", RUNNING, expected_run_id=expected)
            batch = HistoryBatch(1, 2, b"start")
            return Transition(key, b"s1 " + key.run_id.encode(), 3, 0, True, history=batch, current=write)
        batch = HistoryBatch(10 * op.version, 10 * op.version + 1, b"e%d" % op.version)
        status = (False, COMPLETED) if op.close else None
        state = b"s%d " % (op.version + 1) + key.run_id.encode()
        return Transition(key, state, batch.last_event_id + 1, op.version, not op.close, batch, current_status=status)

    def apply(self, t: Transition) -> StoreConflict | None:
        """What the store must do with `t`, applied after everything before it."""
        k = t.key
        row = self.executions.get(k)
        if (t.expected_db_version == 0 and row is not None) or (
            t.expected_db_version != 0 and (row is None or row[1] != t.expected_db_version)
        ):
            return ExecutionConflict()
        current = self.current.get(k.workflow_id)
        if (c := t.current) is not None:
            if (c.expected_run_id is None and current is not None) or (
                c.expected_run_id is not None and (current is None or current.run_id != c.expected_run_id)
            ):
                return CurrentRunConflict(current)
            self.current[k.workflow_id] = CurrentRun(
                k.namespace_id, k.workflow_id, c.run_id, c.running, c.start_request_id, c.status
            )
        current = self.current.get(k.workflow_id)
        if t.current_status is not None and current is not None and current.run_id == k.run_id:
            running, status = t.current_status
            self.current[k.workflow_id] = replace(current, running=running, status=status)
        self.executions[k] = (t.state, t.expected_db_version + 1, t.running)
        if t.history is not None:
            self.history.setdefault(k, []).append(t.history.first_event_id)
        return None


workflows = st.sampled_from(WORKFLOWS)
starts = st.builds(Start, workflows, st.sampled_from(RUN_NAMES[1:]), st.sampled_from((None, "r0", "n0", "?")))
updates = st.builds(Update, workflows, st.sampled_from(RUN_NAMES), st.integers(1, 3), st.booleans())
dup_creates = st.builds(Start, workflows, st.just("r0"), st.none())
setups = st.dictionaries(workflows, st.sampled_from(("running", "closed")))


async def _check(store: Store, setup: dict[str, str], burst: list[Start | Update]) -> None:
    model = Model(str(uuid.uuid4()))
    for workflow, how in setup.items():
        for op in [Start(workflow, "r0", None)] + ([Update(workflow, "r0", 1, True)] if how == "closed" else []):
            t = model.transition(op)
            assert model.apply(t) is None
            await store.commit(t)

    transitions = [model.transition(op) for op in burst]
    results = await asyncio.gather(*(store.commit(t) for t in transitions), return_exceptions=True)

    for t, result in zip(transitions, results, strict=True):
        expected = model.apply(t)
        assert type(result) is type(expected), (t, result, expected)
        if isinstance(expected, CurrentRunConflict):
            assert isinstance(result, CurrentRunConflict)
            assert result.current == expected.current
    for workflow in WORKFLOWS:
        assert await store.get_current_run(model.namespace, workflow) == model.current.get(workflow)
        for run in RUN_NAMES:
            key = model.key(workflow, run)
            row = await store.get_execution(key)
            want = model.executions.get(key)
            assert (None if row is None else (row.state, row.db_version, row.running)) == want
            assert [b.first_event_id for b in await store.read_history(key)] == model.history.get(key, [])
    running = [r.key for r in await store.list_running_executions(after=None, limit=1000)]
    assert [k for k in running if k.namespace_id == model.namespace] == sorted(
        k for k, (_, _, is_running) in model.executions.items() if is_running
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    setup=setups,
    burst=st.lists(st.one_of(starts, updates, dup_creates), min_size=1, max_size=14),
    batch_size=st.sampled_from((1, 3, 256)),
)
def test_a_burst_of_commits_matches_applying_them_one_by_one(
    engine_db_url: str, setup: dict[str, str], burst: list[Start | Update], batch_size: int
) -> None:
    url = parse_database_url(engine_db_url)

    async def scenario() -> None:
        store: Store
        if url.dialect == "sqlite":
            store = SqliteStore(url, commit_batch_size=batch_size)
        else:
            store = PostgresStore(url, commit_batch_size=batch_size)
        await store.open()
        try:
            await _check(store, setup, burst)
        finally:
            await store.close()

    asyncio.run(scenario())


async def test_a_history_batch_that_overlaps_stored_events_fails_alone(engine_store: Store) -> None:
    """Not a precondition the caller can retry: a `StoreError` for that transition, the rest of the
    batch written."""
    model = Model(str(uuid.uuid4()))
    good, bad = model.key("a", "r0"), model.key("b", "r0")
    for op in (Start("a", "r0", None), Start("b", "r0", None)):
        await engine_store.commit(model.transition(op))
    overlapping = Transition(bad, b"s2", 3, 1, True, HistoryBatch(1, 2, b"again"))
    fine = Transition(good, b"s2", 5, 1, True, HistoryBatch(3, 4, b"3-4"))

    results = await asyncio.gather(engine_store.commit(overlapping), engine_store.commit(fine), return_exceptions=True)

    assert isinstance(results[0], StoreError)
    assert not isinstance(results[0], StoreConflict)
    assert results[1] is None
    row = await engine_store.get_execution(bad)
    assert row is not None
    assert (row.state, row.db_version) == (b"s1 " + bad.run_id.encode(), 1)
    assert [b.data for b in await engine_store.read_history(bad)] == [b"start"]
    assert [b.first_event_id for b in await engine_store.read_history(good)] == [1, 3]
