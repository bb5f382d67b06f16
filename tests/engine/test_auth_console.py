"""The web console's credential: the admin secret as bearer on the tenant API acts on every
provisioned namespace (the control plane checked the user's permission first), but creates and
deletes none, and is refused when the engine has no admin secret or the secret is wrong."""

from __future__ import annotations

import pytest
from temporalio.api.operatorservice.v1 import DeleteNamespaceRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, ListNamespacesRequest, RegisterNamespaceRequest
from temporalio.service import RPCError, RPCStatusCode

from engine.server import EngineServer
from tests.engine.auth_support import ADMIN_SECRET, Admin, auth_config, connect, namespace_spec
from tests.engine.sdk_support import new_id


async def test_the_console_credential_reads_and_writes_every_namespace_but_creates_none(
    auth_engine: EngineServer, admin: Admin
) -> None:
    await admin.put_namespace(namespace_spec("payments", "ab12c"))
    await admin.put_namespace(namespace_spec("ledger", "zz999", api_key_auth=False))  # mTLS-only for tenants
    console = await connect(auth_engine, "payments.ab12c", ADMIN_SECRET)

    listed = await console.workflow_service.list_namespaces(ListNamespacesRequest())
    assert sorted(ns.namespace_info.name for ns in listed.namespaces) == ["ledger.zz999", "payments.ab12c"]
    for namespace in ("payments.ab12c", "ledger.zz999"):
        client = await connect(auth_engine, namespace, ADMIN_SECRET)
        handle = await client.start_workflow("Anything", id=new_id(), task_queue="nobody")
        await handle.terminate("from the console")
        assert (await handle.describe()).status is not None
    with pytest.raises(RPCError) as caught:
        await console.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="nowhere.ab12c"))
    assert caught.value.status == RPCStatusCode.NOT_FOUND
    for call in (
        console.workflow_service.register_namespace(RegisterNamespaceRequest(namespace="mine.ab12c")),
        console.operator_service.delete_namespace(DeleteNamespaceRequest(namespace="payments.ab12c")),
    ):
        with pytest.raises(RPCError) as refused:
            await call
        assert refused.value.status == RPCStatusCode.PERMISSION_DENIED


async def test_a_wrong_console_secret_is_unauthenticated(auth_engine: EngineServer, admin: Admin) -> None:
    await admin.put_namespace(namespace_spec("payments", "ab12c"))
    with pytest.raises(RuntimeError, match=r"Unauthenticated.*malformed API key"):
        await connect(auth_engine, "payments.ab12c", ADMIN_SECRET + "x")


async def test_without_an_admin_secret_there_is_no_console_credential(engine_db_url: str) -> None:
    server = EngineServer(auth_config(engine_db_url, admin_secret="", admin_port=None))
    await server.start()
    try:
        with pytest.raises(RuntimeError, match=r"Unauthenticated.*malformed API key"):
            await connect(server, "payments.ab12c", ADMIN_SECRET)
    finally:
        await server.stop()
