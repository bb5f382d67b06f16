"""Reads the REST API composes from the selectors: a Cloud Ops "user" is a member or a pending
invitation (the membership later takes the invitation's id).

Permission questions stay with ``selectors`` and ``permissions``; this module only combines.
"""

from __future__ import annotations

from django.db.models import Q

from accounts.models import Invitation, Membership
from accounts.permissions import ADMIN_ROLES
from accounts.principal import Principal
from accounts.selectors import invitation_list, member_list, user_get
from accounts.services.common import namespace_name


def find_user(principal: Principal, user_id: str) -> Membership | Invitation:
    return user_get(principal=principal, user_id=user_id)


def user_list(*, principal: Principal, email: str = "", namespace: str = "") -> list[Membership | Invitation]:
    """Members (oldest first), then open invitations (newest first), optionally only those
    with access to ``namespace`` (members by their effective permission, so Owners and Global
    Admins are included)."""
    members = member_list(principal=principal, email=email).select_related("account").prefetch_related("grants")
    invitations = invitation_list(principal=principal, email=email)
    if namespace:
        name = namespace_name(principal.account.account_id, namespace)
        # Effective permission in one query: Owners and Global Admins are Admin everywhere.
        members = members.filter(Q(role__in=ADMIN_ROLES) | Q(grants__namespace=name)).distinct()
        invitations = invitations.filter(namespace_accesses__has_key=name)
    return [*members, *invitations]
