"""API keys outside dev mode, as an SDK user sees them: the admin API provisions a namespace and
an account's access; workers and clients connect with only host, namespace id and key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, DeleteNamespaceRequest
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetSystemInfoRequest,
    ListArchivedWorkflowExecutionsRequest,
    ListNamespacesRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from engine.server import EngineServer
from tests.engine.auth_support import (
    Account,
    Admin,
    auth_config,
    connect,
    digest_of,
    namespace_spec,
    rfc3339,
    worker,
)
from tests.engine.sdk_app import HelloWorkflow, SignalWorkflow
from tests.engine.sdk_support import new_id

PAYMENTS = "payments.ab12c"


async def rpc_status(call: Awaitable[Any]) -> RPCStatusCode:
    with pytest.raises(RPCError) as caught:
        await call
    return caught.value.status


async def describe(client: Client, namespace: str = PAYMENTS) -> Any:
    return await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> float:
    """Poll `check` until it holds; how long that took. Fails after `within` seconds."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"still not true after {within} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def provision(admin: Admin, name: str = "payments", account_id: str = "ab12c", **spec: Any) -> dict[str, Any]:
    return await admin.put_namespace(namespace_spec(name, account_id, **spec))


@pytest.fixture
def account() -> Account:
    return Account("ab12c")


async def test_a_worker_and_client_with_only_host_namespace_and_key_run_a_workflow(
    auth_engine: EngineServer, admin: Admin, account: Account
) -> None:
    await provision(admin)
    deployer = account.principal("deployer", grants={"payments": "write"})
    key = account.key_for(deployer)
    await admin.sync(account)

    client = await connect(auth_engine, PAYMENTS, key.token)
    async with worker(client) as task_queue:
        result = await client.execute_workflow(HelloWorkflow.run, "Sundial", id=new_id(), task_queue=task_queue)
    assert result == "Hello, Sundial!"


async def test_the_key_on_another_accounts_namespace_is_permission_denied(
    auth_engine: EngineServer, admin: Admin, account: Account
) -> None:
    await provision(admin)
    await provision(admin, "payments", "zz999")  # the same short name in another account
    await provision(admin, "orders", "zz999")
    alice = account.principal("alice@example.com", kind="user", account_admin=True)
    key = account.key_for(alice)
    await admin.sync(account)

    client = await connect(auth_engine, PAYMENTS, key.token)
    assert (await describe(client)).namespace_info.name == PAYMENTS
    for other in ("payments.zz999", "orders.zz999"):
        assert await rpc_status(describe(client, other)) == RPCStatusCode.PERMISSION_DENIED
        elsewhere = await connect(auth_engine, other, key.token)
        start = elsewhere.start_workflow(HelloWorkflow.run, "x", id=new_id(), task_queue="tq")
        assert await rpc_status(start) == RPCStatusCode.PERMISSION_DENIED


async def test_a_read_key_lists_and_describes_but_cannot_start_or_signal(
    auth_engine: EngineServer, admin: Admin, account: Account
) -> None:
    await provision(admin)
    writer = account.key_for(account.principal("deployer", grants={"payments": "write"}))
    reader = account.key_for(account.principal("auditor", grants={"payments": "read"}))
    await admin.sync(account)
    write_client = await connect(auth_engine, PAYMENTS, writer.token)
    read_client = await connect(auth_engine, PAYMENTS, reader.token)

    async with worker(write_client) as task_queue:
        handle = await write_client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
        seen = read_client.get_workflow_handle(handle.id)
        assert (await seen.describe()).id == handle.id
        assert [w.id async for w in read_client.list_workflows(f"WorkflowId = '{handle.id}'")] == [handle.id]
        assert (await describe(read_client)).namespace_info.name == PAYMENTS

        assert await rpc_status(seen.signal(SignalWorkflow.greet, "Mallory")) == RPCStatusCode.PERMISSION_DENIED
        start = read_client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
        assert await rpc_status(start) == RPCStatusCode.PERMISSION_DENIED
        assert await rpc_status(seen.terminate()) == RPCStatusCode.PERMISSION_DENIED

        await handle.signal(SignalWorkflow.greet, "Alice")
        await handle.signal(SignalWorkflow.finish)
        assert await handle.result() == ["Alice"]


async def test_search_attributes_and_namespace_settings_need_admin(
    auth_engine: EngineServer, admin: Admin, account: Account
) -> None:
    await provision(admin)
    writer = account.key_for(account.principal("deployer", grants={"payments": "write"}))
    owner = account.key_for(account.principal("owner@example.com", kind="user", account_admin=True))
    await admin.sync(account)
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    request = AddSearchAttributesRequest(namespace=PAYMENTS, search_attributes={"CustomerId": keyword})

    write_client = await connect(auth_engine, PAYMENTS, writer.token)
    denied = write_client.operator_service.add_search_attributes(request)
    assert await rpc_status(denied) == RPCStatusCode.PERMISSION_DENIED
    owner_client = await connect(auth_engine, PAYMENTS, owner.token)
    await owner_client.operator_service.add_search_attributes(request)


