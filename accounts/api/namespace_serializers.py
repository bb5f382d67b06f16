"""Request and response bodies of the REST API's namespaces (Cloud Ops' ``NamespaceSpec`` and
``Namespace``, flattened), and how a namespace row is shown. As elsewhere, the serializers check
shapes and types only; every rule about the values is ``namespaces.validation``'s."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from rest_framework import serializers

from accounts.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField, rfc3339
from accounts.api.serializers import (
    MutationRequestSerializer,
    PageQuerySerializer,
    VersionedMutationRequestSerializer,
    _Mutation,
    _permission,
    _Resource,
)
from accounts.errors import InvalidInput
from namespaces.models import Namespace, NamespaceState
from namespaces.regions import REGION_ID, Region
from namespaces.selectors import ServiceAccountAssignment, UserAssignment
from namespaces.validation import FILTER_FIELDS, SEARCH_ATTRIBUTE_LIMITS

# ---- requests -------------------------------------------------------------------------------


class CertificateFilterSerializer(serializers.Serializer[Any]):
    common_name = StrictCharField(required=False, allow_blank=True, default="")
    organization = StrictCharField(required=False, allow_blank=True, default="")
    organizational_unit = StrictCharField(required=False, allow_blank=True, default="")
    subject_alternative_name = StrictCharField(required=False, allow_blank=True, default="")


class SearchAttributeSerializer(serializers.Serializer[Any]):
    name = StrictCharField()
    type = StrictCharField(help_text=f"One of {', '.join(SEARCH_ATTRIBUTE_LIMITS)}.")


class CodecServerSerializer(serializers.Serializer[Any]):
    endpoint = StrictCharField(allow_blank=True, help_text="https:// URL (http:// for localhost); empty: none.")
    pass_access_token = StrictBooleanField(required=False, default=False)
    include_cross_origin_credentials = StrictBooleanField(required=False, default=False)


class _NamespaceSpecFields(serializers.Serializer[Any]):
    """The settings of a create (defaults as Temporal Cloud's) or an update (absent: unchanged)."""

    retention_days = StrictIntegerField(required=False, help_text="1–90 days.")
    api_key_auth = StrictBooleanField(
        required=False, help_text="Default: on, unless accepted_client_ca is given (then off)."
    )
    accepted_client_ca = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="The accepted client CA certificates: a PEM bundle, as text or base64-encoded; empty: no mTLS.",
    )
    certificate_filters = CertificateFilterSerializer(many=True, required=False)
    search_attributes = SearchAttributeSerializer(
        many=True, required=False, help_text="Every custom search attribute the namespace should have."
    )
    codec_server = CodecServerSerializer(required=False)
    enable_delete_protection = StrictBooleanField(required=False)
    tags = serializers.DictField(child=StrictCharField(), required=False)


class CreateNamespaceRequestSerializer(MutationRequestSerializer, _NamespaceSpecFields):
    name = StrictCharField(trim_whitespace=False, help_text="2–39 characters: a-z, 0-9 and '-'. Cannot change.")


class UpdateNamespaceRequestSerializer(VersionedMutationRequestSerializer, _NamespaceSpecFields):
    pass


class RenameCustomSearchAttributeRequestSerializer(VersionedMutationRequestSerializer):
    existing_custom_search_attribute_name = StrictCharField(help_text="The custom search attribute to rename.")
    new_custom_search_attribute_name = StrictCharField(
        help_text="Its new name; runs that have the attribute are found by it once the operation has finished."
    )


class NamespacesQuerySerializer(PageQuerySerializer):
    name = serializers.CharField(required=False, allow_blank=True, default="")


def ca_bundle_text(value: str) -> str:
    """A CA bundle given as PEM text or as base64 of it."""
    if not value.strip() or "-----BEGIN" in value:
        return value
    try:
        return base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("accepted_client_ca is neither PEM nor base64-encoded PEM") from None


# ---- responses ------------------------------------------------------------------------------


