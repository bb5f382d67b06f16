"""Issue 6's acceptance test: a namespace made through the Cloud Ops API is provisioned on a real
engine by a real Celery worker, and an official-SDK worker and client use it with nothing but
the engine's address, the namespace id and a service account's API key.

Everything runs for real: the Cloud Ops API server (in this process), a Celery worker (a thread
of this process, on a private queue over this pass's broker) and the engine (a subprocess with
its admin API and API keys enforced). The control plane is driven only through the Cloud Ops
API with the SDK's ``CloudOperationsClient``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from temporalio import workflow
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.identity.v1 import message_pb2 as identity
from temporalio.api.cloud.namespace.v1 import message_pb2 as namespace_pb
from temporalio.api.cloud.operation.v1 import message_pb2 as operation_pb
from temporalio.api.cloud.resource.v1 import message_pb2 as resource_pb
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from accounts.principal import Principal
from cloud.celery import app as celery_app
from cloudapi.server import CloudApiServer, ServerConfig
from namespaces import tasks
from tests.accounts.conftest import *  # noqa: F403
from tests.cloudapi.support import PERMISSION, ROLE, Cloud, access, connect, expiry, new_key
from tests.namespaces.engine_support import EngineProcess, engine_process
from tests.support.net import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PROVISION_TIMEOUT = 90.0
SA_SERVICE_ACCOUNT = identity.OWNER_TYPE_SERVICE_ACCOUNT


@workflow.defn(name="Greet")
class Greet:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"hello, {name}"


@workflow.defn(name="AwaitRelease")
class AwaitRelease:
    """Runs until it is signalled: it is in flight while the control plane goes away."""

    def __init__(self) -> None:
        self.released = ""

    @workflow.signal
    def release(self, by: str) -> None:
        self.released = by

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: bool(self.released))
        return f"released by {self.released}"


@pytest.fixture
def engine(tmp_path: Path, settings: Any, transactional_db: None) -> Iterator[EngineProcess]:
    with engine_process(tmp_path) as process:
        settings.SUNDIAL_ENGINE_ADMIN_ADDRESS = process.admin_address
        settings.SUNDIAL_ENGINE_ADMIN_SECRET = process.secret
        settings.SUNDIAL_ENGINE_ADDRESS = process.address
        process.start()
        yield process


@dataclass
class ControlPlane:
    """Where the Cloud Ops API listens; ``stop()`` stops it and the Celery worker."""

    target: str
    stack: ExitStack

    def stop(self) -> None:
        self.stack.close()


@pytest.fixture
def control_plane(engine: EngineProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[ControlPlane]:
    """A Celery worker on a private queue (so that concurrent runs never take each other's tasks),
    which the control plane's tasks are sent to, and a Cloud Ops API server."""
    queue = f"e2e-{uuid.uuid4().hex[:10]}"
    monkeypatch.setattr(tasks, "queue_provisioning", lambda pk: tasks.provision.apply_async((pk,), queue=queue))
    monkeypatch.setattr(
        tasks, "queue_access_sync", lambda account: tasks.sync_account_access.apply_async((account,), queue=queue)
    )
    with ExitStack() as stack:
        stack.enter_context(
            start_worker(celery_app, perform_ping_check=False, queues=[queue], hostname=f"{queue}@localhost")
        )
        server = CloudApiServer(ServerConfig(host="127.0.0.1", port=0, max_workers=4))
        port = server.start()
        stack.callback(server.stop, 0)
        yield ControlPlane(f"127.0.0.1:{port}", stack)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def create_namespace(cloud: Cloud, name: str) -> str:
    """Create a namespace through Cloud Ops and wait until its operation is FULFILLED; its id."""
    spec = namespace_pb.NamespaceSpec(
        name=name, retention_days=7, api_key_auth=namespace_pb.ApiKeyAuthSpec(enabled=True)
    )
    created = cloud("create_namespace", rr.CreateNamespaceRequest(spec=spec))
    assert created.async_operation.state == operation_pb.AsyncOperation.STATE_PENDING
    operation_id = created.async_operation.id

    def fulfilled() -> bool:
        operation = cloud("get_async_operation", rr.GetAsyncOperationRequest(async_operation_id=operation_id))
        assert operation.async_operation.state != operation_pb.AsyncOperation.STATE_FAILED, operation
        return bool(operation.async_operation.state == operation_pb.AsyncOperation.STATE_FULFILLED)

    wait_until(fulfilled, timeout=PROVISION_TIMEOUT, interval=0.2, what=f"namespace {name} to be provisioned")
    found = cloud("get_namespace", rr.GetNamespaceRequest(namespace=created.namespace)).namespace
    assert found.state == resource_pb.RESOURCE_STATE_ACTIVE
    return str(created.namespace)


def service_account_key(cloud: Cloud, name: str, namespace: str, permission: Any) -> tuple[str, str]:
    """A Read-Only service account with ``permission`` on ``namespace``, and a key of it: (key id, token)."""
    spec = identity.ServiceAccountSpec(name=name, access=access(ROLE.ROLE_READ, **{namespace: permission}))
    sa_id = cloud("create_service_account", rr.CreateServiceAccountRequest(spec=spec)).service_account_id
    key_spec = identity.ApiKeySpec(
        owner_id=sa_id, owner_type=SA_SERVICE_ACCOUNT, display_name=f"{name} key", expiry_time=expiry(30)
    )
    created = cloud("create_api_key", rr.CreateApiKeyRequest(spec=key_spec))
    return created.key_id, created.token


def outcome(loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[object]]) -> str:
    """``"ok"``, or the status the engine refused the call with (connecting included)."""

    async def attempt() -> str:
        try:
            await call()
        except RPCError as error:
            return error.status.name
        except RuntimeError as error:  # the SDK's connect reports a refused key as RuntimeError
            return "UNAUTHENTICATED" if "unauthenticated" in str(error).lower() else f"RuntimeError: {error}"
        return "ok"

    return loop.run_until_complete(attempt())


