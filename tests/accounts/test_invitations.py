"""Invitations: e-mailed link, resend, revoke, expiry, accepting creates the membership."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.errors import AlreadyExists, FailedPrecondition, InvalidInput, NotFound, PermissionDenied
from accounts.models import Invitation, Membership, NamespaceGrant, Role, User
from accounts.principal import Principal
from accounts.services.invitations import (
    do_accept_invitation,
    do_invite_user,
    do_resend_invitation,
    do_revoke_invitation,
)
from tests.accounts.conftest import PASSWORD


def _invite(principal: Principal, capture, email: str = "dora@example.com", **kw) -> tuple[Invitation, str]:
    with capture(execute=True):
        invitation = do_invite_user(principal, email=email, role=kw.pop("role", Role.DEVELOPER), **kw)
    message = mail.outbox[-1]
    token = re.search(r"/invitations/([^/\s]+)/", str(message.body)).group(1)  # type: ignore[union-attr]
    return invitation, token


def test_an_invitee_accepts_and_becomes_a_member_with_the_role_and_grants(
    alice: Principal, django_capture_on_commit_callbacks
) -> None:
    invitation, token = _invite(alice, django_capture_on_commit_callbacks, namespace_accesses={"payments": "write"})
    message = mail.outbox[-1]
    assert message.to == ["dora@example.com"]
    assert "Alice Co" in message.subject
    assert "Developer" in message.body
    dora = User.objects.create_user("Dora@Example.com", PASSWORD)
    membership = do_accept_invitation(dora, token=token)
    assert (membership.account, membership.role, membership.public_id) == (
        alice.account,
        Role.DEVELOPER,
        invitation.public_id,
    )
    assert NamespaceGrant.objects.get(membership=membership).permission == "write"
    with pytest.raises(FailedPrecondition, match="already been accepted"):
        do_accept_invitation(dora, token=token)


def test_the_wrong_person_cannot_accept(alice: Principal, django_capture_on_commit_callbacks) -> None:
    _, token = _invite(alice, django_capture_on_commit_callbacks)
    eve = User.objects.create_user("eve@example.com", PASSWORD)
    with pytest.raises(PermissionDenied, match=r"dora@example\.com"):
        do_accept_invitation(eve, token=token)
    assert not Membership.objects.filter(user=eve).exists()


def test_an_expired_invitation_cannot_be_accepted(alice: Principal, django_capture_on_commit_callbacks) -> None:
    invitation, token = _invite(alice, django_capture_on_commit_callbacks)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    dora = User.objects.create_user("dora@example.com", PASSWORD)
    with pytest.raises(FailedPrecondition, match="expired"):
        do_accept_invitation(dora, token=token)
    assert not Membership.objects.filter(user=dora).exists()


def test_a_revoked_invitation_cannot_be_accepted(alice: Principal, django_capture_on_commit_callbacks) -> None:
    invitation, token = _invite(alice, django_capture_on_commit_callbacks)
    do_revoke_invitation(alice, invitation_id=invitation.public_id)
    dora = User.objects.create_user("dora@example.com", PASSWORD)
    with pytest.raises(FailedPrecondition, match="revoked"):
        do_accept_invitation(dora, token=token)
    with pytest.raises(FailedPrecondition, match="revoked"):
        do_resend_invitation(alice, invitation_id=invitation.public_id)


def test_resending_replaces_the_link(alice: Principal, django_capture_on_commit_callbacks) -> None:
    invitation, old = _invite(alice, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        do_resend_invitation(alice, invitation_id=invitation.public_id)
    new = re.search(r"/invitations/([^/\s]+)/", str(mail.outbox[-1].body)).group(1)  # type: ignore[union-attr]
    assert new != old
    assert len(mail.outbox) == 2
    dora = User.objects.create_user("dora@example.com", PASSWORD)
    with pytest.raises(NotFound, match="not valid"):
        do_accept_invitation(dora, token=old)
    do_accept_invitation(dora, token=new)


@pytest.mark.parametrize(
    ("email", "error", "message"),
    [
        ("not-an-email", InvalidInput, "not a valid e-mail"),
        ("", InvalidInput, "not a valid e-mail"),
        ("bob@example.com", AlreadyExists, "already a member"),
        ("dora@example.com", AlreadyExists, "already been invited"),
    ],
)
def test_bad_invitations_are_refused_and_send_nothing(
    alice: Principal, bob: Principal, django_capture_on_commit_callbacks, email: str, error, message: str
) -> None:
    _invite(alice, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(error, match=message):
        do_invite_user(alice, email=email, role=Role.READ_ONLY)
    assert len(mail.outbox) == 1
    assert Invitation.objects.count() == 1


def test_an_invitation_with_a_bad_namespace_is_refused(alice: Principal) -> None:
    with pytest.raises(InvalidInput, match="not a valid namespace name"):
        do_invite_user(alice, email="x@example.com", role=Role.READ_ONLY, namespace_accesses={"Bad_Name": "read"})
    with pytest.raises(InvalidInput, match="unknown namespace permission"):
        do_invite_user(alice, email="x@example.com", role=Role.READ_ONLY, namespace_accesses={"payments": "root"})
    assert not Invitation.objects.exists()


def test_it_rejects_outsider(alice: Principal, charlie: Principal, django_capture_on_commit_callbacks) -> None:
    invitation, _ = _invite(alice, django_capture_on_commit_callbacks)
    with pytest.raises(NotFound):
        do_revoke_invitation(charlie, invitation_id=invitation.public_id)
    with pytest.raises(NotFound):
        do_resend_invitation(charlie, invitation_id=invitation.public_id)
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is None
