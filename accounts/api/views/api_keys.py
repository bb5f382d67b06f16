"""API keys (Cloud Ops Get/Create/Update/DeleteApiKey). The token is returned by the create call only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import present
from accounts.api import serializers as s
from accounts.api.base import ERRORS, ApiView, reread, respond
from accounts.api.paging import offset_page
from accounts.models import ApiKey, AsyncOperation
from accounts.principal import Principal
from accounts.selectors import api_key_get, api_key_list
from accounts.services.api_keys import do_create_api_key, do_delete_api_key, do_update_api_key

API_KEYS = ["api keys"]


def _mutation(principal: Principal, made: list[ApiKey], key_id: str, operation: AsyncOperation) -> dict[str, Any]:
    key = made[0] if made else reread(lambda: api_key_get(principal=principal, key_id=key_id))
    return {
        "api_key": present.api_key(key) if key is not None else None,
        "async_operation": present.async_operation(operation),
    }


class ApiKeysView(ApiView):
    @extend_schema(
        operation_id="GetApiKeys",
        tags=API_KEYS,
        parameters=[s.ApiKeysQuerySerializer],
        responses={200: s.GetApiKeysResponseSerializer, **ERRORS},
        description="Admins see every key of the account; others their own (and those of service "
        "accounts scoped to namespaces they administer).",
    )
    def get(self, request: Request) -> Response:
        data = self.query(s.ApiKeysQuerySerializer)
        keys = api_key_list(principal=self.principal, owner_id=data["owner_id"])
        owner_type = data.get("owner_type")
        if owner_type == "user":
            keys = keys.filter(owner_membership__isnull=False)
        elif owner_type == "service_account":
            keys = keys.filter(owner_service_account__isnull=False)
        page: list[ApiKey]
        page, next_token = offset_page(keys, page_size=data["page_size"], page_token=data["page_token"])
        payload = {"api_keys": [present.api_key(k) for k in page], "next_page_token": next_token}
        return respond(s.GetApiKeysResponseSerializer, payload)

    @extend_schema(
        operation_id="CreateApiKey",
        tags=API_KEYS,
        request=s.CreateApiKeyRequestSerializer,
        responses={201: s.CreateApiKeyResponseSerializer, **ERRORS},
        description="Create a key for yourself, or (admins, namespace Admins) for a service account. "
        "The token is in this response only; a replay of the request does not return it again.",
    )
    def post(self, request: Request) -> Response:
        data = self.body(s.CreateApiKeyRequestSerializer)
        made: list[ApiKey] = []
        tokens: list[str] = []

        def change() -> dict[str, Any]:
            key, token = do_create_api_key(
                self.principal,
                display_name=data["display_name"],
                description=data["description"],
                expires_at=data["expiry_time"],
                owner_type=data.get("owner_type", ""),
                owner_id=data.get("owner_id", ""),
            )
            made.append(key)
            tokens.append(token)
            return {"key_id": key.key_id}

        result, operation, _ = self.mutate("CreateApiKey", data, change)
        payload = {
            **_mutation(self.principal, made, result["key_id"], operation),
            "token": tokens[0] if tokens else None,
        }
        return respond(s.CreateApiKeyResponseSerializer, payload, 201)


class ApiKeyView(ApiView):
    @extend_schema(operation_id="GetApiKey", tags=API_KEYS, responses={200: s.GetApiKeyResponseSerializer, **ERRORS})
    def get(self, request: Request, key_id: str) -> Response:
        key = api_key_get(principal=self.principal, key_id=key_id)
        return respond(s.GetApiKeyResponseSerializer, {"api_key": present.api_key(key)})

    @extend_schema(
        operation_id="UpdateApiKey",
        tags=API_KEYS,
        request=s.UpdateApiKeyRequestSerializer,
        responses={200: s.ApiKeyMutationResponseSerializer, **ERRORS},
        description="Rename, describe, disable or enable a key. Its expiry cannot change.",
    )
    def post(self, request: Request, key_id: str) -> Response:
        data = self.body(s.UpdateApiKeyRequestSerializer)
        made: list[ApiKey] = []

        def change() -> dict[str, Any]:
            made.append(
                do_update_api_key(
                    self.principal,
                    key_id=key_id,
                    display_name=data.get("display_name"),
                    description=data.get("description"),
                    disabled=data.get("disabled"),
                    expires_at=data.get("expiry_time"),
                    resource_version=data["resource_version"],
                )
            )
            return {"key_id": key_id}

        _, operation, _ = self.mutate("UpdateApiKey", data, change, key_id=key_id)
        return respond(s.ApiKeyMutationResponseSerializer, _mutation(self.principal, made, key_id, operation))

    @extend_schema(
        operation_id="DeleteApiKey",
        tags=API_KEYS,
        parameters=[s.DeleteQuerySerializer],
        responses={200: s.OperationResponseSerializer, **ERRORS},
    )
    def delete(self, request: Request, key_id: str) -> Response:
        data = self.query(s.DeleteQuerySerializer)

        def change() -> dict[str, Any]:
            do_delete_api_key(self.principal, key_id=key_id, resource_version=data["resource_version"])
            return {}

        _, operation, _ = self.mutate("DeleteApiKey", data, change, key_id=key_id)
        return respond(s.OperationResponseSerializer, {"async_operation": present.async_operation(operation)})
