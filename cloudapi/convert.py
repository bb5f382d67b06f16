"""Models to Cloud Ops protos, and the enums and fields of requests back to model values.

Namespace access maps use namespace ids (``<name>.<account id>``), as Temporal Cloud does;
requests may name a namespace either way (``accounts.services.common.namespace_name``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.cloud.account.v1 import message_pb2 as account_pb
from temporalio.api.cloud.auditlog.v1 import message_pb2 as auditlog_pb
from temporalio.api.cloud.identity.v1 import message_pb2 as identity_pb
from temporalio.api.cloud.namespace.v1 import message_pb2 as namespace_pb
from temporalio.api.cloud.operation.v1 import message_pb2 as operation_pb
from temporalio.api.cloud.region.v1 import message_pb2 as region_pb
from temporalio.api.cloud.resource.v1 import message_pb2 as resource_pb

from accounts.errors import InvalidInput
from accounts.models import (
    Account,
    ApiKey,
    AsyncOperation,
    Invitation,
    Membership,
    NamespacePermission,
    OperationState,
    Role,
    ServiceAccount,
)
from audit.models import AuditEntry
from namespaces.models import Namespace, NamespaceState
from namespaces.regions import LOCAL_REGION, REGION_ID, Region
from namespaces.validation import CodecServer, NamespaceSpec

AccountAccess = identity_pb.AccountAccess
NamespaceAccess = identity_pb.NamespaceAccess

ROLE_TO_PROTO: dict[Role, AccountAccess.Role.ValueType] = {
    Role.OWNER: AccountAccess.ROLE_OWNER,
    Role.GLOBAL_ADMIN: AccountAccess.ROLE_ADMIN,
    Role.DEVELOPER: AccountAccess.ROLE_DEVELOPER,
    Role.FINANCE_ADMIN: AccountAccess.ROLE_FINANCE_ADMIN,
    Role.READ_ONLY: AccountAccess.ROLE_READ,
    Role.METRICS_READ_ONLY: AccountAccess.ROLE_METRICS_READ,
}
PROTO_TO_ROLE = {v: k for k, v in ROLE_TO_PROTO.items()}
# AccountAccess.role_deprecated (API versions before v0.3.0) spells roles as words.
DEPRECATED_ROLE_NAMES: dict[str, Role] = {
    "owner": Role.OWNER,
    "admin": Role.GLOBAL_ADMIN,
    "developer": Role.DEVELOPER,
    "financeadmin": Role.FINANCE_ADMIN,
    "read": Role.READ_ONLY,
    "metricsread": Role.METRICS_READ_ONLY,
}
ROLE_NAMES = ", ".join(AccountAccess.Role.Name(v) for v in ROLE_TO_PROTO.values())

PERMISSION_TO_PROTO: dict[NamespacePermission, NamespaceAccess.Permission.ValueType] = {
    NamespacePermission.ADMIN: NamespaceAccess.PERMISSION_ADMIN,
    NamespacePermission.WRITE: NamespaceAccess.PERMISSION_WRITE,
    NamespacePermission.READ: NamespaceAccess.PERMISSION_READ,
}
PROTO_TO_PERMISSION = {v: k for k, v in PERMISSION_TO_PROTO.items()}
PERMISSION_NAMES = ", ".join(NamespaceAccess.Permission.Name(v) for v in PERMISSION_TO_PROTO.values())

OWNER_TYPES: dict[str, identity_pb.OwnerType.ValueType] = {
    "user": identity_pb.OWNER_TYPE_USER,
    "service_account": identity_pb.OWNER_TYPE_SERVICE_ACCOUNT,
}
# ApiKeySpec.owner_type_deprecated / GetApiKeysRequest.owner_type_deprecated spellings.
DEPRECATED_OWNER_TYPES = {"user": "user", "service-account": "service_account", "service_account": "service_account"}

OPERATION_STATES: dict[str, operation_pb.AsyncOperation.State.ValueType] = {
    OperationState.PENDING: operation_pb.AsyncOperation.STATE_PENDING,
    OperationState.IN_PROGRESS: operation_pb.AsyncOperation.STATE_IN_PROGRESS,
    OperationState.FAILED: operation_pb.AsyncOperation.STATE_FAILED,
    OperationState.CANCELLED: operation_pb.AsyncOperation.STATE_CANCELLED,
    OperationState.FULFILLED: operation_pb.AsyncOperation.STATE_FULFILLED,
    OperationState.REJECTED: operation_pb.AsyncOperation.STATE_REJECTED,
}

AUDIT_LOG_VERSION = 2


# --- times -------------------------------------------------------------------------------


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def datetime_of(message: Message, field: str) -> datetime | None:
    """The aware datetime of a Timestamp field, or None when the request left it unset."""
    if not message.HasField(field):
        return None
    stamp: Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


# --- requests to model values -------------------------------------------------------------


def role_of(access: identity_pb.AccountAccess, field: str) -> Role:
    """The account role a request asks for; InvalidInput when missing or unknown."""
    if access.custom_roles:
        raise InvalidInput(f"{field}.custom_roles: custom roles are not supported; use a predefined role")
    if access.role != AccountAccess.ROLE_UNSPECIFIED:
        role = PROTO_TO_ROLE.get(access.role)
        if role is None:
            raise InvalidInput(f"{field}.role {access.role} is not a known role (one of {ROLE_NAMES})")
        return role
    if access.role_deprecated:
        role = DEPRECATED_ROLE_NAMES.get(access.role_deprecated.strip().lower())
        if role is None:
            names = ", ".join(DEPRECATED_ROLE_NAMES)
            raise InvalidInput(f"{field}.role_deprecated {access.role_deprecated!r} is not a known role ({names})")
        return role
    raise InvalidInput(f"{field}.role is required (one of {ROLE_NAMES})")


def permission_of(access: identity_pb.NamespaceAccess, field: str) -> NamespacePermission | None:
    """The namespace permission a request asks for, or None when it names none."""
    if access.permission != NamespaceAccess.PERMISSION_UNSPECIFIED:
        permission = PROTO_TO_PERMISSION.get(access.permission)
        if permission is None:
            raise InvalidInput(f"{field}.permission {access.permission} is not known (one of {PERMISSION_NAMES})")
        return permission
    if access.permission_deprecated:
        try:
            return NamespacePermission(access.permission_deprecated.strip().lower())
        except ValueError:
            raise InvalidInput(
                f"{field}.permission_deprecated {access.permission_deprecated!r} is not known (admin, write, read)"
            ) from None
    return None


def namespace_accesses_of(access: identity_pb.Access, field: str) -> dict[str, str]:
    """``Access.namespace_accesses`` as {namespace: permission value}; each needs a permission."""
    accesses: dict[str, str] = {}
    for namespace, namespace_access in access.namespace_accesses.items():
        where = f"{field}.namespace_accesses[{namespace!r}]"
        permission = permission_of(namespace_access, where)
        if permission is None:
            raise InvalidInput(f"{where}.permission is required (one of {PERMISSION_NAMES})")
        accesses[namespace] = permission.value
    return accesses


def owner_type_of(value: identity_pb.OwnerType.ValueType, deprecated: str, field: str) -> str:
    """``"user"``, ``"service_account"``, or ``""`` when the request names no owner type."""
    if value != identity_pb.OWNER_TYPE_UNSPECIFIED:
        for name, proto in OWNER_TYPES.items():
            if proto == value:
                return name
        raise InvalidInput(f"{field} {value} is not known (OWNER_TYPE_USER or OWNER_TYPE_SERVICE_ACCOUNT)")
    if deprecated:
        owner_type = DEPRECATED_OWNER_TYPES.get(deprecated.strip().lower())
        if owner_type is None:
            raise InvalidInput(f"{field}_deprecated {deprecated!r} is not known ('user' or 'service-account')")
        return owner_type
    return ""


# --- models to protos ---------------------------------------------------------------------


def namespace_id(account_id: str, namespace: str) -> str:
    return f"{namespace}.{account_id}"


def _access(role: Role | str, grants: Mapping[str, str], account_id: str) -> identity_pb.Access:
    return identity_pb.Access(
        account_access=AccountAccess(role=ROLE_TO_PROTO[Role(role)], role_deprecated=_deprecated_role(Role(role))),
        namespace_accesses={
            namespace_id(account_id, ns): NamespaceAccess(
                permission=PERMISSION_TO_PROTO[NamespacePermission(perm)], permission_deprecated=perm
            )
            for ns, perm in grants.items()
        },
    )


def _deprecated_role(role: Role) -> str:
    return next(name for name, value in DEPRECATED_ROLE_NAMES.items() if value == role)


def member_to_proto(member: Membership, account_id: str) -> identity_pb.User:
    """A member (state ACTIVE). Prefetch ``grants`` and ``user`` when converting many."""
    grants = {g.namespace: g.permission for g in member.grants.all()}
    return identity_pb.User(
        id=member.public_id,
        resource_version=str(member.resource_version),
        spec=identity_pb.UserSpec(email=member.user.email, access=_access(member.role, grants, account_id)),
        state=resource_pb.RESOURCE_STATE_ACTIVE,
        created_time=timestamp(member.created_at),
        last_modified_time=timestamp(member.updated_at),
    )


def invitation_to_proto(invitation: Invitation, account_id: str) -> identity_pb.User:
    """A pending invitation (state ACTIVATING): its id stays the user's id once accepted."""
    grants = dict(invitation.namespace_accesses)
    return identity_pb.User(
        id=invitation.public_id,
        resource_version=str(invitation.resource_version),
        spec=identity_pb.UserSpec(email=invitation.email, access=_access(invitation.role, grants, account_id)),
        state=resource_pb.RESOURCE_STATE_ACTIVATING,
        invitation=identity_pb.Invitation(
            created_time=timestamp(invitation.sent_at), expired_time=timestamp(invitation.expires_at)
        ),
        created_time=timestamp(invitation.created_at),
        last_modified_time=timestamp(invitation.updated_at),
    )


