"""Helpers the benchmarks share: a free port, an engine process's CPU time, an SDK client that
waits for the engine to come up. Imported by the scripts in this folder (run as
`python bench/<name>.py`, which puts the folder on sys.path)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import socket
import time
from pathlib import Path

from temporalio.client import Client

from engine.admin_client import EngineAdminClient, EngineAdminError

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


def provision_key(admin_port: int, secret: str, pepper: str, *, within: float = 30.0) -> tuple[str, str]:
    """(namespace id, API key token): a namespace and a service account with Write on it and a
    key, provisioned through the engine's admin API as the control plane does."""
    account_id, namespace = "bench0", "bench.bench0"
    key_id = secrets.token_hex(8)
    token = f"sdl_{key_id}_{secrets.token_urlsafe(24)}"
    digest = hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()
    spec = {"namespace": namespace, "account_id": account_id, "retention_days": 1, "api_key_auth": True}
    access = {
        "account_id": account_id,
        "principals": [
            {
                "principal_id": "bench-sa",
                "kind": "service_account",
                "name": "bench",
                "account_admin": False,
                "grants": {"bench": "write"},
            }
        ],
        "api_keys": [
            {"key_id": key_id, "principal_id": "bench-sa", "digest": digest, "expires_at": None, "disabled": False}
        ],
    }
    deadline = time.monotonic() + within
    while True:
        try:
            with EngineAdminClient(f"127.0.0.1:{admin_port}", secret) as admin:
                admin.put_namespace(spec)
                admin.sync_account_access(access)
            return namespace, token
        except EngineAdminError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def connect(port: int, *, within: float = 30.0, access: tuple[str, str] | None = None) -> Client:
    """An SDK client of the engine on `port` (of the `default` namespace, or with `access`:
    (namespace, API key)), retrying while it starts."""
    deadline = time.monotonic() + within
    options = {"namespace": access[0], "api_key": access[1], "tls": False} if access else {}
    while True:
        try:
            return await Client.connect(f"127.0.0.1:{port}", **options)  # type: ignore[arg-type]
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
