"""Reads the REST API composes from the selectors: a Cloud Ops "user" is a member or a pending
invitation (the membership later takes the invitation's id).

Permission questions stay with ``selectors`` and ``permissions``; this module only combines.
"""

from __future__ import annotations

from accounts.errors import NotFound
from accounts.models import Invitation, Membership
from accounts.permissions import namespace_permission
from accounts.principal import Principal, principal_for_membership
from accounts.selectors import invitation_list, member_get, member_list
from accounts.services.common import namespace_name


def find_user(principal: Principal, user_id: str) -> Membership | Invitation:
    """The member with this id, else the open (not accepted, not revoked) invitation."""
    try:
        return member_get(principal=principal, member_id=user_id)
    except NotFound:
        pass
    invitation = invitation_list(principal=principal).filter(public_id=user_id).first()
    if invitation is None:
        raise NotFound(f"user {user_id!r} not found")
    return invitation


def user_list(*, principal: Principal, email: str = "", namespace: str = "") -> list[Membership | Invitation]:
    """Members (oldest first), then open invitations (newest first), optionally only those
    with access to ``namespace`` (members by their effective permission, so Owners and Global
    Admins are included)."""
    members = list(member_list(principal=principal, email=email).select_related("account").prefetch_related("grants"))
    invitations = list(invitation_list(principal=principal, email=email))
    if namespace:
        name = namespace_name(principal.account.account_id, namespace)
        members = [m for m in members if namespace_permission(principal_for_membership(m), name) is not None]
        invitations = [i for i in invitations if name in i.namespace_accesses]
    return [*members, *invitations]
