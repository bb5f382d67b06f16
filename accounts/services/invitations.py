"""Invitations: invite by e-mail with a role, resend, revoke, accept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.errors import AlreadyExists, FailedPrecondition, InvalidInput, NotFound, PermissionDenied
from accounts.models import Invitation, Membership, Role, User
from accounts.permissions import Action, require, require_grant_role
from accounts.principal import Principal, principal_for_membership
from accounts.services.common import access_changed, bump_version, check_version
from accounts.services.members import clean_namespace_accesses, replace_grants
from audit.services import audited


def invitation_digest(token: str) -> str:
    return hmac.new(settings.API_KEY_PEPPER.encode(), f"invitation:{token}".encode(), hashlib.sha256).hexdigest()


def invitation_url(token: str) -> str:
    return f"{settings.SUNDIAL_PUBLIC_URL.rstrip('/')}/invitations/{token}/"


def _clean_email(email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(f"{email!r} is not a valid e-mail address") from None
    return email


def _send(invitation: Invitation, token: str, inviter: str) -> None:
    context = {
        "invitation": invitation,
        "account": invitation.account,
        "inviter": inviter,
        "url": invitation_url(token),
        "role": Role(invitation.role).label,
        "expires_at": invitation.expires_at,
    }
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_message.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [invitation.email]))


def _new_token(invitation: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_digest = invitation_digest(token)
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(seconds=settings.INVITATION_TTL_SECONDS)
    return token


def do_invite_user(
    principal: Principal, *, email: str, role: Role, namespace_accesses: Mapping[str, str] | None = None
) -> Invitation:
    """Invite ``email`` with ``role``; the mail carries a single-use link (sent after commit)."""
    with audited(principal, "InviteUsers", target_type="user") as entry:
        require(principal, Action.MANAGE_USERS)
        require_grant_role(principal, role)
        email = _clean_email(email)
        accesses = clean_namespace_accesses(principal, namespace_accesses or {})
        entry["details"] = {"email": email, "role": role.value, "namespace_accesses": dict(accesses)}
        if Membership.objects.filter(account=principal.account, user__email__iexact=email).exists():
            raise AlreadyExists(f"{email} is already a member of this account")
        if Invitation.objects.filter(
            account=principal.account, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).exists():
            raise AlreadyExists(f"{email} has already been invited; resend or revoke that invitation")
        invitation = Invitation(
            account=principal.account,
            email=email,
            role=role,
            namespace_accesses={k: v.value for k, v in accesses.items()},
            invited_by=principal.user,
        )
        token = _new_token(invitation)
        invitation.save()
        entry["target_id"] = invitation.public_id
        _send(invitation, token, principal.name)
    return invitation


def _lock_open(principal: Principal, invitation_id: str) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update().filter(account=principal.account, public_id=invitation_id).first()
    )
    if invitation is None:
        raise NotFound(f"invitation {invitation_id!r} not found")
    if invitation.accepted_at is not None:
        raise FailedPrecondition("this invitation has already been accepted")
    if invitation.revoked_at is not None:
        raise FailedPrecondition("this invitation has been revoked")
    return invitation


def do_resend_invitation(principal: Principal, *, invitation_id: str) -> Invitation:
    """A new link with a new expiry; the old link stops working."""
    with audited(principal, "ResendInvitation", target_type="user", target_id=invitation_id) as entry:
        require(principal, Action.MANAGE_USERS)
        invitation = _lock_open(principal, invitation_id)
        require_grant_role(principal, Role(invitation.role))
        entry["details"] = {"email": invitation.email}
        token = _new_token(invitation)
        invitation.save(update_fields=["token_digest", "sent_at", "expires_at", "updated_at"])
        bump_version(invitation)
        _send(invitation, token, principal.name)
    return invitation


def do_update_invitation(
    principal: Principal,
    *,
    invitation_id: str,
    role: Role | None,
    namespace_accesses: Mapping[str, str] | None,
    resource_version: str | None = None,
) -> Invitation:
    with audited(principal, "UpdateUser", target_type="user", target_id=invitation_id) as entry:
        require(principal, Action.MANAGE_USERS)
        invitation = _lock_open(principal, invitation_id)
        check_version(invitation, resource_version, "user")
        require_grant_role(principal, Role(invitation.role))
        if role is not None:
            require_grant_role(principal, role)
            invitation.role = role
        if namespace_accesses is not None:
            accesses = clean_namespace_accesses(principal, namespace_accesses)
            invitation.namespace_accesses = {k: v.value for k, v in accesses.items()}
        entry["details"] = {"email": invitation.email, "role": invitation.role, **invitation.namespace_accesses}
        invitation.save(update_fields=["role", "namespace_accesses", "updated_at"])
        bump_version(invitation)
    return invitation


def do_revoke_invitation(principal: Principal, *, invitation_id: str, resource_version: str | None = None) -> None:
    with audited(principal, "RevokeInvitation", target_type="user", target_id=invitation_id) as entry:
        require(principal, Action.MANAGE_USERS)
        invitation = _lock_open(principal, invitation_id)
        check_version(invitation, resource_version, "user")
        require_grant_role(principal, Role(invitation.role))
        entry["details"] = {"email": invitation.email}
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
        bump_version(invitation)


def invitation_for_token(token: str) -> Invitation:
    """The invitation behind a link, whatever its state (the accept page explains each state)."""
    invitation = Invitation.objects.select_related("account").filter(token_digest=invitation_digest(token)).first()
    if invitation is None:
        raise NotFound("this invitation link is not valid (it may have been resent; use the newest e-mail)")
    return invitation


def check_acceptable(invitation: Invitation, user: User | None) -> None:
    """Raise why ``invitation`` cannot be accepted (by ``user``; ``None`` checks only its state).

    The accept page calls this to explain a link before anyone presses Accept.
    """
    if invitation.revoked_at is not None:
        raise FailedPrecondition("this invitation has been revoked")
    if invitation.accepted_at is not None:
        raise FailedPrecondition("this invitation has already been accepted")
    if invitation.expires_at <= timezone.now():
        raise FailedPrecondition("this invitation has expired; ask for a new one")
    if user is None:
        return
    if user.email.lower() != invitation.email.lower():
        raise PermissionDenied(f"this invitation is for {invitation.email}; sign in with that address")
    if Membership.objects.filter(account=invitation.account, user=user).exists():
        raise AlreadyExists("you are already a member of this account")


def do_accept_invitation(user: User, *, token: str, client_ip: str = "") -> Membership:
    """The signed-in ``user`` accepts: the membership takes the invitation's id, role and grants."""
    invitation = invitation_for_token(token)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().select_related("account").get(pk=invitation.pk)
        check_acceptable(invitation, user)
        membership = Membership.objects.create(
            public_id=invitation.public_id, account=invitation.account, user=user, role=invitation.role
        )
        replace_grants(membership=membership, accesses=dict(invitation.namespace_accesses))
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at", "updated_at"])
        principal = principal_for_membership(membership, client_ip=client_ip)
        with audited(principal, "AcceptInvitation", target_type="user", target_id=membership.public_id) as entry:
            entry["details"] = {"email": user.email, "role": invitation.role}
            access_changed(invitation.account)
    return membership
