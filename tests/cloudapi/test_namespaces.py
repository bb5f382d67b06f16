"""Namespaces over the Cloud Ops API with the SDK's client: the RPCs, their walls and bad input.

Provisioning is recorded, not run (the end-to-end test runs it on a real engine): each test
sees which namespaces a change queued for the engine, and that a refused change queued none.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.namespace.v1 import message_pb2 as namespace_pb
from temporalio.api.cloud.operation.v1 import message_pb2 as operation_pb
from temporalio.api.cloud.resource.v1 import message_pb2 as resource_pb
from temporalio.service import RPCStatusCode

from accounts.models import AsyncOperation, NamespaceGrant, NamespacePermission, Role
from accounts.operations import finish_operation
from accounts.principal import Principal
from audit.models import AuditEntry
from namespaces.models import Namespace, NamespaceState
from tests.cloudapi.support import PERMISSION, Cloud
from tests.support.certs import bundle, make_ca, make_leaf

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = namespace_pb.NamespaceSpec
SA_TYPE = namespace_pb.NamespaceSpec.SearchAttributeType
PENDING = operation_pb.AsyncOperation.STATE_PENDING


@dataclass
class Provisioning:
    namespaces: list[int] = field(default_factory=list)


@pytest.fixture
def provisioning(monkeypatch: pytest.MonkeyPatch) -> Provisioning:
    import namespaces.tasks

    record = Provisioning()
    monkeypatch.setattr(namespaces.tasks, "queue_provisioning", record.namespaces.append)
    monkeypatch.setattr(namespaces.tasks, "queue_access_sync", lambda account_id: None)
    return record


def provisioned(namespace_id: str) -> Namespace:
    """What the provisioning task does once the engine confirms (the engine is not run here)."""
    found = Namespace.objects.get(name=namespace_id.partition(".")[0])
    assert found.async_operation is not None
    finish_operation(found.async_operation.pk)
    found.state = NamespaceState.ACTIVE
    found.provisioned_search_attributes = dict(found.search_attributes)
    found.save()
    return found


def spec(name: str = "orders", **fields: Any) -> namespace_pb.NamespaceSpec:
    return SPEC(name=name, **{"retention_days": 7, **fields})


def create(cloud: Cloud, name: str = "orders", **fields: Any) -> rr.CreateNamespaceResponse:
    return cloud("create_namespace", rr.CreateNamespaceRequest(spec=spec(name, **fields)))


def test_create_get_update_delete_round_trip(
    alice: Principal, client_for: Callable[..., Cloud], provisioning: Provisioning
) -> None:
    cloud = client_for(alice)
    ca = make_ca()
    created = cloud(
        "create_namespace",
        rr.CreateNamespaceRequest(
            spec=spec(
                retention_days=14,
                mtls_auth=namespace_pb.MtlsAuthSpec(
                    accepted_client_ca=base64.b64encode(ca.pem.encode()),
                    certificate_filters=[namespace_pb.CertificateFilterSpec(common_name="worker.example.com")],
                ),
                api_key_auth=namespace_pb.ApiKeyAuthSpec(enabled=True),
                search_attributes={"CustomerId": SA_TYPE.SEARCH_ATTRIBUTE_TYPE_KEYWORD},
                custom_search_attributes={"Amount": "Double"},
                codec_server=namespace_pb.CodecServerSpec(endpoint="https://codec.example.com", pass_access_token=True),
                lifecycle=namespace_pb.LifecycleSpec(enable_delete_protection=True),
            ),
            tags={"team": "payments"},
            async_operation_id="create-orders",
        ),
    )
    namespace_id = f"orders.{alice.account.account_id}"
    assert created.namespace == namespace_id
    assert created.async_operation.id == "create-orders"
    assert created.async_operation.state == PENDING
    assert provisioning.namespaces == [Namespace.objects.get(name="orders").pk]
    operation = cloud("get_async_operation", rr.GetAsyncOperationRequest(async_operation_id="create-orders"))
    assert operation.async_operation.state == PENDING

    found = cloud("get_namespace", rr.GetNamespaceRequest(namespace=namespace_id)).namespace
    assert found.state == resource_pb.RESOURCE_STATE_ACTIVATING
    assert found.async_operation_id == "create-orders"
    assert found.endpoints.grpc_address == settings.SUNDIAL_ENGINE_ADDRESS
    assert found.spec.retention_days == 14
    assert base64.b64decode(found.spec.mtls_auth.accepted_client_ca).decode().strip() == ca.pem.strip()
    assert found.spec.mtls_auth.certificate_filters[0].common_name == "worker.example.com"
    assert dict(found.spec.search_attributes) == {
        "CustomerId": SA_TYPE.SEARCH_ATTRIBUTE_TYPE_KEYWORD,
        "Amount": SA_TYPE.SEARCH_ATTRIBUTE_TYPE_DOUBLE,
    }
    assert found.spec.codec_server.endpoint == "https://codec.example.com"
    assert found.spec.lifecycle.enable_delete_protection
    assert dict(found.tags) == {"team": "payments"}

    provisioned(namespace_id)
    done = cloud("get_async_operation", rr.GetAsyncOperationRequest(async_operation_id="create-orders"))
    assert done.async_operation.state == operation_pb.AsyncOperation.STATE_FULFILLED
    active = cloud("get_namespace", rr.GetNamespaceRequest(namespace="orders")).namespace
    assert active.state == resource_pb.RESOURCE_STATE_ACTIVE

    # deletion protection refuses the delete; nothing is queued
    cloud.fails(
        "delete_namespace",
        rr.DeleteNamespaceRequest(namespace=namespace_id, resource_version=active.resource_version),
        RPCStatusCode.FAILED_PRECONDITION,
        "deletion protection",
    )
    cloud.fails(
        "delete_namespace",
        rr.DeleteNamespaceRequest(namespace=namespace_id),
        RPCStatusCode.INVALID_ARGUMENT,
        "resource_version",
    )
    assert len(provisioning.namespaces) == 1

    # an update replaces the spec (tags are kept), and leaves its operation pending
    new_spec = SPEC()
    new_spec.CopyFrom(active.spec)
    new_spec.retention_days = 30
    new_spec.lifecycle.enable_delete_protection = False
    updated = cloud(
        "update_namespace",
        rr.UpdateNamespaceRequest(namespace=namespace_id, spec=new_spec, resource_version=active.resource_version),
    )
    assert updated.async_operation.state == PENDING
    after = cloud("get_namespace", rr.GetNamespaceRequest(namespace=namespace_id)).namespace
    assert (after.state, after.spec.retention_days, dict(after.tags)) == (
        resource_pb.RESOURCE_STATE_UPDATING,
        30,
        {"team": "payments"},
    )
    # a stale resource version and a change while one is pending are refused
    cloud.fails(
        "update_namespace",
        rr.UpdateNamespaceRequest(namespace=namespace_id, spec=new_spec, resource_version=active.resource_version),
        RPCStatusCode.FAILED_PRECONDITION,
    )
    current = cloud("get_namespace", rr.GetNamespaceRequest(namespace=namespace_id)).namespace.resource_version
    cloud.fails(
        "delete_namespace",
        rr.DeleteNamespaceRequest(namespace=namespace_id, resource_version=current),
        RPCStatusCode.FAILED_PRECONDITION,
        "updating",
    )

    provisioned(namespace_id)
    deleted = cloud("delete_namespace", rr.DeleteNamespaceRequest(namespace=namespace_id, resource_version=current))
    assert deleted.async_operation.state == PENDING
    assert cloud("get_namespace", rr.GetNamespaceRequest(namespace=namespace_id)).namespace.state == (
        resource_pb.RESOURCE_STATE_DELETING
    )
    assert len(provisioning.namespaces) == 3
    operations = set(AsyncOperation.objects.values_list("operation_type", flat=True))
    assert {"CreateNamespace", "UpdateNamespace", "DeleteNamespace"} <= operations


def test_list_filters_by_name_and_pages(
    alice: Principal, client_for: Callable[..., Cloud], provisioning: Provisioning
) -> None:
    cloud = client_for(alice)
    for name in ("alpha", "bravo", "charlie"):
        create(cloud, name)
    first = cloud("get_namespaces", rr.GetNamespacesRequest(page_size=2))
    second = cloud("get_namespaces", rr.GetNamespacesRequest(page_size=2, page_token=first.next_page_token))
    names = [ns.spec.name for ns in [*first.namespaces, *second.namespaces]]
    assert names == ["alpha", "bravo", "charlie"]
    assert second.next_page_token == ""
    only = cloud("get_namespaces", rr.GetNamespacesRequest(name="bravo")).namespaces
    assert [ns.namespace for ns in only] == [f"bravo.{alice.account.account_id}"]
    cloud.fails(
        "get_namespaces", rr.GetNamespacesRequest(page_token="forged"), RPCStatusCode.INVALID_ARGUMENT, "page_token"
    )
    cloud.fails("get_namespaces", rr.GetNamespacesRequest(page_size=-1), RPCStatusCode.INVALID_ARGUMENT, "page_size")


def _leaf_as_ca() -> dict[str, Any]:
    leaf = make_leaf(make_ca())
    return {"mtls_auth": namespace_pb.MtlsAuthSpec(accepted_client_ca=base64.b64encode(leaf.pem.encode()))}


def _seventeen_cas() -> dict[str, Any]:
    pem = bundle(*(make_ca(f"CA {n}") for n in range(17)))
    return {"mtls_auth": namespace_pb.MtlsAuthSpec(accepted_client_ca=base64.b64encode(pem.encode()))}


BAD_SPECS: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "bad name": (lambda: {"name": "Bad_Name"}, "not valid"),
    "trailing hyphen": (lambda: {"name": "orders-"}, "not valid"),
    "retention 0": (lambda: {"retention_days": 0}, "retention"),
    "retention 91": (lambda: {"retention_days": 91}, "retention"),
    "leaf certificate as CA": (_leaf_as_ca, "not a CA certificate"),
    "17 certificates": (_seventeen_cas, "at most 16"),
    "CA that is not PEM": (
        lambda: {"mtls_auth": namespace_pb.MtlsAuthSpec(accepted_client_ca=b"\xff\xfe")},
        "accepted_client_ca",
    ),
    "duplicate search attribute": (
        lambda: {
            "search_attributes": {"CustomerId": SA_TYPE.SEARCH_ATTRIBUTE_TYPE_KEYWORD},
            "custom_search_attributes": {"CustomerId": "Keyword"},
        },
        "listed twice",
    ),
    "unknown search attribute type": (lambda: {"custom_search_attributes": {"X": "Money"}}, "unknown type"),
    "reserved search attribute": (
        lambda: {"search_attributes": {"WorkflowId": SA_TYPE.SEARCH_ATTRIBUTE_TYPE_KEYWORD}},
        "reserved",
    ),
    "no way in": (lambda: {"api_key_auth": namespace_pb.ApiKeyAuthSpec(enabled=False)}, "API-key access"),
    "plain http codec": (
        lambda: {"codec_server": namespace_pb.CodecServerSpec(endpoint="http://codec.example.com")},
        "https://",
    ),
    "another region": (lambda: {"regions": ["aws-us-east-1"]}, "sundial-local"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_bad_input_is_refused_and_nothing_is_provisioned(
    case: str, alice: Principal, client_for: Callable[..., Cloud], provisioning: Provisioning
) -> None:
    make, fragment = BAD_SPECS[case]
    fields = {"name": "orders", "retention_days": 7, **make()}
    cloud = client_for(alice)
    cloud.fails(
        "create_namespace", rr.CreateNamespaceRequest(spec=SPEC(**fields)), RPCStatusCode.INVALID_ARGUMENT, fragment
    )
    assert not Namespace.objects.exists()
    assert provisioning.namespaces == []
    assert not AsyncOperation.objects.filter(operation_type="CreateNamespace").exists()


def test_bad_tags_and_a_name_taken_are_refused(
    alice: Principal, client_for: Callable[..., Cloud], provisioning: Provisioning
) -> None:
    cloud = client_for(alice)
    cloud.fails(
        "create_namespace",
        rr.CreateNamespaceRequest(spec=spec(), tags={"Team": "x"}),
        RPCStatusCode.INVALID_ARGUMENT,
        "tag key",
    )
    create(cloud)
    cloud.fails(
        "create_namespace", rr.CreateNamespaceRequest(spec=spec()), RPCStatusCode.ALREADY_EXISTS, "already exists"
    )
    assert len(provisioning.namespaces) == 1
    namespace_id = f"orders.{alice.account.account_id}"
    cloud.fails("get_namespace", rr.GetNamespaceRequest(), RPCStatusCode.INVALID_ARGUMENT, "namespace is required")
    cloud.fails("get_namespace", rr.GetNamespaceRequest(namespace="Not A Name"), RPCStatusCode.INVALID_ARGUMENT)
    provisioned(namespace_id)
    cloud.fails(
        "update_namespace",
        rr.UpdateNamespaceRequest(namespace=namespace_id, spec=spec("renamed"), resource_version="1"),
        RPCStatusCode.INVALID_ARGUMENT,
        "cannot be renamed",
    )
    cloud.fails(
        "update_namespace",
        rr.UpdateNamespaceRequest(namespace=namespace_id, spec=spec(retention_days=91), resource_version="1"),
        RPCStatusCode.INVALID_ARGUMENT,
        "retention",
    )
    assert len(provisioning.namespaces) == 1


def test_another_account_sees_nothing(
    alice: Principal, charlie: Principal, client_for: Callable[..., Cloud], provisioning: Provisioning
) -> None:
    create(client_for(alice))
    namespace_id = f"orders.{alice.account.account_id}"
    theirs = client_for(charlie)
    assert list(theirs("get_namespaces", rr.GetNamespacesRequest()).namespaces) == []
    for rpc, request in (
        ("get_namespace", rr.GetNamespaceRequest(namespace=namespace_id)),
        ("update_namespace", rr.UpdateNamespaceRequest(namespace=namespace_id, spec=spec(), resource_version="1")),
        ("delete_namespace", rr.DeleteNamespaceRequest(namespace=namespace_id, resource_version="1")),
        ("get_user_namespace_assignments", rr.GetUserNamespaceAssignmentsRequest(namespace=namespace_id)),
        (
            "get_service_account_namespace_assignments",
            rr.GetServiceAccountNamespaceAssignmentsRequest(namespace=namespace_id),
        ),
        (
            "rename_custom_search_attribute",
            rr.RenameCustomSearchAttributeRequest(
                namespace=namespace_id, existing_custom_search_attribute_name="a", new_custom_search_attribute_name="b"
            ),
        ),
    ):
        theirs.fails(rpc, request, RPCStatusCode.NOT_FOUND, "not found")
    # Charlie's own namespace of the same name is a different one
    mine = create(theirs).namespace
    assert mine == f"orders.{charlie.account.account_id}"
    assert Namespace.objects.get(account=alice.account).retention_days == 7


def test_role_walls(
    alice: Principal,
    bob: Principal,
    add_member: Callable[..., Principal],
    client_for: Callable[..., Cloud],
    provisioning: Provisioning,
) -> None:
    carol = add_member("carol@example.com", Role.READ_ONLY)
    create(client_for(alice))
    namespace_id = f"orders.{alice.account.account_id}"
    provisioned(namespace_id)
    client_for(carol).fails(
        "create_namespace", rr.CreateNamespaceRequest(spec=spec("mine")), RPCStatusCode.PERMISSION_DENIED
    )
    # Bob (Developer) does not see a namespace he holds no permission on …
    bobs = client_for(bob)
    bobs.fails("get_namespace", rr.GetNamespaceRequest(namespace=namespace_id), RPCStatusCode.NOT_FOUND)
    # … with Read he sees it but cannot change or delete it
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="orders", permission=NamespacePermission.READ
    )
    assert bobs("get_namespace", rr.GetNamespaceRequest(namespace=namespace_id)).namespace.spec.name == "orders"
    bobs.fails(
        "update_namespace",
        rr.UpdateNamespaceRequest(namespace=namespace_id, spec=spec(retention_days=9)),
        RPCStatusCode.PERMISSION_DENIED,
    )
    delete = rr.DeleteNamespaceRequest(namespace=namespace_id, resource_version="1")
    bobs.fails("delete_namespace", delete, RPCStatusCode.PERMISSION_DENIED)
    # a Developer's new namespace is his to administer; tags are for Owners and Global Admins
    bobs.fails(
        "create_namespace",
        rr.CreateNamespaceRequest(spec=spec("bobs"), tags={"team": "x"}),
        RPCStatusCode.PERMISSION_DENIED,
        "tags",
    )
    create(bobs, "bobs")
    assert (
        NamespaceGrant.objects.get(membership=bob.membership, namespace="bobs").permission == NamespacePermission.ADMIN
    )
    assert len(provisioning.namespaces) == 2


def rename_request(namespace_id: str, old: str, new: str, version: str = "2", **fields: Any) -> Any:
    return rr.RenameCustomSearchAttributeRequest(
        namespace=namespace_id,
        existing_custom_search_attribute_name=old,
        new_custom_search_attribute_name=new,
        resource_version=version,
        **fields,
    )


def test_rename_custom_search_attribute_is_an_audited_async_operation(
    alice: Principal, client_for: Callable[..., Cloud], provisioning: Provisioning
) -> None:
    cloud = client_for(alice)
    create(cloud, custom_search_attributes={"CustomerId": "Keyword", "Amount": "Int"})
    namespace_id = f"orders.{alice.account.account_id}"
    provisioned(namespace_id)
    assert cloud("get_namespace", rr.GetNamespaceRequest(namespace=namespace_id)).namespace.resource_version == "1"
    provisioning.namespaces.clear()

    answer = cloud(
        "rename_custom_search_attribute",
        rename_request(namespace_id, "CustomerId", "Customer", version="1", async_operation_id="rename-1"),
    )

    assert answer.async_operation.id == "rename-1"
    assert answer.async_operation.state == PENDING
    found = Namespace.objects.get()
    assert found.search_attributes == {"Customer": "Keyword", "Amount": "Int"}
    assert found.provisioned_search_attributes == {"CustomerId": "Keyword", "Amount": "Int"}  # until the engine says so
    assert (found.state, found.resource_version) == (NamespaceState.UPDATING, 2)
    assert provisioning.namespaces == [found.pk]
    assert found.async_operation is not None
    assert found.async_operation.operation_type == "RenameCustomSearchAttribute"
    got = cloud("get_namespace", rr.GetNamespaceRequest(namespace=namespace_id)).namespace
    assert dict(got.spec.search_attributes) == {
        "Customer": SA_TYPE.SEARCH_ATTRIBUTE_TYPE_KEYWORD,
        "Amount": SA_TYPE.SEARCH_ATTRIBUTE_TYPE_INT,
    }
    entry = AuditEntry.objects.filter(operation="RenameCustomSearchAttributeAPI").get()
    assert entry.target_id == namespace_id
    assert (entry.details["from"], entry.details["to"]) == ("CustomerId", "Customer")
    # the same async_operation_id again is a replay, not a second rename
    again = cloud(
        "rename_custom_search_attribute",
        rename_request(namespace_id, "CustomerId", "Customer", version="1", async_operation_id="rename-1"),
    )
    assert again.async_operation.id == "rename-1"
    assert provisioning.namespaces == [found.pk]
    # one change at a time: while the engine has not confirmed, another rename waits
    cloud.fails(
        "rename_custom_search_attribute",
        rename_request(namespace_id, "Amount", "Total"),
        RPCStatusCode.FAILED_PRECONDITION,
        "updating",
    )


def test_bad_renames_are_refused_and_change_nothing(
    alice: Principal, add_member: Callable[..., Principal], client_for: Callable[..., Cloud], provisioning: Provisioning
) -> None:
    cloud = client_for(alice)
    create(cloud, custom_search_attributes={"CustomerId": "Keyword", "Amount": "Int"})
    namespace_id = f"orders.{alice.account.account_id}"
    cloud.fails(  # not yet confirmed by the engine
        "rename_custom_search_attribute",
        rename_request(namespace_id, "CustomerId", "Customer", version="1"),
        RPCStatusCode.FAILED_PRECONDITION,
        "activating",
    )
    provisioned(namespace_id)
    provisioning.namespaces.clear()
    name_rule = "may hold only letters, digits, spaces and . , : _ - /"
    for request, status, fragment in (
        (rename_request(namespace_id, "Nope", "Customer", version="1"), RPCStatusCode.NOT_FOUND, "'Nope'"),
        (rename_request(namespace_id, "CustomerId", "Amount", version="1"), RPCStatusCode.ALREADY_EXISTS, "'Amount'"),
        (
            rename_request(namespace_id, "CustomerId", "bad$name", version="1"),
            RPCStatusCode.INVALID_ARGUMENT,
            name_rule,
        ),
        (rename_request(namespace_id, "CustomerId", "x" * 65, version="1"), RPCStatusCode.INVALID_ARGUMENT, "longer"),
        (
            rename_request(namespace_id, "CustomerId", "WorkflowId", version="1"),
            RPCStatusCode.INVALID_ARGUMENT,
            "reserved",
        ),
        (
            rename_request(namespace_id, "CustomerId", "TemporalX", version="1"),
            RPCStatusCode.INVALID_ARGUMENT,
            "reserved",
        ),
        (
            rename_request(namespace_id, "CustomerId", "CustomerId", version="1"),
            RPCStatusCode.INVALID_ARGUMENT,
            "already has that name",
        ),
        (
            rename_request(namespace_id, "CustomerId", " ", version="1"),
            RPCStatusCode.INVALID_ARGUMENT,
            "new_custom_search_attribute_name is required",
        ),
        (
            rename_request(namespace_id, "", "Customer", version="1"),
            RPCStatusCode.INVALID_ARGUMENT,
            "existing_custom_search_attribute_name is required",
        ),
        (
            rename_request("", "CustomerId", "Customer", version="1"),
            RPCStatusCode.INVALID_ARGUMENT,
            "namespace is required",
        ),
        (rename_request(namespace_id, "CustomerId", "Customer", version="7"), RPCStatusCode.FAILED_PRECONDITION, "'7'"),
        (
            rename_request(namespace_id, "CustomerId", "Customer", version=""),
            RPCStatusCode.INVALID_ARGUMENT,
            "resource_version is required",
        ),
        (rename_request("Not A Name", "CustomerId", "Customer", version="1"), RPCStatusCode.INVALID_ARGUMENT, ""),
    ):
        cloud.fails("rename_custom_search_attribute", request, status, fragment)
    # a Read-only member does not see the namespace; with Read on it she sees it but may not change it
    carol = add_member("carol@example.com", Role.READ_ONLY)
    client_for(carol).fails(
        "rename_custom_search_attribute",
        rename_request(namespace_id, "CustomerId", "Customer", version="1"),
        RPCStatusCode.NOT_FOUND,
        "not found",
    )
    NamespaceGrant.objects.create(
        account=alice.account, membership=carol.membership, namespace="orders", permission=NamespacePermission.READ
    )
    client_for(carol).fails(
        "rename_custom_search_attribute",
        rename_request(namespace_id, "CustomerId", "Customer", version="1"),
        RPCStatusCode.PERMISSION_DENIED,
        "Namespace Admin",
    )
    found = Namespace.objects.get()
    assert found.search_attributes == {"CustomerId": "Keyword", "Amount": "Int"}
    assert (found.state, found.resource_version) == (NamespaceState.ACTIVE, 1)
    assert provisioning.namespaces == []


def test_regions(alice: Principal, client_for: Callable[..., Cloud]) -> None:
    cloud = client_for(alice)
    regions = cloud("get_regions", rr.GetRegionsRequest()).regions
    assert [region.id for region in regions] == ["sundial-local"]
    assert cloud("get_region", rr.GetRegionRequest(region="sundial-local")).region.id == "sundial-local"
    cloud.fails("get_region", rr.GetRegionRequest(region="aws-us-east-1"), RPCStatusCode.NOT_FOUND, "sundial-local")
    cloud.fails("get_region", rr.GetRegionRequest(), RPCStatusCode.INVALID_ARGUMENT, "region is required")


def test_namespace_assignments_show_grants_and_inherited_access(
    alice: Principal,
    bob: Principal,
    add_member: Callable[..., Principal],
    add_service_account: Callable[..., Principal],
    client_for: Callable[..., Cloud],
    provisioning: Provisioning,
) -> None:
    dave = add_member("dave@example.com", Role.GLOBAL_ADMIN)
    add_member("erin@example.com", Role.DEVELOPER)  # no access: not listed
    cloud = client_for(alice)
    create(cloud)
    namespace_id = f"orders.{alice.account.account_id}"
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="orders", permission=NamespacePermission.WRITE
    )
    ci = add_service_account("ci", Role.READ_ONLY)
    add_service_account("ops", Role.GLOBAL_ADMIN)
    add_service_account("idle", Role.READ_ONLY)
    assert ci.service_account is not None
    NamespaceGrant.objects.create(
        account=alice.account,
        service_account=ci.service_account,
        namespace="orders",
        permission=NamespacePermission.READ,
    )
    users = cloud("get_user_namespace_assignments", rr.GetUserNamespaceAssignmentsRequest(namespace=namespace_id)).users
    seen = {u.email: (u.namespace_access.permission, u.inherited_access) for u in users}
    assert seen == {
        "alice@example.com": (PERMISSION.PERMISSION_ADMIN, True),
        "bob@example.com": (PERMISSION.PERMISSION_WRITE, False),
        "dave@example.com": (PERMISSION.PERMISSION_ADMIN, True),
    }
    assert [u.id for u in users] == sorted(u.id for u in users)
    first = cloud(
        "get_user_namespace_assignments", rr.GetUserNamespaceAssignmentsRequest(namespace="orders", page_size=2)
    )
    rest = cloud(
        "get_user_namespace_assignments",
        rr.GetUserNamespaceAssignmentsRequest(namespace="orders", page_size=2, page_token=first.next_page_token),
    )
    assert [u.id for u in [*first.users, *rest.users]] == [u.id for u in users]
    assert not rest.next_page_token
    assert dave.membership is not None
    assert dave.membership.public_id in {u.id for u in users}
    sas = cloud(
        "get_service_account_namespace_assignments",
        rr.GetServiceAccountNamespaceAssignmentsRequest(namespace=namespace_id),
    ).service_accounts
    assert {s.name: (s.namespace_access.permission, s.inherited_access) for s in sas} == {
        "ci": (PERMISSION.PERMISSION_READ, False),
        "ops": (PERMISSION.PERMISSION_ADMIN, True),
    }
    cloud.fails(
        "get_user_namespace_assignments",
        rr.GetUserNamespaceAssignmentsRequest(namespace="missing"),
        RPCStatusCode.NOT_FOUND,
    )
