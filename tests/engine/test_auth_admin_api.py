"""The engine admin API (docs/engine-admin-api.md) through the control plane's own client:
secrets, validation that stores nothing, idempotency."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceResponse

from engine.admin_client import EngineAdminClient, EngineAdminError
from engine.server import EngineServer
from engine.visibility.attributes import SaType
from tests.engine.auth_support import ADMIN_SECRET, Account, Admin, namespace_spec

PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUQ2Fub3QgYmUgYSByZWFsIGNlcnQwCgYIKoZIzj0EAwIw\n"
    "-----END CERTIFICATE-----\n"
)


async def refused(admin: Admin, method: str, document: dict[str, Any]) -> EngineAdminError:
    with pytest.raises(EngineAdminError) as caught:
        await admin.call(method, document)
    return caught.value


async def nothing_stored(engine: EngineServer) -> None:
    store = engine.store
    assert await store.list_namespaces(after_name="", limit=10) == []
    state = await store.load_access()
    assert (state.version, state.namespaces, state.principals, state.api_keys) == (0, (), (), ())


def access_document(**overrides: Any) -> dict[str, Any]:
    account = Account("ab12c")
    principal = account.principal("alice@example.com", kind="user", grants={"payments": "write"})
    account.key_for(principal)
    document = account.document()
    document.update(overrides)
    return document


@pytest.mark.parametrize("secret", [None, "wrong", ADMIN_SECRET + "x", ""])
async def test_a_missing_or_wrong_secret_is_unauthenticated(auth_engine: EngineServer, secret: str | None) -> None:
    client = EngineAdminClient(auth_engine.admin_address, secret or "")
    if secret is None:
        client._metadata = ()  # type: ignore[assignment]  # no authorization header at all
    try:
        for method, document in (
            ("PutNamespace", namespace_spec("payments", "ab12c")),
            ("SyncAccountAccess", access_document()),
            ("DeleteNamespace", {"namespace": "payments.ab12c"}),
        ):
            with pytest.raises(EngineAdminError) as caught:
                await asyncio.to_thread(client.call, method, document)
            assert caught.value.code == grpc.StatusCode.UNAUTHENTICATED
    finally:
        client.close()
    await nothing_stored(auth_engine)


async def test_the_tenant_port_does_not_serve_the_admin_api(auth_engine: EngineServer) -> None:
    client = EngineAdminClient(auth_engine.address, ADMIN_SECRET)
    try:
        with pytest.raises(EngineAdminError) as caught:
            await asyncio.to_thread(client.put_namespace, namespace_spec("payments", "ab12c"))
        assert caught.value.code == grpc.StatusCode.UNIMPLEMENTED
    finally:
        client.close()


async def test_an_unknown_method_is_unimplemented(admin: Admin) -> None:
    error = await refused(admin, "RenameNamespace", {"namespace": "payments.ab12c"})
    assert error.code == grpc.StatusCode.UNIMPLEMENTED


BAD_NAMESPACES: list[tuple[dict[str, Any], str]] = [
    ({"namespace": None}, "namespace: must be a string"),
    ({"namespace": "Payments.ab12c"}, "namespace: 'Payments.ab12c' is not a namespace id"),
    ({"namespace": "p.ab12c"}, "namespace: 'p.ab12c' is not a namespace id"),
    ({"namespace": "payments"}, "namespace: 'payments' is not a namespace id"),
    ({"namespace": "payments.zz999"}, "namespace: 'payments.zz999' does not end with the account id '.ab12c'"),
    ({"account_id": "AB-12"}, "account_id: 'AB-12' is not valid"),
    ({"retention_days": 0}, "retention_days: must be between 1 and 90 (got 0)"),
    ({"retention_days": 91}, "retention_days: must be between 1 and 90 (got 91)"),
    ({"retention_days": "30"}, "retention_days: must be a whole number"),
    ({"retention_days": 30.5}, "retention_days: must be a whole number"),
    ({"retention_days": True}, "retention_days: must be a whole number"),
    ({"api_key_auth": "yes"}, "api_key_auth: must be true or false"),
    ({"description": 7}, "description: must be a string"),
    ({"description": "x" * 1025}, "description: must be at most 1024 characters"),
    ({"search_attributes": ["CustomerId"]}, "search_attributes: must be a JSON object"),
    ({"search_attributes": {"CustomerId": "String"}}, "search_attributes.CustomerId: unknown type 'String'"),
    ({"search_attributes": {"WorkflowId": "Keyword"}}, "search_attributes: Search attribute WorkflowId is reserved"),
    ({"search_attributes": {"bad$name": "Keyword"}}, "search_attributes: search attribute name 'bad$name' is invalid"),
    (
        {"search_attributes": {f"Flag{i}": "Bool" for i in range(21)}},
        "search_attributes: Unable to create search attributes: namespace payments.ab12c may have at most 20 Bool",
    ),
    ({"retention": 30}, "retention: unknown field"),
    ({"mtls": "on"}, "mtls: must be a JSON object"),
    ({"mtls": {}}, "mtls.ca_bundle_pem: is required"),
    ({"mtls": {"ca_bundle_pem": "hello"}}, "mtls.ca_bundle_pem: must hold one or more complete PEM certificate"),
    (
        {"mtls": {"ca_bundle_pem": PEM.replace("CERTIFICATE", "PRIVATE KEY")}},
        "mtls.ca_bundle_pem: block 1 is 'PRIVATE KEY': only CERTIFICATE blocks are accepted",
    ),
    ({"mtls": {"ca_bundle_pem": PEM * 17}}, "mtls.ca_bundle_pem: must hold at most 16 certificates"),
    (
        {"mtls": {"ca_bundle_pem": PEM.replace("MIIB", "!!!!")}},
        "mtls.ca_bundle_pem: certificate 1 is not base64 DER",
    ),
    ({"mtls": {"ca_bundle_pem": PEM, "filters": [{}]}}, "mtls.filters[0]: needs at least one non-empty field"),
    (
        {"mtls": {"ca_bundle_pem": PEM, "filters": [{"common_name": "a*b"}]}},
        "mtls.filters[0].common_name: may hold one '*', only at its start or end",
    ),
    (
        {"mtls": {"ca_bundle_pem": PEM, "filters": [{"cn": "x"}]}},
        "mtls.filters[0].cn: unknown field",
    ),
]


@pytest.mark.parametrize(("change", "message"), BAD_NAMESPACES)
async def test_put_namespace_refuses_bad_input_and_stores_nothing(
    auth_engine: EngineServer, admin: Admin, change: dict[str, Any], message: str
) -> None:
    error = await refused(admin, "PutNamespace", namespace_spec("payments", "ab12c", **change))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.message.startswith(message), error.message
    await nothing_stored(auth_engine)


@pytest.mark.parametrize("field", ["namespace", "account_id", "retention_days", "api_key_auth"])
async def test_put_namespace_requires_its_fields(auth_engine: EngineServer, admin: Admin, field: str) -> None:
    spec = namespace_spec("payments", "ab12c")
    del spec[field]
    error = await refused(admin, "PutNamespace", spec)
    assert (error.code, error.message) == (grpc.StatusCode.INVALID_ARGUMENT, f"{field}: is required")
    await nothing_stored(auth_engine)


async def test_a_request_that_is_not_a_json_object_is_invalid(auth_engine: EngineServer) -> None:
    channel = grpc.insecure_channel(auth_engine.admin_address)
    try:
        for body in (b"not json", b"[1, 2]", b"\xff\xfe"):
            stub = channel.unary_unary(  # bytes in, bytes out
                "/sundial.engine.admin.v1.EngineAdmin/PutNamespace", request_serializer=None, response_deserializer=None
            )
            with pytest.raises(grpc.RpcError) as caught:
                await asyncio.to_thread(stub, body, metadata=(("authorization", f"Bearer {ADMIN_SECRET}"),))
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        channel.close()
    await nothing_stored(auth_engine)


BAD_ACCESS: list[tuple[dict[str, Any], str]] = [
    ({"account_id": 5}, "account_id: must be a string"),
    ({"principals": {}}, "principals: must be a JSON array"),
    ({"principals": [{"principal_id": "p1"}]}, "principals[0].kind: is required"),
    (
        {"principals": [{"principal_id": "p1", "kind": "robot", "name": "r", "account_admin": False}]},
        "principals[0].kind: 'robot' is not one of user, service_account",
    ),
    (
        {"principals": [{"principal_id": "p1", "kind": "user", "name": "a", "account_admin": 1}]},
        "principals[0].account_admin: must be true or false",
    ),
    (
        {"principals": [{"principal_id": "p1", "kind": "user", "name": "a", "account_admin": False, "role": "x"}]},
        "principals[0].role: unknown field",
    ),
    (
        {
            "principals": [
                {"principal_id": "p1", "kind": "user", "name": "a", "account_admin": False, "grants": {"pay": "owner"}}
            ]
        },
        "principals[0].grants.pay: unknown permission 'owner'",
    ),
    (
        {
            "principals": [
                {"principal_id": "p1", "kind": "user", "name": "a", "account_admin": False, "grants": {"P!": "read"}}
            ]
        },
        "principals[0].grants.P!: is not a namespace name",
    ),
]


@pytest.mark.parametrize(("change", "message"), BAD_ACCESS)
async def test_sync_account_access_refuses_bad_principals_and_stores_nothing(
    auth_engine: EngineServer, admin: Admin, change: dict[str, Any], message: str
) -> None:
    document = access_document(**change)
    if "principals" in change:
        document["api_keys"] = []
    error = await refused(admin, "SyncAccountAccess", document)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.message.startswith(message), error.message
    await nothing_stored(auth_engine)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("key_id", "has_underscore", "api_keys[0].key_id: 'has_underscore' is not valid"),
        ("principal_id", "someone-else", "api_keys[0].principal_id: 'someone-else' is not one of the principals"),
        ("digest", "ABCDEF", "api_keys[0].digest: 'ABCDEF' is not valid"),
        ("expires_at", "tomorrow", "api_keys[0].expires_at: 'tomorrow' is not an RFC 3339 time"),
        ("expires_at", "2030-01-01T00:00:00", "api_keys[0].expires_at: '2030-01-01T00:00:00' has no time zone"),
        ("expires_at", 1893456000, "api_keys[0].expires_at: must be a string"),
        ("disabled", None, "api_keys[0].disabled: must be true or false"),
        ("scopes", [], "api_keys[0].scopes: unknown field"),
    ],
)
async def test_sync_account_access_refuses_bad_keys_and_stores_nothing(
    auth_engine: EngineServer, admin: Admin, field: str, value: Any, message: str
) -> None:
    document = access_document()
    document["api_keys"][0][field] = value
    error = await refused(admin, "SyncAccountAccess", document)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.message.startswith(message), error.message
    await nothing_stored(auth_engine)


async def test_sync_account_access_refuses_an_id_listed_twice(auth_engine: EngineServer, admin: Admin) -> None:
    document = access_document()
    document["api_keys"].append(dict(document["api_keys"][0]))
    error = await refused(admin, "SyncAccountAccess", document)
    assert error.message.startswith("api_keys[1].key_id: ")
    assert error.message.endswith("is listed twice")
    document = access_document()
    document["principals"].append(dict(document["principals"][0]))
    error = await refused(admin, "SyncAccountAccess", document)
    assert error.message.startswith("principals[1].principal_id: ")
    assert error.message.endswith("is listed twice")
    await nothing_stored(auth_engine)


async def test_put_namespace_creates_then_brings_the_namespace_to_the_spec(
    auth_engine: EngineServer, admin: Admin
) -> None:
    spec = namespace_spec(
        "payments",
        "ab12c",
        description="card payments",
        search_attributes={"CustomerId": "Keyword"},
        mtls={"ca_bundle_pem": PEM, "filters": [{"common_name": "*.workers.example.com"}]},
    )
    created = await admin.put_namespace(spec)
    assert (created["namespace"], created["created"]) == ("payments.ab12c", True)
    again = await admin.put_namespace(spec)
    assert again == {**created, "created": False}

    spec.update(retention_days=7, description="", search_attributes={"CustomerId": "Keyword", "Amount": "Double"})
    spec.update(mtls=None, api_key_auth=False)
    assert (await admin.put_namespace(spec))["namespace_uuid"] == created["namespace_uuid"]

    store = auth_engine.store
    record = await store.get_namespace(name="payments.ab12c")
    assert record is not None
    described = DescribeNamespaceResponse.FromString(record.data)
    assert described.config.workflow_execution_retention_ttl.seconds == 7 * 24 * 3600
    assert described.namespace_info.description == ""
    attributes = {name: SaType(t) for nid, name, _, t in await store.search_attributes() if nid == record.id}
    assert attributes == {"CustomerId": SaType.KEYWORD, "Amount": SaType.DOUBLE}
    auth = await store.get_namespace_auth(record.id)
    assert auth is not None
    assert (auth.account_id, auth.api_key_auth, auth.mtls_ca_bundle_pem, auth.mtls_filters) == (
        "ab12c",
        False,
        None,
        "[]",
    )


async def test_put_namespace_never_retypes_a_search_attribute(auth_engine: EngineServer, admin: Admin) -> None:
    await admin.put_namespace(namespace_spec("payments", "ab12c", search_attributes={"CustomerId": "Keyword"}))
    retype = namespace_spec("payments", "ab12c", retention_days=9, search_attributes={"CustomerId": "Int"})
    error = await refused(admin, "PutNamespace", retype)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.message.startswith("search_attributes: Search attribute CustomerId already exists")
    record = await auth_engine.store.get_namespace(name="payments.ab12c")
    assert record is not None  # and the refused request changed nothing else
    described = DescribeNamespaceResponse.FromString(record.data)
    assert described.config.workflow_execution_retention_ttl.seconds == 30 * 24 * 3600


async def test_delete_namespace_is_idempotent(auth_engine: EngineServer, admin: Admin) -> None:
    assert await admin.delete_namespace("payments.ab12c") == {"deleted": False}
    await admin.put_namespace(namespace_spec("payments", "ab12c"))
    assert await admin.delete_namespace("payments.ab12c") == {"deleted": True}
    assert await admin.delete_namespace("payments.ab12c") == {"deleted": False}
    error = await refused(admin, "DeleteNamespace", {"namespace": "payments.ab12c", "force": True})
    assert (error.code, error.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "force: unknown field (expected namespace)",
    )


async def test_sync_account_access_replaces_the_accounts_access(auth_engine: EngineServer, admin: Admin) -> None:
    store = auth_engine.store
    account = Account("ab12c")
    alice = account.principal("alice@example.com", kind="user", account_admin=True)
    deployer = account.principal("deployer", grants={"payments": "write", "orders": "read"})
    account.key_for(alice)
    account.key_for(deployer)
    other = Account("zz999")
    other.key_for(other.principal("bob@example.com", kind="user", account_admin=True))
    assert await admin.sync(account) == {"principals": 2, "api_keys": 2}
    assert await admin.sync(account) == {"principals": 2, "api_keys": 2}  # idempotent
    await admin.sync(other)

    account.principals.remove(alice)
    account.keys = account.keys[1:]
    assert await admin.sync(account) == {"principals": 1, "api_keys": 1}
    state = await store.load_access()
    assert sorted(p.name for p in state.principals) == ["bob@example.com", "deployer"]
    assert sorted(k.key_id for k in state.api_keys) == sorted([account.keys[0].key_id, other.keys[0].key_id])
    (kept,) = [p for p in state.principals if p.account_id == "ab12c"]
    assert kept.grants == (("orders", "read"), ("payments", "write"))


async def test_an_id_of_another_account_is_refused_and_nothing_changes(auth_engine: EngineServer, admin: Admin) -> None:
    store = auth_engine.store
    first = Account("ab12c")
    first.key_for(first.principal("alice@example.com", kind="user", account_admin=True))
    await admin.sync(first)
    before = await store.load_access()

    thief = Account("zz999")
    mallory = thief.principal("mallory@example.com", kind="user", account_admin=True)
    stolen = mallory.new_key()
    stolen.key_id = first.keys[0].key_id
    thief.keys.append(stolen)
    error = await refused(admin, "SyncAccountAccess", thief.document())
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.message == f"API key {stolen.key_id} belongs to another account"

    thief.keys = []
    thief.principals[0].principal_id = first.principals[0].principal_id
    error = await refused(admin, "SyncAccountAccess", thief.document())
    assert error.message == f"principal {first.principals[0].principal_id} belongs to another account"
    assert await store.load_access() == before
