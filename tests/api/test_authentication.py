"""API-key authentication: only a valid, enabled, unexpired key gets in; sessions do not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey, Membership, Role, ServiceAccount, User
from accounts.principal import Principal
from audit.models import AuditEntry
from tests.api.conftest import Api, error_of, key_of


def _refused(response, fragment: str) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="sundial"')
    code, message = error_of(response)
    assert code == "unauthenticated"
    assert fragment in message


def test_it_rejects_a_request_without_a_key(alice: Principal) -> None:
    _refused(Api(None).get("account"), "needs an API key")


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("Basic YWxpY2U6cHc=", "Authorization: Bearer"),
        ("Bearer", "no API key"),
        ("Bearer not-a-key", "malformed API key"),
        ("Bearer sdl_0123456789abcdef_guessedsecret", "invalid API key"),
    ],
)
def test_it_rejects_garbled_and_unknown_keys(alice: Principal, header: str, fragment: str) -> None:
    before = ServiceAccount.objects.count()
    response = Api(None).post("service-accounts", {"name": "ci"}, headers={"Authorization": header})
    _refused(response, fragment)
    assert ServiceAccount.objects.count() == before


def test_it_rejects_a_key_with_a_wrong_secret(alice: Principal) -> None:
    _, token = key_of(alice)
    _refused(Api(token[:-4] + "abcd").get("account"), "invalid API key")


def test_it_rejects_an_expired_key(alice: Principal) -> None:
    key, token = key_of(alice)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    _refused(Api(token).get("account"), "expired")


def test_it_rejects_a_disabled_key(alice: Principal) -> None:
    key, token = key_of(alice)
    ApiKey.objects.filter(pk=key.pk).update(disabled=True)
    _refused(Api(token).post("account", {"name": "Renamed", "resource_version": "1"}), "disabled")
    assert alice.account.name == "Alice Co"


def test_it_does_not_accept_a_signed_in_session(alice: Principal, alice_user: User) -> None:
    client = Client()
    client.force_login(alice_user)
    _refused(Api(None, client).get("account"), "needs an API key")
    _refused(Api(None, client).post("service-accounts", {"name": "ci"}), "needs an API key")
    assert not ServiceAccount.objects.exists()


def test_a_created_key_works_at_once(alice: Principal, api: Callable[[Principal], Api]) -> None:
    response = api(alice).post("api-keys", {"display_name": "laptop", "expiry_time": "2099-01-01T00:00:00Z"})
    # 2099 is too far away: a clear refusal, and no key
    assert response.status_code == 400
    expiry = (timezone.now() + timedelta(days=30)).isoformat()
    response = api(alice).post("api-keys", {"display_name": "laptop", "expiry_time": expiry})
    assert response.status_code == 201
    token = response.json()["token"]
    identity = Api(token).get("current-identity").json()
    assert identity["principal_api_key"]["id"] == response.json()["api_key"]["id"]
    assert identity["user"]["email"] == "alice@example.com"


def test_a_disabled_key_is_refused_next_time_and_works_again_once_enabled(alice: Principal) -> None:
    key, token = key_of(alice)
    admin = Api(key_of(alice, name="admin")[1])
    assert Api(token).get("account").status_code == 200

    version = admin.get(f"api-keys/{key.key_id}").json()["api_key"]["resource_version"]
    disabled = admin.post(f"api-keys/{key.key_id}", {"disabled": True, "resource_version": version})
    assert disabled.status_code == 200
    assert disabled.json()["api_key"]["state"] == "disabled"
    _refused(Api(token).get("account"), "disabled")

    version = disabled.json()["api_key"]["resource_version"]
    enabled = admin.post(f"api-keys/{key.key_id}", {"disabled": False, "resource_version": version})
    assert enabled.json()["api_key"]["state"] == "active"
    assert Api(token).get("account").status_code == 200


def test_last_used_time_is_set_by_a_call(alice: Principal) -> None:
    key, token = key_of(alice)
    assert key.last_used_at is None
    own = Api(token).get(f"api-keys/{key.key_id}").json()["api_key"]
    assert own["last_used_time"] is not None
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None


def test_a_service_account_key_acts_as_the_service_account(
    alice: Principal, add_service_account: Callable[..., Principal]
) -> None:
    robot = add_service_account("robot", Role.GLOBAL_ADMIN)
    identity = Api(key_of(robot)[1]).get("current-identity").json()
    assert identity["principal"] == {"type": "service_account", "id": robot.public_id, "name": "robot"}
    assert identity["service_account"]["role"] == "global_admin"
    assert identity["user"] is None


def test_the_key_of_a_removed_member_stops_working(alice: Principal, bob: Principal) -> None:
    token = key_of(bob)[1]
    assert Api(token).get("account").status_code == 200
    Membership.objects.filter(pk=bob.membership.pk).delete()  # type: ignore[union-attr]
    _refused(Api(token).get("account"), "invalid API key")


def test_the_api_version_header_and_key_are_recorded_in_the_audit_log(alice: Principal) -> None:
    key, token = key_of(alice)
    response = Api(token).post(
        "service-accounts", {"name": "ci"}, headers={"temporal-cloud-api-version": "2024-05-13-00"}
    )
    assert response.status_code == 201
    entry = AuditEntry.objects.get(operation="CreateServiceAccount")
    assert entry.details["api_version"] == "2024-05-13-00"
    assert entry.api_key_id == key.key_id
    assert entry.client_ip == "127.0.0.1"
    assert entry.async_operation_id == response.json()["async_operation"]["id"]
