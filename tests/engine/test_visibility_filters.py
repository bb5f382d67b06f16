"""List Filters on the store: a table of queries and generated ones return the same runs, in the
same order, as the plain-Python reference evaluation over the same records (on SQLite and, in
the PostgreSQL pass, on PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload, SearchAttributes

from engine.persistence import Store, open_store
from engine.persistence.records import ExecutionKey, Transition
from engine.visibility.attributes import STATUS_NAMES, SaType, format_datetime
from engine.visibility.index import attribute_rows
from engine.visibility.listing import Visibility
from engine.visibility.registry import SearchAttributeRegistry
from tests.engine.visibility_oracle import Record, evaluate

NS = "ns-filters"
OTHER_NS = "ns-other"
CUSTOM = {
    "Customer": SaType.KEYWORD,
    "Notes": SaType.TEXT,
    "Amount": SaType.INT,
    "Score": SaType.DOUBLE,
    "Vip": SaType.BOOL,
    "DueAt": SaType.DATETIME,
    "Tags": SaType.KEYWORD_LIST,
}
BASE = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
HOUR = 3600 * 10**9
CUSTOMERS = ["acme", "acme-eu", "globex", "initech", "umbrella"]
TYPES = ["Billing", "Shipping", "Refund"]
WORDS = ["urgent", "refund", "order", "late", "customer", "called"]
TAGS = ["red", "green", "blue", "gold"]


def _payload(value: object) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def make_records(seed: int, count: int) -> list[Record]:
    rng = random.Random(seed)
    records = []
    for i in range(count):
        run_id = str(uuid.UUID(int=rng.getrandbits(128)))
        status = rng.choice([1, 1, 2, 2, 3, 4, 5, 7])
        start = BASE + rng.randrange(0, 48) * HOUR + (i % 3)  # some equal hours: ties on start time
        close = None if status == 1 else start + rng.randrange(1, 30) * HOUR
        columns = {
            "run_id": run_id,
            "workflow_id": f"order-{rng.randrange(0, 40):03d}",
            "workflow_type": rng.choice(TYPES),
            "status": status,
            "start_time": start,
            "execution_time": start,
            "close_time": close,
            "execution_duration": None if close is None else close - start,
            "task_queue": rng.choice(["tq-a", "tq-b"]),
            "history_length": rng.randrange(3, 60),
            "history_size_bytes": rng.randrange(100, 5000),
            "state_transition_count": rng.randrange(1, 20),
            "parent_workflow_id": rng.choice([None, None, "parent-1"]),
            "parent_run_id": None,
            "root_workflow_id": "root",
            "root_run_id": run_id,
        }
        attributes: dict[str, list[object]] = {}
        if rng.random() < 0.8:
            attributes["Customer"] = [rng.choice(CUSTOMERS)]
        if rng.random() < 0.6:
            attributes["Notes"] = [" ".join(rng.choice(WORDS).capitalize() for _ in range(rng.randrange(1, 5)))]
        if rng.random() < 0.7:
            attributes["Amount"] = [rng.randrange(-5, 200)]
        if rng.random() < 0.6:
            attributes["Score"] = [round(rng.uniform(0, 10), 2)]
        if rng.random() < 0.6:
            attributes["Vip"] = [rng.random() < 0.5]
        if rng.random() < 0.6:
            attributes["DueAt"] = [BASE + rng.randrange(0, 72) * HOUR]
        if rng.random() < 0.6:
            attributes["Tags"] = rng.sample(TAGS, rng.randrange(1, 3))
        records.append(Record(columns, attributes))  # type: ignore[arg-type]
    return records


def _search_attributes(record: Record) -> bytes:
    sa = SearchAttributes()
    for name, values in record.attributes.items():
        if CUSTOM[name] is SaType.KEYWORD_LIST:
            sa.indexed_fields[name].CopyFrom(_payload(values))
        elif CUSTOM[name] is SaType.DATETIME:
            sa.indexed_fields[name].CopyFrom(_payload(format_datetime(int(values[0]))))
        else:
            sa.indexed_fields[name].CopyFrom(_payload(values[0]))
    return sa.SerializeToString()


def _indexed(record: Record) -> Record:
    """The record as the oracle compares it: Bool as 0/1, as the index holds it."""
    attributes = {k: [int(v) if isinstance(v, bool) else v for v in vs] for k, vs in record.attributes.items()}
    return Record(record.columns, attributes)


async def store_records(store: Store, namespace_id: str, records: list[Record]) -> None:
    from engine.persistence.records import VisibilityRow

    for record in records:
        c = record.columns
        blob = _search_attributes(record)
        row = VisibilityRow(
            workflow_type=c["workflow_type"],
            status=c["status"],
            start_time=c["start_time"],
            execution_time=c["execution_time"],
            close_time=c["close_time"],
            execution_duration=c["execution_duration"],
            task_queue=c["task_queue"],
            history_length=c["history_length"],
            history_size_bytes=c["history_size_bytes"],
            state_transition_count=c["state_transition_count"],
            parent_workflow_id=c["parent_workflow_id"],
            parent_run_id=c["parent_run_id"],
            root_workflow_id=c["root_workflow_id"],
            root_run_id=c["root_run_id"],
            memo=b"",
            search_attributes=blob,
            attributes=attribute_rows(blob, CUSTOM),
        )
        key = ExecutionKey(namespace_id, c["workflow_id"], c["run_id"])
        await store.commit(
            Transition(key=key, state=b"x", next_event_id=2, expected_db_version=0, running=False, visibility=row)
        )


@dataclass
class Fixture:
    runner: asyncio.Runner
    visibility: Visibility
    records: list[Record]

    def listed(self, query: str, *, page_size: int = 1000, namespace: str = NS) -> list[str]:
        async def collect() -> list[str]:
            run_ids: list[str] = []
            token = b""
            while True:
                infos, token = await self.visibility.list(namespace, query, page_size=page_size, page_token=token)
                run_ids += [info.execution.run_id for info in infos]
                if not token:
                    return run_ids

        return self.runner.run(collect())

    def expected(self, query: str) -> list[str]:
        return evaluate(self.visibility.bind(NS, query), [_indexed(r) for r in self.records])

    def count(self, query: str) -> int:
        return self.runner.run(self.visibility.count(NS, query)).count


@pytest.fixture(scope="module")
def filters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    from tests.engine.conftest import postgres_base_url, with_database

    base = postgres_base_url()
    database = f"sundial_engine_test_{uuid.uuid4().hex[:12]}"
    if base is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('filters')}/engine.sqlite3"
    else:
        import psycopg
        from psycopg import sql

        with psycopg.connect(with_database(base, "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        url = with_database(base, database)
    records = make_records(seed=7, count=120)
    with asyncio.Runner() as runner:
        store = runner.run(open_store(url))
        registry = SearchAttributeRegistry(store)
        runner.run(registry.add(NS, NS, CUSTOM))
        runner.run(store_records(store, NS, records))
        runner.run(store_records(store, OTHER_NS, make_records(seed=8, count=30)))
        try:
            yield Fixture(runner, Visibility(store, registry), records)
        finally:
            runner.run(store.close())
    if base is not None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(with_database(base, "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


QUERIES = [
    "",
    # system attributes, each operator
    "WorkflowType = 'Billing'",
    "WorkflowType != 'Billing'",
    "WorkflowId > 'order-020'",
    "WorkflowId >= 'order-020' AND WorkflowId < 'order-030'",
    "WorkflowId <= 'order-005'",
    "WorkflowId BETWEEN 'order-010' AND 'order-015'",
    "WorkflowId NOT BETWEEN 'order-010' AND 'order-035'",
    "WorkflowId STARTS_WITH 'order-01'",
    "WorkflowId NOT STARTS_WITH 'order-0'",
    "WorkflowType IN ('Billing', 'Refund')",
    "WorkflowType NOT IN ('Billing')",
    "ExecutionStatus = 'Running'",
    "ExecutionStatus != 'Running'",
    "ExecutionStatus IN ('Failed', 'TimedOut', 'Terminated')",
    "ExecutionStatus = 2",
    "ExecutionStatus = 'completed'",
    "StartTime > '2026-01-02T00:00:00Z'",
    "StartTime BETWEEN '2026-01-01T06:00:00Z' AND '2026-01-01T18:00:00+00:00'",
    "StartTime <= '2026-01-01T12:00:00.000000001Z'",
    "CloseTime IS NULL",
    "CloseTime IS NOT NULL",
    "CloseTime < '2026-01-02T00:00:00Z'",
    "CloseTime != '2026-01-02T00:00:00Z'",
    "ExecutionDuration > '5h'",
    "ExecutionDuration <= 7200000000000",
    "ExecutionDuration BETWEEN '01:00:00' AND '10h30m'",
    "HistoryLength >= 30",
    "HistorySizeBytes < 1000 OR StateTransitionCount > 15",
    "TaskQueue = 'tq-a' AND HistoryLength < 10",
    "ParentWorkflowId IS NULL",
    "ParentWorkflowId = 'parent-1'",
    "ParentWorkflowId != 'parent-1'",
    "RunId IS NULL",
    "RootWorkflowId = 'root'",
    # custom Keyword
    "Customer = 'acme'",
    "Customer != 'acme'",
    "Customer > 'globex'",
    "Customer STARTS_WITH 'acme'",
    "Customer NOT STARTS_WITH 'acme'",
    "Customer IN ('initech', 'umbrella')",
    "Customer NOT IN ('initech', 'umbrella')",
    "Customer BETWEEN 'b' AND 'h'",
    "Customer IS NULL",
    "`Customer` IS NOT NULL",
    # Text
    "Notes = 'urgent'",
    "Notes = 'URGENT refund'",
    "Notes != 'late'",
    "Notes IS NULL",
    # Int, Double, Bool, Datetime
    "Amount = 100",
    "Amount != 100",
    "Amount > 150",
    "Amount >= '150'",
    "Amount < 0",
    "Amount BETWEEN 10 AND 20",
    "Amount NOT BETWEEN 10 AND 190",
    "Amount IN (1, 2, 3, 50, 199)",
    "Amount NOT IN (1, 2, 3)",
    "Score > 5.5",
    "Score <= 2",
    "Score BETWEEN 1.5 AND 3.25",
    "Vip = true",
    "Vip = FALSE",
    "Vip != true",
    "Vip IN (true)",
    "Vip IS NULL",
    "DueAt > '2026-01-02T12:00:00Z'",
    "DueAt BETWEEN '2026-01-01T00:00:00Z' AND '2026-01-01T23:59:59Z'",
    "DueAt IS NOT NULL AND DueAt < '2026-01-02T00:00:00Z'",
    # KeywordList
    "Tags = 'red'",
    "Tags != 'red'",
    "Tags IN ('gold', 'blue')",
    "Tags NOT IN ('gold', 'blue')",
    "Tags IS NULL",
    # combinations
    "Customer = 'acme' AND (Amount > 50 OR Vip = true)",
    "(ExecutionStatus = 'Running' OR ExecutionStatus = 'Failed') AND Tags = 'red' AND Notes != 'late'",
    "Customer = 'acme' OR Customer = 'globex' AND Amount > 100",
    "((WorkflowType = 'Billing'))",
    "WorkflowType = 'Shipping' AND Customer IS NOT NULL AND Score > 1 AND DueAt > '2026-01-01T10:00:00Z'",
    "CloseTime IS NULL OR ExecutionDuration < '3h'",
    # ORDER BY
    "ORDER BY StartTime",
    "ORDER BY StartTime DESC",
    "ExecutionStatus != 'Running' ORDER BY CloseTime ASC",
    "ORDER BY Amount DESC",
    "Customer IS NOT NULL ORDER BY Customer, Amount DESC",
    "ORDER BY Score ASC, WorkflowId DESC",
    "ORDER BY DueAt",
    "ORDER BY Vip DESC, HistoryLength",
    "order by ExecutionDuration desc",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_store_returns_what_the_reference_evaluation_returns(filters: Fixture, query: str) -> None:
    expected = filters.expected(query)
    assert filters.listed(query) == expected
    assert filters.count(query.split("ORDER BY")[0].split("order by")[0]) == len(expected)


def test_the_queries_select_something_and_not_everything(filters: Fixture) -> None:
    """The table is only worth something if its queries tell runs apart."""
    sizes = [len(filters.expected(q)) for q in QUERIES if "ORDER BY" not in q.upper() and q]
    assert sum(1 for size in sizes if 0 < size < len(filters.records)) >= len(sizes) * 0.8


@pytest.mark.parametrize("query", ["", "Customer = 'acme'", "ORDER BY Amount DESC", "ExecutionStatus != 'Running'"])
@pytest.mark.parametrize("page_size", [1, 7, 50])
def test_pages_join_up_to_the_whole_listing(filters: Fixture, query: str, page_size: int) -> None:
    assert filters.listed(query, page_size=page_size) == filters.expected(query)


def test_another_namespace_sees_none_of_these_runs(filters: Fixture) -> None:
    mine = set(filters.listed(""))
    assert len(mine) == len(filters.records)
    theirs = set(filters.listed("", namespace=OTHER_NS))
    assert len(theirs) == 30
    assert not mine & theirs


def test_grouped_count_by_execution_status(filters: Fixture) -> None:
    response = filters.runner.run(filters.visibility.count(NS, "Customer = 'acme' GROUP BY ExecutionStatus"))
    got = {json.loads(g.group_values[0].data): g.count for g in response.groups}
    matching = [r for r in filters.records if r.attributes.get("Customer") == ["acme"]]
    want: dict[str, int] = {}
    for record in matching:
        name = STATUS_NAMES[record.columns["status"]]
        want[name] = want.get(name, 0) + 1
    assert got == want
    assert response.count == len(matching)


# --- generated filters ------------------------------------------------------------------

_LITERALS: dict[str, st.SearchStrategy[str]] = {
    "Customer": st.sampled_from([*CUSTOMERS, "a", "h", "zzz"]).map(lambda v: f"'{v}'"),
    "WorkflowType": st.sampled_from(TYPES).map(lambda v: f"'{v}'"),
    "WorkflowId": st.integers(0, 40).map(lambda n: f"'order-{n:03d}'"),
    "Amount": st.integers(-10, 210).map(str),
    "HistoryLength": st.integers(0, 70).map(str),
    "Score": st.floats(0, 10, allow_nan=False).map(lambda f: f"{f:.2f}"),
    "StartTime": st.integers(0, 48).map(lambda h: f"'{format_datetime(BASE + h * HOUR)}'"),
    "CloseTime": st.integers(0, 80).map(lambda h: f"'{format_datetime(BASE + h * HOUR)}'"),
    "DueAt": st.integers(0, 72).map(lambda h: f"'{format_datetime(BASE + h * HOUR)}'"),
    "ExecutionStatus": st.sampled_from(list(STATUS_NAMES.values())).map(lambda v: f"'{v}'"),
    "Tags": st.sampled_from(TAGS).map(lambda v: f"'{v}'"),
    "Vip": st.sampled_from(["true", "false"]),
    "Notes": st.lists(st.sampled_from(WORDS), min_size=1, max_size=2).map(lambda ws: "'" + " ".join(ws) + "'"),
}
_ORDERED = {
    "Customer",
    "WorkflowType",
    "WorkflowId",
    "Amount",
    "HistoryLength",
    "Score",
    "StartTime",
    "CloseTime",
    "DueAt",
}


@st.composite
def _predicate(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(_LITERALS)))
    value = _LITERALS[name]
    kinds = ["=", "!=", "in", "not in", "null", "not null"]
    if name in _ORDERED:
        kinds += [">", ">=", "<", "<=", "between", "not between"]
    if name in ("Customer", "WorkflowType", "WorkflowId"):
        kinds += ["starts_with", "not starts_with"]
    if name == "Notes":
        kinds = ["=", "!=", "null", "not null"]
    if name == "Vip":
        kinds = ["=", "!=", "in", "null"]
    kind = draw(st.sampled_from(kinds))
    if kind in ("in", "not in"):
        items = draw(st.lists(value, min_size=1, max_size=3))
        return f"{name} {kind.upper()} ({', '.join(items)})"
    if kind in ("between", "not between"):
        low, high = sorted([draw(value), draw(value)])
        return f"{name} {kind.upper()} {low} AND {high}"
    if kind in ("null", "not null"):
        return f"{name} IS {'NOT ' if kind == 'not null' else ''}NULL"
    if kind in ("starts_with", "not starts_with"):
        inner = draw(value)[1:-1]  # the literal without its quotes
        prefix = inner[: draw(st.integers(0, len(inner)))]
        return f"{name} {kind.upper()} '{prefix}'"
    return f"{name} {kind} {draw(value)}"


_filters = st.recursive(
    _predicate(),
    lambda inner: st.tuples(inner, st.sampled_from(["AND", "OR"]), inner, st.booleans()).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})" if t[3] else f"{t[0]} {t[1]} {t[2]}"
    ),
    max_leaves=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    where=_filters, order=st.sampled_from(["", " ORDER BY Amount DESC", " ORDER BY StartTime", " ORDER BY Customer"])
)
def test_generated_filters_match_the_reference_evaluation(filters: Fixture, where: str, order: str) -> None:
    query = where + order
    assert filters.listed(query, page_size=40) == filters.expected(query), query
