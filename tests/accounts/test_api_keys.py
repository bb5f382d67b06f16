"""API keys: shown once, stored as a digest, expiry rules, limits, disable/enable, who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.errors import FailedPrecondition, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from accounts.models import ApiKey, Role, ServiceAccount
from accounts.principal import Principal, principal_for_api_key
from accounts.services.accounts import do_update_account
from accounts.services.api_keys import (
    MAX_KEYS_PER_SERVICE_ACCOUNT,
    MAX_KEYS_PER_USER,
    do_create_api_key,
    do_delete_api_key,
    do_update_api_key,
)
from accounts.services.service_accounts import do_create_service_account, do_delete_service_account
from audit.models import AuditEntry
from tests.accounts.conftest import in_days


def test_the_token_is_stored_only_as_a_digest_and_acts_as_its_owner(alice: Principal) -> None:
    key, token = do_create_api_key(alice, display_name="laptop", expires_at=in_days(30))
    assert token.startswith(f"sdl_{key.key_id}_")
    stored = ApiKey.objects.get(pk=key.pk)
    assert token not in stored.digest
    assert len(stored.digest) == 64
    acting = principal_for_api_key(token, client_ip="10.0.0.1")
    assert (acting.account, acting.role, acting.membership) == (alice.account, Role.OWNER, alice.membership)
    assert acting.api_key is not None
    assert acting.api_key.key_id == key.key_id
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None
    assert not AuditEntry.objects.filter(details__icontains=token.split("_", 2)[2]).exists()


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "malformed"),
        ("Bearer abc", "malformed"),
        ("sdl_nope", "malformed"),
        ("sdl_0000000000000000_secret", "invalid API key"),
    ],
)
def test_garbled_and_unknown_tokens_are_unauthenticated(db, token: str, message: str) -> None:
    with pytest.raises(Unauthenticated, match=message):
        principal_for_api_key(token)


def test_a_token_with_a_wrong_secret_is_unauthenticated(alice: Principal) -> None:
    key, _token = do_create_api_key(alice, display_name="k", expires_at=in_days(1))
    with pytest.raises(Unauthenticated, match="invalid API key"):
        principal_for_api_key(f"sdl_{key.key_id}_not-the-secret")


def test_disabled_and_expired_keys_are_refused_and_enabling_restores(alice: Principal) -> None:
    key, token = do_create_api_key(alice, display_name="k", expires_at=in_days(1))
    do_update_api_key(alice, key_id=key.key_id, disabled=True)
    with pytest.raises(Unauthenticated, match="disabled"):
        principal_for_api_key(token)
    do_update_api_key(alice, key_id=key.key_id, disabled=False)
    principal_for_api_key(token)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Unauthenticated, match="expired"):
        principal_for_api_key(token)


@pytest.mark.parametrize(
    ("expires_at", "message"),
    [
        (None, "needs an expiry"),
        (lambda: timezone.now() - timedelta(minutes=1), "in the future"),
        (lambda: timezone.now() + timedelta(days=732), "at most 2 years"),
        (lambda: timezone.now().replace(tzinfo=None) + timedelta(days=1), "time zone"),
    ],
    ids=["missing", "past", "beyond-two-years", "naive"],
)
def test_bad_expiry_is_refused_and_creates_nothing(alice: Principal, expires_at, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        do_create_api_key(alice, display_name="k", expires_at=expires_at() if expires_at else None)
    assert not ApiKey.objects.exists()


def test_two_years_is_allowed(alice: Principal) -> None:
    do_create_api_key(alice, display_name="long", expires_at=in_days(730))


def test_a_user_holds_at_most_ten_unexpired_keys(alice: Principal) -> None:
    for i in range(MAX_KEYS_PER_USER):
        do_create_api_key(alice, display_name=f"k{i}", expires_at=in_days(5))
    with pytest.raises(FailedPrecondition, match="at most 10"):
        do_create_api_key(alice, display_name="one too many", expires_at=in_days(5))
    ApiKey.objects.filter(display_name="k0").update(expires_at=timezone.now() - timedelta(seconds=1))
    do_create_api_key(alice, display_name="after one expired", expires_at=in_days(5))
    assert ApiKey.objects.count() == MAX_KEYS_PER_USER + 1


def test_a_service_account_holds_at_most_twenty_keys(alice: Principal) -> None:
    sa = do_create_service_account(alice, name="ci", role=Role.DEVELOPER)
    for i in range(MAX_KEYS_PER_SERVICE_ACCOUNT):
        do_create_api_key(
            alice, display_name=f"k{i}", expires_at=in_days(5), owner_type="service_account", owner_id=sa.public_id
        )
    with pytest.raises(FailedPrecondition, match="at most 20"):
        do_create_api_key(
            alice, display_name="x", expires_at=in_days(5), owner_type="service_account", owner_id=sa.public_id
        )


def test_a_service_account_rotates_its_own_keys_but_cannot_delete_them(alice: Principal) -> None:
    sa = do_create_service_account(alice, name="deployer", role=Role.READ_ONLY)
    key, token = do_create_api_key(
        alice, display_name="first", expires_at=in_days(5), owner_type="service_account", owner_id=sa.public_id
    )
    as_sa = principal_for_api_key(token)
    assert as_sa.service_account == sa
    second, _ = do_create_api_key(as_sa, display_name="rotated", expires_at=in_days(5))
    assert second.owner_service_account == sa
    with pytest.raises(PermissionDenied):
        do_delete_api_key(as_sa, key_id=key.key_id)


def test_switching_off_key_creation_stops_members_not_admins(alice: Principal, bob: Principal) -> None:
    _existing, token = do_create_api_key(bob, display_name="before", expires_at=in_days(5))
    do_update_account(alice, api_key_creation_enabled=False)
    with pytest.raises(PermissionDenied, match="switched off"):
        do_create_api_key(bob, display_name="after", expires_at=in_days(5))
    principal_for_api_key(token)  # existing keys keep working
    do_create_api_key(alice, display_name="admin still may", expires_at=in_days(5))


def test_a_developer_sees_and_manages_only_their_own_keys(alice: Principal, bob: Principal) -> None:
    alices, _ = do_create_api_key(alice, display_name="alice's", expires_at=in_days(5))
    bobs, _ = do_create_api_key(bob, display_name="bob's", expires_at=in_days(5))
    with pytest.raises(NotFound):
        do_update_api_key(bob, key_id=alices.key_id, disabled=True)
    with pytest.raises(NotFound):
        do_delete_api_key(bob, key_id=alices.key_id)
    do_update_api_key(bob, key_id=bobs.key_id, display_name="renamed")
    # An admin manages anyone's key.
    do_update_api_key(alice, key_id=bobs.key_id, disabled=True)
    assert ApiKey.objects.get(pk=bobs.pk).disabled
    assert not ApiKey.objects.get(pk=alices.pk).disabled


def test_it_rejects_outsider(alice: Principal, charlie: Principal) -> None:
    key, _ = do_create_api_key(alice, display_name="k", expires_at=in_days(5))
    for attempt in (
        lambda: do_update_api_key(charlie, key_id=key.key_id, disabled=True),
        lambda: do_delete_api_key(charlie, key_id=key.key_id),
        lambda: do_create_api_key(
            charlie, display_name="x", expires_at=in_days(1), owner_type="user", owner_id=alice.public_id
        ),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert ApiKey.objects.filter(pk=key.pk, disabled=False).exists()


def test_a_stale_resource_version_changes_nothing(alice: Principal) -> None:
    from accounts.errors import StaleResourceVersion

    key, _ = do_create_api_key(alice, display_name="k", expires_at=in_days(5))
    do_update_api_key(alice, key_id=key.key_id, display_name="v2", resource_version="1")
    with pytest.raises(StaleResourceVersion):
        do_update_api_key(alice, key_id=key.key_id, display_name="v3", resource_version="1")
    with pytest.raises(InvalidInput, match="resource_version is required"):
        do_delete_api_key(alice, key_id=key.key_id, resource_version="")
    assert ApiKey.objects.get(pk=key.pk).display_name == "v2"


def test_the_expiry_of_a_key_cannot_move(alice: Principal) -> None:
    key, _ = do_create_api_key(alice, display_name="k", expires_at=in_days(5))
    with pytest.raises(InvalidInput, match="expiry cannot be changed"):
        do_update_api_key(alice, key_id=key.key_id, expires_at=in_days(50))


def test_deleting_a_service_account_deletes_its_keys(alice: Principal) -> None:
    sa = do_create_service_account(alice, name="ci", role=Role.DEVELOPER)
    _, token = do_create_api_key(
        alice, display_name="k", expires_at=in_days(5), owner_type="service_account", owner_id=sa.public_id
    )
    do_delete_service_account(alice, service_account_id=sa.public_id)
    assert not ServiceAccount.objects.exists()
    assert not ApiKey.objects.exists()
    with pytest.raises(Unauthenticated):
        principal_for_api_key(token)
