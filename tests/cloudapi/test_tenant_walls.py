"""Alice, Bob and Charlie over every RPC: outsiders see nothing, roles limit what keys may do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.identity.v1 import message_pb2 as identity
from temporalio.service import RPCStatusCode

from accounts.models import Invitation, Membership, Role, ServiceAccount
from tests.cloudapi.support import PERMISSION, ROLE, World, access, expiry, snapshot

pytestmark = pytest.mark.django_db(transaction=True)

Case = Callable[[World], tuple[str, Any]]

# Calls naming one of Alice's objects by id, each well formed (current resource_version).
BY_ID: dict[str, Case] = {
    "get_user": lambda w: ("get_user", rr.GetUserRequest(user_id=w.bob.public_id)),
    "get_user_invited": lambda w: ("get_user", rr.GetUserRequest(user_id=w.invitation.public_id)),
    "update_user": lambda w: (
        "update_user",
        rr.UpdateUserRequest(
            user_id=w.bob.public_id,
            spec=identity.UserSpec(email="bob@example.com", access=access(ROLE.ROLE_READ)),
            resource_version="1",
        ),
    ),
    "update_user_invited": lambda w: (
        "update_user",
        rr.UpdateUserRequest(
            user_id=w.invitation.public_id,
            spec=identity.UserSpec(access=access(ROLE.ROLE_READ)),
            resource_version="1",
        ),
    ),
    "delete_user": lambda w: ("delete_user", rr.DeleteUserRequest(user_id=w.bob.public_id, resource_version="1")),
    "delete_user_invited": lambda w: (
        "delete_user",
        rr.DeleteUserRequest(user_id=w.invitation.public_id, resource_version="1"),
    ),
    "set_user_namespace_access": lambda w: (
        "set_user_namespace_access",
        rr.SetUserNamespaceAccessRequest(
            user_id=w.bob.public_id,
            namespace="billing",
            access=identity.NamespaceAccess(permission=PERMISSION.PERMISSION_READ),
            resource_version="1",
        ),
    ),
    "get_service_account": lambda w: (
        "get_service_account",
        rr.GetServiceAccountRequest(service_account_id=w.service_account.public_id),
    ),
    "update_service_account": lambda w: (
        "update_service_account",
        rr.UpdateServiceAccountRequest(
            service_account_id=w.service_account.public_id,
            spec=identity.ServiceAccountSpec(name="renamed", access=access(ROLE.ROLE_READ)),
            resource_version="1",
        ),
    ),
    "delete_service_account": lambda w: (
        "delete_service_account",
        rr.DeleteServiceAccountRequest(service_account_id=w.service_account.public_id, resource_version="1"),
    ),
    "create_api_key_for_service_account": lambda w: (
        "create_api_key",
        rr.CreateApiKeyRequest(
            spec=identity.ApiKeySpec(
                owner_id=w.service_account.public_id,
                owner_type=identity.OWNER_TYPE_SERVICE_ACCOUNT,
                display_name="sneaky",
                expiry_time=expiry(30),
            )
        ),
    ),
    "get_api_key": lambda w: ("get_api_key", rr.GetApiKeyRequest(key_id=w.alice_key.key_id)),
    "update_api_key": lambda w: (
        "update_api_key",
        rr.UpdateApiKeyRequest(
            key_id=w.alice_key.key_id,
            spec=identity.ApiKeySpec(display_name="renamed", disabled=True),
            resource_version="1",
        ),
    ),
    "delete_api_key": lambda w: (
        "delete_api_key",
        rr.DeleteApiKeyRequest(key_id=w.alice_key.key_id, resource_version="1"),
    ),
    "get_async_operation": lambda w: (
        "get_async_operation",
        rr.GetAsyncOperationRequest(async_operation_id=w.operation_id),
    ),
}


@pytest.mark.parametrize("case", BY_ID)
def test_it_hides_alices_objects_from_an_outsider(world: World, charlie, client_for, case: str) -> None:
    cloud = client_for(charlie)
    before = snapshot()
    rpc, request = BY_ID[case](world)
    cloud.fails(rpc, request, RPCStatusCode.NOT_FOUND, "not found")
    assert snapshot() == before


def test_an_outsider_lists_only_their_own_account(world: World, charlie, client_for) -> None:
    cloud = client_for(charlie)
    assert [u.spec.email for u in cloud("get_users", rr.GetUsersRequest()).users] == ["charlie@example.com"]
    assert list(cloud("get_service_accounts", rr.GetServiceAccountsRequest()).service_account) == []
    keys = cloud("get_api_keys", rr.GetApiKeysRequest()).api_keys
    assert [k.spec.owner_id for k in keys] == [charlie.public_id]
    assert list(cloud("get_api_keys", rr.GetApiKeysRequest(owner_id=world.alice.public_id)).api_keys) == []
    assert cloud("get_users", rr.GetUsersRequest(email="bob@example.com")).users == []
    logs = cloud("get_audit_logs", rr.GetAuditLogsRequest()).logs
    assert logs
    assert all(log.principal.id == charlie.public_id for log in logs)
    assert cloud("get_account", rr.GetAccountRequest()).account.id == charlie.account.account_id


# Changes a Read-Only member may not make (each would succeed for Alice).
READ_ONLY_REFUSED: dict[str, Case] = {
    "update_account": lambda w: ("update_account", rr.UpdateAccountRequest(resource_version="1")),
    "create_user": lambda w: (
        "create_user",
        rr.CreateUserRequest(spec=identity.UserSpec(email="new@example.com", access=access(ROLE.ROLE_READ))),
    ),
    "update_user": BY_ID["update_user"],
    "update_user_invited": BY_ID["update_user_invited"],
    "delete_user": BY_ID["delete_user"],
    "delete_user_invited": BY_ID["delete_user_invited"],
    "set_user_namespace_access": BY_ID["set_user_namespace_access"],
    "create_service_account": lambda w: (
        "create_service_account",
        rr.CreateServiceAccountRequest(spec=identity.ServiceAccountSpec(name="new", access=access(ROLE.ROLE_READ))),
    ),
    "update_service_account": BY_ID["update_service_account"],
    "delete_service_account": BY_ID["delete_service_account"],
    "create_api_key_for_service_account": BY_ID["create_api_key_for_service_account"],
    "create_api_key_for_another_user": lambda w: (
        "create_api_key",
        rr.CreateApiKeyRequest(
            spec=identity.ApiKeySpec(
                owner_id=w.alice.public_id,
                owner_type=identity.OWNER_TYPE_USER,
                display_name="for alice",
                expiry_time=expiry(30),
            )
        ),
    ),
    "get_audit_logs": lambda w: ("get_audit_logs", rr.GetAuditLogsRequest()),
}


@pytest.mark.parametrize("case", READ_ONLY_REFUSED)
def test_a_read_only_key_changes_nothing(world: World, client_for, case: str) -> None:
    cloud = client_for(world.carol)
    before = snapshot()
    rpc, request = READ_ONLY_REFUSED[case](world)
    cloud.fails(rpc, request, RPCStatusCode.PERMISSION_DENIED)
    assert snapshot() == before


@pytest.mark.parametrize("rpc", ["update_api_key", "delete_api_key"])
def test_other_peoples_keys_do_not_exist_for_a_read_only_or_developer_key(world: World, client_for, rpc: str) -> None:
    """Keys are visible to their owner and admins only; to anyone else they are not there."""
    clouds = [client_for(world.carol), client_for(world.bob)]
    before = snapshot()
    for cloud in clouds:
        cloud.fails(*BY_ID[rpc](world), RPCStatusCode.NOT_FOUND, "not found")
    assert snapshot() == before


DEVELOPER_REFUSED = [
    "update_account",
    "create_user",
    "update_user",
    "update_user_invited",
    "delete_user_invited",
    "create_service_account",
    "update_service_account",
    "delete_service_account",
    "create_api_key_for_service_account",
    "create_api_key_for_another_user",
    "get_audit_logs",
]


@pytest.mark.parametrize("case", DEVELOPER_REFUSED)
def test_a_developer_key_cannot_manage_people_service_accounts_or_others_keys(
    world: World, client_for, case: str
) -> None:
    cloud = client_for(world.bob)
    before = snapshot()
    rpc, request = READ_ONLY_REFUSED[case](world)
    if case == "update_user":  # Bob on someone else: Carol
        request.user_id = world.carol.public_id
        request.spec.email = "carol@example.com"
    cloud.fails(rpc, request, RPCStatusCode.PERMISSION_DENIED)
    assert snapshot() == before


def test_read_only_and_developer_keys_still_read_and_manage_their_own_keys(world: World, client_for) -> None:
    """Every role manages its own API keys (Temporal Cloud's rule) and reads the account."""
    for who in (world.carol, world.bob):
        cloud = client_for(who)
        assert cloud("get_users", rr.GetUsersRequest()).users
        assert cloud("get_service_accounts", rr.GetServiceAccountsRequest()).service_account
        created = cloud(
            "create_api_key",
            rr.CreateApiKeyRequest(spec=identity.ApiKeySpec(display_name="own", expiry_time=expiry(5))),
        )
        key = cloud("get_api_key", rr.GetApiKeyRequest(key_id=created.key_id)).api_key
        assert key.spec.owner_id == who.public_id
        cloud("delete_api_key", rr.DeleteApiKeyRequest(key_id=created.key_id, resource_version=key.resource_version))
        mine = cloud("get_api_keys", rr.GetApiKeysRequest()).api_keys
        assert {k.spec.owner_id for k in mine} == {who.public_id}


GRANTS = [
    ("create_user", ROLE.ROLE_OWNER),
    ("create_user", ROLE.ROLE_FINANCE_ADMIN),
    ("update_user", ROLE.ROLE_OWNER),
    ("update_user", ROLE.ROLE_FINANCE_ADMIN),
    ("create_service_account", ROLE.ROLE_FINANCE_ADMIN),
]


def _grant(world: World, rpc: str, role: Any) -> Any:
    if rpc == "create_user":
        return rr.CreateUserRequest(spec=identity.UserSpec(email="boss@example.com", access=access(role)))
    if rpc == "update_user":
        return rr.UpdateUserRequest(
            user_id=world.bob.public_id, spec=identity.UserSpec(access=access(role)), resource_version="1"
        )
    return rr.CreateServiceAccountRequest(spec=identity.ServiceAccountSpec(name="money", access=access(role)))


@pytest.mark.parametrize(("rpc", "role"), GRANTS)
def test_only_an_owner_grants_owner_or_finance_admin(world: World, client_for, rpc: str, role: Any) -> None:
    dave, alice = client_for(world.dave), client_for(world.alice)
    before = snapshot()
    dave.fails(rpc, _grant(world, rpc, role), RPCStatusCode.PERMISSION_DENIED, "may not grant")
    assert snapshot() == before

    alice(rpc, _grant(world, rpc, role))
    expected = {ROLE.ROLE_OWNER: Role.OWNER, ROLE.ROLE_FINANCE_ADMIN: Role.FINANCE_ADMIN}[role]
    if rpc == "create_user":
        assert Invitation.objects.get(email="boss@example.com").role == expected
    elif rpc == "update_user":
        assert Membership.objects.get(public_id=world.bob.public_id).role == expected
    else:
        assert ServiceAccount.objects.get(name="money").role == expected


def test_a_global_admin_manages_people_and_service_accounts(world: World, client_for) -> None:
    cloud = client_for(world.dave)
    cloud(
        "update_user",
        rr.UpdateUserRequest(
            user_id=world.bob.public_id,
            spec=identity.UserSpec(access=access(ROLE.ROLE_READ, payments=PERMISSION.PERMISSION_READ)),
            resource_version="1",
        ),
    )
    cloud(
        "delete_service_account",
        rr.DeleteServiceAccountRequest(service_account_id=world.service_account.public_id, resource_version="1"),
    )
    assert Membership.objects.get(public_id=world.bob.public_id).role == Role.READ_ONLY
    assert not ServiceAccount.objects.filter(pk=world.service_account.pk).exists()
    logs = cloud("get_audit_logs", rr.GetAuditLogsRequest()).logs
    assert [log.operation for log in logs if log.principal.id == world.dave.public_id][-2:] == [
        "UpdateUser",
        "DeleteServiceAccount",
    ]


def test_audit_logs_record_refused_changes_as_errors(world: World, client_for) -> None:
    key = client_for(world.carol)
    key.fails(*READ_ONLY_REFUSED["create_service_account"](world), RPCStatusCode.PERMISSION_DENIED)
    logs = client_for(world.alice)("get_audit_logs", rr.GetAuditLogsRequest()).logs
    refused = [log for log in logs if log.principal.id == world.carol.public_id and log.status == "ERROR"]
    assert [log.operation for log in refused] == ["CreateServiceAccount"]
    assert "may not create service accounts" in refused[0].raw_details["error"]
