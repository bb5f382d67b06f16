"""current-identity and account: read, update, hand over, delete."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import Account, Membership, Role
from accounts.principal import Principal
from audit.models import AuditEntry
from tests.api.conftest import Api, error_of, snapshot


def test_current_identity_names_the_caller_its_account_and_key(
    alice: Principal, api: Callable[[Principal], Api]
) -> None:
    body = api(alice).get("current-identity").json()
    assert body["account"]["id"] == alice.account.account_id
    assert body["principal"] == {"type": "user", "id": alice.public_id, "name": "alice@example.com"}
    assert body["user"]["role"] == "owner"
    assert body["service_account"] is None
    assert body["principal_api_key"]["owner_id"] == alice.public_id


def test_every_member_reads_their_own_account(
    alice: Principal, bob: Principal, charlie: Principal, api: Callable[[Principal], Api]
) -> None:
    mine = api(bob).get("account").json()["account"]
    assert mine["id"] == alice.account.account_id
    assert mine["name"] == "Alice Co"
    assert mine["resource_version"] == "1"
    assert mine["created_time"].endswith("Z")
    theirs = api(charlie).get("account").json()["account"]
    assert theirs["id"] == charlie.account.account_id


def test_owner_updates_the_account(alice: Principal, api: Callable[[Principal], Api]) -> None:
    response = api(alice).post(
        "account",
        {"name": "Alice Corp", "audit_retention_days": 90, "api_key_creation_enabled": False, "resource_version": "1"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["account"]["name"] == "Alice Corp"
    assert body["account"]["resource_version"] == "2"
    assert body["account"]["api_key_creation_enabled"] is False
    assert body["async_operation"]["state"] == "fulfilled"
    assert body["async_operation"]["operation_type"] == "UpdateAccount"
    account = Account.objects.get(pk=alice.account.pk)
    assert (account.name, account.audit_retention_days) == ("Alice Corp", 90)


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.READ_ONLY, Role.FINANCE_ADMIN])
def test_non_admins_cannot_update_the_account(
    alice: Principal, add_member: Callable[..., Principal], api: Callable[[Principal], Api], role: Role
) -> None:
    caller = api(add_member("eve@example.com", role))
    before = snapshot(alice.account)
    response = caller.post("account", {"name": "Mine", "resource_version": "1"})
    assert response.status_code == 403
    assert error_of(response)[0] == "permission_denied"
    assert snapshot(alice.account) == before
    refused = AuditEntry.objects.get(operation="UpdateAccount")
    assert refused.status == "ERROR"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"name": "New", "resource_version": "7"}, 409, "has changed since resource_version '7'"),
        ({"name": "New"}, 400, "resource_version is required"),
        ({"name": "", "resource_version": "1"}, 400, "needs a name"),
        ({"audit_retention_days": 5, "resource_version": "1"}, 400, "audit log retention must be"),
        ({"audit_retention_days": "90", "resource_version": "1"}, 400, "audit_retention_days: Must be a whole number"),
        ({"api_key_creation_enabled": "no", "resource_version": "1"}, 400, "api_key_creation_enabled: Must be true"),
        ({"name": 42, "resource_version": "1"}, 400, "name: Must be a string"),
        ({"name": "New", "resource_version": 1}, 400, "resource_version: Must be a string"),
        ([1, 2], 400, "Expected a dictionary"),
    ],
)
def test_bad_account_updates_are_refused_and_change_nothing(
    alice: Principal, api: Callable[[Principal], Api], body: object, status: int, fragment: str
) -> None:
    caller = api(alice)
    before = snapshot(alice.account)
    response = caller.post("account", body)
    assert response.status_code == status
    code, message = error_of(response)
    assert code == ("failed_precondition" if status == 409 else "invalid_argument")
    assert fragment in message
    assert snapshot(alice.account) == before


def test_malformed_json_is_refused(alice: Principal, api: Callable[[Principal], Api]) -> None:
    caller = api(alice)
    before = snapshot(alice.account)
    response = caller.post("account", raw='{"name": "New", ')
    assert response.status_code == 400
    code, message = error_of(response)
    assert code == "invalid_argument"
    assert "JSON parse error" in message
    assert snapshot(alice.account) == before


def test_a_form_body_is_refused(alice: Principal, api: Callable[[Principal], Api]) -> None:
    caller = api(alice)
    response = caller.client.post(
        "/api/v1/account", {"name": "New"}, headers={"Authorization": f"Bearer {caller.token}"}
    )
    assert response.status_code == 415
    assert "Unsupported media type" in error_of(response)[1]


def test_unknown_paths_and_methods_answer_in_the_error_shape(alice: Principal, api: Callable[[Principal], Api]) -> None:
    missing = api(alice).get("namespacez")
    assert missing.status_code == 404
    assert error_of(missing) == ("not_found", "no API endpoint at '/api/v1/namespacez'")
    caller = api(alice)
    put = caller.client.put(
        "/api/v1/account", "{}", content_type="application/json", headers={"Authorization": f"Bearer {caller.token}"}
    )
    assert put.status_code == 405
    assert error_of(put)[0] == "unimplemented"


def test_only_an_owner_hands_over_the_account(
    alice: Principal, bob: Principal, add_member: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    admin = add_member("gina@example.com", Role.GLOBAL_ADMIN)
    for who in (bob, admin):
        caller = api(who)
        before = snapshot(alice.account)
        response = caller.post("account/transfer-ownership", {"user_id": who.public_id})
        assert response.status_code == 403
        assert "only an Account Owner may hand over ownership" in error_of(response)[1]
        assert snapshot(alice.account) == before

    response = api(alice).post("account/transfer-ownership", {"user_id": bob.public_id, "keep_role": "developer"})
    assert response.status_code == 200
    assert response.json()["user"]["role"] == "owner"
    roles = dict(Membership.objects.filter(account=alice.account).values_list("user__email", "role"))
    assert roles["bob@example.com"] == "owner"
    assert roles["alice@example.com"] == "developer"


def test_handing_over_to_a_stranger_or_keeping_owner_is_refused(
    alice: Principal, bob: Principal, charlie: Principal, api: Callable[[Principal], Api]
) -> None:
    caller = api(alice)
    before = snapshot(alice.account)
    response = caller.post("account/transfer-ownership", {"user_id": charlie.public_id})
    assert response.status_code == 404
    response = caller.post("account/transfer-ownership", {"user_id": bob.public_id, "keep_role": "owner"})
    assert response.status_code == 400
    assert "keep_role" in error_of(response)[1]
    assert snapshot(alice.account) == before


def test_only_an_owner_deletes_the_account(
    alice: Principal, add_member: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    admin = add_member("gina@example.com", Role.GLOBAL_ADMIN)
    account_id = alice.account.account_id
    response = api(admin).delete("account", confirm_account_id=account_id, resource_version="1")
    assert response.status_code == 403
    assert Account.objects.filter(account_id=account_id).exists()

    owner = api(alice)
    response = owner.delete("account", confirm_account_id="wrong", resource_version="1")
    assert response.status_code == 400
    assert f"type the account id '{account_id}'" in error_of(response)[1]
    response = owner.delete("account", confirm_account_id=account_id, resource_version="9")
    assert response.status_code == 409
    assert Account.objects.filter(account_id=account_id).exists()

    response = owner.delete("account", confirm_account_id=account_id, resource_version="1", async_operation_id="bye")
    assert response.status_code == 200
    assert response.json()["async_operation"]["id"] == "bye"
    assert not Account.objects.filter(account_id=account_id).exists()
    assert (
        AuditEntry.objects.get(account_code=account_id, operation="DeleteAccount", status="OK").async_operation_id
        == "bye"
    )
    assert owner.get("account").status_code == 401  # the key went with the account