@pytest.mark.parametrize(
    "credential",
    ["missing", "garbled", "not-a-bearer", "unknown", "wrong-secret", "disabled", "expired", "deleted", "wrong-pepper"],
)
async def test_bad_credentials_are_unauthenticated(
    auth_engine: EngineServer, admin: Admin, account: Account, credential: str
) -> None:
    await provision(admin)
    deployer = account.principal("deployer", grants={"payments": "write"})
    good = account.key_for(deployer)
    victim = account.key_for(deployer)
    if credential == "disabled":
        victim.disabled = True
    elif credential == "expired":
        victim.expires_at = rfc3339(datetime.now(UTC) - timedelta(seconds=1))
    elif credential == "deleted":
        account.keys.remove(victim)
    elif credential == "wrong-pepper":  # the digest was made with another pepper than the engine's
        victim.digest = digest_of(victim.token, "another pepper")
    await admin.sync(account)
    token: str | None = {
        "missing": None,
        "garbled": "not an API key",
        "not-a-bearer": None,
        "unknown": deployer.new_key().token,  # well formed, never synced
        "wrong-secret": victim.token[:-1] + ("y" if victim.token[-1] != "y" else "z"),
    }.get(credential, victim.token)
    metadata = {"authorization": f"Basic {victim.token}"} if credential == "not-a-bearer" else {}

    # a client cannot even connect (the SDK asks GetSystemInfo first) ...
    with pytest.raises(RuntimeError, match="code: Unauthenticated"):
        await connect(auth_engine, PAYMENTS, token, rpc_metadata=metadata)
    # ... and a connected client whose key is swapped for it is refused on its next call
    client = await connect(auth_engine, PAYMENTS, good.token)
    assert (await describe(client)).namespace_info.name == PAYMENTS
    if metadata:
        client.rpc_metadata = metadata  # overrides the API key's header
    else:
        client.api_key = token
    assert await rpc_status(describe(client)) == RPCStatusCode.UNAUTHENTICATED


async def test_a_key_disabled_by_a_sync_fails_on_the_running_clients_next_call(
    auth_engine: EngineServer, admin: Admin, account: Account
) -> None:
    await provision(admin)
    key = account.key_for(account.principal("deployer", grants={"payments": "write"}))
    await admin.sync(account)
    client = await connect(auth_engine, PAYMENTS, key.token)
    await describe(client)

    key.disabled = True
    await admin.sync(account)

    async def refused() -> bool:
        try:
            await describe(client)
        except RPCError as error:
            return error.status == RPCStatusCode.UNAUTHENTICATED
        return False

    await eventually(refused, within=5.0)


async def test_a_second_engine_on_the_same_store_converges_within_5_seconds(
    auth_engine: EngineServer, admin: Admin, account: Account, engine_db_url: str
) -> None:
    """The sync reaches the engine that served it; the other reloads from the shared store."""
    second = EngineServer(auth_config(engine_db_url, admin_secret=""))
    await second.start()
    try:
        await provision(admin)
        key = account.key_for(account.principal("deployer", grants={"payments": "write"}))
        await admin.sync(account)

        async def second_accepts() -> bool:
            try:
                await connect(second, PAYMENTS, key.token)
            except RuntimeError:
                return False
            return True

        await eventually(second_accepts, within=5.0)
        client = await connect(second, PAYMENTS, key.token)

        key.disabled = True
        await admin.sync(account)

        async def second_refuses() -> bool:
            try:
                await describe(client)
            except RPCError as error:
                return error.status == RPCStatusCode.UNAUTHENTICATED
            return False

        await eventually(second_refuses, within=5.0)
    finally:
        await second.stop()


async def test_a_namespace_with_api_key_auth_off_refuses_keys(
    auth_engine: EngineServer, admin: Admin, account: Account
) -> None:
    await provision(admin)
    key = account.key_for(account.principal("owner", account_admin=True))
    await admin.sync(account)
    client = await connect(auth_engine, PAYMENTS, key.token)
    await describe(client)

    await provision(admin, api_key_auth=False)
    with pytest.raises(RPCError) as caught:
        await describe(client)
    assert caught.value.status == RPCStatusCode.PERMISSION_DENIED
    assert "does not accept API keys" in caught.value.message


