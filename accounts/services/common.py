"""Small rules every service shares: optimistic concurrency, bumping versions, and telling the
engine when who-may-do-what in an account has changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from django.db import transaction
from django.db.models import F

from accounts.errors import InvalidInput, StaleResourceVersion

if TYPE_CHECKING:
    from accounts.models import Account


class Versioned(Protocol):
    pk: int
    resource_version: int


def check_version(obj: Versioned, resource_version: str | None, what: str) -> None:
    """``None`` skips the check (pages that do not carry a version); otherwise it must match."""
    if resource_version is None:
        return
    text = resource_version.strip()
    if not text:
        raise InvalidInput(f"resource_version is required to change the {what}")
    if text != str(obj.resource_version):
        raise StaleResourceVersion(
            f"the {what} has changed since resource_version {text!r} (now {obj.resource_version}); read it again"
        )


def bump_version(obj: Versioned) -> None:
    type(obj).objects.filter(pk=obj.pk).update(resource_version=F("resource_version") + 1)  # type: ignore[attr-defined]
    obj.resource_version += 1


NAMESPACE_NAME_RULE = "2–39 characters: lowercase letters, digits and '-', starting with a letter"


def namespace_name(account_id: str, namespace: str) -> str:
    """A namespace of ``account_id`` given as ``name`` or as its id ``name.<account id>``.

    A namespace id of another account is NotFound; a malformed name is InvalidInput.
    """
    import re

    from accounts.errors import NotFound

    text = namespace.strip()
    name, dot, owner = text.partition(".")
    if dot and owner != account_id:
        raise NotFound(f"namespace {text!r} not found")
    if not re.fullmatch(r"[a-z][a-z0-9-]{1,38}", name):
        raise InvalidInput(f"namespace {text!r} is not a valid namespace name ({NAMESPACE_NAME_RULE})")
    return name


def access_changed(account: Account) -> None:
    """Call inside the transaction of any change to the account's people, roles, namespace grants
    or API keys: once it commits, ``namespaces.sync_account_access`` sends the engine the account's
    whole access document (a change that rolls back queues nothing).

    It also bumps the account's ``access_version`` in the same transaction, so that a sync whose
    queueing is lost (broker down) is found by the periodic sweep: the engine has confirmed less
    (``access_synced_version``) than the database holds."""
    from accounts.models import Account
    from namespaces.tasks import queue_access_sync

    Account.objects.filter(pk=account.pk).update(access_version=F("access_version") + 1)
    account_id = account.account_id
    transaction.on_commit(lambda: queue_access_sync(account_id), robust=True)
