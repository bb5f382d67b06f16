"""`sundial demo` (run by `make run`) creates a demo account whose owner can sign in."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.errors import InvalidInput
from accounts.models import Account, Membership, Role, User
from accounts.services import do_create_account

pytestmark = pytest.mark.django_db


def _run_demo(*args: str) -> dict[str, str]:
    out = io.StringIO()
    call_command("demo_account", *args, stdout=out)
    return dict(re.findall(r"^\s+(e-mail|password):\s+(\S+)", out.getvalue(), re.MULTILINE))


def test_demo_creates_an_account_whose_owner_signs_in(client: Client, settings, tmp_path) -> None:
    settings.DATA_DIR = tmp_path
    login = _run_demo()
    user = User.objects.get(email=login["e-mail"])
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert re.fullmatch(r"[a-z0-9]{5}", membership.account.account_id)

    response = client.post("/accounts/login/", {"login": login["e-mail"], "password": login["password"]})
    assert response.status_code == 302
    page = client.get("/", follow=True)  # home sends a member to their account
    assert membership.account.account_id in page.content.decode()


def test_demo_is_idempotent_and_prints_the_same_password(settings, tmp_path) -> None:
    settings.DATA_DIR = tmp_path
    first, second = _run_demo(), _run_demo()
    assert first == second
    assert Account.objects.count() == 1
    assert User.objects.count() == 1


def test_demo_reset_password_replaces_the_old_one(client: Client, settings, tmp_path) -> None:
    settings.DATA_DIR = tmp_path
    old = _run_demo()
    new = _run_demo("--reset-password")
    assert new["password"] != old["password"]
    assert not client.login(email=old["e-mail"], password=old["password"])
    assert client.login(email=new["e-mail"], password=new["password"])


def test_wrong_password_does_not_sign_in(client: Client, settings, tmp_path) -> None:
    settings.DATA_DIR = tmp_path
    login = _run_demo()
    response = client.post("/accounts/login/", {"login": login["e-mail"], "password": "not-it"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_an_account_needs_a_name() -> None:
    owner = User.objects.create_user("alice@example.com", "pw-alice-123")
    with pytest.raises(InvalidInput, match="needs a name"):
        do_create_account(owner=owner, name="   ")
    assert not Account.objects.exists()


def test_account_ids_are_unique_per_account() -> None:
    owner = User.objects.create_user("alice@example.com", "pw-alice-123")
    ids = {do_create_account(owner=owner, name=f"Org {i}").account_id for i in range(20)}
    assert len(ids) == 20
