"""Template tags base.html uses for the account switcher and the account nav."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import QuerySet

from accounts.models import Membership
from accounts.permissions import Action, can
from accounts.principal import Principal

register = template.Library()


@register.simple_tag(takes_context=True)
def my_memberships(context: dict[str, Any]) -> QuerySet[Membership] | list[Membership]:
    """The signed-in user's accounts, oldest membership first."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return []
    return Membership.objects.filter(user=user).select_related("account").order_by("created_at", "pk")


@register.simple_tag
def account_powers(principal: Principal | None) -> dict[str, bool]:
    """``{action: allowed}`` for the caller, to show only the links and controls they may use."""
    if principal is None:
        return {}
    return {action.value: can(principal, action) for action in Action}
