"""API keys through the REST API: create (token once), read, rename, disable, delete, limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Account, ApiKey, Role
from accounts.principal import Principal
from accounts.services.api_keys import MAX_KEYS_PER_SERVICE_ACCOUNT, MAX_KEYS_PER_USER
from tests.api.conftest import Api, error_of, expiry, key_of, snapshot


def _create(caller: Api, **body: Any) -> Any:
    return caller.post("api-keys", {"display_name": "laptop", "expiry_time": expiry(), **body})


def test_a_member_creates_a_key_and_sees_the_token_once(bob: Principal, api: Callable[[Principal], Api]) -> None:
    caller = api(bob)
    response = _create(caller, description="for the CLI")
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith(f"sdl_{body['api_key']['id']}_")
    key = body["api_key"]
    assert (key["owner_type"], key["owner_id"], key["state"]) == ("user", bob.public_id, "active")
    assert key["expiry_time"].endswith("Z")
    again = caller.get(f"api-keys/{key['id']}").json()["api_key"]
    assert "token" not in again
    assert again["display_name"] == "laptop"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"display_name": "k"}, "expiry_time: This field is required"),
        ({"display_name": "k", "expiry_time": None}, "expiry_time: This field may not be null"),
        ({"display_name": "k", "expiry_time": "2020-01-01T00:00:00Z"}, "the expiry time must be in the future"),
        ({"display_name": "k", "expiry_time": expiry(740)}, "an API key expires at most 2 years from now"),
        ({"display_name": "k", "expiry_time": "next tuesday"}, "expiry_time: Must be an RFC 3339 time"),
        ({"display_name": "k", "expiry_time": "2031-01-01T00:00:00"}, "expiry_time: Must carry a time zone offset"),
        ({"display_name": "k", "expiry_time": 1893456000}, "expiry_time: Must be an RFC 3339 time"),
        ({"display_name": "", "expiry_time": expiry()}, "an API key needs a name"),
        ({"display_name": "k", "expiry_time": expiry(), "owner_type": "user"}, "give owner_type and owner_id together"),
        (
            {"display_name": "k", "expiry_time": expiry(), "owner_type": "robot", "owner_id": "x"},
            'owner_type: "robot" is not a valid choice',
        ),
    ],
)
def test_bad_keys_are_refused_and_none_is_made(
    alice: Principal, api: Callable[[Principal], Api], body: dict[str, Any], fragment: str
) -> None:
    caller = api(alice)
    before = snapshot(alice.account)
    response = caller.post("api-keys", body)
    assert response.status_code == 400
    assert error_of(response) == ("invalid_argument", error_of(response)[1])
    assert fragment in error_of(response)[1]
    assert snapshot(alice.account) == before


def test_a_user_holds_at_most_ten_keys(bob: Principal, api: Callable[[Principal], Api]) -> None:
    caller = api(bob)  # key 1
    for _ in range(MAX_KEYS_PER_USER - 1):
        key_of(bob)
    response = _create(caller)
    assert response.status_code == 409
    assert error_of(response) == ("failed_precondition", "a user may hold at most 10 unexpired API keys")
    assert ApiKey.objects.filter(owner_membership=bob.membership).count() == MAX_KEYS_PER_USER


def test_a_service_account_holds_at_most_twenty_keys(
    alice: Principal, add_service_account: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    robot = add_service_account("robot", Role.DEVELOPER)
    for _ in range(MAX_KEYS_PER_SERVICE_ACCOUNT):
        key_of(robot)
    response = _create(api(alice), owner_type="service_account", owner_id=robot.public_id)
    assert response.status_code == 409
    assert "a service account may hold at most 20 unexpired API keys" in error_of(response)[1]
    assert ApiKey.objects.filter(owner_service_account=robot.service_account).count() == MAX_KEYS_PER_SERVICE_ACCOUNT


def test_a_service_account_rotates_its_own_key_but_may_not_delete_it(
    alice: Principal, add_service_account: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    robot = add_service_account("robot", Role.DEVELOPER)
    caller = api(robot)
    created = _create(caller)
    assert created.status_code == 201
    assert created.json()["api_key"]["owner_type"] == "service_account"
    key = created.json()["api_key"]
    refused = caller.delete(f"api-keys/{key['id']}", resource_version="1")
    assert refused.status_code == 403
    assert ApiKey.objects.filter(key_id=key["id"]).exists()


def test_a_developer_cannot_make_keys_for_others(
    alice: Principal, bob: Principal, add_service_account: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    robot = add_service_account("robot", Role.DEVELOPER)
    caller = api(bob)
    before = snapshot(alice.account)
    for owner_type, owner_id, fragment in [
        ("user", alice.public_id, "API keys of a user are created by that user only"),
        ("service_account", robot.public_id, "may not create keys for this service account"),
    ]:
        response = _create(caller, owner_type=owner_type, owner_id=owner_id)
        assert response.status_code == 403
        assert fragment in error_of(response)[1]
    assert snapshot(alice.account) == before


def test_a_developer_neither_sees_nor_changes_other_peoples_keys(
    alice: Principal, bob: Principal, api: Callable[[Principal], Api]
) -> None:
    alices_key, _ = key_of(alice)
    caller = api(bob)
    listed = caller.get("api-keys").json()["api_keys"]
    assert [k["owner_id"] for k in listed] == [bob.public_id]
    before = snapshot(alice.account)
    assert caller.get(f"api-keys/{alices_key.key_id}").status_code == 404
    assert caller.post(f"api-keys/{alices_key.key_id}", {"disabled": True, "resource_version": "1"}).status_code == 404
    assert caller.delete(f"api-keys/{alices_key.key_id}", resource_version="1").status_code == 404
    assert snapshot(alice.account) == before


def test_an_admin_sees_and_disables_any_key(alice: Principal, bob: Principal, api: Callable[[Principal], Api]) -> None:
    bobs_key, bobs_token = key_of(bob)
    owner = api(alice)
    listed = owner.get("api-keys", owner_type="user", owner_id=bob.public_id).json()["api_keys"]
    assert [k["id"] for k in listed] == [bobs_key.key_id]
    response = owner.post(f"api-keys/{bobs_key.key_id}", {"disabled": True, "resource_version": "1"})
    assert response.status_code == 200
    assert Api(bobs_token).get("account").status_code == 401


def test_a_key_is_renamed_but_its_expiry_never_moves(alice: Principal, api: Callable[[Principal], Api]) -> None:
    key, token = key_of(alice)
    caller = Api(token)
    renamed = caller.post(f"api-keys/{key.key_id}", {"display_name": "ci", "description": "d", "resource_version": "1"})
    assert renamed.status_code == 200
    assert renamed.json()["api_key"]["display_name"] == "ci"
    before = snapshot(alice.account)
    moved = caller.post(f"api-keys/{key.key_id}", {"expiry_time": expiry(60), "resource_version": "2"})
    assert moved.status_code == 400
    assert "an API key's expiry cannot be changed" in error_of(moved)[1]
    stale = caller.post(f"api-keys/{key.key_id}", {"disabled": True, "resource_version": "1"})
    assert stale.status_code == 409
    wrong_type = caller.post(f"api-keys/{key.key_id}", {"disabled": "true", "resource_version": "2"})
    assert wrong_type.status_code == 400
    assert "disabled: Must be true or false" in error_of(wrong_type)[1]
    assert snapshot(alice.account) == before


def test_a_key_is_deleted(alice: Principal, api: Callable[[Principal], Api]) -> None:
    key, token = key_of(alice)
    caller = api(alice)
    assert caller.delete(f"api-keys/{key.key_id}", resource_version="1").status_code == 200
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    assert Api(token).get("account").status_code == 401


def test_expired_keys_are_listed_as_expired(alice: Principal, api: Callable[[Principal], Api]) -> None:
    key, _ = key_of(alice)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(days=1))
    listed = {k["id"]: k["state"] for k in api(alice).get("api-keys").json()["api_keys"]}
    assert listed[key.key_id] == "expired"


def test_when_key_creation_is_switched_off_only_admins_create_keys(
    alice: Principal, bob: Principal, api: Callable[[Principal], Api]
) -> None:
    developer = api(bob)
    owner = api(alice)
    Account.objects.filter(pk=alice.account.pk).update(api_key_creation_enabled=False)
    refused = _create(developer)
    assert refused.status_code == 403
    assert "API key creation is switched off" in error_of(refused)[1]
    assert developer.get("account").status_code == 200  # existing keys keep working
    assert _create(owner).status_code == 201


def test_a_read_only_member_manages_only_their_own_keys(
    alice: Principal, add_member: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    """Temporal Cloud lets every role manage its own API keys (and nothing else)."""
    reader = add_member("rita@example.com", Role.READ_ONLY)
    caller = api(reader)
    created = _create(caller)
    assert created.status_code == 201
    key_id = created.json()["api_key"]["id"]
    assert caller.delete(f"api-keys/{key_id}", resource_version="1").status_code == 200