def user_to_proto(user: Membership | Invitation, account_id: str) -> identity_pb.User:
    if isinstance(user, Membership):
        return member_to_proto(user, account_id)
    return invitation_to_proto(user, account_id)


def service_account_to_proto(sa: ServiceAccount, account_id: str) -> identity_pb.ServiceAccount:
    """A service account; a namespace-scoped one carries ``namespace_scoped_access`` only."""
    grants = {g.namespace: g.permission for g in sa.grants.all()}
    spec = identity_pb.ServiceAccountSpec(name=sa.name, description=sa.description)
    if sa.namespace_scope:
        permission = NamespacePermission(grants.get(sa.namespace_scope, NamespacePermission.READ))
        spec.namespace_scoped_access.CopyFrom(
            identity_pb.NamespaceScopedAccess(
                namespace=namespace_id(account_id, sa.namespace_scope),
                access=NamespaceAccess(permission=PERMISSION_TO_PROTO[permission], permission_deprecated=permission),
            )
        )
    else:
        spec.access.CopyFrom(_access(sa.role, grants, account_id))
    return identity_pb.ServiceAccount(
        id=sa.public_id,
        resource_version=str(sa.resource_version),
        spec=spec,
        state=resource_pb.RESOURCE_STATE_ACTIVE,
        created_time=timestamp(sa.created_at),
        last_modified_time=timestamp(sa.updated_at),
    )


