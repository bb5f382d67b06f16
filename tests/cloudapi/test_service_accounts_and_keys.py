"""Service accounts and API keys over the Cloud Ops API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.identity.v1 import message_pb2 as identity
from temporalio.api.cloud.resource.v1 import message_pb2 as resource
from temporalio.service import RPCStatusCode

from accounts.models import ApiKey, NamespaceGrant, Role, ServiceAccount
from tests.cloudapi.support import PERMISSION, ROLE, World, access, expiry, new_key

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_service_account_reads_back_as_it_was_created(world: World, client_for) -> None:
    cloud = client_for(world.alice)
    created = cloud(
        "create_service_account",
        rr.CreateServiceAccountRequest(
            spec=identity.ServiceAccountSpec(
                name="deployer",
                description="ships builds",
                access=access(ROLE.ROLE_DEVELOPER, orders=PERMISSION.PERMISSION_ADMIN),
            )
        ),
    )
    sa = cloud("get_service_account", rr.GetServiceAccountRequest(service_account_id=created.service_account_id))
    spec = sa.service_account.spec
    assert (spec.name, spec.description) == ("deployer", "ships builds")
    assert spec.access.account_access.role == ROLE.ROLE_DEVELOPER
    orders = f"orders.{world.alice.account.account_id}"
    assert spec.access.namespace_accesses[orders].permission == PERMISSION.PERMISSION_ADMIN
    assert not spec.HasField("namespace_scoped_access")
    assert sa.service_account.state == resource.RESOURCE_STATE_ACTIVE


def test_a_namespace_admin_creates_and_updates_a_namespace_scoped_service_account(world: World, client_for) -> None:
    cloud = client_for(world.bob)  # a Developer who is Namespace Admin of payments
    scoped = identity.NamespaceScopedAccess(
        namespace="payments", access=identity.NamespaceAccess(permission=PERMISSION.PERMISSION_WRITE)
    )
    created = cloud(
        "create_service_account",
        rr.CreateServiceAccountRequest(
            spec=identity.ServiceAccountSpec(name="payments-worker", namespace_scoped_access=scoped)
        ),
    )
    sa = ServiceAccount.objects.get(public_id=created.service_account_id)
    assert (sa.role, sa.namespace_scope) == (Role.READ_ONLY, "payments")
    read = cloud("get_service_account", rr.GetServiceAccountRequest(service_account_id=sa.public_id)).service_account
    assert read.spec.namespace_scoped_access.namespace == f"payments.{world.alice.account.account_id}"
    assert read.spec.namespace_scoped_access.access.permission == PERMISSION.PERMISSION_WRITE

    spec = identity.ServiceAccountSpec()
    spec.CopyFrom(read.spec)
    spec.namespace_scoped_access.access.permission = PERMISSION.PERMISSION_READ
    spec.description = "reads payments"
    cloud(
        "update_service_account",
        rr.UpdateServiceAccountRequest(
            service_account_id=sa.public_id, spec=spec, resource_version=read.resource_version
        ),
    )
    assert NamespaceGrant.objects.get(service_account=sa).permission == "read"
    assert ServiceAccount.objects.get(pk=sa.pk).description == "reads payments"

    outside = identity.NamespaceScopedAccess(
        namespace="orders", access=identity.NamespaceAccess(permission=PERMISSION.PERMISSION_READ)
    )
    cloud.fails(
        "create_service_account",
        rr.CreateServiceAccountRequest(
            spec=identity.ServiceAccountSpec(name="orders-worker", namespace_scoped_access=outside)
        ),
        RPCStatusCode.PERMISSION_DENIED,
        "Namespace Admin on 'orders'",
    )


def test_update_and_delete_a_service_account(world: World, client_for) -> None:
    cloud = client_for(world.alice)
    sa_id = world.service_account.public_id
    cloud(
        "update_service_account",
        rr.UpdateServiceAccountRequest(
            service_account_id=sa_id,
            spec=identity.ServiceAccountSpec(name="ci-2", access=access(ROLE.ROLE_READ)),
            resource_version="1",
        ),
    )
    sa = ServiceAccount.objects.get(public_id=sa_id)
    assert (sa.name, sa.role, sa.resource_version) == ("ci-2", Role.READ_ONLY, 2)
    assert not NamespaceGrant.objects.filter(service_account=sa).exists()
    cloud("delete_service_account", rr.DeleteServiceAccountRequest(service_account_id=sa_id, resource_version="2"))
    assert not ServiceAccount.objects.filter(public_id=sa_id).exists()
    assert not ApiKey.objects.filter(key_id=world.sa_key.key_id).exists()


def test_service_accounts_page_in_id_order(alice, add_service_account, client_for) -> None:
    for n in range(5):
        add_service_account(f"sa-{n}", Role.READ_ONLY)
    cloud = client_for(alice)
    first = cloud("get_service_accounts", rr.GetServiceAccountsRequest(page_size=3))
    second = cloud("get_service_accounts", rr.GetServiceAccountsRequest(page_size=3, page_token=first.next_page_token))
    ids = [sa.id for sa in [*first.service_account, *second.service_account]]
    assert (len(first.service_account), len(second.service_account), second.next_page_token) == (3, 2, "")
    assert ids == sorted(ServiceAccount.objects.values_list("public_id", flat=True))


def test_api_keys_filter_by_owner_and_owner_type(world: World, client_for) -> None:
    cloud = client_for(world.alice)
    everything = cloud("get_api_keys", rr.GetApiKeysRequest()).api_keys
    assert {k.id for k in everything} == set(ApiKey.objects.values_list("key_id", flat=True))
    sa_keys = cloud("get_api_keys", rr.GetApiKeysRequest(owner_type=identity.OWNER_TYPE_SERVICE_ACCOUNT)).api_keys
    assert [k.id for k in sa_keys] == [world.sa_key.key_id]
    assert sa_keys[0].spec.owner_id == world.service_account.public_id
    bobs = cloud("get_api_keys", rr.GetApiKeysRequest(owner_id=world.bob.public_id)).api_keys
    assert list(bobs) == []
    users = cloud("get_api_keys", rr.GetApiKeysRequest(owner_type_deprecated="user")).api_keys
    assert {k.spec.owner_type for k in users} == {identity.OWNER_TYPE_USER}


def test_api_keys_page_in_id_order(alice, client_for) -> None:
    for n in range(4):
        new_key(alice, f"key {n}")
    cloud = client_for(alice)  # a fifth key
    pages, token = [], ""
    while True:
        page = cloud("get_api_keys", rr.GetApiKeysRequest(page_size=2, page_token=token))
        pages.append([k.id for k in page.api_keys])
        token = page.next_page_token
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [key_id for page in pages for key_id in page] == sorted(ApiKey.objects.values_list("key_id", flat=True))


def test_a_disabled_key_stops_working_and_an_expired_one_reads_as_expired(world: World, client_for) -> None:
    cloud = client_for(world.alice)
    victim, token = new_key(world.alice, "to disable")
    as_victim = client_for(token=token)
    assert as_victim("get_account", rr.GetAccountRequest()).account.id == world.alice.account.account_id
    key = cloud("get_api_key", rr.GetApiKeyRequest(key_id=victim.key_id)).api_key
    spec = identity.ApiKeySpec()
    spec.CopyFrom(key.spec)
    spec.disabled = True
    spec.description = "lost laptop"
    cloud("update_api_key", rr.UpdateApiKeyRequest(key_id=key.id, spec=spec, resource_version=key.resource_version))
    after = cloud("get_api_key", rr.GetApiKeyRequest(key_id=victim.key_id)).api_key
    assert (after.spec.disabled, after.spec.description, after.state) == (
        True,
        "lost laptop",
        resource.RESOURCE_STATE_ACTIVE,
    )
    as_victim.fails("get_account", rr.GetAccountRequest(), RPCStatusCode.UNAUTHENTICATED, "disabled")

    ApiKey.objects.filter(pk=victim.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = cloud("get_api_key", rr.GetApiKeyRequest(key_id=victim.key_id)).api_key
    assert expired.state == resource.RESOURCE_STATE_EXPIRED


def test_delete_an_api_key(world: World, client_for) -> None:
    cloud = client_for(world.alice)
    response = cloud("delete_api_key", rr.DeleteApiKeyRequest(key_id=world.sa_key.key_id, resource_version="1"))
    assert response.async_operation.operation_type == "DeleteApiKey"
    assert not ApiKey.objects.filter(pk=world.sa_key.pk).exists()
    cloud.fails("get_api_key", rr.GetApiKeyRequest(key_id=world.sa_key.key_id), RPCStatusCode.NOT_FOUND, "not found")


def test_a_key_created_without_an_owner_is_the_callers(world: World, client_for) -> None:
    cloud = client_for(world.bob)
    created = cloud(
        "create_api_key",
        rr.CreateApiKeyRequest(
            spec=identity.ApiKeySpec(display_name="bob's", description="cli", expiry_time=expiry(7))
        ),
    )
    key = ApiKey.objects.get(key_id=created.key_id)
    assert (key.owner_membership, key.description) == (world.bob.membership, "cli")
    assert abs((key.expires_at - timezone.now()) - timedelta(days=7)) < timedelta(minutes=1)


def test_set_service_account_namespace_access_grants_and_revokes(world: World, client_for, charlie) -> None:
    cloud = client_for(world.alice)
    created = cloud(
        "create_service_account",
        rr.CreateServiceAccountRequest(
            spec=identity.ServiceAccountSpec(name="reporter", access=access(ROLE.ROLE_READ))
        ),
    )
    sa_id = created.service_account_id
    version = cloud("get_service_account", rr.GetServiceAccountRequest(service_account_id=sa_id))
    cloud(
        "set_service_account_namespace_access",
        rr.SetServiceAccountNamespaceAccessRequest(
            service_account_id=sa_id,
            namespace=f"orders.{world.alice.account.account_id}",
            access=identity.NamespaceAccess(permission=PERMISSION.PERMISSION_WRITE),
            resource_version=version.service_account.resource_version,
        ),
    )
    assert NamespaceGrant.objects.get(service_account__public_id=sa_id, namespace="orders").permission == "write"
    cloud.fails(
        "set_service_account_namespace_access",
        rr.SetServiceAccountNamespaceAccessRequest(
            service_account_id=sa_id,
            namespace="orders",
            access=identity.NamespaceAccess(),
            resource_version=version.service_account.resource_version,
        ),
        RPCStatusCode.FAILED_PRECONDITION,
        "has changed",
    )
    fresh = cloud("get_service_account", rr.GetServiceAccountRequest(service_account_id=sa_id))
    cloud(
        "set_service_account_namespace_access",
        rr.SetServiceAccountNamespaceAccessRequest(
            service_account_id=sa_id,
            namespace="orders",
            access=identity.NamespaceAccess(),
            resource_version=fresh.service_account.resource_version,
        ),
    )
    assert not NamespaceGrant.objects.filter(service_account__public_id=sa_id).exists()
    client_for(charlie).fails(
        "set_service_account_namespace_access",
        rr.SetServiceAccountNamespaceAccessRequest(
            service_account_id=sa_id,
            namespace="orders",
            access=identity.NamespaceAccess(permission=PERMISSION.PERMISSION_ADMIN),
            resource_version=fresh.service_account.resource_version,
        ),
        RPCStatusCode.NOT_FOUND,
        "not found",
    )
