"""API keys of users and service accounts. The token is in ``CreateApiKeyResponse`` once: a
repeat of the request (same ``async_operation_id``) gets the key id and an empty token."""

from __future__ import annotations

from temporalio.api.cloud.cloudservice.v1 import request_response_pb2 as rr

from accounts.errors import InvalidInput
from accounts.principal import Principal
from accounts.selectors import api_key_get, api_key_list
from accounts.services.api_keys import do_create_api_key, do_delete_api_key, do_update_api_key
from cloudapi.convert import OWNER_TYPES, api_key_to_proto, datetime_of, owner_type_of
from cloudapi.handlers.common import mutate, required
from cloudapi.paging import keyset_page, page_size_of

PAGE_KIND = "api-keys"


def get_api_keys(principal: Principal, request: rr.GetApiKeysRequest) -> rr.GetApiKeysResponse:
    """The keys the caller may see (admins: all of the account's), filtered by owner."""
    size = page_size_of(request.page_size)
    owner_type = owner_type_of(request.owner_type, request.owner_type_deprecated, "owner_type")
    keys = api_key_list(principal=principal, owner_id=request.owner_id.strip())
    if owner_type == "user":
        keys = keys.filter(owner_membership__isnull=False)
    elif owner_type == "service_account":
        keys = keys.filter(owner_service_account__isnull=False)
    page, token = keyset_page(keys, kind=PAGE_KIND, key="key_id", page_size=size, page_token=request.page_token)
    return rr.GetApiKeysResponse(api_keys=[api_key_to_proto(key) for key in page], next_page_token=token)


def get_api_key(principal: Principal, request: rr.GetApiKeyRequest) -> rr.GetApiKeyResponse:
    key = api_key_get(principal=principal, key_id=required(request.key_id, "key_id"))
    return rr.GetApiKeyResponse(api_key=api_key_to_proto(key))


def create_api_key(principal: Principal, request: rr.CreateApiKeyRequest) -> rr.CreateApiKeyResponse:
    """A key for ``spec.owner_id`` (or, with no owner given, for the caller)."""
    spec = request.spec
    owner_type = owner_type_of(spec.owner_type, spec.owner_type_deprecated, "spec.owner_type")
    owner_id = spec.owner_id.strip()
    if owner_id and not owner_type:
        raise InvalidInput("spec.owner_type is required with spec.owner_id")
    if owner_type and not owner_id:
        raise InvalidInput("spec.owner_id is required with spec.owner_type")
    if spec.disabled:
        raise InvalidInput("spec.disabled: a new API key cannot start disabled; create it, then disable it")
    expires_at = datetime_of(spec, "expiry_time")
    tokens: list[str] = []

    def change() -> dict[str, str]:
        key, token = do_create_api_key(
            principal,
            display_name=spec.display_name,
            description=spec.description,
            expires_at=expires_at,
            owner_type=owner_type,
            owner_id=owner_id,
        )
        tokens.append(token)
        return {"key_id": key.key_id}

    result, operation, _ = mutate(principal, request, "CreateApiKey", change)
    return rr.CreateApiKeyResponse(key_id=result["key_id"], token="".join(tokens), async_operation=operation)


def update_api_key(principal: Principal, request: rr.UpdateApiKeyRequest) -> rr.UpdateApiKeyResponse:
    """Replace display name, description and ``disabled`` with the spec's; owner and expiry stay."""
    spec = request.spec
    owner_type = owner_type_of(spec.owner_type, spec.owner_type_deprecated, "spec.owner_type")
    expires_at = datetime_of(spec, "expiry_time")

    def change() -> dict[str, str]:
        key = api_key_get(principal=principal, key_id=required(request.key_id, "key_id"))
        current = api_key_to_proto(key).spec
        owner_id = spec.owner_id.strip()
        if (owner_id and owner_id != current.owner_id) or (
            owner_type and OWNER_TYPES[owner_type] != current.owner_type
        ):
            raise InvalidInput("spec.owner_id: an API key's owner cannot change; create a key for the new owner")
        do_update_api_key(
            principal,
            key_id=key.key_id,
            display_name=spec.display_name,
            description=spec.description,
            disabled=spec.disabled,
            expires_at=expires_at,
            resource_version=request.resource_version,
        )
        return {"key_id": key.key_id}

    _, operation, _ = mutate(principal, request, "UpdateApiKey", change)
    return rr.UpdateApiKeyResponse(async_operation=operation)


def delete_api_key(principal: Principal, request: rr.DeleteApiKeyRequest) -> rr.DeleteApiKeyResponse:
    def change() -> dict[str, str]:
        key_id = required(request.key_id, "key_id")
        do_delete_api_key(principal, key_id=key_id, resource_version=request.resource_version)
        return {"key_id": key_id}

    _, operation, _ = mutate(principal, request, "DeleteApiKey", change)
    return rr.DeleteApiKeyResponse(async_operation=operation)