def api_key_to_proto(key: ApiKey, *, now: datetime | None = None) -> identity_pb.ApiKey:
    """A key (never its secret): EXPIRED once its expiry has passed; ``disabled`` stays in the spec."""
    if key.owner_membership is not None:
        owner_id, owner_type = key.owner_membership.public_id, "user"
    else:
        assert key.owner_service_account is not None
        owner_id, owner_type = key.owner_service_account.public_id, "service_account"
    expired = key.expires_at <= (now or timezone.now())
    return identity_pb.ApiKey(
        id=key.key_id,
        resource_version=str(key.resource_version),
        spec=identity_pb.ApiKeySpec(
            owner_id=owner_id,
            owner_type=OWNER_TYPES[owner_type],
            owner_type_deprecated=owner_type.replace("_", "-"),
            display_name=key.display_name,
            description=key.description,
            expiry_time=timestamp(key.expires_at),
            disabled=key.disabled,
        ),
        state=resource_pb.RESOURCE_STATE_EXPIRED if expired else resource_pb.RESOURCE_STATE_ACTIVE,
        created_time=timestamp(key.created_at),
        last_modified_time=timestamp(key.updated_at),
    )


def account_to_proto(account: Account) -> account_pb.Account:
    return account_pb.Account(
        id=account.account_id,
        resource_version=str(account.resource_version),
        spec=account_pb.AccountSpec(),
        state=resource_pb.RESOURCE_STATE_ACTIVE,
    )


def operation_to_proto(operation: AsyncOperation) -> operation_pb.AsyncOperation:
    return operation_pb.AsyncOperation(
        id=operation.operation_id,
        state=OPERATION_STATES[operation.state],
        state_deprecated=operation.state,
        operation_type=operation.operation_type,
        failure_reason=operation.failure_reason,
        started_time=timestamp(operation.started_at),
        finished_time=timestamp(operation.finished_at),
    )