async def test_a_tenant_sees_only_its_namespaces_and_cannot_create_or_delete_any(
    auth_engine: EngineServer, admin: Admin, account: Account
) -> None:
    for name, account_id in (("payments", "ab12c"), ("orders", "ab12c"), ("ledger", "ab12c"), ("payments", "zz999")):
        await provision(admin, name, account_id)
    key = account.key_for(account.principal("deployer", grants={"payments": "write", "ledger": "read"}))
    nobody = account.key_for(account.principal("newcomer"))
    await admin.sync(account)
    client = await connect(auth_engine, PAYMENTS, key.token)

    listed = await client.workflow_service.list_namespaces(ListNamespacesRequest())
    assert [ns.namespace_info.name for ns in listed.namespaces] == ["ledger.ab12c", "payments.ab12c"]
    first = await client.workflow_service.list_namespaces(ListNamespacesRequest(page_size=1))
    assert [ns.namespace_info.name for ns in first.namespaces] == ["ledger.ab12c"]
    rest = await client.workflow_service.list_namespaces(
        ListNamespacesRequest(page_size=1, next_page_token=first.next_page_token)
    )
    assert [ns.namespace_info.name for ns in rest.namespaces] == ["payments.ab12c"]

    register = client.workflow_service.register_namespace(RegisterNamespaceRequest(namespace="mine.ab12c"))
    assert await rpc_status(register) == RPCStatusCode.PERMISSION_DENIED
    delete = client.operator_service.delete_namespace(DeleteNamespaceRequest(namespace=PAYMENTS))
    assert await rpc_status(delete) == RPCStatusCode.PERMISSION_DENIED

    # a key with no grant at all still proves who it is (GetSystemInfo), and sees nothing
    bare = await connect(auth_engine, PAYMENTS, nobody.token)
    assert (await bare.workflow_service.get_system_info(GetSystemInfoRequest())).server_version
    assert not (await bare.workflow_service.list_namespaces(ListNamespacesRequest())).namespaces
    assert await rpc_status(describe(bare)) == RPCStatusCode.PERMISSION_DENIED


async def test_a_deleted_namespace_is_not_found_and_its_runs_are_removed(
    auth_engine: EngineServer, admin: Admin, account: Account
) -> None:
    first = await provision(admin)
    key = account.key_for(account.principal("owner", account_admin=True))
    await admin.sync(account)
    client = await connect(auth_engine, PAYMENTS, key.token)
    async with worker(client) as task_queue:
        done = await client.execute_workflow(HelloWorkflow.run, "A", id=new_id(), task_queue=task_queue)
        assert done == "Hello, A!"
        running = await client.start_workflow(SignalWorkflow.run, id=new_id(), task_queue=task_queue)
        await running.signal(SignalWorkflow.greet, "B")

    assert await admin.delete_namespace(PAYMENTS) == {"deleted": True}
    assert await rpc_status(describe(client)) == RPCStatusCode.NOT_FOUND
    assert await rpc_status(running.signal(SignalWorkflow.finish)) == RPCStatusCode.NOT_FOUND
    start = client.start_workflow(HelloWorkflow.run, "C", id=new_id(), task_queue="tq")
    assert await rpc_status(start) == RPCStatusCode.NOT_FOUND
    listed = await client.workflow_service.list_namespaces(ListNamespacesRequest())
    assert PAYMENTS not in [ns.namespace_info.name for ns in listed.namespaces]

    store = auth_engine.store
    namespace_id = first["namespace_uuid"]

    async def gone() -> bool:
        runs = await store.query_visibility(
            "SELECT run_id FROM executions_visibility WHERE namespace_id = ?", (namespace_id,)
        )
        return not runs and await store.get_namespace(id=namespace_id) is None

    await eventually(gone, within=5.0)
    assert await admin.delete_namespace(PAYMENTS) == {"deleted": False}

    # the name is free again: a new namespace, empty, that the same key reaches
    again = await provision(admin)
    assert again["created"] is True
    assert again["namespace_uuid"] != namespace_id
    assert (await describe(client)).namespace_info.id == again["namespace_uuid"]
    assert [w async for w in client.list_workflows()] == []


async def test_an_rpc_the_engine_does_not_serve_is_unimplemented_only_for_a_valid_key(
    auth_engine: EngineServer, admin: Admin, account: Account
) -> None:
    await provision(admin)
    key = account.key_for(account.principal("owner", account_admin=True))
    await admin.sync(account)
    client = await connect(auth_engine, PAYMENTS, key.token)
    request = ListArchivedWorkflowExecutionsRequest(namespace=PAYMENTS)
    assert (
        await rpc_status(client.workflow_service.list_archived_workflow_executions(request))
        == RPCStatusCode.UNIMPLEMENTED
    )
    client.api_key = None
    assert (
        await rpc_status(client.workflow_service.list_archived_workflow_executions(request))
        == RPCStatusCode.UNAUTHENTICATED
    )
