"""Bad requests get a clear error and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.identity.v1 import message_pb2 as identity
from temporalio.service import RPCStatusCode

from accounts.models import ApiKey
from accounts.services.api_keys import MAX_KEYS_PER_USER
from tests.cloudapi.support import PERMISSION, ROLE, World, access, connect, expiry, new_key, snapshot

pytestmark = pytest.mark.django_db(transaction=True)

A_CHANGE = rr.CreateServiceAccountRequest(spec=identity.ServiceAccountSpec(name="never", access=access(ROLE.ROLE_READ)))


def _expired(world: World) -> str:
    key, token = new_key(world.alice, "old")
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return token


def _disabled(world: World) -> str:
    key, token = new_key(world.alice, "off")
    ApiKey.objects.filter(pk=key.pk).update(disabled=True)
    return token


def _unknown(world: World) -> str:
    key, token = new_key(world.alice, "gone")
    key.delete()
    return token


# name: (key for the call, connect options, expected status, message fragment)
CREDENTIALS: dict[str, tuple[Callable[[World], str | None], dict[str, Any], RPCStatusCode, str]] = {
    "no version header": (
        lambda w: new_key(w.alice)[1],
        {"version": None},
        RPCStatusCode.INVALID_ARGUMENT,
        "temporal-cloud-api-version header is required",
    ),
    "no key": (lambda w: None, {}, RPCStatusCode.UNAUTHENTICATED, "an API key is required"),
    "garbled key": (lambda w: "not-a-key", {}, RPCStatusCode.UNAUTHENTICATED, "malformed API key"),
    "unknown key": (_unknown, {}, RPCStatusCode.UNAUTHENTICATED, "invalid API key"),
    "forged secret": (
        lambda w: new_key(w.alice)[1][:-4] + "AAAA",
        {},
        RPCStatusCode.UNAUTHENTICATED,
        "invalid API key",
    ),
    "expired key": (_expired, {}, RPCStatusCode.UNAUTHENTICATED, "API key has expired"),
    "disabled key": (_disabled, {}, RPCStatusCode.UNAUTHENTICATED, "API key is disabled"),
    "not a bearer": (
        lambda w: None,
        {"rpc_metadata": {"authorization": "Basic YWxpY2U6c2VjcmV0"}},
        RPCStatusCode.UNAUTHENTICATED,
        "must be 'Bearer <API key>'",
    ),
}


@pytest.mark.parametrize("case", CREDENTIALS)
def test_it_refuses_calls_without_good_credentials(world: World, cloud_target, loop, case: str) -> None:
    token_of, options, status, fragment = CREDENTIALS[case]
    cloud = connect(loop, cloud_target, token_of(world), **options)
    before = snapshot()
    cloud.fails("create_service_account", A_CHANGE, status, fragment)
    cloud.fails("get_users", rr.GetUsersRequest(), status, fragment)
    assert snapshot() == before


# Calls that change a versioned object, with a resource_version to fill in.
VERSIONED: dict[str, Callable[[World, str], tuple[str, Any]]] = {
    "update_account": lambda w, v: ("update_account", rr.UpdateAccountRequest(resource_version=v)),
    "update_user": lambda w, v: (
        "update_user",
        rr.UpdateUserRequest(
            user_id=w.bob.public_id, spec=identity.UserSpec(access=access(ROLE.ROLE_READ)), resource_version=v
        ),
    ),
    "update_user_invited": lambda w, v: (
        "update_user",
        rr.UpdateUserRequest(
            user_id=w.invitation.public_id, spec=identity.UserSpec(access=access(ROLE.ROLE_READ)), resource_version=v
        ),
    ),
    "delete_user": lambda w, v: ("delete_user", rr.DeleteUserRequest(user_id=w.bob.public_id, resource_version=v)),
    "delete_user_invited": lambda w, v: (
        "delete_user",
        rr.DeleteUserRequest(user_id=w.invitation.public_id, resource_version=v),
    ),
    "set_user_namespace_access": lambda w, v: (
        "set_user_namespace_access",
        rr.SetUserNamespaceAccessRequest(
            user_id=w.bob.public_id,
            namespace="orders",
            access=identity.NamespaceAccess(permission=PERMISSION.PERMISSION_READ),
            resource_version=v,
        ),
    ),
    "update_service_account": lambda w, v: (
        "update_service_account",
        rr.UpdateServiceAccountRequest(
            service_account_id=w.service_account.public_id,
            spec=identity.ServiceAccountSpec(name="ci", access=access(ROLE.ROLE_READ)),
            resource_version=v,
        ),
    ),
    "delete_service_account": lambda w, v: (
        "delete_service_account",
        rr.DeleteServiceAccountRequest(service_account_id=w.service_account.public_id, resource_version=v),
    ),
    "update_api_key": lambda w, v: (
        "update_api_key",
        rr.UpdateApiKeyRequest(
            key_id=w.sa_key.key_id, spec=identity.ApiKeySpec(display_name="x", disabled=True), resource_version=v
        ),
    ),
    "delete_api_key": lambda w, v: (
        "delete_api_key",
        rr.DeleteApiKeyRequest(key_id=w.sa_key.key_id, resource_version=v),
    ),
}


@pytest.mark.parametrize("case", VERSIONED)
def test_a_stale_resource_version_is_a_failed_precondition(world: World, client_for, case: str) -> None:
    cloud = client_for(world.alice)
    before = snapshot()
    cloud.fails(
        *VERSIONED[case](world, "7"), RPCStatusCode.FAILED_PRECONDITION, "has changed since resource_version '7'"
    )
    assert snapshot() == before


@pytest.mark.parametrize("case", VERSIONED)
def test_an_empty_resource_version_is_invalid(world: World, client_for, case: str) -> None:
    cloud = client_for(world.alice)
    before = snapshot()
    cloud.fails(*VERSIONED[case](world, ""), RPCStatusCode.INVALID_ARGUMENT, "resource_version is required")
    assert snapshot() == before


def _key(**spec: Any) -> rr.CreateApiKeyRequest:
    return rr.CreateApiKeyRequest(spec=identity.ApiKeySpec(display_name=spec.pop("display_name", "k"), **spec))


def _user(email: str = "new@example.com", **role: Any) -> rr.CreateUserRequest:
    return rr.CreateUserRequest(
        spec=identity.UserSpec(email=email, access=identity.Access(account_access=identity.AccountAccess(**role)))
    )


# name: (rpc, request, status, message fragment) — each sent by Alice, the Owner.
INVALID: dict[str, Callable[[World], tuple[str, Any, RPCStatusCode, str]]] = {
    "key without expiry": lambda w: ("create_api_key", _key(), RPCStatusCode.INVALID_ARGUMENT, "needs an expiry time"),
    "key expiring in the past": lambda w: (
        "create_api_key",
        _key(expiry_time=expiry(-1)),
        RPCStatusCode.INVALID_ARGUMENT,
        "must be in the future",
    ),
    "key for over two years": lambda w: (
        "create_api_key",
        _key(expiry_time=expiry(733)),
        RPCStatusCode.INVALID_ARGUMENT,
        "at most 2 years",
    ),
    "key without a name": lambda w: (
        "create_api_key",
        _key(display_name=" ", expiry_time=expiry(3)),
        RPCStatusCode.INVALID_ARGUMENT,
        "needs a name",
    ),
    "key owner without a type": lambda w: (
        "create_api_key",
        _key(owner_id=w.service_account.public_id, expiry_time=expiry(3)),
        RPCStatusCode.INVALID_ARGUMENT,
        "spec.owner_type is required",
    ),
    "key created disabled": lambda w: (
        "create_api_key",
        _key(expiry_time=expiry(3), disabled=True),
        RPCStatusCode.INVALID_ARGUMENT,
        "cannot start disabled",
    ),
    "key expiry moved": lambda w: (
        "update_api_key",
        rr.UpdateApiKeyRequest(
            key_id=w.sa_key.key_id,
            spec=identity.ApiKeySpec(display_name="ci key", expiry_time=expiry(60)),
            resource_version="1",
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "expiry cannot be changed",
    ),
    "key owner moved": lambda w: (
        "update_api_key",
        rr.UpdateApiKeyRequest(
            key_id=w.sa_key.key_id,
            spec=identity.ApiKeySpec(display_name="ci key", owner_id=w.alice.public_id),
            resource_version="1",
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "owner cannot change",
    ),
    "invalid e-mail": lambda w: (
        "create_user",
        _user("not-an-email", role=ROLE.ROLE_READ),
        RPCStatusCode.INVALID_ARGUMENT,
        "'not-an-email' is not a valid e-mail address",
    ),
    "duplicate invitation": lambda w: (
        "create_user",
        _user("invitee@example.com", role=ROLE.ROLE_READ),
        RPCStatusCode.ALREADY_EXISTS,
        "has already been invited",
    ),
    "invitation of a member": lambda w: (
        "create_user",
        _user("bob@example.com", role=ROLE.ROLE_READ),
        RPCStatusCode.ALREADY_EXISTS,
        "already a member",
    ),
    "unknown role number": lambda w: (
        "create_user",
        _user(role=42),
        RPCStatusCode.INVALID_ARGUMENT,
        "not a known role",
    ),
    "unknown role name": lambda w: (
        "create_user",
        _user(role_deprecated="superuser"),
        RPCStatusCode.INVALID_ARGUMENT,
        "'superuser' is not a known role",
    ),
    "no role": lambda w: ("create_user", _user(), RPCStatusCode.INVALID_ARGUMENT, "role is required"),
    "namespace access without permission": lambda w: (
        "create_user",
        rr.CreateUserRequest(
            spec=identity.UserSpec(
                email="new@example.com", access=access(ROLE.ROLE_READ, orders=PERMISSION.PERMISSION_UNSPECIFIED)
            )
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "namespace_accesses['orders'].permission is required",
    ),
    "bad namespace name": lambda w: (
        "create_user",
        rr.CreateUserRequest(
            spec=identity.UserSpec(
                email="new@example.com",
                access=access(ROLE.ROLE_READ, **{"Not_A_Namespace": PERMISSION.PERMISSION_READ}),
            )
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "is not a valid namespace name",
    ),
    "changed e-mail": lambda w: (
        "update_user",
        rr.UpdateUserRequest(
            user_id=w.bob.public_id,
            spec=identity.UserSpec(email="robert@example.com", access=access(ROLE.ROLE_READ)),
            resource_version="1",
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "e-mail address cannot be changed",
    ),
    "service account name taken": lambda w: (
        "create_service_account",
        rr.CreateServiceAccountRequest(spec=identity.ServiceAccountSpec(name="CI", access=access(ROLE.ROLE_READ))),
        RPCStatusCode.ALREADY_EXISTS,
        "already exists",
    ),
    "owner service account": lambda w: (
        "create_service_account",
        rr.CreateServiceAccountRequest(spec=identity.ServiceAccountSpec(name="boss", access=access(ROLE.ROLE_OWNER))),
        RPCStatusCode.INVALID_ARGUMENT,
        "cannot have the role Account Owner",
    ),
    "scoped service account without permission": lambda w: (
        "create_service_account",
        rr.CreateServiceAccountRequest(
            spec=identity.ServiceAccountSpec(
                name="scoped", namespace_scoped_access=identity.NamespaceScopedAccess(namespace="orders")
            )
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "namespace_scoped_access.access.permission is required",
    ),
    "account-wide service account made scoped": lambda w: (
        "update_service_account",
        rr.UpdateServiceAccountRequest(
            service_account_id=w.service_account.public_id,
            spec=identity.ServiceAccountSpec(
                name="ci",
                namespace_scoped_access=identity.NamespaceScopedAccess(
                    namespace="orders", access=identity.NamespaceAccess(permission=PERMISSION.PERMISSION_READ)
                ),
            ),
            resource_version="1",
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "cannot become namespace-scoped",
    ),
    "missing user id": lambda w: (
        "get_user",
        rr.GetUserRequest(),
        RPCStatusCode.INVALID_ARGUMENT,
        "user_id is required",
    ),
    "unknown user id": lambda w: ("get_user", rr.GetUserRequest(user_id="nobody"), RPCStatusCode.NOT_FOUND, "'nobody'"),
    "missing key id": lambda w: (
        "delete_api_key",
        rr.DeleteApiKeyRequest(resource_version="1"),
        RPCStatusCode.INVALID_ARGUMENT,
        "key_id is required",
    ),
    "operation id reused for another type": lambda w: (
        "create_service_account",
        rr.CreateServiceAccountRequest(
            spec=identity.ServiceAccountSpec(name="other", access=access(ROLE.ROLE_READ)),
            async_operation_id=w.operation_id,
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "already used for Noop",
    ),
    "audit window backwards": lambda w: (
        "get_audit_logs",
        rr.GetAuditLogsRequest(start_time_inclusive=expiry(1), end_time_exclusive=expiry(0)),
        RPCStatusCode.INVALID_ARGUMENT,
        "start_time_inclusive must be before end_time_exclusive",
    ),
    "unknown owner type": lambda w: (
        "get_api_keys",
        rr.GetApiKeysRequest(owner_type_deprecated="robot"),
        RPCStatusCode.INVALID_ARGUMENT,
        "'robot' is not known",
    ),
}


@pytest.mark.parametrize("case", INVALID)
def test_it_refuses_bad_input_with_a_clear_message(world: World, client_for, case: str) -> None:
    cloud = client_for(world.alice)
    rpc, request, status, fragment = INVALID[case](world)
    before = snapshot()
    cloud.fails(rpc, request, status, fragment)
    assert snapshot() == before


def test_the_eleventh_key_of_a_user_is_refused(world: World, client_for) -> None:
    cloud = client_for(world.bob)  # Bob's first key
    for n in range(MAX_KEYS_PER_USER - 1):
        cloud("create_api_key", _key(display_name=f"key {n}", expiry_time=expiry(3)))
    before = snapshot()
    cloud.fails(
        "create_api_key",
        _key(display_name="one too many", expiry_time=expiry(3)),
        RPCStatusCode.FAILED_PRECONDITION,
        "at most 10 unexpired API keys",
    )
    assert snapshot() == before


LISTS = {
    "get_users": rr.GetUsersRequest,
    "get_service_accounts": rr.GetServiceAccountsRequest,
    "get_api_keys": rr.GetApiKeysRequest,
    "get_audit_logs": rr.GetAuditLogsRequest,
}


@pytest.mark.parametrize("rpc", LISTS)
def test_lists_refuse_a_page_size_over_1000_and_a_bad_page_token(world: World, client_for, rpc: str) -> None:
    cloud = client_for(world.alice)
    request = LISTS[rpc]
    cloud.fails(rpc, request(page_size=1001), RPCStatusCode.INVALID_ARGUMENT, "page_size must be at most 1000")
    cloud.fails(rpc, request(page_size=-1), RPCStatusCode.INVALID_ARGUMENT, "page_size must not be negative")
    cloud.fails(rpc, request(page_token="garbage"), RPCStatusCode.INVALID_ARGUMENT, "page_token is not valid")
    other = "get_users" if rpc != "get_users" else "get_api_keys"
    token = cloud(other, LISTS[other](page_size=1)).next_page_token
    assert token
    cloud.fails(rpc, request(page_token=token), RPCStatusCode.INVALID_ARGUMENT, "page_token is not valid")
    assert len(getattr(cloud(rpc, request(page_size=1000)), _items(rpc))) >= 1


def _items(rpc: str) -> str:
    return {"get_users": "users", "get_service_accounts": "service_account", "get_api_keys": "api_keys"}.get(
        rpc, "logs"
    )
