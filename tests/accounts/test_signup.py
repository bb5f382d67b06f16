"""Browser sign-up (allauth + accounts.forms): an organisation, its Owner, a verified e-mail.

Driven with Django's test client against the real views; mail goes to ``mail.outbox``.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Account, Invitation, Membership, Role, User
from accounts.services.invitations import do_invite_user, do_revoke_invitation
from accounts.web import SESSION_INVITATION_KEY
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

STRONG = "sundial correct horse 4921"


def fresh_client() -> Client:
    """A browser at its own address, so allauth's per-address rate limits of other tests never apply."""
    return Client(REMOTE_ADDR=f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}")


def unique_email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


def sign_up(client: Client, email: str, **overrides: str):
    data = {"email": email, "organisation": "Dora Ltd", "password1": STRONG, "password2": STRONG, **overrides}
    return client.post("/accounts/signup/", data)


def link_in(message: mail.EmailMessage, path: str) -> str:
    found = re.search(rf"https?://[^/\s]+({re.escape(path)}\S+)", str(message.body))
    assert found, message.body
    return found.group(1)


def invite(principal, capture, email: str) -> tuple[Invitation, str]:
    """Invite ``email`` to the principal's account; returns the invitation and its link's token."""
    with capture(execute=True):
        invitation = do_invite_user(principal, email=email, role=Role.DEVELOPER)
    token = re.search(r"/invitations/([^/\s]+)/", str(mail.outbox[-1].body))
    assert token, mail.outbox[-1].body
    return invitation, token.group(1)


def confirm(client: Client, link: str) -> None:
    """Follow the verification link and press Confirm, as a person does."""
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302


def test_the_form_asks_for_email_organisation_and_password_in_that_order() -> None:
    page = fresh_client().get("/accounts/signup/").content.decode()
    names = [re.search(rf'name="{name}"', page) for name in ("email", "organisation", "password1", "password2")]
    assert all(names), page
    positions = [m.start() for m in names if m]
    assert positions == sorted(positions)
    assert "Organisation name" in page


def test_sign_up_creates_the_user_and_their_organisation_and_mails_a_link() -> None:
    email = unique_email("dora")
    response = sign_up(fresh_client(), email, organisation="  Dora Ltd  ")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email=email)
    membership = Membership.objects.select_related("account").get(user=user)
    assert membership.role == Role.OWNER
    assert membership.account.name == "Dora Ltd"
    assert re.fullmatch(r"[a-z0-9]{5}", membership.account.account_id)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [email]
    assert "/accounts/confirm-email/" in str(mail.outbox[0].body)
    created = AuditEntry.objects.get(account_code=membership.account.account_id, operation="CreateAccount")
    assert created.principal_name == email


def test_a_taken_email_is_refused_with_a_clear_message_and_nothing_created() -> None:
    email = unique_email("dora")
    assert sign_up(fresh_client(), email).status_code == 302
    users, accounts, sent = User.objects.count(), Account.objects.count(), len(mail.outbox)

    response = sign_up(fresh_client(), email.upper(), organisation="Second Org")

    assert response.status_code == 200
    assert "A user is already registered with this email address." in response.content.decode()
    assert (User.objects.count(), Account.objects.count(), len(mail.outbox)) == (users, accounts, sent)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password", "This password is too common."),
        ("x7!k", "This password is too short. It must contain at least 8 characters."),
        ("84736251904", "This password is entirely numeric."),
    ],
)
def test_a_weak_password_is_refused_and_nothing_created(password: str, message: str) -> None:
    email = unique_email("weak")
    response = sign_up(fresh_client(), email, password1=password, password2=password)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(email=email).exists()
    assert not Account.objects.exists()
    assert mail.outbox == []


def test_mismatched_passwords_are_refused() -> None:
    email = unique_email("typo")
    response = sign_up(fresh_client(), email, password2=STRONG + "x")
    assert response.status_code == 200
    assert "You must type the same password each time." in response.content.decode()
    assert not User.objects.filter(email=email).exists()


