"""Service accounts: account-wide (a role plus namespace accesses) or namespace-scoped
(``namespace_scoped_access``: role Read-Only and one permission on one namespace)."""

from __future__ import annotations

from typing import Any

from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.identity.v1 import message_pb2 as identity_pb

from accounts.errors import InvalidInput
from accounts.models import NamespacePermission, Role
from accounts.principal import Principal
from accounts.selectors import service_account_get, service_account_list
from accounts.services.common import namespace_name
from accounts.services.service_accounts import (
    do_create_service_account,
    do_delete_service_account,
    do_set_service_account_namespace_access,
    do_update_service_account,
)
from cloudapi.convert import PERMISSION_NAMES, namespace_accesses_of, permission_of, role_of, service_account_to_proto
from cloudapi.handlers.common import mutate, required
from cloudapi.paging import keyset_page, page_size_of

PAGE_KIND = "service-accounts"


def _names_role(access: identity_pb.AccountAccess) -> bool:
    return access.role != identity_pb.AccountAccess.ROLE_UNSPECIFIED or bool(access.role_deprecated)


def _scoped_permission(scoped: identity_pb.NamespaceScopedAccess) -> NamespacePermission:
    field = "spec.namespace_scoped_access"
    required(scoped.namespace, f"{field}.namespace")
    permission = permission_of(scoped.access, f"{field}.access")
    if permission is None:
        raise InvalidInput(f"{field}.access.permission is required (one of {PERMISSION_NAMES})")
    return permission


def _spec_arguments(spec: identity_pb.ServiceAccountSpec) -> dict[str, Any]:
    """Keyword arguments of ``do_create_service_account`` for a spec."""
    accesses = namespace_accesses_of(spec.access, "spec.access")
    account_access = spec.access.account_access
    if spec.HasField("namespace_scoped_access"):
        scoped = spec.namespace_scoped_access
        return {
            "role": role_of(account_access, "spec.access.account_access")
            if _names_role(account_access)
            else Role.READ_ONLY,
            "namespace_accesses": accesses,
            "namespace_scope": scoped.namespace,
            "scoped_permission": _scoped_permission(scoped).value,
        }
    return {"role": role_of(account_access, "spec.access.account_access"), "namespace_accesses": accesses}


def get_service_accounts(principal: Principal, request: rr.GetServiceAccountsRequest) -> rr.GetServiceAccountsResponse:
    size = page_size_of(request.page_size)
    rows = service_account_list(principal=principal).prefetch_related("grants")
    page, token = keyset_page(rows, kind=PAGE_KIND, key="public_id", page_size=size, page_token=request.page_token)
    account_id = principal.account.account_id
    return rr.GetServiceAccountsResponse(
        service_account=[service_account_to_proto(sa, account_id) for sa in page], next_page_token=token
    )


def get_service_account(principal: Principal, request: rr.GetServiceAccountRequest) -> rr.GetServiceAccountResponse:
    sa = service_account_get(
        principal=principal, service_account_id=required(request.service_account_id, "service_account_id")
    )
    return rr.GetServiceAccountResponse(service_account=service_account_to_proto(sa, principal.account.account_id))


def create_service_account(
    principal: Principal, request: rr.CreateServiceAccountRequest
) -> rr.CreateServiceAccountResponse:
    spec = request.spec
    arguments = _spec_arguments(spec)

    def change() -> dict[str, str]:
        sa = do_create_service_account(principal, name=spec.name, description=spec.description, **arguments)
        return {"service_account_id": sa.public_id}

    result, operation, _ = mutate(principal, request, "CreateServiceAccount", change)
    return rr.CreateServiceAccountResponse(service_account_id=result["service_account_id"], async_operation=operation)


def update_service_account(
    principal: Principal, request: rr.UpdateServiceAccountRequest
) -> rr.UpdateServiceAccountResponse:
    """Replace name, description, role and namespace accesses with the spec's. Whether a service
    account is namespace-scoped, and on which namespace, cannot change."""
    spec = request.spec
    scoped_spec = spec.HasField("namespace_scoped_access")
    permission = _scoped_permission(spec.namespace_scoped_access) if scoped_spec else None
    account_access = spec.access.account_access
    role = (
        role_of(account_access, "spec.access.account_access")
        if _names_role(account_access) or not scoped_spec
        else None
    )
    accesses = namespace_accesses_of(spec.access, "spec.access")

    def change() -> dict[str, str]:
        sa = service_account_get(
            principal=principal, service_account_id=required(request.service_account_id, "service_account_id")
        )
        namespace_accesses = accesses
        if sa.namespace_scope:
            if permission is None:
                raise InvalidInput("spec.namespace_scoped_access is required: this service account is namespace-scoped")
            scope = namespace_name(principal.account.account_id, spec.namespace_scoped_access.namespace)
            if scope != sa.namespace_scope or accesses:
                raise InvalidInput(f"this service account is scoped to the namespace {sa.namespace_scope!r} only")
            namespace_accesses = {scope: permission.value}
        elif permission is not None:
            raise InvalidInput("an account-wide service account cannot become namespace-scoped; create a new one")
        do_update_service_account(
            principal,
            service_account_id=sa.public_id,
            name=spec.name,
            description=spec.description,
            role=role,
            namespace_accesses=namespace_accesses,
            resource_version=request.resource_version,
        )
        return {"service_account_id": sa.public_id}

    _, operation, _ = mutate(principal, request, "UpdateServiceAccount", change)
    return rr.UpdateServiceAccountResponse(async_operation=operation)


def delete_service_account(
    principal: Principal, request: rr.DeleteServiceAccountRequest
) -> rr.DeleteServiceAccountResponse:
    """Delete a service account and all of its API keys."""

    def change() -> dict[str, str]:
        service_account_id = required(request.service_account_id, "service_account_id")
        do_delete_service_account(
            principal, service_account_id=service_account_id, resource_version=request.resource_version
        )
        return {"service_account_id": service_account_id}

    _, operation, _ = mutate(principal, request, "DeleteServiceAccount", change)
    return rr.DeleteServiceAccountResponse(async_operation=operation)


def set_service_account_namespace_access(
    principal: Principal, request: rr.SetServiceAccountNamespaceAccessRequest
) -> rr.SetServiceAccountNamespaceAccessResponse:
    """Grant one namespace permission to a service account, or with PERMISSION_UNSPECIFIED take it away."""
    permission = permission_of(request.access, "access")

    def change() -> dict[str, str]:
        service_account_id = required(request.service_account_id, "service_account_id")
        do_set_service_account_namespace_access(
            principal,
            service_account_id=service_account_id,
            namespace=required(request.namespace, "namespace"),
            permission=permission.value if permission is not None else None,
            resource_version=request.resource_version,
        )
        return {"service_account_id": service_account_id}

    _, operation, _ = mutate(principal, request, "SetServiceAccountNamespaceAccess", change)
    return rr.SetServiceAccountNamespaceAccessResponse(async_operation=operation)
