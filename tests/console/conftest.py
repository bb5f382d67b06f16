"""The console tests' engine and namespace: a real engine subprocess (API keys enforced), the
namespace provisioned on it by the control plane's own task, and workflows started and run by
the real SDK. The SDK connects with the console credential (the engine admin secret), which
the engine accepts for every namespace.

One engine serves a whole test module (starting one takes seconds); each test still has its
own account and namespace, since the control-plane database is rolled back after every test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

import console.engine
from accounts.principal import Principal
from namespaces.models import Namespace, NamespaceState
from namespaces.services import do_create_namespace
from namespaces.tasks import provision, sync_account_access
from tests.console.sdk_workflows import TASK_QUEUE, Greeting, compose_greeting
from tests.namespaces.conftest import *  # noqa: F403
from tests.namespaces.conftest import Queued
from tests.namespaces.engine_support import EngineProcess, engine_process, run

R = TypeVar("R")


@pytest.fixture(scope="module")
def module_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    with engine_process(tmp_path_factory.mktemp("engine")) as process:
        process.start()
        yield process


@pytest.fixture
def engine(module_engine: EngineProcess, settings: Any) -> EngineProcess:
    """The module's engine, with the control plane (and so the console) pointed at it."""
    settings.SUNDIAL_ENGINE_ADDRESS = module_engine.address
    settings.SUNDIAL_ENGINE_ADMIN_ADDRESS = module_engine.admin_address
    settings.SUNDIAL_ENGINE_ADMIN_SECRET = module_engine.secret
    return module_engine


@pytest.fixture(autouse=True)
def _fresh_console_channel() -> Iterator[None]:
    """Each test's engine may live at another address: never reuse a channel across tests."""
    console.engine.close_channel()
    yield
    console.engine.close_channel()


def drain(queued: Queued) -> None:
    """Run the queued provisioning tasks as a worker would."""
    syncs, provisioning = list(queued.access_syncs), list(queued.provisioning)
    queued.clear()
    for account_id in syncs:
        queued.commit(partial(sync_account_access, account_id))
    for pk in provisioning:
        queued.commit(partial(provision, pk))


@pytest.fixture
def shop(alice: Principal, queued: Queued, engine: EngineProcess) -> Namespace:
    """Alice's namespace ``shop``, active on the engine."""
    namespace = queued.commit(lambda: do_create_namespace(alice, name="shop"))
    drain(queued)
    namespace.refresh_from_db()
    assert namespace.state == NamespaceState.ACTIVE, namespace.last_error
    return namespace


async def sdk(engine: EngineProcess, namespace_id: str) -> Client:
    return await Client.connect(engine.address, namespace=namespace_id, api_key=engine.secret, tls=False)


def with_worker(engine: EngineProcess, namespace: Namespace, body: Callable[[Client], Awaitable[R]]) -> R:
    """Run ``body(client)`` while a Greeting worker serves the namespace's task queue."""

    namespace_id = namespace.namespace_id  # read before the event loop runs: it queries the database

    async def main() -> R:
        client = await sdk(engine, namespace_id)
        async with Worker(client, task_queue=TASK_QUEUE, workflows=[Greeting], activities=[compose_greeting]):
            return await body(client)

    return run(main)


def greet(engine: EngineProcess, namespace: Namespace, people: dict[str, str]) -> dict[str, str]:
    """Run Greeting to completion once per ``{workflow id: name}``; the results by id."""

    async def body(client: Client) -> dict[str, str]:
        results: dict[str, str] = {}
        for workflow_id, name in people.items():
            handle = await client.start_workflow(
                Greeting.run, name, id=workflow_id, task_queue=TASK_QUEUE, execution_timeout=timedelta(minutes=5)
            )
            await handle.signal(Greeting.finish, "!")
            results[workflow_id] = await handle.result()
        return results

    return with_worker(engine, namespace, body)


def start_waiting(engine: EngineProcess, namespace: Namespace, workflow_type: str, ids: list[str]) -> None:
    """Start runs that no worker serves: they stay Running."""

    namespace_id = namespace.namespace_id

    async def main() -> None:
        client = await sdk(engine, namespace_id)
        for workflow_id in ids:
            await client.start_workflow(workflow_type, id=workflow_id, task_queue="nobody-polls")

    run(main)
