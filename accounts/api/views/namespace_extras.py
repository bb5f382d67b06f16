"""Regions, renaming a custom search attribute, and who holds access to a namespace (Cloud Ops
GetRegions/GetRegion, RenameCustomSearchAttribute, GetUserNamespaceAssignments and
GetServiceAccountNamespaceAssignments)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import namespace_serializers as ns
from accounts.api import serializers as s
from accounts.api.base import ERRORS, ApiView, respond
from accounts.api.paging import offset_page
from accounts.api.views.namespaces import NAMESPACES, mutation_payload
from namespaces.models import Namespace
from namespaces.regions import region_get, region_list
from namespaces.selectors import namespace_service_account_assignments, namespace_user_assignments
from namespaces.services import do_rename_search_attribute

T = TypeVar("T")

REGIONS = ["regions"]


class RegionsView(ApiView):
    @extend_schema(
        operation_id="GetRegions",
        tags=REGIONS,
        responses={200: ns.GetRegionsResponseSerializer, **ERRORS},
        description="The regions namespaces can be created in: Sundial has one, its engine.",
    )
    def get(self, request: Request) -> Response:
        return respond(ns.GetRegionsResponseSerializer, {"regions": [ns.present_region(r) for r in region_list()]})


class RegionView(ApiView):
    @extend_schema(
        operation_id="GetRegion",
        tags=REGIONS,
        responses={200: ns.GetRegionResponseSerializer, **ERRORS},
    )
    def get(self, request: Request, region: str) -> Response:
        return respond(ns.GetRegionResponseSerializer, {"region": ns.present_region(region_get(region))})


class RenameSearchAttributeView(ApiView):
    @extend_schema(
        operation_id="RenameCustomSearchAttribute",
        tags=NAMESPACES,
        request=ns.RenameCustomSearchAttributeRequestSerializer,
        responses={200: ns.NamespaceMutationResponseSerializer, **ERRORS},
        description=(
            "Rename a custom search attribute (Namespace Admins; the namespace must be active). The namespace"
            " shows the new name at once; runs that have the attribute are found by it once the operation has"
            " finished."
        ),
    )
    def post(self, request: Request, namespace: str) -> Response:
        data = self.body(ns.RenameCustomSearchAttributeRequestSerializer)
        made: list[Namespace] = []

        def change() -> dict[str, Any]:
            made.append(
                do_rename_search_attribute(
                    self.principal,
                    namespace=namespace,
                    old_name=data["existing_custom_search_attribute_name"],
                    new_name=data["new_custom_search_attribute_name"],
                    resource_version=data["resource_version"],
                )
            )
            return {"namespace": made[0].namespace_id}

        _, operation, _ = self.mutate("RenameCustomSearchAttribute", data, change, namespace=namespace)
        payload = mutation_payload(self.principal, made, namespace, operation)
        return respond(ns.NamespaceMutationResponseSerializer, payload)


class UserAssignmentsView(ApiView):
    @extend_schema(
        operation_id="GetUserNamespaceAssignments",
        tags=NAMESPACES,
        parameters=[s.PageQuerySerializer],
        responses={200: ns.GetUserNamespaceAssignmentsResponseSerializer, **ERRORS},
        description=(
            "The members with access to the namespace, by ascending id: those granted a permission on it,"
            " and Account Owners and Global Admins (Admin of every namespace, inherited_access)."
        ),
    )
    def get(self, request: Request, namespace: str) -> Response:
        rows = namespace_user_assignments(principal=self.principal, namespace=namespace)
        payload = _assignments_page(self, rows, "users", ns.present_user_assignment)
        return respond(ns.GetUserNamespaceAssignmentsResponseSerializer, payload)


class ServiceAccountAssignmentsView(ApiView):
    @extend_schema(
        operation_id="GetServiceAccountNamespaceAssignments",
        tags=NAMESPACES,
        parameters=[s.PageQuerySerializer],
        responses={200: ns.GetServiceAccountNamespaceAssignmentsResponseSerializer, **ERRORS},
        description=(
            "The service accounts with access to the namespace, by ascending id: those granted a permission"
            " on it, and Global Admin ones (inherited_access)."
        ),
    )
    def get(self, request: Request, namespace: str) -> Response:
        rows = namespace_service_account_assignments(principal=self.principal, namespace=namespace)
        payload = _assignments_page(self, rows, "service_accounts", ns.present_service_account_assignment)
        return respond(ns.GetServiceAccountNamespaceAssignmentsResponseSerializer, payload)


def _assignments_page(view: ApiView, rows: Sequence[T], key: str, present: Callable[[T], Any]) -> dict[str, Any]:
    """One page of assignment rows (the request's page size and token), presented under ``key``."""
    data = view.query(s.PageQuerySerializer)
    page, next_token = offset_page(rows, page_size=data["page_size"], page_token=data["page_token"])
    return {key: [present(row) for row in page], "next_page_token": next_token}
