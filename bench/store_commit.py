"""Throughput of the engine store's group commit: commits/s and database transactions/s.

N concurrent committers (one run each) commit transitions shaped like a real one (a ~1 KB
mutable-state blob and one ~500 B history batch of two events) as fast as the store returns,
for a fixed time. SQLite runs on a temporary file; PostgreSQL (with --pg) on a database this
script creates and drops. It prints figures; it asserts nothing.

    .venv/bin/python bench/store_commit.py [--seconds 5] [--concurrency 1,10,100]
        [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.persistence import Store, open_store
from engine.persistence.group_commit import CommitStats
from engine.persistence.postgres import PostgresStore
from engine.persistence.records import CurrentRunWrite, ExecutionKey, HistoryBatch, Transition
from engine.persistence.sqlite import SqliteStore

STATE = os.urandom(1024)
EVENTS = os.urandom(500)


def stats_of(store: Store) -> CommitStats:
    assert isinstance(store, SqliteStore | PostgresStore)
    return store.stats


async def measure(url: str, concurrency: int, seconds: float) -> str:
    store = await open_store(url)
    try:
        namespace = str(uuid.uuid4())
        keys = [ExecutionKey(namespace, f"bench-{i}", str(uuid.uuid4())) for i in range(concurrency)]
        await asyncio.gather(*(store.commit(_start(k)) for k in keys))
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def committer(key: ExecutionKey) -> None:
            version, next_event_id = 1, 3
            while time.perf_counter() < deadline:
                batch = HistoryBatch(next_event_id, next_event_id + 1, EVENTS)
                t0 = time.perf_counter()
                await store.commit(Transition(key, STATE, next_event_id + 2, version, True, batch))
                latencies.append(time.perf_counter() - t0)
                version, next_event_id = version + 1, next_event_id + 2

        stats = stats_of(store)
        commits, transactions = stats.commits, stats.transactions
        started = time.perf_counter()
        await asyncio.gather(*(committer(k) for k in keys))
        elapsed = time.perf_counter() - started
        commits, transactions = stats.commits - commits, stats.transactions - transactions
    finally:
        await store.close()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    return (
        f"{concurrency:>5} committers: {commits / elapsed:8.0f} commits/s  {transactions / elapsed:7.0f} tx/s"
        f"  {commits / max(transactions, 1):6.1f} commits/tx   p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
    )


def _start(key: ExecutionKey) -> Transition:
    current = CurrentRunWrite(key.run_id, True, str(uuid.uuid4()), 1)
    return Transition(key, STATE, 3, 0, True, HistoryBatch(1, 2, EVENTS), current=current)


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per row (default 5)")
    parser.add_argument("--concurrency", default="1,10,100", help="comma-separated committer counts")
    parser.add_argument("--pg", metavar="URL", help="also measure PostgreSQL (a server URL; a database is created)")
    args = parser.parse_args()
    counts = [int(n) for n in args.concurrency.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite (WAL, synchronous=NORMAL, {tmp}):")
        for n in counts:
            print(await measure(f"sqlite:///{tmp}/bench.sqlite3", n, args.seconds))

    if args.pg:
        name = f"sundial_bench_{uuid.uuid4().hex[:8]}"
        maintenance = _with_database(args.pg, "postgres")
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            print(f"PostgreSQL ({urlsplit(args.pg).hostname}, database {name}):")
            for n in counts:
                print(await measure(_with_database(args.pg, name), n, args.seconds))
        finally:
            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    asyncio.run(main())
