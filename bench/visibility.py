"""Visibility query latency: List Filter queries over N runs with custom search attributes.

    .venv/bin/python bench/visibility.py [--runs 20000] [--pg postgresql://postgres@127.0.0.1:5432]

Writes N closed or open runs' visibility rows through the store (as the engine's commits do),
then times each query of a fixed set (first page of 100, and a count), median of 5 runs each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid

from temporalio.api.common.v1 import Payload, SearchAttributes

from engine.persistence import open_store
from engine.persistence.records import ExecutionKey, Transition, VisibilityRow
from engine.visibility.attributes import SaType
from engine.visibility.index import attribute_rows
from engine.visibility.listing import Visibility
from engine.visibility.registry import SearchAttributeRegistry

NS = "bench-namespace"
CUSTOM = {"Customer": SaType.KEYWORD, "Amount": SaType.INT, "Notes": SaType.TEXT, "Tags": SaType.KEYWORD_LIST}
QUERIES = [
    "",
    "ExecutionStatus = 'Running'",
    "WorkflowType = 'Billing' AND CloseTime IS NOT NULL",
    "WorkflowId = 'order-00042'",
    "WorkflowId STARTS_WITH 'order-001'",
    "Customer = 'customer-17'",
    "Customer = 'customer-17' AND Amount > 500",
    "Amount BETWEEN 100 AND 120",
    "Tags = 'gold'",
    "Notes = 'urgent refund'",
    "StartTime > '2026-01-01T12:00:00Z' ORDER BY StartTime",
    "ORDER BY Amount DESC",
]
BASE = 1_767_225_600 * 10**9


def _payload(value: object) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def _transition(rng: random.Random, i: int) -> Transition:
    run_id = str(uuid.UUID(int=rng.getrandbits(128)))
    start = BASE + rng.randrange(0, 86_400) * 10**9
    closed = rng.random() < 0.7
    sa = SearchAttributes()
    sa.indexed_fields["Customer"].CopyFrom(_payload(f"customer-{rng.randrange(500)}"))
    sa.indexed_fields["Amount"].CopyFrom(_payload(rng.randrange(1000)))
    sa.indexed_fields["Notes"].CopyFrom(_payload(" ".join(rng.sample(["urgent", "refund", "late", "vip"], 2))))
    sa.indexed_fields["Tags"].CopyFrom(_payload(rng.sample(["red", "green", "gold"], 1)))
    blob = sa.SerializeToString()
    row = VisibilityRow(
        workflow_type=rng.choice(["Billing", "Shipping", "Refund"]),
        status=2 if closed else 1,
        start_time=start,
        execution_time=start,
        close_time=start + 10**9 if closed else None,
        execution_duration=10**9 if closed else None,
        task_queue="tq",
        history_length=11,
        history_size_bytes=2000,
        state_transition_count=4,
        parent_workflow_id=None,
        parent_run_id=None,
        root_workflow_id=f"order-{i:05d}",
        root_run_id=run_id,
        memo=b"",
        search_attributes=blob,
        attributes=attribute_rows(blob, CUSTOM),
    )
    key = ExecutionKey(NS, f"order-{i:05d}", run_id)
    return Transition(key=key, state=b"x", next_event_id=12, expected_db_version=0, running=not closed, visibility=row)


async def run(url: str, runs: int) -> None:
    store = await open_store(url)
    try:
        registry = SearchAttributeRegistry(store)
        await registry.add(NS, NS, CUSTOM)
        rng = random.Random(1)  # noqa: S311 (test data, not secrets)
        started = time.perf_counter()
        for chunk in range(0, runs, 500):
            await asyncio.gather(*(store.commit(_transition(rng, i)) for i in range(chunk, min(chunk + 500, runs))))
        print(f"{store.url.dialect}: wrote {runs} runs in {time.perf_counter() - started:.1f} s")
        if store.url.dialect == "sqlite":  # as the store's checkpointer does 10 s after start
            await store.call(lambda c: c.execute("PRAGMA analysis_limit = 400"))  # type: ignore[attr-defined]
            await store.call(lambda c: c.execute("ANALYZE"))  # type: ignore[attr-defined]
        else:  # as autovacuum does within a minute of the load
            await store.query_visibility("ANALYZE", ())
        visibility = Visibility(store, registry)
        print(f"  {'query':58} {'list 100 (ms)':>13} {'count (ms)':>11}")
        for query in QUERIES:
            list_ms = await _median(lambda q=query: visibility.list(NS, q, page_size=100, page_token=b""))
            count_query = query.split("ORDER BY")[0]
            count_ms = await _median(lambda q=count_query: visibility.count(NS, q))
            print(f"  {query or '(all)':58} {list_ms:13.1f} {count_ms:11.1f}")
    finally:
        await store.close()


async def _median(call: object) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        await call()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--pg", help="PostgreSQL server URL; a fresh database is created and dropped")
    args = parser.parse_args()
    if args.pg is None:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(run(f"sqlite:///{folder}/engine.sqlite3", args.runs))
        return
    import psycopg
    from psycopg import sql

    name = f"sundial_bench_{uuid.uuid4().hex[:8]}"
    base = args.pg.rstrip("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        asyncio.run(run(f"{base}/{name}", args.runs))
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