@pytest.mark.parametrize("organisation", ["", "   "])
def test_a_missing_organisation_is_refused_and_nothing_created(organisation: str) -> None:
    email = unique_email("noorg")
    response = sign_up(fresh_client(), email, organisation=organisation)

    assert response.status_code == 200
    page = response.content.decode()
    assert "This field is required." in page
    assert not User.objects.filter(email=email).exists()
    assert not Account.objects.exists()


def test_an_overlong_organisation_name_is_refused() -> None:
    email = unique_email("long")
    response = sign_up(fresh_client(), email, organisation="x" * 201)
    assert response.status_code == 200
    assert "Ensure this value has at most 200 characters" in response.content.decode()
    assert not User.objects.filter(email=email).exists()


def test_sign_in_waits_for_the_email_to_be_verified_then_works() -> None:
    email = unique_email("dora")
    sign_up(fresh_client(), email)
    link = link_in(mail.outbox[0], "/accounts/confirm-email/")

    early = fresh_client()
    response = early.post("/accounts/login/", {"login": email, "password": STRONG})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in early.session

    confirm(fresh_client(), link)

    later = fresh_client()
    response = later.post("/accounts/login/", {"login": email, "password": STRONG})
    assert response.status_code == 302
    assert later.session["_auth_user_id"] == str(User.objects.get(email=email).pk)
    account = Account.objects.get(memberships__user__email=email)
    assert account.account_id in later.get("/", follow=True).content.decode()


def test_password_reset_mails_a_link_that_sets_a_new_password() -> None:
    email = unique_email("forgetful")
    sign_up(fresh_client(), email)
    confirm(fresh_client(), link_in(mail.outbox[0], "/accounts/confirm-email/"))
    mail.outbox.clear()

    browser = fresh_client()
    assert browser.post("/accounts/password/reset/", {"email": email}).status_code == 302
    assert len(mail.outbox) == 1
    link = link_in(mail.outbox[0], "/accounts/password/reset/key/")
    form_url = browser.get(link)["Location"]  # allauth moves the key out of the URL first
    new = "a brand new passphrase 77"
    response = browser.post(form_url, {"password1": new, "password2": new})
    assert response.status_code == 302

    assert not fresh_client().login(email=email, password=STRONG)
    signed_in = fresh_client()
    assert signed_in.post("/accounts/login/", {"login": email, "password": new}).status_code == 302
    assert "_auth_user_id" in signed_in.session


def test_password_reset_for_an_unknown_email_says_so_and_sends_nothing() -> None:
    response = fresh_client().post("/accounts/password/reset/", {"email": unique_email("nobody")})
    assert response.status_code == 200
    assert "The email address is not assigned to any user account" in response.content.decode()
    assert mail.outbox == []


def test_an_invited_visitor_signs_up_without_creating_an_organisation(
    alice, django_capture_on_commit_callbacks
) -> None:
    email = unique_email("invitee")
    invitation, token = invite(alice, django_capture_on_commit_callbacks, email)
    mail.outbox.clear()
    browser = fresh_client()
    session = browser.session
    session[SESSION_INVITATION_KEY] = token
    session.save()

    page = browser.get("/accounts/signup/").content.decode()
    assert "You are joining Alice Co by invitation" in page
    response = sign_up(browser, email, organisation="")

    assert response.status_code == 302
    user = User.objects.get(email=email)
    assert not Membership.objects.filter(user=user).exists()
    assert Account.objects.count() == 1
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None  # the invitation page accepts
    assert len(mail.outbox) == 1  # the verification mail


def test_a_revoked_invitation_in_the_session_does_not_excuse_the_organisation(
    alice, django_capture_on_commit_callbacks
) -> None:
    email = unique_email("late")
    invitation, token = invite(alice, django_capture_on_commit_callbacks, email)
    do_revoke_invitation(alice, invitation_id=invitation.public_id)
    browser = fresh_client()
    session = browser.session
    session[SESSION_INVITATION_KEY] = token
    session.save()

    response = sign_up(browser, email, organisation="")
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not User.objects.filter(email=email).exists()
