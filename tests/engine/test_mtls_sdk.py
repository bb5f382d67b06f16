"""TLS on the tenant port and mTLS client certificates, as an SDK user sees them: the admin API
uploads a namespace's CA bundle and filters; the official SDK connects to the namespace's
endpoint (`<namespace id>.sundial.localhost`, the TLS server name) with an API key or a client
certificate."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, ListNamespacesRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from engine.config import EngineConfig
from engine.server import EngineServer
from tests.engine.auth_support import Account, Admin, auth_config, namespace_spec, worker
from tests.engine.mtls_support import ServerTls, connect_tls, endpoint, server_tls, tls_config
from tests.engine.sdk_app import HelloWorkflow
from tests.engine.sdk_support import new_id
from tests.support.certs import Issued, bundle, make_ca, make_leaf

PAYMENTS = "payments.ab12c"
ORDERS = "orders.ab12c"


@pytest.fixture(scope="module")
def payments_ca() -> Issued:
    return make_ca("Payments Root CA")


@pytest.fixture
def tls_files(tmp_path: Path) -> ServerTls:
    return server_tls(tmp_path)


@pytest_asyncio.fixture
async def tls_engine(engine_db_url: str, tls_files: ServerTls) -> AsyncIterator[EngineServer]:
    server = EngineServer(
        auth_config(engine_db_url, tls_cert=str(tls_files.cert_file), tls_key=str(tls_files.key_file))
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def admin(tls_engine: EngineServer) -> Iterator[Admin]:
    client = Admin(tls_engine.admin_address)
    try:
        yield client
    finally:
        client.close()


def mtls(*cas: Issued, filters: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"ca_bundle_pem": bundle(*cas), "filters": filters or []}


async def provision(admin: Admin, name: str, account_id: str = "ab12c", **spec: Any) -> None:
    await admin.put_namespace(namespace_spec(name, account_id, **spec))


async def describe(client: Client, namespace: str) -> Any:
    return await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))


async def rpc_status(call: Any) -> RPCStatusCode:
    with pytest.raises(RPCError) as caught:
        await call
    return caught.value.status


async def refused_at_connect(engine: EngineServer, namespace: str, tls: Any, api_key: str | None = None) -> str:
    """Connecting fails (the SDK's connect calls GetSystemInfo, which any valid credential may
    call); the SDK's message, which carries the status."""
    with pytest.raises(RuntimeError) as caught:  # the SDK's "Failed client connect: …"
        await connect_tls(engine, namespace, tls, api_key)
    return str(caught.value)


def assert_handshake_refused(message: str) -> None:
    """A refused certificate fails the TLS handshake. Under TLS 1.3 the client has finished its
    half before the server checks the certificate, and asyncio drops the connection without
    flushing the alert, so the SDK sees its first call (connect's GetSystemInfo) fail on a closed
    connection: Unknown "transport error" (peer closed / broken pipe) or Cancelled "connection
    closed", depending on timing — never a status the engine answered."""
    assert "call error after connection" in message, message
    assert "tonic::transport::Error(Transport" in message, message
    assert 'code: Unknown, message: "transport error"' in message or "code: Cancelled" in message, message


async def test_tls_with_an_api_key_works(tls_engine: EngineServer, admin: Admin, tls_files: ServerTls) -> None:
    await provision(admin, "payments")
    account = Account("ab12c")
    key = account.key_for(account.principal("deployer", grants={"payments": "write"}))
    await admin.sync(account)

    client = await connect_tls(tls_engine, PAYMENTS, tls_config(tls_files, endpoint(PAYMENTS)), key.token)
    assert (await describe(client, PAYMENTS)).namespace_info.name == PAYMENTS
    # the server name need not be a namespace endpoint for an API key: the bare address (no SNI)
    plain = await connect_tls(tls_engine, PAYMENTS, tls_config(tls_files, "127.0.0.1"), key.token)
    assert (await describe(plain, PAYMENTS)).namespace_info.name == PAYMENTS
    # TLS without any credential is still UNAUTHENTICATED
    message = await refused_at_connect(tls_engine, PAYMENTS, tls_config(tls_files, endpoint(PAYMENTS)))
    assert "code: Unauthenticated" in message
    assert "missing credentials" in message


