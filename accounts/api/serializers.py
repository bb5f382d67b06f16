"""Request and response bodies of the REST API, named after the Cloud Ops API's messages.

Request serializers check shapes and types only; every business rule (who may, limits, e-mail
and namespace syntax, versions) is the services'. Response serializers describe the dicts of
``present.py`` for the OpenAPI schema and render them.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.api.fields import (
    Rfc3339Field,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
)
from accounts.api.paging import MAX_PAGE_SIZE
from accounts.models import NamespacePermission, OperationState, Role
from accounts.operations import MAX_OPERATION_ID_LENGTH

OWNER_TYPES = ("user", "service_account")


def _role(**kwargs: Any) -> StrictChoiceField:
    return StrictChoiceField(choices=Role.choices, **kwargs)


def _permission(**kwargs: Any) -> StrictChoiceField:
    return StrictChoiceField(choices=NamespacePermission.choices, **kwargs)


def _accesses(**kwargs: Any) -> serializers.DictField:
    return serializers.DictField(
        child=_permission(),
        help_text="namespace name (or namespace id `name.<account id>`) → permission",
        **kwargs,
    )


# ---- requests -------------------------------------------------------------------------------


class MutationRequestSerializer(serializers.Serializer[Any]):
    async_operation_id = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_OPERATION_ID_LENGTH,
        help_text="Idempotency key: a request repeating it gets the first request's outcome.",
    )


class VersionedMutationRequestSerializer(MutationRequestSerializer):
    resource_version = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="The resource_version last read; required, and a stale one is refused (409).",
    )


class UpdateAccountRequestSerializer(VersionedMutationRequestSerializer):
    name = StrictCharField(required=False, allow_blank=True)
    api_key_creation_enabled = StrictBooleanField(required=False)
    audit_retention_days = StrictIntegerField(required=False)


class TransferOwnershipRequestSerializer(MutationRequestSerializer):
    user_id = StrictCharField(help_text="The member who becomes Account Owner.")
    keep_role = StrictChoiceField(
        choices=[(value, label) for value, label in Role.choices if value != Role.OWNER],
        required=False,
        default=Role.GLOBAL_ADMIN.value,
        help_text="The caller's role afterwards.",
    )


class DeleteQuerySerializer(serializers.Serializer[Any]):
    """DELETE takes its fields in the query string, as the Cloud Ops HTTP API does."""

    resource_version = serializers.CharField(required=False, allow_blank=True, default="")
    async_operation_id = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_OPERATION_ID_LENGTH
    )


class DeleteAccountQuerySerializer(DeleteQuerySerializer):
    confirm_account_id = serializers.CharField(required=False, allow_blank=True, default="")


class CreateUserRequestSerializer(MutationRequestSerializer):
    email = StrictCharField(allow_blank=True)
    role = _role()
    namespace_accesses = _accesses(required=False, default=dict)


class UpdateUserRequestSerializer(VersionedMutationRequestSerializer):
    role = _role(required=False)
    namespace_accesses = _accesses(required=False)


class SetNamespaceAccessRequestSerializer(VersionedMutationRequestSerializer):
    namespace = StrictCharField(allow_blank=True)
    permission = _permission(allow_null=True, help_text="null removes the access")


class NamespaceScopedAccessSerializer(serializers.Serializer[Any]):
    namespace = StrictCharField()
    permission = _permission()


class CreateServiceAccountRequestSerializer(MutationRequestSerializer):
    name = StrictCharField(allow_blank=True)
    description = StrictCharField(required=False, allow_blank=True, default="")
    role = _role(required=False, default=Role.READ_ONLY.value)
    namespace_accesses = _accesses(required=False, default=dict)
    namespace_scoped_access = NamespaceScopedAccessSerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text="Makes a namespace-scoped service account: role read_only and this one permission.",
    )


class UpdateServiceAccountRequestSerializer(VersionedMutationRequestSerializer):
    name = StrictCharField(required=False, allow_blank=True)
    description = StrictCharField(required=False, allow_blank=True)
    role = _role(required=False)
    namespace_accesses = _accesses(required=False)


class CreateApiKeyRequestSerializer(MutationRequestSerializer):
    display_name = StrictCharField(allow_blank=True)
    description = StrictCharField(required=False, allow_blank=True, default="")
    expiry_time = Rfc3339Field(help_text="Required; at most 2 years from now; cannot be changed later.")
    owner_type = StrictChoiceField(choices=OWNER_TYPES, required=False, help_text="Default: the caller.")
    owner_id = StrictCharField(required=False, help_text="Default: the caller.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("owner_type" in attrs) != ("owner_id" in attrs):
            raise serializers.ValidationError("give owner_type and owner_id together (or neither for your own key)")
        return attrs


class UpdateApiKeyRequestSerializer(VersionedMutationRequestSerializer):
    display_name = StrictCharField(required=False, allow_blank=True)
    description = StrictCharField(required=False, allow_blank=True)
    disabled = StrictBooleanField(required=False)
    expiry_time = Rfc3339Field(required=False, help_text="Immutable: may only repeat the current expiry.")


class EmptyMutationRequestSerializer(MutationRequestSerializer):
    pass


class PageQuerySerializer(serializers.Serializer[Any]):
    page_size = serializers.IntegerField(
        required=False, default=0, min_value=0, max_value=MAX_PAGE_SIZE, help_text="0 or absent: 100."
    )
    page_token = serializers.CharField(required=False, allow_blank=True, default="")


class UsersQuerySerializer(PageQuerySerializer):
    email = serializers.CharField(required=False, allow_blank=True, default="")
    namespace = serializers.CharField(required=False, allow_blank=True, default="")


class ApiKeysQuerySerializer(PageQuerySerializer):
    owner_id = serializers.CharField(required=False, allow_blank=True, default="")
    owner_type = serializers.ChoiceField(choices=OWNER_TYPES, required=False)


class AuditLogsQuerySerializer(PageQuerySerializer):
    start_time_inclusive = Rfc3339Field(required=False, help_text="Default: 30 days before the end.")
    end_time_exclusive = Rfc3339Field(required=False, help_text="Default: now (no end).")
    operation = serializers.CharField(required=False, allow_blank=True, default="", help_text="e.g. CreateAPIKey")
    principal = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="A user or service account id, an API key id, or part of an e-mail or name.",
    )
    status = serializers.ChoiceField(choices=["OK", "ERROR"], required=False, allow_blank=True, default="")


# ---- responses ------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The gRPC status name, e.g. not_found, failed_precondition.")
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorDetailSerializer()


class _Resource(serializers.Serializer[Any]):
    id = serializers.CharField()
    resource_version = serializers.CharField()
    created_time = Rfc3339Field()
    last_modified_time = Rfc3339Field()


class AccountSerializer(_Resource):
    name = serializers.CharField()
    api_key_creation_enabled = serializers.BooleanField()
    audit_retention_days = serializers.IntegerField()
    state = serializers.CharField()


class UserInvitationSerializer(serializers.Serializer[Any]):
    created_time = Rfc3339Field()
    expired_time = Rfc3339Field()


class UserSerializer(_Resource):
    email = serializers.CharField()
    role = _role()
    namespace_accesses = _accesses()
    state = serializers.ChoiceField(choices=["active", "pending", "expired"])
    invitation = UserInvitationSerializer(allow_null=True, help_text="Set while the user has not accepted.")


class ServiceAccountSerializer(_Resource):
    name = serializers.CharField()
    description = serializers.CharField()
    role = _role()
    namespace_accesses = _accesses()
    namespace_scoped_access = NamespaceScopedAccessSerializer(allow_null=True)
    state = serializers.CharField()


class ApiKeySerializer(_Resource):
    owner_type = serializers.ChoiceField(choices=OWNER_TYPES)
    owner_id = serializers.CharField()
    display_name = serializers.CharField()
    description = serializers.CharField()
    expiry_time = Rfc3339Field()
    disabled = serializers.BooleanField()
    state = serializers.ChoiceField(choices=["active", "disabled", "expired"])
    last_used_time = Rfc3339Field(allow_null=True)


class AsyncOperationSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    state = serializers.ChoiceField(choices=OperationState.choices)
    check_duration = serializers.CharField()
    operation_type = serializers.CharField()
    operation_input = serializers.JSONField(help_text="The request, secrets redacted.")
    failure_reason = serializers.CharField()
    started_time = Rfc3339Field()
    finished_time = Rfc3339Field(allow_null=True)


class AuditPrincipalSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="user, service_account or system")
    id = serializers.CharField()
    name = serializers.CharField()
    api_key_id = serializers.CharField()


class AuditTargetSerializer(serializers.Serializer[Any]):
    type = serializers.CharField()
    id = serializers.CharField()


class AuditLogSerializer(serializers.Serializer[Any]):
    log_id = serializers.CharField()
    seq = serializers.IntegerField()
    emit_time = Rfc3339Field()
    operation = serializers.CharField()
    status = serializers.CharField(help_text="OK or ERROR (a refused change)")
    error = serializers.CharField()
    principal = AuditPrincipalSerializer()
    target = AuditTargetSerializer()
    details = serializers.JSONField()
    client_ip = serializers.CharField()
    async_operation_id = serializers.CharField()


class PrincipalSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="user or service_account")
    id = serializers.CharField()
    name = serializers.CharField()


class GetCurrentIdentityResponseSerializer(serializers.Serializer[Any]):
    account = AccountSerializer()
    principal = PrincipalSerializer()
    user = UserSerializer(allow_null=True)
    service_account = ServiceAccountSerializer(allow_null=True)
    principal_api_key = ApiKeySerializer(allow_null=True)


class _Mutation(serializers.Serializer[Any]):
    async_operation = AsyncOperationSerializer()


class GetAccountResponseSerializer(serializers.Serializer[Any]):
    account = AccountSerializer()


class UpdateAccountResponseSerializer(_Mutation):
    account = AccountSerializer()


class OperationResponseSerializer(_Mutation):
    """The answer to a delete: only the operation."""


class GetUsersResponseSerializer(serializers.Serializer[Any]):
    users = UserSerializer(many=True)
    next_page_token = serializers.CharField()


class GetUserResponseSerializer(serializers.Serializer[Any]):
    user = UserSerializer()


class UserMutationResponseSerializer(_Mutation):
    user = UserSerializer(allow_null=True, help_text="null when a replayed request's user is gone")


class GetServiceAccountsResponseSerializer(serializers.Serializer[Any]):
    service_accounts = ServiceAccountSerializer(many=True)
    next_page_token = serializers.CharField()


class GetServiceAccountResponseSerializer(serializers.Serializer[Any]):
    service_account = ServiceAccountSerializer()


class ServiceAccountMutationResponseSerializer(_Mutation):
    service_account = ServiceAccountSerializer(allow_null=True)


class GetApiKeysResponseSerializer(serializers.Serializer[Any]):
    api_keys = ApiKeySerializer(many=True)
    next_page_token = serializers.CharField()


class GetApiKeyResponseSerializer(serializers.Serializer[Any]):
    api_key = ApiKeySerializer()


class ApiKeyMutationResponseSerializer(_Mutation):
    api_key = ApiKeySerializer(allow_null=True)


class CreateApiKeyResponseSerializer(ApiKeyMutationResponseSerializer):
    token = serializers.CharField(
        allow_null=True, help_text="The secret, shown this once; null when the request was a replay."
    )


class GetAsyncOperationResponseSerializer(serializers.Serializer[Any]):
    async_operation = AsyncOperationSerializer()


class GetAuditLogsResponseSerializer(serializers.Serializer[Any]):
    logs = AuditLogSerializer(many=True)
    next_page_token = serializers.CharField()
