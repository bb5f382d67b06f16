"""Helpers the benchmarks share: a free port, an engine process's CPU time, an SDK client that
waits for the engine to come up. Imported by the scripts in this folder (run as
`python bench/<name>.py`, which puts the folder on sys.path)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

from temporalio.client import Client

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def context_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of all a process's live threads, from /proc."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:  # the thread exited meanwhile
            continue
        total += sum(int(line.split()[1]) for line in lines if "ctxt_switches:" in line)
    return total


async def connect(port: int, *, within: float = 30.0) -> Client:
    """An SDK client of the engine on `port`, retrying while it starts."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await Client.connect(f"127.0.0.1:{port}")
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
