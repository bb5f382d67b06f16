"""The members page: members and invitations, who may invite, change roles, remove and leave."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail

from accounts.models import Invitation, Membership, NamespaceGrant, Role
from accounts.principal import Principal
from tests.accounts.pages import browser_of, page_of, says, text


def _role_options(html: str, member_id: str) -> list[str]:
    select = re.search(rf'<select name="{member_id}-role".*?</select>', html, re.S)
    assert select is not None
    return re.findall(r'<option value="([a-z_]+)"', select.group(0))


def _invite_options(html: str) -> list[str]:
    form = re.search(r"<form[^>]*members/invite/.*?</form>", html, re.S)
    assert form is not None
    return re.findall(r'<option value="([a-z_]+)"', form.group(0))


def test_owner_sees_members_with_roles_and_namespace_access(alice: Principal, bob: Principal) -> None:
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="payments", permission="write"
    )
    page = browser_of(alice).get(page_of(alice, "members/"))
    assert page.status_code == 200
    seen = text(page)
    assert "alice@example.com (you)" in seen
    assert "bob@example.com" in seen
    assert "payments : write" in seen
    assert "Admin on every namespace" in seen
    assert "Remove bob@example.com" in seen
    assert "Send invitation" in seen
    html = page.content.decode()
    assert _role_options(html, bob.public_id) == [r.value for r in Role]
    assert _invite_options(html) == [r.value for r in Role]


def test_global_admin_is_offered_only_the_roles_it_may_grant(
    alice: Principal, bob: Principal, add_member: Callable[..., Principal]
) -> None:
    admin = add_member("gina@example.com", Role.GLOBAL_ADMIN)
    html = browser_of(admin).get(page_of(admin, "members/")).content.decode()
    grantable = [r.value for r in Role if r not in (Role.OWNER, Role.FINANCE_ADMIN)]
    assert _invite_options(html) == grantable
    assert _role_options(html, bob.public_id) == grantable
    assert f'name="{alice.public_id}-role"' not in html  # an Owner is changed by Owners only
    assert "Remove alice@example.com" not in text(browser_of(admin).get(page_of(admin, "members/")))


def test_a_role_the_caller_may_not_grant_is_refused(bob: Principal, add_member: Callable[..., Principal]) -> None:
    admin = add_member("gina@example.com", Role.GLOBAL_ADMIN)
    client = browser_of(admin)
    refused = client.post(page_of(admin, "members/invite/"), {"email": "dora@example.com", "role": "owner"})
    assert refused.status_code == 403
    assert says(refused, "may not grant the role Account Owner")
    refused = client.post(page_of(admin, f"members/{bob.public_id}/role/"), {f"{bob.public_id}-role": "finance_admin"})
    assert refused.status_code == 403
    assert not Invitation.objects.exists()
    assert Membership.objects.get(pk=bob.membership.pk).role == Role.DEVELOPER  # type: ignore[union-attr]


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.READ_ONLY])
def test_members_who_may_not_manage_users_see_no_controls_and_get_403(
    alice: Principal, add_member: Callable[..., Principal], role: Role
) -> None:
    member = add_member("rita@example.com", role)
    client = browser_of(member)
    page = client.get(page_of(member, "members/"))
    assert page.status_code == 200
    seen = text(page)
    assert "alice@example.com" in seen
    for control in ("Send invitation", "Change role", "Remove alice@example.com"):
        assert control not in seen
    assert "Leave account" in seen
    invite = client.post(page_of(member, "members/invite/"), {"email": "dora@example.com", "role": "read_only"})
    assert invite.status_code == 403
    owner_id = alice.public_id
    assert (
        client.post(page_of(member, f"members/{owner_id}/role/"), {f"{owner_id}-role": "read_only"}).status_code == 403
    )
    assert client.post(page_of(member, f"members/{owner_id}/remove/")).status_code == 403
    assert (
        client.post(
            page_of(member, f"members/{member.public_id}/role/"), {f"{member.public_id}-role": "owner"}
        ).status_code
        == 403
    )
    assert not Invitation.objects.exists()
    assert Membership.objects.get(pk=alice.membership.pk).role == Role.OWNER  # type: ignore[union-attr]
    assert Membership.objects.get(pk=member.membership.pk).role == role  # type: ignore[union-attr]


def test_metrics_read_only_members_cannot_list_people(add_member: Callable[..., Principal]) -> None:
    member = add_member("mo@example.com", Role.METRICS_READ_ONLY)
    client = browser_of(member)
    assert client.get(page_of(member, "members/")).status_code == 403
    assert f'href="{page_of(member, "members/")}"' not in client.get(page_of(member, "settings/")).content.decode()


def test_it_rejects_outsider(alice: Principal, bob: Principal, charlie: Principal) -> None:
    client = browser_of(charlie)
    assert client.get(page_of(alice, "members/")).status_code == 404
    data = {"email": "mallory@example.com", "role": "owner"}
    assert client.post(page_of(alice, "members/invite/"), data).status_code == 404
    assert client.post(page_of(alice, f"members/{bob.public_id}/remove/")).status_code == 404
    # Alice's member ids through Charlie's own account are not found either.
    assert client.post(page_of(charlie, f"members/{bob.public_id}/remove/")).status_code == 404
    role = {f"{bob.public_id}-role": "read_only"}
    assert client.post(page_of(charlie, f"members/{bob.public_id}/role/"), role).status_code == 404
    assert Membership.objects.filter(pk=bob.membership.pk, role=Role.DEVELOPER).exists()  # type: ignore[union-attr]
    assert not Invitation.objects.exists()


def test_owner_invites_and_sees_the_pending_invitation(alice: Principal, django_capture_on_commit_callbacks) -> None:
    client = browser_of(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            page_of(alice, "members/invite/"), {"email": "Dora@Example.com", "role": "read_only"}, follow=True
        )
    seen = text(response)
    assert "Invitation sent to dora@example.com." in seen
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role) == ("dora@example.com", Role.READ_ONLY)
    assert "Pending invitations" in seen
    assert f"dora@example.com Read-Only {invitation.expires_at:%-d %b %Y}" in seen
    assert "Resend to dora@example.com" in seen
    assert mail.outbox[-1].to == ["dora@example.com"]


@pytest.mark.parametrize(
    ("email", "status", "message"),
    [
        ("not-an-email", 400, "is not a valid e-mail address"),
        ("", 400, "is not a valid e-mail address"),
        ("bob@example.com", 409, "bob@example.com is already a member of this account"),
        ("dora@example.com", 409, "dora@example.com has already been invited"),
        ("eve@example.com", 400, "unknown role 'wizard'"),
    ],
)
def test_bad_invitations_are_shown_on_the_form_and_change_nothing(
    alice: Principal, bob: Principal, django_capture_on_commit_callbacks, email: str, status: int, message: str
) -> None:
    client = browser_of(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page_of(alice, "members/invite/"), {"email": "dora@example.com", "role": "developer"})
    role = "wizard" if email == "eve@example.com" else "developer"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page_of(alice, "members/invite/"), {"email": email, "role": role})
    assert response.status_code == status
    assert says(response, message)
    if email:
        assert f'value="{email}"' in response.content.decode()  # what was typed is kept
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 1


def test_owner_changes_a_role(alice: Principal, bob: Principal) -> None:
    response = browser_of(alice).post(
        page_of(alice, f"members/{bob.public_id}/role/"), {f"{bob.public_id}-role": "read_only"}, follow=True
    )
    assert says(response, "bob@example.com is now Read-Only.")
    assert Membership.objects.get(pk=bob.membership.pk).role == Role.READ_ONLY  # type: ignore[union-attr]


def test_an_unknown_role_is_refused(alice: Principal, bob: Principal) -> None:
    response = browser_of(alice).post(
        page_of(alice, f"members/{bob.public_id}/role/"), {f"{bob.public_id}-role": "boss"}
    )
    assert response.status_code == 400
    assert says(response, "unknown role 'boss'")
    assert Membership.objects.get(pk=bob.membership.pk).role == Role.DEVELOPER  # type: ignore[union-attr]


def test_owner_removes_a_member(alice: Principal, bob: Principal) -> None:
    response = browser_of(alice).post(page_of(alice, f"members/{bob.public_id}/remove/"), follow=True)
    assert says(response, "bob@example.com has been removed from the account.")
    assert not Membership.objects.filter(pk=bob.membership.pk).exists()  # type: ignore[union-attr]


def test_a_member_leaves(alice: Principal, bob: Principal) -> None:
    client = browser_of(bob)
    response = client.post(page_of(bob, f"members/{bob.public_id}/remove/"), follow=True)
    assert says(response, "You have left Alice Co.")
    assert not Membership.objects.filter(pk=bob.membership.pk).exists()  # type: ignore[union-attr]
    assert client.get(page_of(alice, "members/")).status_code == 404


def test_the_last_owner_cannot_leave(alice: Principal) -> None:
    response = browser_of(alice).post(page_of(alice, f"members/{alice.public_id}/remove/"))
    assert response.status_code == 409
    assert says(response, "the last Account Owner cannot leave")
    assert Membership.objects.filter(pk=alice.membership.pk).exists()  # type: ignore[union-attr]


def test_owner_resends_and_revokes_an_invitation(alice: Principal, django_capture_on_commit_callbacks) -> None:
    client = browser_of(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page_of(alice, "members/invite/"), {"email": "dora@example.com", "role": "developer"})
        invitation = Invitation.objects.get()
        resent = client.post(page_of(alice, f"invitations/{invitation.public_id}/resend/"), follow=True)
    assert says(resent, "A new invitation link has been sent to dora@example.com.")
    assert len(mail.outbox) == 2
    revoked = client.post(page_of(alice, f"invitations/{invitation.public_id}/revoke/"), follow=True)
    assert says(revoked, "The invitation has been revoked")
    assert says(revoked, "No pending invitations.")
    assert Invitation.objects.get().revoked_at is not None
    again = client.post(page_of(alice, f"invitations/{invitation.public_id}/revoke/"))
    assert again.status_code == 409
    assert says(again, "this invitation has been revoked")


def test_only_admins_resend_or_revoke(
    alice: Principal, bob: Principal, charlie: Principal, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        browser_of(alice).post(page_of(alice, "members/invite/"), {"email": "dora@example.com", "role": "developer"})
    invitation = Invitation.objects.get()
    page = browser_of(bob).get(page_of(bob, "members/"))
    assert "dora@example.com" in text(page)
    assert "Revoke invitation" not in text(page)
    for action in ("resend", "revoke"):
        assert browser_of(bob).post(page_of(bob, f"invitations/{invitation.public_id}/{action}/")).status_code == 403
        outsider = browser_of(charlie)
        assert outsider.post(page_of(charlie, f"invitations/{invitation.public_id}/{action}/")).status_code == 404
        assert outsider.post(page_of(alice, f"invitations/{invitation.public_id}/{action}/")).status_code == 404
    assert Invitation.objects.get().revoked_at is None
    assert len(mail.outbox) == 1
