"""The access document the engine gets for an account, and every change that must resend it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from accounts.models import ApiKey, NamespaceGrant, NamespacePermission, Role
from accounts.principal import Principal, api_key_digest, principal_for_service_account
from accounts.services.accounts import do_delete_account, do_transfer_ownership
from accounts.services.api_keys import do_create_api_key, do_delete_api_key, do_update_api_key
from accounts.services.invitations import do_accept_invitation, do_invite_user
from accounts.services.members import do_remove_member, do_set_member_namespace_access, do_update_member
from accounts.services.service_accounts import (
    do_create_service_account,
    do_delete_service_account,
    do_set_service_account_namespace_access,
    do_update_service_account,
)
from namespaces.documents import access_document
from tests.accounts.conftest import in_days
from tests.namespaces.conftest import Queued


def _principal(document: dict, name: str) -> dict:
    return next(p for p in document["principals"] if p["name"] == name)


def test_the_document_holds_admins_grants_and_key_digests(
    alice: Principal, bob: Principal, add_member: Callable[..., Principal], queued: Queued
) -> None:
    add_member("dave@example.com", Role.GLOBAL_ADMIN)
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="orders", permission=NamespacePermission.WRITE
    )
    sa = do_create_service_account(
        alice, name="ci", role=Role.READ_ONLY, namespace_accesses={"payments": "write", "orders": "read"}
    )
    key, token = do_create_api_key(principal_for_service_account(sa), display_name="ci key", expires_at=in_days(30))
    own_key, _ = do_create_api_key(bob, display_name="bob's", expires_at=in_days(10))
    do_update_api_key(bob, key_id=own_key.key_id, disabled=True)

    document = access_document(alice.account.account_id)

    assert document["account_id"] == alice.account.account_id
    assert _principal(document, "alice@example.com") == {
        "principal_id": alice.public_id,
        "kind": "user",
        "name": "alice@example.com",
        "account_admin": True,
        "grants": {},
    }
    assert _principal(document, "dave@example.com")["account_admin"] is True
    assert _principal(document, "bob@example.com")["account_admin"] is False
    assert _principal(document, "bob@example.com")["grants"] == {"orders": "write"}
    robot = _principal(document, "ci")
    assert (robot["kind"], robot["account_admin"], robot["grants"]) == (
        "service_account",
        False,
        {"orders": "read", "payments": "write"},
    )
    keys = {k["key_id"]: k for k in document["api_keys"]}
    assert keys[key.key_id] == {
        "key_id": key.key_id,
        "principal_id": sa.public_id,
        "digest": api_key_digest(token),
        "expires_at": key.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "disabled": False,
    }
    assert keys[own_key.key_id]["disabled"] is True
    assert keys[own_key.key_id]["principal_id"] == bob.public_id


def test_a_deactivated_users_keys_are_sent_disabled(bob: Principal) -> None:
    key, _ = do_create_api_key(bob, display_name="bob's", expires_at=in_days(10))
    assert bob.user is not None
    bob.user.is_active = False
    bob.user.save()
    (sent,) = [k for k in access_document(bob.account.account_id)["api_keys"] if k["key_id"] == key.key_id]
    assert sent["disabled"] is True


def test_another_accounts_people_and_keys_stay_out(alice: Principal, charlie: Principal) -> None:
    do_create_api_key(charlie, display_name="charlie's", expires_at=in_days(10))
    document = access_document(alice.account.account_id)
    assert [p["name"] for p in document["principals"]] == ["alice@example.com"]
    assert document["api_keys"] == []


def test_a_deleted_accounts_document_is_empty(alice: Principal, queued: Queued) -> None:
    do_create_api_key(alice, display_name="alice's", expires_at=in_days(10))
    account_id = alice.account.account_id
    queued.commit(lambda: do_delete_account(alice, confirm_account_id=account_id))
    assert queued.access_syncs == [account_id]
    assert access_document(account_id) == {"account_id": account_id, "principals": [], "api_keys": []}


# Every change to people, roles, grants or keys queues one sync of the account, after commit.
CHANGES: list[tuple[str, Callable[[Principal, Principal], object]]] = [
    ("create a key", lambda a, b: do_create_api_key(b, display_name="k", expires_at=in_days(5))),
    (
        "disable a key",
        lambda a, b: do_update_api_key(
            a, key_id=do_create_api_key(a, display_name="k", expires_at=in_days(5))[0].key_id, disabled=True
        ),
    ),
    (
        "delete a key",
        lambda a, b: do_delete_api_key(
            a, key_id=do_create_api_key(a, display_name="k", expires_at=in_days(5))[0].key_id
        ),
    ),
    ("change a role", lambda a, b: do_update_member(a, member_id=b.public_id, role=Role.READ_ONLY)),
    (
        "grant a namespace",
        lambda a, b: do_set_member_namespace_access(a, member_id=b.public_id, namespace="payments", permission="read"),
    ),
    ("remove a member", lambda a, b: do_remove_member(a, member_id=b.public_id)),
    ("hand over ownership", lambda a, b: do_transfer_ownership(a, to_member_id=b.public_id)),
    ("create a service account", lambda a, b: do_create_service_account(a, name="ci", role=Role.DEVELOPER)),
    (
        "change a service account",
        lambda a, b: do_update_service_account(
            a, service_account_id=do_create_service_account(a, name="ci").public_id, role=Role.DEVELOPER
        ),
    ),
    (
        "grant a service account",
        lambda a, b: do_set_service_account_namespace_access(
            a, service_account_id=do_create_service_account(a, name="ci").public_id, namespace="x1", permission="write"
        ),
    ),
    (
        "delete a service account",
        lambda a, b: do_delete_service_account(a, service_account_id=do_create_service_account(a, name="ci").public_id),
    ),
]


@pytest.mark.parametrize(("case", "change"), CHANGES, ids=[c[0] for c in CHANGES])
def test_each_change_of_access_queues_a_sync(
    alice: Principal, bob: Principal, queued: Queued, case: str, change: Callable[[Principal, Principal], object]
) -> None:
    queued.commit(lambda: change(alice, bob))
    assert set(queued.access_syncs) == {alice.account.account_id}


def test_accepting_an_invitation_queues_a_sync(alice: Principal, queued: Queued, mailoutbox: list) -> None:
    from accounts.models import User

    queued.commit(lambda: do_invite_user(alice, email="erin@example.com", role=Role.DEVELOPER))
    assert queued.access_syncs == []  # an invitation is nobody yet
    token = re.search(r"/invitations/([^/\s]+)/", mailoutbox[0].body).group(1)  # type: ignore[union-attr]
    erin = User.objects.create_user("erin@example.com", "pw-erin-12345")
    queued.commit(lambda: do_accept_invitation(erin, token=token))
    assert queued.access_syncs == [alice.account.account_id]


def test_a_refused_change_queues_nothing(alice: Principal, bob: Principal, queued: Queued) -> None:
    from accounts.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        queued.commit(lambda: do_update_member(bob, member_id=alice.public_id, role=Role.READ_ONLY))
    assert queued.access_syncs == []


def test_keys_expire_in_the_document_as_in_the_database(alice: Principal) -> None:
    key, _ = do_create_api_key(alice, display_name="k", expires_at=in_days(1) + timedelta(microseconds=999_999))
    (sent,) = access_document(alice.account.account_id)["api_keys"]
    # rounded down to the second: a key never outlives its expiry on the engine
    assert sent["expires_at"] == ApiKey.objects.get(pk=key.pk).expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
