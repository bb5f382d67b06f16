"""Reads of namespaces, scoped to the caller. Another account's namespace is NotFound, and so is
one of the caller's account that they have no permission on."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.errors import NotFound
from accounts.models import Membership, NamespaceGrant, NamespacePermission, ServiceAccount
from accounts.permissions import ADMIN_ROLES, can_view_namespace, is_admin
from accounts.principal import Principal
from accounts.services.common import namespace_name
from namespaces.models import Namespace
from namespaces.validation import CodecServer, NamespaceSpec


def namespace_list(*, principal: Principal, name: str = "") -> QuerySet[Namespace]:
    """The namespaces the caller may see: all of the account's for Owners and Global Admins,
    those they hold a permission on for everyone else."""
    namespaces = Namespace.objects.filter(account=principal.account).select_related("account")
    if not is_admin(principal):
        grants = NamespaceGrant.objects.filter(account=principal.account)
        if principal.membership is not None:
            grants = grants.filter(membership=principal.membership)
        else:
            grants = grants.filter(service_account=principal.service_account)
        namespaces = namespaces.filter(name__in=grants.values("namespace"))
    if name:
        namespaces = namespaces.filter(name=name.strip())
    return namespaces.order_by("name")


def namespace_get(*, principal: Principal, namespace: str) -> Namespace:
    """A namespace by name or namespace id (``<name>.<account id>``)."""
    name = namespace_name(principal.account.account_id, namespace)
    found = Namespace.objects.select_related("account").filter(account=principal.account, name=name).first()
    if found is None or not can_view_namespace(principal, name):
        raise NotFound(f"namespace {namespace.strip()!r} not found")
    return found


def namespace_spec(namespace: Namespace) -> NamespaceSpec:
    """The namespace's settings as a spec: what an update starts from (``dataclasses.replace``)."""
    return NamespaceSpec(
        retention_days=namespace.retention_days,
        api_key_auth=namespace.api_key_auth,
        ca_bundle_pem=namespace.ca_bundle_pem,
        cert_filters=[dict(f) for f in namespace.cert_filters],
        search_attributes=dict(namespace.search_attributes),
        codec_server=CodecServer(
            namespace.codec_endpoint,
            namespace.codec_pass_access_token,
            namespace.codec_include_cross_origin_credentials,
        ),
        deletion_protection=namespace.deletion_protection,
        tags=dict(namespace.tags),
    )


@dataclass(frozen=True)
class UserAssignment:
    """A member's access to a namespace (Cloud Ops ``UserNamespaceAssignment``)."""

    id: str  # the member's public id
    email: str
    permission: NamespacePermission
    inherited: bool  # an Owner or Global Admin: Admin of every namespace, without a grant
    resource_version: str  # the member's


@dataclass(frozen=True)
class ServiceAccountAssignment:
    """A service account's access to a namespace (Cloud Ops ``ServiceAccountNamespaceAssignment``)."""

    id: str  # the service account's public id
    name: str
    permission: NamespacePermission
    inherited: bool  # a Global Admin service account
    resource_version: str  # the service account's


def grants_by_holder(namespace: Namespace) -> tuple[dict[int, str], dict[int, str]]:
    """The namespace's grants: permission by membership pk, and by service account pk."""
    members: dict[int, str] = {}
    service_accounts: dict[int, str] = {}
    for grant in NamespaceGrant.objects.filter(account_id=namespace.account_id, namespace=namespace.name):
        if grant.membership_id is not None:
            members[grant.membership_id] = grant.permission
        elif grant.service_account_id is not None:
            service_accounts[grant.service_account_id] = grant.permission
    return members, service_accounts


def _grants(principal: Principal, namespace: str) -> tuple[dict[int, str], dict[int, str]]:
    """``grants_by_holder`` of a namespace the caller names (NotFound as ``namespace_get``)."""
    return grants_by_holder(namespace_get(principal=principal, namespace=namespace))


def _access(role: str, grant: str | None) -> tuple[NamespacePermission, bool] | None:
    """(permission, inherited) of a holder of ``role`` with ``grant``, or None for no access."""
    if role in ADMIN_ROLES:
        return NamespacePermission.ADMIN, True
    if grant is None:
        return None
    return NamespacePermission(grant), False


def namespace_user_assignments(
    *, principal: Principal, namespace: str, after: str | None = None, limit: int | None = None
) -> list[UserAssignment]:
    """Every member with access to the namespace, by ascending public id: its grants, and Owners
    and Global Admins (Admins of every namespace, ``inherited``). Anyone who may see the namespace
    may list them; ``after`` and ``limit`` serve keyset paging (the rows after that id, at most
    ``limit`` of them)."""
    grants, _ = _grants(principal, namespace)
    members = Membership.objects.filter(account=principal.account).select_related("user").order_by("public_id")
    if after is not None:
        members = members.filter(public_id__gt=after)
    rows: list[UserAssignment] = []
    for member in members:
        access = _access(member.role, grants.get(member.pk))
        if access is None:
            continue
        rows.append(
            UserAssignment(
                id=member.public_id,
                email=member.user.email,
                permission=access[0],
                inherited=access[1],
                resource_version=str(member.resource_version),
            )
        )
        if limit is not None and len(rows) >= limit:
            break
    return rows


def namespace_service_account_assignments(
    *, principal: Principal, namespace: str, after: str | None = None, limit: int | None = None
) -> list[ServiceAccountAssignment]:
    """Service accounts with access to the namespace (Global Admin ones by inheritance), by
    ascending public id; as ``namespace_user_assignments``."""
    _, grants = _grants(principal, namespace)
    accounts = ServiceAccount.objects.filter(account=principal.account).order_by("public_id")
    if after is not None:
        accounts = accounts.filter(public_id__gt=after)
    rows: list[ServiceAccountAssignment] = []
    for sa in accounts:
        access = _access(sa.role, grants.get(sa.pk))
        if access is None:
            continue
        rows.append(
            ServiceAccountAssignment(
                id=sa.public_id,
                name=sa.name,
                permission=access[0],
                inherited=access[1],
                resource_version=str(sa.resource_version),
            )
        )
        if limit is not None and len(rows) >= limit:
            break
    return rows
