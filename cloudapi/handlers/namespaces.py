"""Namespaces, the one region, and who holds access to a namespace.

Create, update and delete answer with the PENDING async operation of the change; the
provisioning task finishes it (FULFILLED once the engine confirms, FAILED if it refuses).
Requests may name a namespace by its id (``<name>.<account id>``) or by its name.
"""

from __future__ import annotations

from dataclasses import replace

from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr
from temporalio.api.cloud.identity.v1 import message_pb2 as identity_pb

from accounts.errors import InvalidInput
from accounts.models import NamespacePermission
from accounts.principal import Principal
from cloudapi.convert import PERMISSION_TO_PROTO, namespace_spec_of, namespace_to_proto, region_proto
from cloudapi.handlers.common import mutate, required
from cloudapi.paging import cut, decode_token, keyset_page, page_size_of
from namespaces.regions import region_get, region_list
from namespaces.selectors import (
    namespace_get,
    namespace_list,
    namespace_service_account_assignments,
    namespace_spec,
    namespace_user_assignments,
)
from namespaces.services import (
    do_create_namespace,
    do_delete_namespace,
    do_rename_search_attribute,
    do_update_namespace,
)

PAGE_KIND = "namespaces"
USER_ASSIGNMENTS_KIND = "user-namespace-assignments"
SA_ASSIGNMENTS_KIND = "service-account-namespace-assignments"


def get_namespaces(principal: Principal, request: rr.GetNamespacesRequest) -> rr.GetNamespacesResponse:
    size = page_size_of(request.page_size)
    rows = namespace_list(principal=principal, name=request.name).select_related("async_operation")
    page, token = keyset_page(rows, kind=PAGE_KIND, key="name", page_size=size, page_token=request.page_token)
    return rr.GetNamespacesResponse(namespaces=[namespace_to_proto(ns) for ns in page], next_page_token=token)


def get_namespace(principal: Principal, request: rr.GetNamespaceRequest) -> rr.GetNamespaceResponse:
    found = namespace_get(principal=principal, namespace=required(request.namespace, "namespace"))
    return rr.GetNamespaceResponse(namespace=namespace_to_proto(found))


def create_namespace(principal: Principal, request: rr.CreateNamespaceRequest) -> rr.CreateNamespaceResponse:
    spec = namespace_spec_of(request.spec, request.tags)
    name = request.spec.name

    def change() -> dict[str, str]:
        namespace = do_create_namespace(principal, name=name, spec=spec)
        return {"namespace": namespace.namespace_id}

    result, operation, _ = mutate(principal, request, "CreateNamespace", change)
    return rr.CreateNamespaceResponse(namespace=result["namespace"], async_operation=operation)


def update_namespace(principal: Principal, request: rr.UpdateNamespaceRequest) -> rr.UpdateNamespaceResponse:
    """Replace the namespace's settings with the spec's; its name cannot change and its tags are
    kept (Temporal Cloud changes them with ``UpdateNamespaceTags``)."""
    spec = namespace_spec_of(request.spec, {})
    namespace = required(request.namespace, "namespace")

    def change() -> dict[str, str]:
        found = namespace_get(principal=principal, namespace=namespace)
        if request.spec.name and request.spec.name != found.name:
            raise InvalidInput(f"spec.name: a namespace cannot be renamed (it is {found.name!r})")
        updated = do_update_namespace(
            principal,
            namespace=namespace,
            spec=replace(spec, tags=namespace_spec(found).tags),
            resource_version=request.resource_version,
        )
        return {"namespace": updated.namespace_id}

    _, operation, _ = mutate(principal, request, "UpdateNamespace", change)
    return rr.UpdateNamespaceResponse(async_operation=operation)


