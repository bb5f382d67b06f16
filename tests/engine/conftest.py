"""Engine test fixtures.

`engine_db_url` follows CI's two runs: with ENGINE_DATABASE_URL=postgresql://... each test gets
its own freshly created PostgreSQL database (safe under pytest-xdist); without it, a SQLite file
in the test's tmp dir.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import pytest_asyncio
import temporalio.client
from psycopg import sql

from engine.config import EngineConfig
from engine.persistence import Store, open_store
from engine.server import EngineServer
from tests.engine.auth_support import Admin, auth_config

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def postgres_base_url() -> str | None:
    url = os.environ.get("ENGINE_DATABASE_URL", "")
    return url if url.startswith(("postgresql://", "postgres://")) else None


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def pick_free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_port() -> int:
    return pick_free_port()


@pytest.fixture
def engine_db_url(tmp_path: Path) -> Iterator[str]:
    base = postgres_base_url()
    if base is None:
        yield f"sqlite:///{tmp_path}/engine.sqlite3"
        return
    name = f"sundial_engine_test_{uuid.uuid4().hex[:12]}"
    maintenance = with_database(base, "postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(base, name)
    finally:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest_asyncio.fixture
async def engine(engine_db_url: str) -> AsyncIterator[EngineServer]:
    """An engine running in this process on a port the OS picked."""
    server = EngineServer(EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def auth_engine(engine_db_url: str) -> AsyncIterator[EngineServer]:
    """An engine outside dev mode: every tenant call needs an API key the admin API provisioned."""
    server = EngineServer(auth_config(engine_db_url))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def admin(auth_engine: EngineServer) -> Iterator[Admin]:
    client = Admin(auth_engine.admin_address)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def engine_env() -> dict[str, str]:
    """Environment for `python -m engine` subprocesses: the checkout importable, no env DB."""
    env = dict(os.environ)
    env.pop("ENGINE_DATABASE_URL", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


@pytest.fixture
def run_engine(tmp_path: Path, engine_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m engine ARGS` to completion (for commands expected to fail fast)."""

    def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "engine", *args],
            cwd=tmp_path,
            env=engine_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest_asyncio.fixture
async def engine_store(engine_db_url: str) -> AsyncIterator[Store]:
    """An open store on this run's backend (see `engine_db_url`), closed after the test."""
    store = await open_store(engine_db_url)
    try:
        yield store
    finally:
        await store.close()


# --- the official Python SDK as client and worker ------------------------------------------


@pytest_asyncio.fixture
async def client(engine: EngineServer) -> temporalio.client.Client:
    return await temporalio.client.Client.connect(f"127.0.0.1:{engine.port}", namespace="default")


@pytest_asyncio.fixture
async def task_queue(client: temporalio.client.Client) -> AsyncIterator[str]:
    """A task queue with a running worker for every workflow and activity in sdk_app."""
    from temporalio.worker import Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    from tests.engine.sdk_app import ACTIVITIES, WORKFLOWS

    name = f"tq-{uuid.uuid4().hex[:8]}"
    # the flaky-task test's counters must be shared with the sandbox, not re-imported inside it
    runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("tests.engine.wft_failures")
    )
    async with Worker(
        client,
        task_queue=name,
        workflows=WORKFLOWS,
        activities=ACTIVITIES,  # type: ignore[arg-type]
        workflow_runner=runner,
    ):
        yield name