class NamespaceSerializer(_Resource):
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=NamespaceState.choices)
    async_operation_id = serializers.CharField(help_text="The operation of the last change.")
    grpc_address = serializers.CharField(help_text="Where SDKs connect (with the namespace id as namespace).")
    region = serializers.CharField()
    retention_days = serializers.IntegerField()
    api_key_auth = serializers.BooleanField()
    accepted_client_ca = serializers.CharField(help_text="PEM; empty when mTLS is off.")
    certificate_filters = CertificateFilterSerializer(many=True)
    search_attributes = serializers.DictField(child=serializers.CharField(), help_text="name → type")
    codec_server = CodecServerSerializer()
    enable_delete_protection = serializers.BooleanField()
    tags = serializers.DictField(child=serializers.CharField())
    last_error = serializers.CharField(help_text="Why the last provisioning attempt failed; empty after a success.")


class GetNamespacesResponseSerializer(serializers.Serializer[Any]):
    namespaces = NamespaceSerializer(many=True)
    next_page_token = serializers.CharField()


class GetNamespaceResponseSerializer(serializers.Serializer[Any]):
    namespace = NamespaceSerializer()


class NamespaceMutationResponseSerializer(_Mutation):
    namespace = NamespaceSerializer(allow_null=True)


class RegionSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    cloud_provider = serializers.CharField(help_text="aws or gcp in Temporal Cloud; empty for Sundial's engine.")
    cloud_provider_region = serializers.CharField()
    location = serializers.CharField()


class GetRegionsResponseSerializer(serializers.Serializer[Any]):
    regions = RegionSerializer(many=True)


class GetRegionResponseSerializer(serializers.Serializer[Any]):
    region = RegionSerializer()


class _Assignment(serializers.Serializer[Any]):
    id = serializers.CharField()
    permission = _permission()
    inherited_access = serializers.BooleanField(
        help_text="Admin through the account role (Account Owner or Global Admin), not a namespace grant."
    )
    resource_version = serializers.CharField()


class UserNamespaceAssignmentSerializer(_Assignment):
    email = serializers.CharField()


class ServiceAccountNamespaceAssignmentSerializer(_Assignment):
    name = serializers.CharField()


class GetUserNamespaceAssignmentsResponseSerializer(serializers.Serializer[Any]):
    users = UserNamespaceAssignmentSerializer(many=True)
    next_page_token = serializers.CharField()


class GetServiceAccountNamespaceAssignmentsResponseSerializer(serializers.Serializer[Any]):
    service_accounts = ServiceAccountNamespaceAssignmentSerializer(many=True)
    next_page_token = serializers.CharField()


def present_namespace(row: Namespace) -> dict[str, Any]:
    operation = row.async_operation
    return {
        "id": row.namespace_id,
        "resource_version": str(row.resource_version),
        "name": row.name,
        "state": row.state,
        "async_operation_id": operation.operation_id if operation is not None else "",
        "grpc_address": getattr(settings, "SUNDIAL_ENGINE_PUBLIC_ADDRESS", "") or settings.SUNDIAL_ENGINE_ADDRESS,
        "region": REGION_ID,
        "retention_days": row.retention_days,
        "api_key_auth": row.api_key_auth,
        "accepted_client_ca": row.ca_bundle_pem,
        "certificate_filters": [{name: f.get(name, "") for name in FILTER_FIELDS} for f in row.cert_filters],
        "search_attributes": dict(row.search_attributes),
        "codec_server": row.codec_server,
        "enable_delete_protection": row.deletion_protection,
        "tags": dict(row.tags),
        "last_error": row.last_error,
        "created_time": rfc3339(row.created_at),
        "last_modified_time": rfc3339(row.updated_at),
    }


def present_region(region: Region) -> dict[str, Any]:
    return {
        "id": region.id,
        "cloud_provider": region.cloud_provider,
        "cloud_provider_region": region.cloud_provider_region,
        "location": region.location,
    }


def present_user_assignment(row: UserAssignment) -> dict[str, Any]:
    return {
        "id": row.id,
        "email": row.email,
        "permission": row.permission.value,
        "inherited_access": row.inherited,
        "resource_version": row.resource_version,
    }


def present_service_account_assignment(row: ServiceAccountAssignment) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "permission": row.permission.value,
        "inherited_access": row.inherited,
        "resource_version": row.resource_version,
    }
