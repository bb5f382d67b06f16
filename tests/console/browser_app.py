"""The whole product for the console's browser tests: a real engine subprocess, the web app as
its own process (daphne, the production ASGI server, with its own database and eager Celery so
that provisioning reaches the engine at once), seeded people, an SDK worker in a background
thread, and system Chromium signed in as each person.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from playwright.sync_api import Browser, Page
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker import Worker

from tests.namespaces.engine_support import EngineProcess, engine_process
from tests.support.backends import process_databases
from tests.support.net import free_port, http_get, wait_until

T = TypeVar("T")


@dataclass(frozen=True)
class ConsoleApp:
    url: str
    engine: EngineProcess
    account_id: str
    namespace_id: str
    logins: dict[str, tuple[str, str]]  # "owner" / "reader" / "outsider" → (e-mail, password)

    def page_url(self, rest: str = "") -> str:
        return f"{self.url}/a/{self.account_id}/namespaces/shop/{rest}"


def _cli(args: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=180, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextmanager
def console_app(tmp_path: Path, base_env: dict[str, str]) -> Iterator[ConsoleApp]:
    with engine_process(tmp_path / "engine") as engine, process_databases(tmp_path / "web") as databases:
        (tmp_path / "engine").mkdir(exist_ok=True)
        engine.start()
        port = free_port()
        env = {
            **base_env,
            **databases,
            "SUNDIAL_WEB_PORT": str(port),
            "SUNDIAL_ENGINE_ADDRESS": engine.address,
            "SUNDIAL_ENGINE_ADMIN_ADDRESS": engine.admin_address,
            "SUNDIAL_ENGINE_ADMIN_SECRET": engine.secret,
            "API_KEY_PEPPER": settings.API_KEY_PEPPER,
            "CELERY_TASK_ALWAYS_EAGER": "true",
        }
        _cli(["-m", "cloud.cli", "manage", "migrate", "--noinput"], env)
        seeded = json.loads(_cli(["-m", "tests.console.browser_seed"], env).strip().splitlines()[-1])
        log = (tmp_path / "web.log").open("wb")
        server = subprocess.Popen([sys.executable, "-m", "cloud.cli", "web"], env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda: (http_get(f"{url}/healthz") or (0, b""))[0] == 200,
                timeout=60,
                what="the web app",
                context=lambda: (tmp_path / "web.log").read_text(errors="replace"),
            )
            yield ConsoleApp(
                url=url,
                engine=engine,
                account_id=seeded["account_id"],
                namespace_id=seeded["namespace_id"],
                logins={who: (seeded[who][0], seeded[who][1]) for who in ("owner", "reader", "outsider")},
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()


def signed_in(browser: Browser, app: ConsoleApp, who: str, **context: Any) -> Page:
    """A new browser context signed in through the sign-in form as ``who``."""
    page = browser.new_context(**context).new_page()
    email, password = app.logins[who]
    page.goto(f"{app.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{app.url}/a/**")
    return page


class BackgroundSdk:
    """An SDK client (and optionally a worker) on an event loop in a thread, so that the
    synchronous Playwright test can start, signal and describe workflows while it runs."""

    def __init__(self, app: ConsoleApp, data_converter: DataConverter | None = None) -> None:
        self._app = app
        self._converter = data_converter or DataConverter.default
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.client: Client = self.call(self._connect)
        self._workers: list[Future[None]] = []
        self._stop = asyncio.Event()

    async def _connect(self) -> Client:
        engine = self._app.engine
        return await Client.connect(
            engine.address,
            namespace=self._app.namespace_id,
            api_key=engine.secret,
            tls=False,
            data_converter=self._converter,
        )

    def call(self, make: Callable[[], Any]) -> Any:
        """Run ``make()`` (a coroutine function) on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(timeout=60)

    def start_worker(
        self, task_queue: str, workflows: Sequence[type], activities: Sequence[Callable[..., Any]]
    ) -> None:
        async def serve() -> None:
            async with Worker(self.client, task_queue=task_queue, workflows=workflows, activities=activities):
                await self._stop.wait()

        self._workers.append(asyncio.run_coroutine_threadsafe(serve(), self._loop))

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        for worker in self._workers:
            worker.result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


@contextmanager
def background_sdk(app: ConsoleApp, data_converter: DataConverter | None = None) -> Iterator[BackgroundSdk]:
    sdk = BackgroundSdk(app, data_converter)
    try:
        yield sdk
    finally:
        sdk.close()


def artifacts_dir(tmp_path: Path, name: str) -> Path:
    """Where screenshots go: ``$SUNDIAL_ARTIFACTS_DIR/<name>`` (``make test`` sets it to
    ``test-results/<pass>``), else the test's temporary directory."""
    base = os.environ.get("SUNDIAL_ARTIFACTS_DIR")
    directory = Path(base) / name if base else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


__all__ = ["ConsoleApp", "artifacts_dir", "background_sdk", "console_app", "signed_in", "wait_until"]
