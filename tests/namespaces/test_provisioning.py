"""The provisioning tasks against a real engine (a subprocess with its admin API and API keys
enforced): what the control plane creates, changes and deletes is what an SDK finds there."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, DescribeNamespaceResponse
from temporalio.service import RPCError, RPCStatusCode

from accounts.models import AsyncOperation, NamespaceGrant, OperationState
from accounts.principal import Principal
from accounts.services.api_keys import do_create_api_key, do_update_api_key
from namespaces.models import Namespace, NamespaceState
from namespaces.selectors import namespace_spec
from namespaces.services import do_create_namespace, do_delete_namespace, do_update_namespace
from namespaces.tasks import provision, sync_account_access
from namespaces.validation import NamespaceSpec
from tests.accounts.conftest import in_days
from tests.namespaces.conftest import Queued
from tests.namespaces.engine_support import EngineProcess, engine_process, run, sdk_client

pytestmark = pytest.mark.slow


@pytest.fixture
def engine(tmp_path: Path, settings) -> Iterator[EngineProcess]:
    """An engine the control plane is configured for; started by the test (or by ``running``)."""
    with engine_process(tmp_path) as process:
        settings.SUNDIAL_ENGINE_ADMIN_ADDRESS = process.admin_address
        settings.SUNDIAL_ENGINE_ADMIN_SECRET = process.secret
        yield process


@pytest.fixture
def running(engine: EngineProcess) -> EngineProcess:
    engine.start()
    return engine


def drain(queued: Queued) -> list[str]:
    """Run the queued tasks as a worker would, each committing what it changes (syncs first: keys
    must exist before they are used). Tasks they queue in turn wait for the next drain."""
    syncs, provisioning = list(queued.access_syncs), list(queued.provisioning)
    queued.clear()
    outcomes: list[str] = []
    for account_id in syncs:
        outcomes.append(queued.commit(partial(sync_account_access, account_id)))
    for pk in provisioning:
        outcomes.append(queued.commit(partial(provision, pk)))
    return outcomes


def operation_of(namespace: Namespace) -> AsyncOperation:
    assert namespace.async_operation_id is not None
    return AsyncOperation.objects.get(pk=namespace.async_operation_id)


def describe(engine: EngineProcess, namespace: str, token: str) -> DescribeNamespaceResponse:
    async def call() -> DescribeNamespaceResponse:
        client = await sdk_client(engine, namespace, token)
        return await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))

    return run(call)


def new_token(principal: Principal, queued: Queued) -> str:
    return queued.commit(lambda: do_create_api_key(principal, display_name="sdk", expires_at=in_days(30)))[1]


def test_a_created_namespace_exists_on_the_engine(alice: Principal, queued: Queued, running: EngineProcess) -> None:
    spec = NamespaceSpec(retention_days=7, search_attributes={"CustomerId": "Keyword", "Amount": "Double"})
    namespace = queued.commit(lambda: do_create_namespace(alice, name="payments", spec=spec))
    token = new_token(alice, queued)

    assert drain(queued) == ["done", "done"]

    namespace.refresh_from_db()
    assert (namespace.state, namespace.last_error) == (NamespaceState.ACTIVE, "")
    operation = operation_of(namespace)
    assert operation.state == OperationState.FULFILLED
    assert operation.finished_at is not None
    described = describe(running, namespace.namespace_id, token)
    assert described.namespace_info.name == namespace.namespace_id
    assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=7)

    async def attributes() -> Mapping[str, IndexedValueType.ValueType]:
        client = await sdk_client(running, namespace.namespace_id, token)
        request = ListSearchAttributesRequest(namespace=namespace.namespace_id)
        return (await client.operator_service.list_search_attributes(request)).custom_attributes

    custom = run(attributes)
    assert custom["CustomerId"] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    assert custom["Amount"] == IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE
    # a second delivery of the same task finds nothing left to do
    assert provision(namespace.pk) == "nothing"


def test_another_accounts_key_is_refused_on_the_namespace(
    alice: Principal, charlie: Principal, queued: Queued, running: EngineProcess
) -> None:
    namespace = queued.commit(lambda: do_create_namespace(alice, name="payments"))
    their_token = new_token(charlie, queued)
    assert drain(queued) == ["done", "done"]
    with pytest.raises(RPCError) as refused:
        describe(running, namespace.namespace_id, their_token)
    assert refused.value.status == RPCStatusCode.PERMISSION_DENIED


def test_a_key_disabled_in_the_control_plane_stops_working_on_the_engine(
    alice: Principal, queued: Queued, running: EngineProcess
) -> None:
    namespace = queued.commit(lambda: do_create_namespace(alice, name="payments"))
    key, token = queued.commit(lambda: do_create_api_key(alice, display_name="laptop", expires_at=in_days(30)))
    drain(queued)
    assert describe(running, namespace.namespace_id, token).namespace_info.name == namespace.namespace_id
    queued.commit(lambda: do_update_api_key(alice, key_id=key.key_id, disabled=True))
    assert drain(queued) == ["done"]
    with pytest.raises((RPCError, RuntimeError), match=r"(?i)unauthenticated"):
        describe(running, namespace.namespace_id, token)


def test_an_update_and_a_delete_reach_the_engine(bob: Principal, queued: Queued, running: EngineProcess) -> None:
    namespace = queued.commit(lambda: do_create_namespace(bob, name="orders"))
    token = new_token(bob, queued)  # Bob is a Developer: his key works through his Namespace Admin grant
    assert drain(queued) == ["done", "done", "done"]  # two syncs (grant, key) and the namespace
    namespace.refresh_from_db()

    queued.commit(
        lambda: do_update_namespace(bob, namespace="orders", spec=replace(namespace_spec(namespace), retention_days=14))
    )
    assert drain(queued) == ["done"]
    namespace.refresh_from_db()
    assert namespace.state == NamespaceState.ACTIVE
    assert namespace.async_operation is not None
    assert (namespace.async_operation.operation_type, namespace.async_operation.state) == (
        "UpdateNamespace",
        OperationState.FULFILLED,
    )
    described = describe(running, namespace.namespace_id, token)
    assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=14)

    deleting = queued.commit(lambda: do_delete_namespace(bob, namespace="orders"))
    deleted_operation = operation_of(deleting)
    assert drain(queued) == ["done"]
    assert not Namespace.objects.filter(pk=namespace.pk).exists()
    assert not NamespaceGrant.objects.filter(namespace="orders").exists()
    deleted_operation.refresh_from_db()
    assert deleted_operation.state == OperationState.FULFILLED
    assert queued.access_syncs == [bob.account.account_id]  # the grant went: the engine hears of it
    assert drain(queued) == ["done"]
    with pytest.raises(RPCError) as gone:
        describe(running, namespace.namespace_id, token)
    assert gone.value.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.PERMISSION_DENIED)


def test_a_change_the_engine_refuses_fails_without_retrying(
    alice: Principal, queued: Queued, running: EngineProcess
) -> None:
    namespace = queued.commit(lambda: do_create_namespace(alice, name="payments"))
    token = new_token(alice, queued)
    drain(queued)

    async def add_region_as_int() -> None:  # a Namespace Admin may add search attributes on the engine directly
        client = await sdk_client(running, namespace.namespace_id, token)
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace.namespace_id,
                search_attributes={"Region": IndexedValueType.INDEXED_VALUE_TYPE_INT},
            )
        )

    run(add_region_as_int)
    namespace.refresh_from_db()
    wanted = replace(namespace_spec(namespace), search_attributes={"Region": "Keyword"})
    queued.commit(lambda: do_update_namespace(alice, namespace="payments", spec=wanted))

    assert drain(queued) == ["failed"]

    namespace.refresh_from_db()
    assert namespace.state == NamespaceState.UPDATE_FAILED
    assert "INVALID_ARGUMENT" in namespace.last_error
    assert "Region" in namespace.last_error
    operation = operation_of(namespace)
    assert operation.state == OperationState.FAILED
    assert operation.failure_reason == namespace.last_error
    # corrected, the change goes through
    fixed = replace(namespace_spec(namespace), search_attributes={"Region": "Int"})
    queued.commit(lambda: do_update_namespace(alice, namespace="payments", spec=fixed))
    assert drain(queued) == ["done"]
    namespace.refresh_from_db()
    assert namespace.state == NamespaceState.ACTIVE


def test_a_wrong_admin_secret_is_retried_not_failed(
    alice: Principal, queued: Queued, running: EngineProcess, settings
) -> None:
    settings.SUNDIAL_ENGINE_ADMIN_SECRET = "not-the-secret"
    namespace = queued.commit(lambda: do_create_namespace(alice, name="payments"))
    assert drain(queued) == ["retry"]
    namespace.refresh_from_db()
    assert namespace.state == NamespaceState.ACTIVATING
    assert "UNAUTHENTICATED" in namespace.last_error
    assert operation_of(namespace).state == OperationState.PENDING


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_engine_leaves_the_operation_pending_and_is_retried(
    alice: Principal, engine: EngineProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real Celery worker (in this process, on a private queue) runs the queued tasks: while the
    engine is down they fail and are retried with backoff; once it is up they succeed."""
    from celery.contrib.testing.worker import start_worker

    import namespaces.tasks
    from cloud.celery import app
    from tests.support.net import wait_until

    queue = f"test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setattr(namespaces.tasks, "queue_provisioning", lambda pk: provision.apply_async((pk,), queue=queue))
    monkeypatch.setattr(
        namespaces.tasks, "queue_access_sync", lambda account: sync_account_access.apply_async((account,), queue=queue)
    )
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        namespace = do_create_namespace(alice, name="payments")
        token = do_create_api_key(alice, display_name="sdk", expires_at=in_days(30))[1]

        def failed_once() -> bool:
            namespace.refresh_from_db()
            return "unreachable" in namespace.last_error

        wait_until(failed_once, timeout=30, what="a first provisioning attempt against the unreachable engine")
        assert namespace.state == NamespaceState.ACTIVATING
        assert operation_of(namespace).state == OperationState.PENDING

        engine.start()

        def activated() -> bool:
            namespace.refresh_from_db()
            return namespace.state == NamespaceState.ACTIVE

        wait_until(activated, timeout=60, what="the retried provisioning", context=lambda: namespace.last_error)
        assert operation_of(namespace).state == OperationState.FULFILLED
        assert namespace.last_error == ""

        def key_works() -> bool:
            try:
                describe(engine, namespace.namespace_id, token)
            except (RPCError, RuntimeError):  # the SDK's connect reports an unknown key as RuntimeError
                return False
            return True

        wait_until(key_works, timeout=60, what="the retried access sync", interval=0.5)