def delete_namespace(principal: Principal, request: rr.DeleteNamespaceRequest) -> rr.DeleteNamespaceResponse:
    namespace = required(request.namespace, "namespace")

    def change() -> dict[str, str]:
        deleted = do_delete_namespace(principal, namespace=namespace, resource_version=request.resource_version)
        return {"namespace": deleted.namespace_id}

    _, operation, _ = mutate(principal, request, "DeleteNamespace", change)
    return rr.DeleteNamespaceResponse(async_operation=operation)


def rename_custom_search_attribute(
    principal: Principal, request: rr.RenameCustomSearchAttributeRequest
) -> rr.RenameCustomSearchAttributeResponse:
    """Rename a custom search attribute; runs that have it are found by the new name once the
    operation has finished (``namespaces.services.do_rename_search_attribute``)."""
    namespace = required(request.namespace, "namespace")
    old = required(request.existing_custom_search_attribute_name, "existing_custom_search_attribute_name")
    new = required(request.new_custom_search_attribute_name, "new_custom_search_attribute_name")

    def change() -> dict[str, str]:
        renamed = do_rename_search_attribute(
            principal, namespace=namespace, old_name=old, new_name=new, resource_version=request.resource_version
        )
        return {"namespace": renamed.namespace_id}

    _, operation, _ = mutate(principal, request, "RenameCustomSearchAttribute", change)
    return rr.RenameCustomSearchAttributeResponse(async_operation=operation)


def get_regions(principal: Principal, request: rr.GetRegionsRequest) -> rr.GetRegionsResponse:
    return rr.GetRegionsResponse(regions=[region_proto(region) for region in region_list()])


def get_region(principal: Principal, request: rr.GetRegionRequest) -> rr.GetRegionResponse:
    return rr.GetRegionResponse(region=region_proto(region_get(required(request.region, "region"))))


def _access(permission: NamespacePermission) -> identity_pb.NamespaceAccess:
    return identity_pb.NamespaceAccess(permission=PERMISSION_TO_PROTO[permission], permission_deprecated=permission)


def get_user_namespace_assignments(
    principal: Principal, request: rr.GetUserNamespaceAssignmentsRequest
) -> rr.GetUserNamespaceAssignmentsResponse:
    """Everyone with access to the namespace: its grants, and Owners and Global Admins (who
    administer every namespace: ``inherited_access``), by ascending user id."""
    size = page_size_of(request.page_size)
    namespace = required(request.namespace, "namespace")
    after = decode_token(USER_ASSIGNMENTS_KIND, request.page_token)
    found = namespace_user_assignments(principal=principal, namespace=namespace, after=after, limit=size + 1)
    rows = [
        identity_pb.UserNamespaceAssignment(
            id=row.id,
            email=row.email,
            namespace_access=_access(row.permission),
            inherited_access=row.inherited,
            resource_version=row.resource_version,
        )
        for row in found
    ]
    page, token = cut(rows, kind=USER_ASSIGNMENTS_KIND, page_size=size, key_of=lambda row: row.id)
    return rr.GetUserNamespaceAssignmentsResponse(users=page, next_page_token=token)


def get_service_account_namespace_assignments(
    principal: Principal, request: rr.GetServiceAccountNamespaceAssignmentsRequest
) -> rr.GetServiceAccountNamespaceAssignmentsResponse:
    """Service accounts with access to the namespace (Global Admin ones by inheritance)."""
    size = page_size_of(request.page_size)
    namespace = required(request.namespace, "namespace")
    after = decode_token(SA_ASSIGNMENTS_KIND, request.page_token)
    found = namespace_service_account_assignments(principal=principal, namespace=namespace, after=after, limit=size + 1)
    rows = [
        identity_pb.ServiceAccountNamespaceAssignment(
            id=row.id,
            name=row.name,
            namespace_access=_access(row.permission),
            inherited_access=row.inherited,
            resource_version=row.resource_version,
        )
        for row in found
    ]
    page, token = cut(rows, kind=SA_ASSIGNMENTS_KIND, page_size=size, key_of=lambda row: row.id)
    return rr.GetServiceAccountNamespaceAssignmentsResponse(service_accounts=page, next_page_token=token)
