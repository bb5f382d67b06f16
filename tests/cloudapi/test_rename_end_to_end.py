"""RenameCustomSearchAttribute end to end: the SDK's CloudOperationsClient renames, the
provisioning task renames on a real engine (a subprocess), and runs started before the rename are
found by the new name through an SDK client; a rename the engine refuses fails and is undone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.namespace.v1 import message_pb2 as namespace_pb
from temporalio.api.cloud.operation.v1 import message_pb2 as operation_pb
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from accounts.principal import Principal
from accounts.services.api_keys import do_create_api_key
from namespaces.models import Namespace, NamespaceState
from namespaces.tasks import provision, sync_account_access
from tests.accounts.conftest import in_days
from tests.cloudapi.support import Cloud
from tests.namespaces.engine_support import EngineProcess, engine_process, run, sdk_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FULFILLED = operation_pb.AsyncOperation.STATE_FULFILLED
FAILED = operation_pb.AsyncOperation.STATE_FAILED
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")


@dataclass
class Queue:
    """What committed changes queued; ``drain`` runs it as a Celery worker would."""

    provisioning: list[int] = field(default_factory=list)
    access_syncs: list[str] = field(default_factory=list)

    def drain(self) -> list[str]:
        syncs, namespaces = list(dict.fromkeys(self.access_syncs)), list(self.provisioning)
        self.access_syncs.clear()
        self.provisioning.clear()
        return [sync_account_access(account_id) for account_id in syncs] + [provision(pk) for pk in namespaces]


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Queue:
    import namespaces.tasks

    record = Queue()
    monkeypatch.setattr(namespaces.tasks, "queue_provisioning", record.provisioning.append)
    monkeypatch.setattr(namespaces.tasks, "queue_access_sync", record.access_syncs.append)
    return record


@pytest.fixture
def engine(tmp_path: Path, settings) -> Iterator[EngineProcess]:
    with engine_process(tmp_path) as process:
        settings.SUNDIAL_ENGINE_ADMIN_ADDRESS = process.admin_address
        settings.SUNDIAL_ENGINE_ADMIN_SECRET = process.secret
        process.start()
        yield process


def operation_state(cloud: Cloud, operation_id: str) -> tuple[int, str]:
    got = cloud("get_async_operation", rr.GetAsyncOperationRequest(async_operation_id=operation_id)).async_operation
    return got.state, got.failure_reason


def rename(cloud: Cloud, namespace_id: str, old: str, new: str, operation_id: str) -> None:
    version = cloud("get_namespace", rr.GetNamespaceRequest(namespace=namespace_id)).namespace.resource_version
    cloud(
        "rename_custom_search_attribute",
        rr.RenameCustomSearchAttributeRequest(
            namespace=namespace_id,
            existing_custom_search_attribute_name=old,
            new_custom_search_attribute_name=new,
            resource_version=version,
            async_operation_id=operation_id,
        ),
    )


def test_runs_are_found_by_the_new_name_after_a_cloud_ops_rename(
    alice: Principal, client_for: Callable[..., Cloud], queue: Queue, engine: EngineProcess
) -> None:
    cloud = client_for(alice)
    spec = namespace_pb.NamespaceSpec(
        name="orders", retention_days=7, custom_search_attributes={"CustomerId": "Keyword"}
    )
    namespace_id = cloud(
        "create_namespace", rr.CreateNamespaceRequest(spec=spec, async_operation_id="create-1")
    ).namespace
    _, token = do_create_api_key(alice, display_name="sdk", expires_at=in_days(30))
    assert queue.drain() == ["done", "done"]
    assert operation_state(cloud, "create-1") == (FULFILLED, "")

    async def start_runs() -> list[str]:
        client = await sdk_client(engine, namespace_id, token)
        ids = []
        for value in ("c-1", "c-2"):
            handle = await client.start_workflow(
                "NeverPolled",
                id=f"order-{value}",
                task_queue="nobody-polls",
                search_attributes=TypedSearchAttributes([SearchAttributePair(CUSTOMER_ID, value)]),
            )
            ids.append(handle.id)
        return ids

    first, _ = run(start_runs)

    rename(cloud, namespace_id, "CustomerId", "Customer", "rename-1")
    assert operation_state(cloud, "rename-1")[0] == operation_pb.AsyncOperation.STATE_PENDING
    assert queue.drain() == ["done"]
    assert operation_state(cloud, "rename-1") == (FULFILLED, "")
    namespace = Namespace.objects.get()
    assert namespace.state == NamespaceState.ACTIVE
    assert namespace.search_attributes == namespace.provisioned_search_attributes == {"Customer": "Keyword"}
    assert provision(namespace.pk) == "nothing"  # a second delivery of the task

    async def after_rename() -> tuple[list[str], RPCStatusCode, set[str]]:
        client = await sdk_client(engine, namespace_id, token)
        found = [w.id async for w in client.list_workflows("Customer = 'c-1'")]
        with pytest.raises(RPCError) as unknown:
            [w.id async for w in client.list_workflows("CustomerId = 'c-1'")]
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace_id)
        )
        return found, unknown.value.status, set(listed.custom_attributes)

    found, status, custom = run(after_rename)
    assert found == [first]
    assert status == RPCStatusCode.INVALID_ARGUMENT
    assert "Customer" in custom
    assert "CustomerId" not in custom

    # A Namespace Admin adds "Region" on the engine directly: renaming to it is refused there,
    # the operation fails, and the control plane keeps the name the engine has.
    async def add_region() -> None:
        client = await sdk_client(engine, namespace_id, token)
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace_id, search_attributes={"Region": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}
            )
        )

    run(add_region)
    rename(cloud, namespace_id, "Customer", "Region", "rename-2")
    assert queue.drain() == ["failed"]
    state, reason = operation_state(cloud, "rename-2")
    assert state == FAILED
    assert "ALREADY_EXISTS" in reason
    assert "Region" in reason
    namespace.refresh_from_db()
    assert namespace.state == NamespaceState.ACTIVE  # unchanged, on the engine too
    assert namespace.last_error == reason
    assert namespace.search_attributes == namespace.provisioned_search_attributes == {"Customer": "Keyword"}
    # the failed rename does not block the next one
    rename(cloud, namespace_id, "Customer", "Client", "rename-3")
    assert queue.drain() == ["done"]
    assert operation_state(cloud, "rename-3") == (FULFILLED, "")
    namespace.refresh_from_db()
    assert (namespace.state, namespace.last_error) == (NamespaceState.ACTIVE, "")

    async def by_client() -> list[str]:
        client = await sdk_client(engine, namespace_id, token)
        return [w.id async for w in client.list_workflows("Client = 'c-1'")]

    assert run(by_client) == [first]
