"""Who may look at a namespace's workflows: the one check every console page makes first.

The caller comes from ``get_principal`` (a non-member of the URL's account gets a 404), the
namespace from ``namespace_get`` (another account's, or one the caller holds no grant on, is a
404 as well: tenants cannot learn what exists). Seeing the namespace is not always enough: a
page that changes workflows asks for Write, and a caller who sees the namespace but lacks the
permission gets a 403 naming what is missing.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from accounts.errors import PermissionDenied, ServiceError
from accounts.models import NamespacePermission
from accounts.permissions import has_namespace_permission
from accounts.principal import Principal
from accounts.views.common import service_error_response
from accounts.web import get_principal
from namespaces.models import Namespace
from namespaces.selectors import namespace_get


def resolve(
    request: HttpRequest, account_id: str, name: str, need: NamespacePermission = NamespacePermission.READ
) -> tuple[Principal, Namespace] | HttpResponse:
    """``(principal, namespace)`` of the URL, or the error page to answer with (404 / 403)."""
    principal = get_principal(request, account_id)
    try:
        namespace = namespace_get(principal=principal, namespace=name)
        if not has_namespace_permission(principal, namespace.name, need):
            raise PermissionDenied(f"you need {need.label} permission on namespace {namespace.name!r} to do this")
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    return principal, namespace