def log_record_to_proto(entry: AuditEntry) -> auditlog_pb.LogRecord:
    """An audit entry as a v2 ``LogRecord``: ``raw_details`` holds its details, target and error."""
    details: dict[str, Any] = dict(entry.details or {})
    details["target"] = {"type": entry.target_type, "id": entry.target_id}
    if entry.error:
        details["error"] = entry.error
    raw = Struct()
    raw.update(details)
    return auditlog_pb.LogRecord(
        emit_time=timestamp(entry.emitted_at),
        operation=entry.operation,
        status=entry.status,
        version=AUDIT_LOG_VERSION,
        log_id=entry.log_id,
        principal=auditlog_pb.Principal(
            type=entry.principal_type, id=entry.principal_id, name=entry.principal_name, api_key_id=entry.api_key_id
        ),
        raw_details=raw,
        x_forwarded_for=entry.client_ip,
        async_operation_id=entry.async_operation_id,
    )


# --- namespaces and regions ---------------------------------------------------------------

NamespaceSpecProto = namespace_pb.NamespaceSpec
SEARCH_ATTRIBUTE_TYPES: dict[str, namespace_pb.NamespaceSpec.SearchAttributeType.ValueType] = {
    "Text": NamespaceSpecProto.SEARCH_ATTRIBUTE_TYPE_TEXT,
    "Keyword": NamespaceSpecProto.SEARCH_ATTRIBUTE_TYPE_KEYWORD,
    "Int": NamespaceSpecProto.SEARCH_ATTRIBUTE_TYPE_INT,
    "Double": NamespaceSpecProto.SEARCH_ATTRIBUTE_TYPE_DOUBLE,
    "Bool": NamespaceSpecProto.SEARCH_ATTRIBUTE_TYPE_BOOL,
    "Datetime": NamespaceSpecProto.SEARCH_ATTRIBUTE_TYPE_DATETIME,
    "KeywordList": NamespaceSpecProto.SEARCH_ATTRIBUTE_TYPE_KEYWORD_LIST,
}
SEARCH_ATTRIBUTE_LABELS = {value: label for label, value in SEARCH_ATTRIBUTE_TYPES.items()}

NAMESPACE_STATES: dict[str, resource_pb.ResourceState.ValueType] = {
    NamespaceState.ACTIVATING: resource_pb.RESOURCE_STATE_ACTIVATING,
    NamespaceState.ACTIVATION_FAILED: resource_pb.RESOURCE_STATE_ACTIVATION_FAILED,
    NamespaceState.ACTIVE: resource_pb.RESOURCE_STATE_ACTIVE,
    NamespaceState.UPDATING: resource_pb.RESOURCE_STATE_UPDATING,
    NamespaceState.UPDATE_FAILED: resource_pb.RESOURCE_STATE_UPDATE_FAILED,
    NamespaceState.DELETING: resource_pb.RESOURCE_STATE_DELETING,
    NamespaceState.DELETE_FAILED: resource_pb.RESOURCE_STATE_DELETE_FAILED,
    NamespaceState.DELETED: resource_pb.RESOURCE_STATE_DELETED,
}

CLOUD_PROVIDERS: dict[str, region_pb.Region.CloudProvider.ValueType] = {
    "aws": region_pb.Region.CLOUD_PROVIDER_AWS,
    "gcp": region_pb.Region.CLOUD_PROVIDER_GCP,
}


def region_proto(region: Region = LOCAL_REGION) -> region_pb.Region:
    """A region (``namespaces.regions``; by default the one this control plane provisions)."""
    return region_pb.Region(
        id=region.id,
        cloud_provider=CLOUD_PROVIDERS.get(region.cloud_provider, region_pb.Region.CLOUD_PROVIDER_UNSPECIFIED),
        cloud_provider_deprecated=region.cloud_provider,
        cloud_provider_region=region.cloud_provider_region,
        location=region.location,
    )


def engine_grpc_address() -> str:
    """Where SDKs reach the engine: ``SUNDIAL_ENGINE_PUBLIC_ADDRESS`` when set, else the engine address."""
    return str(getattr(settings, "SUNDIAL_ENGINE_PUBLIC_ADDRESS", "") or settings.SUNDIAL_ENGINE_ADDRESS)


