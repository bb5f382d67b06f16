"""The invitation link an invitee opens, and where the home page sends a signed-in person."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import Invitation, Membership, Role, User
from accounts.principal import Principal
from accounts.services.accounts import do_create_account
from accounts.services.invitations import do_invite_user, do_revoke_invitation
from accounts.web import SESSION_ACCOUNT_KEY, SESSION_INVITATION_KEY
from tests.accounts.conftest import PASSWORD
from tests.accounts.pages import browser_of, says, text


@pytest.fixture
def invite(alice: Principal, django_capture_on_commit_callbacks) -> Callable[..., tuple[Invitation, str]]:
    """Alice invites someone; gives the invitation and the path of the link in the e-mail."""

    def make(email: str = "dora@example.com", role: Role = Role.DEVELOPER) -> tuple[Invitation, str]:
        with django_capture_on_commit_callbacks(execute=True):
            invitation = do_invite_user(alice, email=email, role=role)
        match = re.search(r"https?://[^/\s]+(/invitations/[^/\s]+/)", str(mail.outbox[-1].body))
        assert match is not None
        return invitation, match.group(1)

    return make


def _signed_in(email: str) -> Client:
    client = Client()
    client.force_login(User.objects.filter(email=email).first() or User.objects.create_user(email, PASSWORD))
    return client


def test_a_signed_out_invitee_sees_who_invited_them_to_what(invite: Callable[..., tuple[Invitation, str]]) -> None:
    _, link = invite()
    client = Client()
    page = client.get(link)
    assert page.status_code == 200
    seen = text(page)
    assert "alice@example.com invited dora@example.com to join Alice Co" in seen
    assert "as Developer" in seen
    html = page.content.decode()
    next_link = link.replace("/", "%2F")
    assert f'href="/accounts/login/?next={next_link}"' in html
    assert f'href="/accounts/signup/?next={next_link}"' in html
    assert client.session[SESSION_INVITATION_KEY] == link.split("/")[2]
    assert "Accept invitation" not in seen


def test_the_invitee_accepts_and_lands_in_the_account(
    alice: Principal, invite: Callable[..., tuple[Invitation, str]]
) -> None:
    invitation, link = invite()
    client = Client()
    client.get(link)  # signed out first: the token waits in the session
    client.force_login(User.objects.create_user("dora@example.com", PASSWORD))
    page = client.get(link)
    assert "Accept invitation" in text(page)
    assert not Membership.objects.filter(user__email="dora@example.com").exists()  # opening changes nothing
    response = client.post(link, follow=True)
    assert response.redirect_chain[-1][0] == f"/a/{alice.account.account_id}/settings/"
    assert says(response, "Welcome to Alice Co: you joined as Developer.")
    membership = Membership.objects.get(user__email="dora@example.com")
    assert (membership.account, membership.role, membership.public_id) == (
        alice.account,
        Role.DEVELOPER,
        invitation.public_id,
    )
    assert SESSION_INVITATION_KEY not in client.session
    assert client.session[SESSION_ACCOUNT_KEY] == alice.account.account_id


@pytest.mark.parametrize(
    ("state", "status", "message"),
    [
        ("expired", 409, "this invitation has expired; ask for a new one"),
        ("revoked", 409, "this invitation has been revoked"),
        ("used", 409, "this invitation has already been accepted"),
    ],
)
def test_dead_links_explain_themselves_and_change_nothing(
    alice: Principal, invite: Callable[..., tuple[Invitation, str]], state: str, status: int, message: str
) -> None:
    invitation, link = invite()
    if state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "revoked":
        do_revoke_invitation(alice, invitation_id=invitation.public_id)
    else:
        Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())
    signed_out = Client()
    page = signed_out.get(link)
    assert page.status_code == status
    assert says(page, message)
    assert SESSION_INVITATION_KEY not in signed_out.session
    client = _signed_in("dora@example.com")
    for response in (client.get(link), client.post(link)):
        assert response.status_code == status
        assert says(response, message)
        assert "Accept invitation" not in text(response)
    assert not Membership.objects.filter(user__email="dora@example.com").exists()


def test_the_wrong_person_cannot_accept(invite: Callable[..., tuple[Invitation, str]]) -> None:
    _, link = invite()
    client = _signed_in("eve@example.com")
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 403
        assert says(response, "this invitation is for dora@example.com; sign in with that address")
        assert says(response, "Sign out and use another address")
    assert not Membership.objects.filter(user__email="eve@example.com").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_unknown_or_replaced_link_is_not_found(db) -> None:
    client = Client()
    session = client.session
    session[SESSION_INVITATION_KEY] = "no-such-token"
    session.save()
    page = client.get("/invitations/no-such-token/")
    assert page.status_code == 404
    assert says(page, "this invitation link is not valid")
    assert SESSION_INVITATION_KEY not in client.session


def test_a_member_cannot_accept_twice(
    alice: Principal, bob: Principal, invite: Callable[..., tuple[Invitation, str]]
) -> None:
    Membership.objects.filter(pk=bob.membership.pk).delete()  # type: ignore[union-attr]
    _, link = invite("bob@example.com")
    Membership.objects.create(account=alice.account, user=User.objects.get(email=bob.name), role=Role.READ_ONLY)
    response = _signed_in("bob@example.com").post(link)
    assert response.status_code == 409
    assert says(response, "you are already a member of this account")


def test_home_shows_the_landing_page_to_visitors(db) -> None:
    page = Client().get("/")
    assert page.status_code == 200
    assert says(page, "Sign in or create an account")


def test_home_sends_a_member_to_the_account_used_last(alice: Principal, charlie: Principal) -> None:
    Membership.objects.create(account=charlie.account, user=User.objects.get(email=alice.name), role=Role.READ_ONLY)
    client = browser_of(alice)
    assert client.get("/")["Location"] == f"/a/{alice.account.account_id}/"
    client.get(f"/a/{charlie.account.account_id}/settings/")
    assert client.get("/")["Location"] == f"/a/{charlie.account.account_id}/"


def test_home_forgets_an_account_the_member_left(alice: Principal, charlie: Principal) -> None:
    client = browser_of(alice)
    session = client.session
    session[SESSION_ACCOUNT_KEY] = charlie.account.account_id
    session.save()
    assert client.get("/")["Location"] == f"/a/{alice.account.account_id}/"


def test_home_sends_a_newcomer_back_to_their_invitation(invite: Callable[..., tuple[Invitation, str]]) -> None:
    _, link = invite()
    client = Client()
    client.get(link)
    client.force_login(User.objects.create_user("dora@example.com", PASSWORD))
    assert client.get("/")["Location"] == link


def test_home_tells_a_person_without_an_account(db) -> None:
    page = _signed_in("nobody@example.com").get("/")
    assert page.status_code == 200
    assert says(page, "you do not belong to any Sundial account")


def test_the_account_switcher_lists_every_account_of_the_user(alice: Principal) -> None:
    other = do_create_account(owner=alice.user, name="Side Project")  # type: ignore[arg-type]
    html = browser_of(alice).get(f"/a/{alice.account.account_id}/settings/").content.decode()
    switcher = re.search(r'<ul aria-label="Switch account">.*?</ul>', html, re.S)
    assert switcher is not None
    assert f'href="/a/{alice.account.account_id}/" aria-current="page"' in switcher.group(0)
    assert f'href="/a/{other.account_id}/"' in switcher.group(0)
    assert "Side Project" in switcher.group(0)
