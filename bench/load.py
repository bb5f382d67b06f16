"""Load generator: N one-activity workflows through the official Python SDK against the engine.

Starts `python -m engine` in its own process (SQLite by default, or `--pg URL` for a fresh
PostgreSQL database), runs a worker and a client in this process, and prints workflows/s,
start-to-result latency (p50/p99) and the engine's CPU-ms per workflow. Prints; asserts nothing.
With `--api-key` the engine runs as in production (no `--dev`): a namespace and an API key are
provisioned through the admin API as the control plane does, and every SDK call carries the key.

    .venv/bin/python bench/load.py [--workflows 1000] [--concurrency 50] [--rounds 3] [--api-key] [--pg postgresql://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
from bench_support import connect, context_switches, cpu_seconds, free_port, provision_key
from psycopg import sql
from temporalio import activity, workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

ROOT = Path(__file__).resolve().parent.parent
BENCH_SECRET, BENCH_PEPPER = "bench-admin-secret", "bench-pepper"


@activity.defn
async def echo(value: str) -> str:
    return value


@workflow.defn
class OneActivity:
    @workflow.run
    async def run(self, value: str) -> str:
        return await workflow.execute_activity(echo, value, start_to_close_timeout=timedelta(seconds=30))


async def _run(
    port: int,
    engine_pid: int,
    total: int,
    concurrency: int,
    sandboxed: bool,
    eager: bool,
    rounds: int,
    wft_polls: int,
    access: tuple[str, str] | None,
) -> None:
    client = await connect(port, access=access)
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    runner = {} if sandboxed else {"workflow_runner": UnsandboxedWorkflowRunner()}
    async with Worker(
        client,
        task_queue=queue,
        workflows=[OneActivity],
        activities=[echo],
        max_concurrent_workflow_tasks=200,
        max_concurrent_workflow_task_polls=wft_polls,
        max_concurrent_activities=200,
        **runner,  # type: ignore[arg-type]
    ):
        for i in range(20):  # warm-up
            await client.execute_workflow(OneActivity.run, "w", id=f"warm-{queue}-{i}", task_queue=queue)
        rounds_out: list[tuple[float, float, float, float]] = []
        for r in range(rounds):
            latencies: list[float] = []
            pending = iter(range(total))

            async def drive(r: int = r, latencies: list[float] = latencies, pending: Iterator[int] = pending) -> None:
                for i in pending:
                    t0 = time.perf_counter()
                    handle = await client.start_workflow(
                        OneActivity.run, "x", id=f"{queue}-{r}-{i}", task_queue=queue, request_eager_start=eager
                    )
                    await handle.result()
                    latencies.append(time.perf_counter() - t0)

            cpu0, switches0, t0 = cpu_seconds(engine_pid), context_switches(engine_pid), time.perf_counter()
            await asyncio.gather(*(drive() for _ in range(concurrency)))
            elapsed, cpu = time.perf_counter() - t0, cpu_seconds(engine_pid) - cpu0
            switches = context_switches(engine_pid) - switches0
            latencies.sort()
            p50, p99 = statistics.median(latencies) * 1000, latencies[int(len(latencies) * 0.99)] * 1000
            rounds_out.append((total / elapsed, p50, p99, cpu / total * 1000))
            print(f"  workflows/s          {total / elapsed:8.1f}   ({total} workflows in {elapsed:.2f} s)")
            print(f"  latency p50 / p99    {p50:8.1f} / {p99:.1f} ms")
            print(f"  engine CPU/workflow  {cpu / total * 1000:8.2f} ms   (engine used {cpu:.2f} CPU-s)")
            print(f"  engine context switches/workflow  {switches / total:.1f}")
    if rounds > 1:
        rate, p50, p99, cpu = (statistics.median(column) for column in zip(*rounds_out, strict=True))
        summary = f"median of {rounds} rounds: {rate:.1f} workflows/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        print(f"{summary}, {cpu:.2f} ms engine CPU per workflow")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--pg", help="PostgreSQL server URL; a fresh database is created and dropped")
    parser.add_argument("--sandboxed", action="store_true", help="use the SDK's default sandboxed workflow runner")
    parser.add_argument("--eager-start", action="store_true", help="start workflows with request_eager_start")
    parser.add_argument(
        "--wft-polls",
        type=int,
        default=5,
        help="the worker's max_concurrent_workflow_task_polls (SDK default 5, a fifth of them on the normal queue)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="measure this many times on one engine; print the median")
    parser.add_argument("--api-key", action="store_true", help="production mode: a provisioned namespace and API key")
    args = parser.parse_args()
    port, admin_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        database = ""
        if args.pg:
            database = f"sundial_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(f"{args.pg.rstrip('/')}/postgres", autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            db_url = f"{args.pg.rstrip('/')}/{database}"
        else:
            db_url = f"sqlite:///{tmp}/engine.sqlite3"
        command = [sys.executable, "-m", "engine", "--port", str(port), "--db", db_url]
        command += ["--admin-port", str(admin_port)] if args.api_key else ["--dev"]
        engine = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "SUNDIAL_ENGINE_ADMIN_SECRET": BENCH_SECRET, "API_KEY_PEPPER": BENCH_PEPPER},
            stderr=None if os.environ.get("BENCH_ENGINE_LOG") else subprocess.DEVNULL,
        )
        try:
            access = provision_key(admin_port, BENCH_SECRET, BENCH_PEPPER) if args.api_key else None
            store = "PostgreSQL" if args.pg else "SQLite"
            mode = (", eager start" if args.eager_start else "") + (", API key" if args.api_key else ", dev mode")
            print(f"{args.workflows} one-activity workflows, {args.concurrency} at a time, store {store}{mode}")
            asyncio.run(
                _run(
                    port,
                    engine.pid,
                    args.workflows,
                    args.concurrency,
                    args.sandboxed,
                    args.eager_start,
                    args.rounds,
                    args.wft_polls,
                    access,
                )
            )
        finally:
            engine.terminate()
            engine.wait(timeout=30)
            if database:
                with psycopg.connect(f"{args.pg.rstrip('/')}/postgres", autocommit=True) as conn:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


if __name__ == "__main__":
    main()
