"""Alice owns an account, Bob is a member of it (role chosen per test), Charlie owns another.

Fixtures give each person as a ``Principal`` acting in their account, plus helpers to make
more members and service accounts. Every test here runs on the pass's real database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Account, Membership, Role, ServiceAccount, User
from accounts.principal import Principal, principal_for_membership, principal_for_service_account
from accounts.services import do_create_account

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def alice_user(db) -> User:
    return User.objects.create_user("alice@example.com", PASSWORD)


@pytest.fixture
def alice_account(alice_user: User) -> Account:
    return do_create_account(owner=alice_user, name="Alice Co")


@pytest.fixture
def alice(alice_account: Account, alice_user: User) -> Principal:
    return principal_for_membership(Membership.objects.get(account=alice_account, user=alice_user))


@pytest.fixture
def add_member(alice_account: Account) -> Callable[..., Principal]:
    """Make a user a member of Alice's account with a role, directly (no invitation)."""

    def add(email: str, role: Role, account: Account | None = None) -> Principal:
        user = User.objects.filter(email=email).first() or User.objects.create_user(email, PASSWORD)
        membership = Membership.objects.create(account=account or alice_account, user=user, role=role)
        return principal_for_membership(membership)

    return add


@pytest.fixture
def bob(add_member: Callable[..., Principal]) -> Principal:
    """Bob is a Developer in Alice's account unless a test changes that."""
    return add_member("bob@example.com", Role.DEVELOPER)


@pytest.fixture
def charlie(db) -> Principal:
    user = User.objects.create_user("charlie@example.com", PASSWORD)
    account = do_create_account(owner=user, name="Charlie Ltd")
    return principal_for_membership(Membership.objects.get(account=account, user=user))


@pytest.fixture
def add_service_account(alice_account: Account) -> Callable[..., Principal]:
    def add(name: str, role: Role, account: Account | None = None) -> Principal:
        sa = ServiceAccount.objects.create(account=account or alice_account, name=name, role=role)
        return principal_for_service_account(sa)

    return add


def in_days(days: float) -> datetime:
    return timezone.now() + timedelta(days=days)