async def test_a_certificate_from_the_uploaded_ca_runs_a_workflow(
    tls_engine: EngineServer, admin: Admin, tls_files: ServerTls, payments_ca: Issued
) -> None:
    await provision(admin, "payments", mtls=mtls(payments_ca), api_key_auth=False)
    leaf = make_leaf(payments_ca, "worker.payments.example")

    client = await connect_tls(tls_engine, PAYMENTS, tls_config(tls_files, endpoint(PAYMENTS), leaf))
    async with worker(client) as task_queue:
        result = await client.execute_workflow(HelloWorkflow.run, "mTLS", id=new_id(), task_queue=task_queue)
    assert result == "Hello, mTLS!"
    # full access to its namespace (Admin: search attributes too), and only to it
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=PAYMENTS, search_attributes={"CustomerId": keyword})
    )
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=PAYMENTS))
    assert listed.custom_attributes["CustomerId"] == keyword
    register = client.workflow_service.register_namespace(RegisterNamespaceRequest(namespace="mine.ab12c"))
    assert await rpc_status(register) == RPCStatusCode.PERMISSION_DENIED  # the control plane's
    names = [
        ns.namespace_info.name
        for ns in (await client.workflow_service.list_namespaces(ListNamespacesRequest())).namespaces
    ]
    assert names == [PAYMENTS]


async def test_a_certificate_from_an_intermediate_under_the_uploaded_ca_connects(
    tls_engine: EngineServer, admin: Admin, tls_files: ServerTls, payments_ca: Issued
) -> None:
    intermediate = make_ca("Payments Issuing CA", issuer=payments_ca)
    await provision(admin, "payments", mtls=mtls(payments_ca))
    leaf = make_leaf(intermediate, "worker.payments.example")

    client = await connect_tls(tls_engine, PAYMENTS, tls_config(tls_files, endpoint(PAYMENTS), leaf, (intermediate,)))
    assert (await describe(client, PAYMENTS)).namespace_info.name == PAYMENTS
    # an uploaded intermediate is a trust anchor of its own: its leaves need not send the chain
    await provision(admin, "orders", mtls=mtls(intermediate))
    direct = await connect_tls(tls_engine, ORDERS, tls_config(tls_files, endpoint(ORDERS), leaf))
    assert (await describe(direct, ORDERS)).namespace_info.name == ORDERS


async def test_a_certificate_from_another_ca_is_refused(
    tls_engine: EngineServer, admin: Admin, tls_files: ServerTls, payments_ca: Issued
) -> None:
    await provision(admin, "payments", mtls=mtls(payments_ca))
    stranger = make_leaf(make_ca("Payments Root CA"), "worker.payments.example")  # same name, other key

    assert_handshake_refused(
        await refused_at_connect(tls_engine, PAYMENTS, tls_config(tls_files, endpoint(PAYMENTS), stranger))
    )


async def test_a_certificate_failing_the_filters_is_permission_denied(
    tls_engine: EngineServer, admin: Admin, tls_files: ServerTls, payments_ca: Issued
) -> None:
    filters = [
        {"common_name": "*.payments.example", "organization": "Acme"},
        {"subject_alternative_name": "ci-*"},
    ]
    await provision(admin, "payments", mtls=mtls(payments_ca, filters=filters))
    passing = [
        make_leaf(payments_ca, "Worker.PAYMENTS.example", organization="ACME"),
        make_leaf(payments_ca, "anything", dns_names=("ci-runner-7",)),
    ]
    failing = [
        make_leaf(payments_ca, "worker.payments.example"),  # no O: the first filter needs both
        make_leaf(payments_ca, "worker.payments.example", organization="Acme Corp"),
        make_leaf(payments_ca, "payments.example.evil", organization="Acme"),
        make_leaf(payments_ca, "ci-runner", dns_names=("runner-ci-1",)),
    ]
    for leaf in passing:
        client = await connect_tls(tls_engine, PAYMENTS, tls_config(tls_files, endpoint(PAYMENTS), leaf))
        assert (await describe(client, PAYMENTS)).namespace_info.name == PAYMENTS
    for leaf in failing:
        message = await refused_at_connect(tls_engine, PAYMENTS, tls_config(tls_files, endpoint(PAYMENTS), leaf))
        assert "code: PermissionDenied" in message
        assert f"the client certificate '{leaf.subject}' does not pass the certificate filters" in message


