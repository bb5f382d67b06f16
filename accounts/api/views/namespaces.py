"""Namespaces (Cloud Ops Get/Create/Update/DeleteNamespace). A change answers with its async
operation, PENDING until the engine confirms it (``GET /operations/{id}``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import namespace_serializers as ns
from accounts.api import present
from accounts.api import serializers as s
from accounts.api.base import ERRORS, ApiView, reread, respond
from accounts.api.paging import offset_page
from accounts.models import AsyncOperation
from accounts.principal import Principal
from namespaces.models import Namespace
from namespaces.selectors import namespace_get, namespace_list, namespace_spec
from namespaces.services import do_create_namespace, do_delete_namespace, do_update_namespace
from namespaces.validation import CodecServer, NamespaceSpec

NAMESPACES = ["namespaces"]


def _spec(data: dict[str, Any], base: NamespaceSpec) -> NamespaceSpec:
    """``base`` with what the request sets (validated later, by the service)."""
    changes: dict[str, Any] = {}
    if "accepted_client_ca" in data:
        changes["ca_bundle_pem"] = ns.ca_bundle_text(data["accepted_client_ca"])
    simple = {
        "retention_days": "retention_days",
        "api_key_auth": "api_key_auth",
        "enable_delete_protection": "deletion_protection",
        "tags": "tags",
    }
    for field, name in simple.items():
        if field in data:
            changes[name] = data[field]
    if "certificate_filters" in data:
        changes["cert_filters"] = [dict(f) for f in data["certificate_filters"]]
    if "search_attributes" in data:
        changes["search_attributes"] = [(a["name"], a["type"]) for a in data["search_attributes"]]
    if "codec_server" in data:
        codec = data["codec_server"]
        changes["codec_server"] = CodecServer(
            codec["endpoint"], codec["pass_access_token"], codec["include_cross_origin_credentials"]
        )
    return replace(base, **changes)


def mutation_payload(
    principal: Principal, made: list[Namespace], namespace: str, operation: AsyncOperation
) -> dict[str, Any]:
    """The answer to a namespace change: the namespace as it is now (null if a replayed request's
    namespace is gone) and the change's async operation."""
    found = made[0] if made else reread(lambda: namespace_get(principal=principal, namespace=namespace))
    if found is not None:
        found.refresh_from_db()
    return {
        "namespace": ns.present_namespace(found) if found is not None else None,
        "async_operation": present.async_operation(operation),
    }


class NamespacesView(ApiView):
    @extend_schema(
        operation_id="GetNamespaces",
        tags=NAMESPACES,
        parameters=[ns.NamespacesQuerySerializer],
        responses={200: ns.GetNamespacesResponseSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        data = self.query(ns.NamespacesQuerySerializer)
        rows = namespace_list(principal=self.principal, name=data["name"]).select_related("async_operation")
        page: list[Namespace]
        page, next_token = offset_page(rows, page_size=data["page_size"], page_token=data["page_token"])
        payload = {"namespaces": [ns.present_namespace(row) for row in page], "next_page_token": next_token}
        return respond(ns.GetNamespacesResponseSerializer, payload)

    @extend_schema(
        operation_id="CreateNamespace",
        tags=NAMESPACES,
        request=ns.CreateNamespaceRequestSerializer,
        responses={201: ns.NamespaceMutationResponseSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = self.body(ns.CreateNamespaceRequestSerializer)
        base = NamespaceSpec(api_key_auth=not data.get("accepted_client_ca", "").strip())
        spec = _spec(data, base)
        made: list[Namespace] = []

        def change() -> dict[str, Any]:
            made.append(do_create_namespace(self.principal, name=data["name"], spec=spec))
            return {"namespace": made[0].namespace_id}

        result, operation, _ = self.mutate("CreateNamespace", data, change)
        payload = mutation_payload(self.principal, made, result["namespace"], operation)
        return respond(ns.NamespaceMutationResponseSerializer, payload, 201)


class NamespaceView(ApiView):
    @extend_schema(
        operation_id="GetNamespace",
        tags=NAMESPACES,
        responses={200: ns.GetNamespaceResponseSerializer, **ERRORS},
    )
    def get(self, request: Request, namespace: str) -> Response:
        found = namespace_get(principal=self.principal, namespace=namespace)
        return respond(ns.GetNamespaceResponseSerializer, {"namespace": ns.present_namespace(found)})

    @extend_schema(
        operation_id="UpdateNamespace",
        tags=NAMESPACES,
        request=ns.UpdateNamespaceRequestSerializer,
        responses={200: ns.NamespaceMutationResponseSerializer, **ERRORS},
        description="Change the settings the request names; the others keep their values.",
    )
    def post(self, request: Request, namespace: str) -> Response:
        data = self.body(ns.UpdateNamespaceRequestSerializer)
        made: list[Namespace] = []

        def change() -> dict[str, Any]:
            found = namespace_get(principal=self.principal, namespace=namespace)
            spec = _spec(data, namespace_spec(found))
            made.append(
                do_update_namespace(
                    self.principal, namespace=namespace, spec=spec, resource_version=data["resource_version"]
                )
            )
            return {"namespace": made[0].namespace_id}

        _, operation, _ = self.mutate("UpdateNamespace", data, change, namespace=namespace)
        payload = mutation_payload(self.principal, made, namespace, operation)
        return respond(ns.NamespaceMutationResponseSerializer, payload)

    @extend_schema(
        operation_id="DeleteNamespace",
        tags=NAMESPACES,
        parameters=[s.DeleteQuerySerializer],
        responses={200: s.OperationResponseSerializer, **ERRORS},
        description="Delete the namespace (refused while deletion protection is on).",
    )
    def delete(self, request: Request, namespace: str) -> Response:
        data = self.query(s.DeleteQuerySerializer)

        def change() -> dict[str, Any]:
            found = do_delete_namespace(self.principal, namespace=namespace, resource_version=data["resource_version"])
            return {"namespace": found.namespace_id}

        _, operation, _ = self.mutate("DeleteNamespace", data, change, namespace=namespace)
        return respond(s.OperationResponseSerializer, {"async_operation": present.async_operation(operation)})
