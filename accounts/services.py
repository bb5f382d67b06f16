"""Writes on accounts and people. One function per business action."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import Account, Membership, Role, User, new_account_id

_ACCOUNT_ID_TRIES = 20


def do_create_account(*, owner: User, name: str) -> Account:
    """Create an account with a fresh unique short id and make ``owner`` its Account Owner."""
    name = name.strip()
    if not name:
        raise ValueError("an account needs a name")
    for _ in range(_ACCOUNT_ID_TRIES):
        try:
            with transaction.atomic():
                account = Account.objects.create(account_id=new_account_id(), name=name)
                Membership.objects.create(account=account, user=owner, role=Role.OWNER)
                return account
        except IntegrityError:
            if Account.objects.filter(name=name, memberships__user=owner).exists():
                raise
            continue  # the random id collided; draw another
    raise RuntimeError("could not allocate a unique account id")
