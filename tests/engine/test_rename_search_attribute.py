"""The admin API's RenameSearchAttribute (docs/engine-admin-api.md): runs started with the
attribute are found by the new name and the old one is unknown; bad input changes nothing."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from engine.admin_client import EngineAdminError
from engine.server import EngineServer
from tests.engine.auth_support import Account, Admin, connect, namespace_spec
from tests.engine.sdk_support import new_id

PAYMENTS = "payments.ab12c"
OTHER = "other.ab12c"


async def rename(admin: Admin, old: str, new: str, **extra: Any) -> dict[str, Any]:
    return await admin.call("RenameSearchAttribute", {"namespace": PAYMENTS, "old_name": old, "new_name": new, **extra})


async def refused(admin: Admin, document: dict[str, Any]) -> EngineAdminError:
    with pytest.raises(EngineAdminError) as caught:
        await admin.call("RenameSearchAttribute", document)
    return caught.value


async def ids(client: Client, query: str) -> list[str]:
    return sorted([w.id async for w in client.list_workflows(query)])


async def setup(admin: Admin, auth_engine: EngineServer) -> tuple[Client, Client]:
    """Clients of payments and of another namespace of the account that has the same attribute names."""
    attributes = {"CustomerId": "Keyword", "Amount": "Int", "Other": "Keyword"}
    await admin.put_namespace(namespace_spec("payments", "ab12c", search_attributes=attributes))
    await admin.put_namespace(namespace_spec("other", "ab12c", search_attributes={"CustomerId": "Keyword"}))
    account = Account("ab12c")
    owner = account.principal("owner", grants={"payments": "admin", "other": "admin"})
    key = account.key_for(owner)
    await admin.sync(account)
    return await connect(auth_engine, PAYMENTS, key.token), await connect(auth_engine, OTHER, key.token)


async def start(client: Client, key: SearchAttributeKey[Any], value: Any) -> str:
    handle = await client.start_workflow(
        "NeverPolled",
        id=new_id(),
        task_queue="nobody-polls",
        search_attributes=TypedSearchAttributes([SearchAttributePair(key, value)]),
    )
    return handle.id


async def test_a_renamed_attribute_finds_existing_runs_by_the_new_name_only(
    auth_engine: EngineServer, admin: Admin
) -> None:
    client, other_client = await setup(admin, auth_engine)
    first = await start(client, SearchAttributeKey.for_keyword("CustomerId"), "c-1")
    second = await start(client, SearchAttributeKey.for_keyword("CustomerId"), "c-2")
    other_run = await start(other_client, SearchAttributeKey.for_keyword("CustomerId"), "c-1")
    assert await ids(client, "CustomerId = 'c-1'") == [first]

    assert await rename(admin, "CustomerId", "Customer") == {"renamed": True}

    assert await ids(client, "Customer = 'c-1'") == [first]
    assert await ids(client, "Customer IN ('c-1', 'c-2')") == sorted([first, second])
    with pytest.raises(RPCError) as caught:
        await ids(client, "CustomerId = 'c-1'")
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=PAYMENTS))
    assert "Customer" in listed.custom_attributes
    assert "CustomerId" not in listed.custom_attributes
    # a new run uses the new name; the old one is refused at start
    third = await start(client, SearchAttributeKey.for_keyword("Customer"), "c-1")
    assert await ids(client, "Customer = 'c-1'") == sorted([first, third])
    with pytest.raises(RPCError) as refused_start:
        await start(client, SearchAttributeKey.for_keyword("CustomerId"), "c-1")
    assert refused_start.value.status == RPCStatusCode.INVALID_ARGUMENT
    # the stored rows were renamed too: a fresh load from the store agrees
    stored = {(ns, name) for ns, name, _, _ in await auth_engine.store.search_attributes()}
    payments_id = (await auth_engine.store.get_namespace(name=PAYMENTS)).id  # type: ignore[union-attr]
    assert (payments_id, "Customer") in stored
    assert (payments_id, "CustomerId") not in stored
    # the other namespace's attribute of the old name is untouched
    assert await ids(other_client, "CustomerId = 'c-1'") == [other_run]

    # idempotent: asked again (a retried task), nothing to do and no error
    assert await rename(admin, "CustomerId", "Customer") == {"renamed": False}
    assert await rename(admin, "CustomerId", "Customer", type="Keyword") == {"renamed": False}


@pytest.mark.parametrize(
    ("document", "code", "message"),
    [
        ({"namespace": PAYMENTS, "old_name": "CustomerId"}, "INVALID_ARGUMENT", "new_name: is required"),
        ({"namespace": PAYMENTS, "new_name": "X"}, "INVALID_ARGUMENT", "old_name: is required"),
        ({"old_name": "CustomerId", "new_name": "X"}, "INVALID_ARGUMENT", "namespace: is required"),
        (
            {"namespace": PAYMENTS, "old_name": "CustomerId", "new_name": "X", "kind": "Keyword"},
            "INVALID_ARGUMENT",
            "kind: unknown field",
        ),
        ({"namespace": "payments", "old_name": "CustomerId", "new_name": "X"}, "INVALID_ARGUMENT", "namespace: "),
        ({"namespace": PAYMENTS, "old_name": 7, "new_name": "X"}, "INVALID_ARGUMENT", "old_name: must be a string"),
        (
            {"namespace": PAYMENTS, "old_name": "CustomerId", "new_name": "bad$name"},
            "INVALID_ARGUMENT",
            "new_name: 'bad$name' is not valid",
        ),
        ({"namespace": PAYMENTS, "old_name": "CustomerId", "new_name": ""}, "INVALID_ARGUMENT", "new_name: '' is not"),
        (
            {"namespace": PAYMENTS, "old_name": "CustomerId", "new_name": "X" * 65},
            "INVALID_ARGUMENT",
            "new_name: ",
        ),
        (
            {"namespace": PAYMENTS, "old_name": "CustomerId", "new_name": "WorkflowType"},
            "INVALID_ARGUMENT",
            "Search attribute WorkflowType is reserved by system.",
        ),
        (
            {"namespace": PAYMENTS, "old_name": "CustomerId", "new_name": "TemporalThing"},
            "INVALID_ARGUMENT",
            "Search attribute TemporalThing is reserved by system.",
        ),
        (
            {"namespace": PAYMENTS, "old_name": "ExecutionStatus", "new_name": "Status"},
            "INVALID_ARGUMENT",
            "Search attribute ExecutionStatus is reserved by system.",
        ),
        (
            {"namespace": PAYMENTS, "old_name": "CustomerId", "new_name": "CustomerId"},
            "INVALID_ARGUMENT",
            "cannot be renamed to itself",
        ),
        (
            {"namespace": PAYMENTS, "old_name": "CustomerId", "new_name": "X", "type": "String"},
            "INVALID_ARGUMENT",
            "type: unknown type 'String'",
        ),
        (
            {"namespace": PAYMENTS, "old_name": "CustomerId", "new_name": "X", "type": "Int"},
            "INVALID_ARGUMENT",
            "Search attribute CustomerId in namespace payments.ab12c has type Keyword, not Int.",
        ),
        (
            {"namespace": PAYMENTS, "old_name": "Missing", "new_name": "X"},
            "NOT_FOUND",
            "Search attribute Missing doesn't exist in namespace payments.ab12c.",
        ),
        (
            {"namespace": PAYMENTS, "old_name": "Missing", "new_name": "Amount", "type": "Keyword"},
            "NOT_FOUND",
            "Search attribute Missing doesn't exist in namespace payments.ab12c.",
        ),
        (
            {"namespace": "nowhere.ab12c", "old_name": "CustomerId", "new_name": "X"},
            "NOT_FOUND",
            "nowhere.ab12c",
        ),
        (
            {"namespace": PAYMENTS, "old_name": "CustomerId", "new_name": "Amount"},
            "ALREADY_EXISTS",
            "Search attribute Amount already exists in namespace payments.ab12c.",
        ),
    ],
)
async def test_bad_renames_are_refused_and_change_nothing(
    auth_engine: EngineServer, admin: Admin, document: dict[str, Any], code: str, message: str
) -> None:
    client, _ = await setup(admin, auth_engine)
    run = await start(client, SearchAttributeKey.for_keyword("CustomerId"), "c-1")
    before = sorted(await auth_engine.store.search_attributes())
    error = await refused(admin, document)
    assert error.code == getattr(grpc.StatusCode, code)
    assert message in error.message
    assert sorted(await auth_engine.store.search_attributes()) == before
    assert await ids(client, "CustomerId = 'c-1'") == [run]