async def test_a_certificate_for_another_namespaces_endpoint_is_refused(
    tls_engine: EngineServer, admin: Admin, tls_files: ServerTls, payments_ca: Issued
) -> None:
    orders_ca = make_ca("Orders Root CA")
    await provision(admin, "payments", mtls=mtls(payments_ca))
    await provision(admin, "orders", mtls=mtls(orders_ca))
    await provision(admin, "payments", "zz999", mtls=mtls(make_ca("Other Account CA")))
    await provision(admin, "plain")  # API keys only: no CA at all
    leaf = make_leaf(payments_ca, "worker.payments.example")

    # at another namespace's endpoint the certificate must chain to that namespace's CAs
    for other in (ORDERS, "payments.zz999", "plain.ab12c", "missing.ab12c"):
        assert_handshake_refused(
            await refused_at_connect(tls_engine, other, tls_config(tls_files, endpoint(other), leaf))
        )
    # no namespace endpoint as the server name: no CA either
    assert_handshake_refused(await refused_at_connect(tls_engine, PAYMENTS, tls_config(tls_files, "127.0.0.1", leaf)))

    # at its own endpoint, calls naming another namespace (same account or not) are denied
    client = await connect_tls(tls_engine, PAYMENTS, tls_config(tls_files, endpoint(PAYMENTS), leaf))
    for other in (ORDERS, "payments.zz999"):
        assert await rpc_status(describe(client, other)) == RPCStatusCode.PERMISSION_DENIED
        elsewhere = await connect_tls(tls_engine, other, tls_config(tls_files, endpoint(PAYMENTS), leaf))
        start = elsewhere.start_workflow(HelloWorkflow.run, "x", id=new_id(), task_queue="tq")
        assert await rpc_status(start) == RPCStatusCode.PERMISSION_DENIED


async def test_a_plaintext_client_to_a_tls_engine_fails_cleanly(
    tls_engine: EngineServer, admin: Admin, tls_files: ServerTls
) -> None:
    await provision(admin, "payments")
    account = Account("ab12c")
    key = account.key_for(account.principal("deployer", grants={"payments": "write"}))
    await admin.sync(account)

    with pytest.raises(RuntimeError, match="Failed client connect"):
        await Client.connect(f"127.0.0.1:{tls_engine.port}", namespace=PAYMENTS, api_key=key.token, tls=False)
    # the engine goes on serving TLS clients
    client = await connect_tls(tls_engine, PAYMENTS, tls_config(tls_files, endpoint(PAYMENTS)), key.token)
    assert (await describe(client, PAYMENTS)).namespace_info.name == PAYMENTS


async def test_an_api_key_header_decides_over_a_certificate(
    tls_engine: EngineServer, admin: Admin, tls_files: ServerTls, payments_ca: Issued
) -> None:
    await provision(admin, "payments", mtls=mtls(payments_ca))
    leaf = make_leaf(payments_ca, "worker.payments.example")
    tls = tls_config(tls_files, endpoint(PAYMENTS), leaf)
    message = await refused_at_connect(tls_engine, PAYMENTS, tls, api_key="sdl_nope_nope")
    assert "code: Unauthenticated" in message
    assert "invalid API key" in message


async def test_removing_the_ca_refuses_open_connections_and_new_ones(
    tls_engine: EngineServer, admin: Admin, tls_files: ServerTls, payments_ca: Issued
) -> None:
    await provision(admin, "payments", mtls=mtls(payments_ca))
    leaf = make_leaf(payments_ca, "worker.payments.example")
    tls = tls_config(tls_files, endpoint(PAYMENTS), leaf)
    client = await connect_tls(tls_engine, PAYMENTS, tls)
    assert (await describe(client, PAYMENTS)).namespace_info.name == PAYMENTS

    rotated = make_ca("Payments Root CA 2")
    await provision(admin, "payments", mtls=mtls(rotated))  # the old CA dropped
    with pytest.raises(RPCError) as caught:
        await describe(client, PAYMENTS)
    assert caught.value.status == RPCStatusCode.UNAUTHENTICATED
    assert "no longer accepts this connection's client certificate" in caught.value.message
    assert_handshake_refused(await refused_at_connect(tls_engine, PAYMENTS, tls))
    # the new CA's certificates connect at once
    fresh = await connect_tls(tls_engine, PAYMENTS, tls_config(tls_files, endpoint(PAYMENTS), make_leaf(rotated)))
    assert (await describe(fresh, PAYMENTS)).namespace_info.name == PAYMENTS


async def test_a_dev_engine_serves_tls_without_credentials(engine_db_url: str, tls_files: ServerTls) -> None:
    server = EngineServer(
        EngineConfig(
            port=0,
            db_url=engine_db_url,
            dev=True,
            grace_period=1,
            tls_cert=str(tls_files.cert_file),
            tls_key=str(tls_files.key_file),
        )
    )
    await server.start()
    try:
        client = await connect_tls(server, "default", tls_config(tls_files, "127.0.0.1"))
        assert (await describe(client, "default")).namespace_info.name == "default"
        # no namespace has CAs in dev mode: a client certificate is refused at the handshake
        leaf = make_leaf(make_ca("Some CA"))
        assert_handshake_refused(
            await refused_at_connect(server, "default", tls_config(tls_files, endpoint("default"), leaf))
        )
    finally:
        await server.stop()
