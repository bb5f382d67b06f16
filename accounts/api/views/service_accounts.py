"""Service accounts (Cloud Ops Get/Create/Update/DeleteServiceAccount, SetServiceAccountNamespaceAccess)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import present
from accounts.api import serializers as s
from accounts.api.base import ERRORS, ApiView, reread, respond
from accounts.api.paging import offset_page
from accounts.models import AsyncOperation, Role, ServiceAccount
from accounts.principal import Principal
from accounts.selectors import service_account_get, service_account_list
from accounts.services.service_accounts import (
    do_create_service_account,
    do_delete_service_account,
    do_set_service_account_namespace_access,
    do_update_service_account,
)

SERVICE_ACCOUNTS = ["service accounts"]


def _mutation(
    principal: Principal, made: list[ServiceAccount], service_account_id: str, operation: AsyncOperation
) -> dict[str, Any]:
    sa = (
        made[0]
        if made
        else reread(lambda: service_account_get(principal=principal, service_account_id=service_account_id))
    )
    return {
        "service_account": present.service_account(sa) if sa is not None else None,
        "async_operation": present.async_operation(operation),
    }


class ServiceAccountsView(ApiView):
    @extend_schema(
        operation_id="GetServiceAccounts",
        tags=SERVICE_ACCOUNTS,
        parameters=[s.PageQuerySerializer],
        responses={200: s.GetServiceAccountsResponseSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        data = self.query(s.PageQuerySerializer)
        rows = service_account_list(principal=self.principal).prefetch_related("grants")
        page: list[ServiceAccount]
        page, next_token = offset_page(rows, page_size=data["page_size"], page_token=data["page_token"])
        payload = {"service_accounts": [present.service_account(sa) for sa in page], "next_page_token": next_token}
        return respond(s.GetServiceAccountsResponseSerializer, payload)

    @extend_schema(
        operation_id="CreateServiceAccount",
        tags=SERVICE_ACCOUNTS,
        request=s.CreateServiceAccountRequestSerializer,
        responses={201: s.ServiceAccountMutationResponseSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = self.body(s.CreateServiceAccountRequestSerializer)
        scoped = data["namespace_scoped_access"] or {}
        made: list[ServiceAccount] = []

        def change() -> dict[str, Any]:
            made.append(
                do_create_service_account(
                    self.principal,
                    name=data["name"],
                    description=data["description"],
                    role=Role(data["role"]),
                    namespace_accesses=data["namespace_accesses"],
                    namespace_scope=scoped.get("namespace", ""),
                    scoped_permission=scoped.get("permission", ""),
                )
            )
            return {"service_account_id": made[0].public_id}

        result, operation, _ = self.mutate("CreateServiceAccount", data, change)
        payload = _mutation(self.principal, made, result["service_account_id"], operation)
        return respond(s.ServiceAccountMutationResponseSerializer, payload, 201)


class ServiceAccountView(ApiView):
    @extend_schema(
        operation_id="GetServiceAccount",
        tags=SERVICE_ACCOUNTS,
        responses={200: s.GetServiceAccountResponseSerializer, **ERRORS},
    )
    def get(self, request: Request, service_account_id: str) -> Response:
        sa = service_account_get(principal=self.principal, service_account_id=service_account_id)
        return respond(s.GetServiceAccountResponseSerializer, {"service_account": present.service_account(sa)})

    @extend_schema(
        operation_id="UpdateServiceAccount",
        tags=SERVICE_ACCOUNTS,
        request=s.UpdateServiceAccountRequestSerializer,
        responses={200: s.ServiceAccountMutationResponseSerializer, **ERRORS},
    )
    def post(self, request: Request, service_account_id: str) -> Response:
        data = self.body(s.UpdateServiceAccountRequestSerializer)
        made: list[ServiceAccount] = []

        def change() -> dict[str, Any]:
            role = data.get("role")
            made.append(
                do_update_service_account(
                    self.principal,
                    service_account_id=service_account_id,
                    name=data.get("name"),
                    description=data.get("description"),
                    role=Role(role) if role is not None else None,
                    namespace_accesses=data.get("namespace_accesses"),
                    resource_version=data["resource_version"],
                )
            )
            return {"service_account_id": service_account_id}

        _, operation, _ = self.mutate("UpdateServiceAccount", data, change, service_account_id=service_account_id)
        payload = _mutation(self.principal, made, service_account_id, operation)
        return respond(s.ServiceAccountMutationResponseSerializer, payload)

    @extend_schema(
        operation_id="DeleteServiceAccount",
        tags=SERVICE_ACCOUNTS,
        parameters=[s.DeleteQuerySerializer],
        responses={200: s.OperationResponseSerializer, **ERRORS},
        description="Delete a service account and all of its API keys.",
    )
    def delete(self, request: Request, service_account_id: str) -> Response:
        data = self.query(s.DeleteQuerySerializer)

        def change() -> dict[str, Any]:
            do_delete_service_account(
                self.principal, service_account_id=service_account_id, resource_version=data["resource_version"]
            )
            return {}

        _, operation, _ = self.mutate("DeleteServiceAccount", data, change, service_account_id=service_account_id)
        return respond(s.OperationResponseSerializer, {"async_operation": present.async_operation(operation)})


class ServiceAccountNamespaceAccessView(ApiView):
    @extend_schema(
        operation_id="SetServiceAccountNamespaceAccess",
        tags=SERVICE_ACCOUNTS,
        request=s.SetNamespaceAccessRequestSerializer,
        responses={200: s.ServiceAccountMutationResponseSerializer, **ERRORS},
    )
    def post(self, request: Request, service_account_id: str) -> Response:
        data = self.body(s.SetNamespaceAccessRequestSerializer)
        made: list[ServiceAccount] = []

        def change() -> dict[str, Any]:
            made.append(
                do_set_service_account_namespace_access(
                    self.principal,
                    service_account_id=service_account_id,
                    namespace=data["namespace"],
                    permission=data["permission"],
                    resource_version=data["resource_version"],
                )
            )
            return {"service_account_id": service_account_id}

        _, operation, _ = self.mutate(
            "SetServiceAccountNamespaceAccess", data, change, service_account_id=service_account_id
        )
        payload = _mutation(self.principal, made, service_account_id, operation)
        return respond(s.ServiceAccountMutationResponseSerializer, payload)