def sdk(address: str, namespace: str, token: str) -> Callable[[], Awaitable[Client]]:
    return lambda: Client.connect(address, namespace=namespace, api_key=token, tls=False)


def describe(address: str, namespace: str, token: str) -> Callable[[], Awaitable[object]]:
    async def call() -> object:
        client = await sdk(address, namespace, token)()
        return await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))

    return call


async def run_greeting(client: Client, task_queue: str) -> str:
    async with Worker(client, task_queue=task_queue, workflows=[Greet], workflow_runner=UnsandboxedWorkflowRunner()):
        return await client.execute_workflow(
            Greet.run,
            "Alice",
            id=f"greet-{uuid.uuid4().hex}",
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=2),
        )


def test_a_namespace_made_through_cloud_ops_runs_workflows_with_a_service_account_key(
    alice: Principal,
    charlie: Principal,
    engine: EngineProcess,
    control_plane: ControlPlane,
    loop: asyncio.AbstractEventLoop,
) -> None:
    cloud = connect(loop, control_plane.target, new_key(alice)[1])
    namespace = create_namespace(cloud, "orders")
    address = cloud("get_namespace", rr.GetNamespaceRequest(namespace=namespace)).namespace.endpoints.grpc_address
    assert address == engine.address

    writer_key_id, writer = service_account_key(cloud, "deployer", namespace, PERMISSION.PERMISSION_WRITE)
    _, spare_writer = service_account_key(cloud, "deployer-2", namespace, PERMISSION.PERMISSION_WRITE)
    wait_until(
        lambda: (
            outcome(loop, describe(address, namespace, writer)) == "ok"
            and outcome(loop, describe(address, namespace, spare_writer)) == "ok"
        ),
        timeout=PROVISION_TIMEOUT,
        interval=0.2,
        what="the service account keys to reach the engine",
    )

    # an official-SDK worker and client, with only host, namespace id and key, run a workflow
    async def greet() -> str:
        return await run_greeting(await sdk(address, namespace, writer)(), "e2e")

    assert loop.run_until_complete(greet()) == "hello, Alice"

    # the same key on another account's namespace is refused
    theirs = create_namespace(connect(loop, control_plane.target, new_key(charlie)[1]), "orders")
    assert theirs != namespace
    assert outcome(loop, describe(address, theirs, writer)) == "PERMISSION_DENIED"

    # a Read key lists and describes, but cannot start a workflow
    _, reader = service_account_key(cloud, "auditor", namespace, PERMISSION.PERMISSION_READ)
    wait_until(
        lambda: outcome(loop, describe(address, namespace, reader)) == "ok",
        timeout=PROVISION_TIMEOUT,
        interval=0.2,
        what="the read key to reach the engine",
    )

    async def list_workflows() -> object:
        client = await sdk(address, namespace, reader)()
        return [execution async for execution in client.list_workflows()]

    async def start_workflow() -> object:
        client = await sdk(address, namespace, reader)()
        return await client.start_workflow(Greet.run, "Mallory", id=f"no-{uuid.uuid4().hex}", task_queue="e2e")

    assert outcome(loop, list_workflows) == "ok"
    assert outcome(loop, start_workflow) == "PERMISSION_DENIED"

    # the key disabled through Cloud Ops stops working on the engine within 5 seconds
    key = cloud("get_api_key", rr.GetApiKeyRequest(key_id=writer_key_id)).api_key
    key.spec.disabled = True
    cloud("update_api_key", rr.UpdateApiKeyRequest(key_id=key.id, spec=key.spec, resource_version=key.resource_version))
    wait_until(
        lambda: outcome(loop, describe(address, namespace, writer)) == "UNAUTHENTICATED",
        timeout=5,
        interval=0.1,
        what="the disabled key to be refused",
    )

    # a workflow in flight while the Cloud Ops API server and the Celery worker stop still completes
    async def start_waiting() -> str:
        client = await sdk(address, namespace, spare_writer)()
        handle = await client.start_workflow(
            AwaitRelease.run,
            id=f"wait-{uuid.uuid4().hex}",
            task_queue="e2e-late",
            execution_timeout=timedelta(minutes=2),
        )
        return handle.id

    waiting = loop.run_until_complete(start_waiting())
    control_plane.stop()

    async def finish() -> tuple[str, str]:
        client = await sdk(address, namespace, spare_writer)()
        async with Worker(
            client, task_queue="e2e-late", workflows=[AwaitRelease], workflow_runner=UnsandboxedWorkflowRunner()
        ):
            handle = client.get_workflow_handle(waiting)
            await handle.signal(AwaitRelease.release, "bob")
            released = await handle.result()
        return released, await run_greeting(client, "e2e-after")

    assert loop.run_until_complete(finish()) == ("released by bob", "hello, Alice")