def ca_bundle_of(mtls: namespace_pb.MtlsAuthSpec) -> str:
    """``accepted_client_ca`` as PEM text: the field holds the PEM bundle, base64-encoded (as Temporal
    Cloud documents it) or as it is; ``accepted_client_ca_deprecated`` is the base64 text."""
    raw = bytes(mtls.accepted_client_ca) or mtls.accepted_client_ca_deprecated.encode()
    if not raw.strip():
        return ""
    if b"-----BEGIN" not in raw:
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("spec.mtls_auth.accepted_client_ca is neither PEM nor base64-encoded PEM") from None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise InvalidInput("spec.mtls_auth.accepted_client_ca is not PEM text") from None


def search_attributes_of(spec: namespace_pb.NamespaceSpec) -> list[tuple[str, str]]:
    """Both search attribute maps as (name, type) pairs, so that a name in both is caught as listed twice."""
    pairs: list[tuple[str, str]] = []
    for name, value in spec.search_attributes.items():
        label = SEARCH_ATTRIBUTE_LABELS.get(value)
        if label is None:
            raise InvalidInput(f"spec.search_attributes[{name!r}]: type {value} is not a known search attribute type")
        pairs.append((name, label))
    pairs.extend(spec.custom_search_attributes.items())
    return pairs


def namespace_spec_of(spec: namespace_pb.NamespaceSpec, tags: Mapping[str, str]) -> NamespaceSpec:
    """A request's ``NamespaceSpec`` as the service's (not yet validated); API-key access is on unless
    the spec sets ``api_key_auth`` (Temporal Cloud's default when no CA bundle is given)."""
    if spec.regions and any(region != REGION_ID for region in spec.regions):
        raise InvalidInput(f"spec.regions: the only region is {REGION_ID!r}")
    ca_bundle = ca_bundle_of(spec.mtls_auth)
    api_key_auth = spec.api_key_auth.enabled if spec.HasField("api_key_auth") else not ca_bundle
    filters = [
        {
            "common_name": f.common_name,
            "organization": f.organization,
            "organizational_unit": f.organizational_unit,
            "subject_alternative_name": f.subject_alternative_name,
        }
        for f in spec.mtls_auth.certificate_filters
    ]
    codec = spec.codec_server
    return NamespaceSpec(
        retention_days=spec.retention_days,
        api_key_auth=api_key_auth,
        ca_bundle_pem=ca_bundle,
        cert_filters=filters,
        search_attributes=search_attributes_of(spec),
        codec_server=CodecServer(codec.endpoint, codec.pass_access_token, codec.include_cross_origin_credentials),
        deletion_protection=spec.lifecycle.enable_delete_protection,
        tags=dict(tags),
    )


def namespace_to_proto(namespace: Namespace) -> namespace_pb.Namespace:
    """A namespace; its search attributes in ``search_attributes`` only (not also in the deprecated
    map), so that a spec read back can be sent again unchanged."""
    spec = namespace_pb.NamespaceSpec(
        name=namespace.name,
        regions=[REGION_ID],
        retention_days=namespace.retention_days,
        api_key_auth=namespace_pb.ApiKeyAuthSpec(enabled=namespace.api_key_auth),
        search_attributes={name: SEARCH_ATTRIBUTE_TYPES[label] for name, label in namespace.search_attributes.items()},
        lifecycle=namespace_pb.LifecycleSpec(enable_delete_protection=namespace.deletion_protection),
    )
    if namespace.mtls_enabled:
        spec.mtls_auth.CopyFrom(
            namespace_pb.MtlsAuthSpec(
                enabled=True,
                accepted_client_ca=base64.b64encode(namespace.ca_bundle_pem.encode()),
                accepted_client_ca_deprecated=base64.b64encode(namespace.ca_bundle_pem.encode()).decode(),
                certificate_filters=[namespace_pb.CertificateFilterSpec(**f) for f in namespace.cert_filters],
            )
        )
    if namespace.codec_endpoint:
        spec.codec_server.CopyFrom(namespace_pb.CodecServerSpec(**namespace.codec_server))
    operation = namespace.async_operation
    return namespace_pb.Namespace(
        namespace=namespace.namespace_id,
        resource_version=str(namespace.resource_version),
        spec=spec,
        state=NAMESPACE_STATES[namespace.state],
        state_deprecated=namespace.state,
        async_operation_id=operation.operation_id if operation is not None else "",
        endpoints=namespace_pb.Endpoints(grpc_address=engine_grpc_address()),
        active_region=REGION_ID,
        created_time=timestamp(namespace.created_at),
        last_modified_time=timestamp(namespace.updated_at),
        tags=dict(namespace.tags),
    )
