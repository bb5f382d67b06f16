"""Round-trip cost of one engine RPC through the official SDK's client (Rust core + gRPC).

Starts `python -m engine` as its own process (as in production), then times GetSystemInfo
sequentially and at a given concurrency. It prints figures; it asserts nothing.

    .venv/bin/python bench/engine_rpc.py [--calls 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_support import connect, cpu_seconds, free_port
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

ROOT = Path(__file__).resolve().parent.parent


async def _run(port: int, engine_pid: int, calls: int, concurrency: int) -> None:
    client = await connect(port)
    service = client.workflow_service
    request = GetSystemInfoRequest()
    for _ in range(100):  # warm-up
        await service.get_system_info(request)

    latencies = []
    cpu0 = cpu_seconds(engine_pid)
    started = time.perf_counter()
    for _ in range(calls):
        t0 = time.perf_counter()
        await service.get_system_info(request)
        latencies.append(time.perf_counter() - t0)
    sequential = time.perf_counter() - started
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    cpu = (cpu_seconds(engine_pid) - cpu0) / calls * 1e6
    print(
        f"sequential: {calls / sequential:8.0f} calls/s   p50 {p50:.3f} ms   p99 {p99:.3f} ms"
        f"   engine {cpu:.0f} µs/call"
    )

    async def worker(n: int) -> None:
        for _ in range(n):
            await service.get_system_info(request)

    per_worker = calls // concurrency
    cpu0 = cpu_seconds(engine_pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker(per_worker) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cpu = (cpu_seconds(engine_pid) - cpu0) / (per_worker * concurrency) * 1e6
    print(f"concurrency {concurrency}: {per_worker * concurrency / elapsed:8.0f} calls/s   engine {cpu:.0f} µs/call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        engine = subprocess.Popen(
            [sys.executable, "-m", "engine", "--dev", "--port", str(port), "--db", f"sqlite:///{tmp}/engine.sqlite3"],
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        )
        try:
            print(f"engine GetSystemInfo round trip ({args.calls} calls, engine in its own process)")
            asyncio.run(_run(port, engine.pid, args.calls, args.concurrency))
        finally:
            engine.terminate()
            engine.wait(timeout=15)


if __name__ == "__main__":
    main()
