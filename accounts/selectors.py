"""Reads scoped to the caller's account. Another account's object is always NotFound."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.errors import NotFound
from accounts.models import ApiKey, Invitation, Membership, NamespaceGrant, ServiceAccount
from accounts.permissions import Action, can, can_view_api_key, require
from accounts.principal import Principal


def member_list(*, principal: Principal, email: str = "") -> QuerySet[Membership]:
    require(principal, Action.VIEW_USERS)
    members = Membership.objects.filter(account=principal.account).select_related("user").order_by("created_at", "pk")
    if email:
        members = members.filter(user__email__iexact=email.strip())
    return members


def member_get(*, principal: Principal, member_id: str) -> Membership:
    """A member by public id; one's own membership is always visible."""
    member = (
        Membership.objects.select_related("user", "account")
        .filter(account=principal.account, public_id=member_id)
        .first()
    )
    if member is None:
        raise NotFound(f"user {member_id!r} not found")
    if principal.membership is None or member.pk != principal.membership.pk:
        require(principal, Action.VIEW_USERS)
    return member


def invitation_list(*, principal: Principal, pending_only: bool = True, email: str = "") -> QuerySet[Invitation]:
    require(principal, Action.VIEW_USERS)
    invitations = Invitation.objects.filter(account=principal.account).order_by("-created_at", "-pk")
    if pending_only:
        invitations = invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True)
    if email:
        invitations = invitations.filter(email__iexact=email.strip())
    return invitations


def user_get(*, principal: Principal, user_id: str) -> Membership | Invitation:
    """A Cloud Ops "user" by id: the member, else the open (not accepted, not revoked) invitation
    (a membership takes the id of the invitation it came from)."""
    try:
        return member_get(principal=principal, member_id=user_id)
    except NotFound:
        pass
    invitation = invitation_list(principal=principal).filter(public_id=user_id).first()
    if invitation is None:
        raise NotFound(f"user {user_id!r} not found")
    return invitation


def invitation_get(*, principal: Principal, invitation_id: str) -> Invitation:
    require(principal, Action.VIEW_USERS)
    invitation = Invitation.objects.filter(account=principal.account, public_id=invitation_id).first()
    if invitation is None:
        raise NotFound(f"invitation {invitation_id!r} not found")
    return invitation


def namespace_grants_of(
    *, membership: Membership | None = None, service_account: ServiceAccount | None = None
) -> dict[str, str]:
    grants = (
        NamespaceGrant.objects.filter(membership=membership)
        if membership is not None
        else (NamespaceGrant.objects.filter(service_account=service_account))
    )
    return {g.namespace: g.permission for g in grants.order_by("namespace")}


def service_account_list(*, principal: Principal) -> QuerySet[ServiceAccount]:
    require(principal, Action.VIEW_SERVICE_ACCOUNTS)
    return ServiceAccount.objects.filter(account=principal.account).order_by("created_at", "pk")


def service_account_get(*, principal: Principal, service_account_id: str) -> ServiceAccount:
    sa = ServiceAccount.objects.filter(account=principal.account, public_id=service_account_id).first()
    if sa is None:
        raise NotFound(f"service account {service_account_id!r} not found")
    if principal.service_account is None or sa.pk != principal.service_account.pk:
        require(principal, Action.VIEW_SERVICE_ACCOUNTS)
    return sa


def api_key_list(*, principal: Principal, owner_id: str = "") -> QuerySet[ApiKey]:
    """The keys the caller may see: admins all of the account's, others their own."""
    keys = (
        ApiKey.objects.filter(account=principal.account)
        .select_related("owner_membership__user", "owner_service_account")
        .order_by("created_at", "pk")
    )
    if not can(principal, Action.VIEW_ALL_API_KEYS):
        if principal.membership is not None:
            visible = Q(owner_membership=principal.membership)
            scoped = [
                g.namespace for g in NamespaceGrant.objects.filter(membership=principal.membership, permission="admin")
            ]
            if scoped:
                visible |= Q(owner_service_account__namespace_scope__in=scoped)
            keys = keys.filter(visible)
        else:
            keys = keys.filter(owner_service_account=principal.service_account)
    if owner_id:
        keys = keys.filter(Q(owner_membership__public_id=owner_id) | Q(owner_service_account__public_id=owner_id))
    return keys


def api_key_get(*, principal: Principal, key_id: str) -> ApiKey:
    key = (
        ApiKey.objects.select_related("owner_membership__user", "owner_service_account")
        .filter(account=principal.account, key_id=key_id)
        .first()
    )
    if key is None or not can_view_api_key(principal, key):
        raise NotFound(f"API key {key_id!r} not found")
    return key


def active_key_count(*, membership: Membership | None = None, service_account: ServiceAccount | None = None) -> int:
    keys = ApiKey.objects.filter(expires_at__gt=timezone.now())
    if membership is not None:
        return keys.filter(owner_membership=membership).count()
    return keys.filter(owner_service_account=service_account).count()
