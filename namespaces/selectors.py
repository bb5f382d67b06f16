"""Reads of namespaces, scoped to the caller. Another account's namespace is NotFound, and so is
one of the caller's account that they have no permission on."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.errors import NotFound
from accounts.models import NamespaceGrant
from accounts.permissions import can_view_namespace, is_admin
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
