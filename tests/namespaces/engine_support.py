"""A real engine for provisioning tests: ``python -m engine`` in a subprocess, outside dev mode
(API keys enforced), with its admin API on a fixed free port and the control plane's pepper.

The ports are chosen before the engine starts, so a test can point the control plane at an
engine that is not there yet (unreachable) and start it later on the same address.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from temporalio.client import Client

from tests.conftest import ROOT
from tests.support.backends import fresh_postgres_database
from tests.support.net import free_port, wait_until

T = TypeVar("T")


class EngineProcess:
    def __init__(self, db_url: str, log: Path) -> None:
        self.db_url = db_url
        self.log = log
        self.port = free_port()
        self.admin_port = free_port()
        self.secret = secrets.token_urlsafe(24)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def admin_address(self) -> str:
        return f"127.0.0.1:{self.admin_port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNDIAL_ENGINE", "ENGINE_DATABASE"))}
        env.update(
            PYTHONPATH=str(ROOT),
            SUNDIAL_ENGINE_ADMIN_SECRET=self.secret,
            API_KEY_PEPPER=settings.API_KEY_PEPPER,
        )
        argv = [sys.executable, "-m", "engine", "--port", str(self.port), "--admin-port", str(self.admin_port)]
        seen = self.log.stat().st_size if self.log.exists() else 0  # a restart waits for its own line
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([*argv, "--db", self.db_url], stdout=log, stderr=log, env=env)
        wait_until(
            lambda: b"engine admin API listening" in self.log.read_bytes()[seen:],
            timeout=60,
            what="the engine's admin API",
            context=lambda: self.log.read_text(errors="replace"),
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


def engine_database(tmp_path: Path, stack: ExitStack) -> str:
    """A fresh engine store on this pass's backend: PostgreSQL when ENGINE_DATABASE_URL names a
    server, else SQLite in the test's directory."""
    base = os.environ.get("ENGINE_DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        url = stack.enter_context(fresh_postgres_database(base, "sundial_ns_engine"))
        return url.replace("postgres://", "postgresql://", 1)
    return f"sqlite:///{tmp_path / 'engine.sqlite3'}"


@contextmanager
def engine_process(tmp_path: Path) -> Iterator[EngineProcess]:
    """An engine (not started) whose addresses the control plane is pointed at by the caller."""
    with ExitStack() as stack:
        engine = EngineProcess(engine_database(tmp_path, stack), tmp_path / "engine.log")
        try:
            yield engine
        finally:
            engine.stop()


def run(coroutine: Callable[[], Awaitable[T]]) -> T:
    """Run an SDK conversation from a synchronous (database-using) test."""

    async def main() -> T:
        return await coroutine()

    return asyncio.run(main())


async def sdk_client(engine: EngineProcess, namespace: str, api_key: str) -> Client:
    return await Client.connect(engine.address, namespace=namespace, api_key=api_key, tls=False)
