"""Template helpers of the run page's action panel."""

from __future__ import annotations

from django import forms, template

from accounts.models import NamespacePermission
from accounts.permissions import has_namespace_permission
from accounts.principal import Principal
from console.action_forms import CancelForm, QueryForm, SignalForm, TerminateForm, UpdateForm
from namespaces.models import Namespace

register = template.Library()


@register.simple_tag
def can_write_namespace(principal: Principal | None, namespace: Namespace | None) -> bool:
    """Whether the caller may change workflows of the namespace (Write or more)."""
    if principal is None or namespace is None:
        return False
    return has_namespace_permission(principal, namespace.name, NamespacePermission.WRITE)


@register.simple_tag
def run_action_forms() -> dict[str, forms.Form]:
    """Empty forms of the panel, each with its own id prefix (they share one page)."""
    return {
        "query": QueryForm(auto_id="query_%s"),
        "signal": SignalForm(auto_id="signal_%s"),
        "update": UpdateForm(auto_id="update_%s"),
        "cancel": CancelForm(auto_id="cancel_%s"),
        "terminate": TerminateForm(auto_id="terminate_%s"),
    }
