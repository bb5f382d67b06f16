"""The console's run page over a 10,000-event history: how fast the page answers, and how long
the rest of the events take to arrive in chunks.

    .venv/bin/python bench/console_history.py [--signals 10000] [--requests 20] [--concurrency 100]

Starts `python -m engine` in its own process (API keys enforced, as in production), provisions a
namespace on it through the admin API as the control plane does, starts a run on a task queue
no one polls and signals it `--signals` times concurrently (each signal is one event). Then,
through Django (the test client, a fresh SQLite control-plane database, the account's Owner
signed in), it times `--requests` loads of the run's page and the chunk loads that follow, and
one load of each other view. Prints figures; asserts nothing. The acceptance is a page that
answers in under 2 s with the history loaded progressively.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_support import free_port
from temporalio.client import Client

ROOT = Path(__file__).resolve().parent.parent
EVENT = re.compile(rb'<li id="event-(\d+)" data-event-type=')
MORE = re.compile(rb'<li class="console-more" id="history-more" hx-get="([^"]+)"')


def _start_engine(tmp: str, port: int, admin_port: int, secret: str, pepper: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNDIAL_ENGINE", "ENGINE_DATABASE"))}
    env.update(PYTHONPATH=str(ROOT), SUNDIAL_ENGINE_ADMIN_SECRET=secret, API_KEY_PEPPER=pepper)
    argv = [sys.executable, "-m", "engine", "--port", str(port), "--admin-port", str(admin_port)]
    log = Path(tmp) / "engine.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*argv, "--db", f"sqlite:///{tmp}/engine.sqlite3"], cwd=ROOT, stdout=out, stderr=out, env=env
        )
    deadline = time.monotonic() + 60
    while b"engine admin API listening" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the engine did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    return process


def _setup_django(tmp: str, port: int, admin_port: int, secret: str, pepper: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="cloud.settings",
        SUNDIAL_DATA_DIR=tmp,
        DATABASE_URL=f"sqlite:///{tmp}/sundial.sqlite3",
        SUNDIAL_ENGINE_ADDRESS=f"127.0.0.1:{port}",
        SUNDIAL_ENGINE_ADMIN_ADDRESS=f"127.0.0.1:{admin_port}",
        SUNDIAL_ENGINE_ADMIN_SECRET=secret,
        API_KEY_PEPPER=pepper,
    )
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()  # the test client's host is allowed
    call_command("migrate", verbosity=0)


def _owner_and_namespace(admin_port: int, secret: str) -> tuple[Any, str, str]:
    """(user, account id, engine namespace id): an account with a namespace "bench", active on
    the engine."""
    from accounts.models import User
    from accounts.services.accounts import do_create_account
    from engine.admin_client import EngineAdminClient
    from namespaces.models import Namespace, NamespaceState

    user = User.objects.create_user("bench@example.com", secrets.token_urlsafe(16))
    account = do_create_account(owner=user, name="Bench")
    namespace = Namespace.objects.create(account=account, name="bench", state=NamespaceState.ACTIVE)
    with EngineAdminClient(f"127.0.0.1:{admin_port}", secret) as admin:
        admin.put_namespace(
            {
                "namespace": namespace.namespace_id,
                "account_id": account.account_id,
                "retention_days": 1,
                "api_key_auth": True,
            }
        )
    return user, account.account_id, namespace.namespace_id


async def _long_run(port: int, secret: str, namespace_id: str, signals: int, concurrency: int) -> tuple[str, float]:
    """A run with 2 + ``signals`` events; (run id, seconds the signals took)."""
    client = await Client.connect(f"127.0.0.1:{port}", namespace=namespace_id, api_key=secret, tls=False)
    handle = await client.start_workflow("Waiting", id="ten-thousand", task_queue="nobody-polls")
    gate = asyncio.Semaphore(concurrency)

    async def poke(i: int) -> None:
        async with gate:
            await handle.signal("poke", {"i": i, "note": "a signal for the console benchmark"})

    started = time.perf_counter()
    await asyncio.gather(*(poke(i) for i in range(signals)))
    return handle.result_run_id or "", time.perf_counter() - started


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(ordered)})"


def _measure(user: Any, url: str, requests: int) -> None:
    import html

    from django.test import Client as Browser

    browser = Browser()
    browser.force_login(user)
    browser.get(url)  # warm-up: templates, the gRPC channel

    pages: list[float] = []
    first_events = 0
    for _ in range(requests):
        t0 = time.perf_counter()
        response = browser.get(url)
        pages.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code
        first_events = len(EVENT.findall(response.content))
    print(f"run page (events view): {_ms(pages)}   events in the first answer: {first_events}")

    chunks: list[float] = []
    sizes: list[int] = []
    found = MORE.search(response.content)
    t_all = time.perf_counter()
    while found is not None:
        t0 = time.perf_counter()
        chunk = browser.get(html.unescape(found.group(1).decode()))
        chunks.append(time.perf_counter() - t0)
        assert chunk.status_code == 200, chunk.status_code
        sizes.append(len(EVENT.findall(chunk.content)))
        found = MORE.search(chunk.content)
    total = time.perf_counter() - t_all
    if chunks:
        print(f"chunks: {len(chunks)} of {sizes[0]} events (last {sizes[-1]}): {_ms(chunks)}")
    print(f"all chunks, one after another: {total * 1000:.0f} ms; events shown in all: {first_events + sum(sizes)}")

    for view in ("compact", "timeline", "json"):
        t0 = time.perf_counter()
        response = browser.get(url, {"view": view})
        elapsed = time.perf_counter() - t0
        print(
            f"{view} view: {elapsed * 1000:.0f} ms ({len(response.content) // 1024} KiB, status {response.status_code})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=100, help="signals in flight at once")
    args = parser.parse_args()
    port, admin_port = free_port(), free_port()
    secret, pepper = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory() as tmp:
        engine = _start_engine(tmp, port, admin_port, secret, pepper)
        try:
            _setup_django(tmp, port, admin_port, secret, pepper)
            user, account_id, namespace_id = _owner_and_namespace(admin_port, secret)
            run_id, took = asyncio.run(_long_run(port, secret, namespace_id, args.signals, args.concurrency))
            print(f"{args.signals} signals in {took:.1f} s ({args.signals / took:.0f}/s): {args.signals + 2} events")
            url = f"/a/{account_id}/namespaces/bench/workflows/ten-thousand/{run_id}/"
            _measure(user, url, args.requests)
        finally:
            engine.terminate()
            engine.wait(timeout=15)


if __name__ == "__main__":
    main()
