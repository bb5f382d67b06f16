"""async_operation_id idempotency, GET operations/{id}, and the audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.api.fields import rfc3339
from accounts.models import ApiKey, AsyncOperation, Invitation, Role, ServiceAccount
from accounts.principal import Principal
from audit.models import AuditEntry
from tests.api.conftest import Api, error_of, expiry, key_of


def test_a_repeated_create_runs_once_and_returns_the_first_outcome(
    alice: Principal, api: Callable[[Principal], Api]
) -> None:
    owner = api(alice)
    first = owner.post("service-accounts", {"name": "ci", "async_operation_id": "create-ci"})
    again = owner.post("service-accounts", {"name": "ci-other", "async_operation_id": "create-ci"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["service_account"]["id"] == first.json()["service_account"]["id"]
    assert again.json()["async_operation"]["id"] == "create-ci"
    assert list(ServiceAccount.objects.values_list("name", flat=True)) == ["ci"]


def test_a_repeated_invitation_is_sent_once(alice: Principal, api: Callable[[Principal], Api]) -> None:
    owner = api(alice)
    body = {"email": "dana@example.com", "role": "developer", "async_operation_id": "invite-dana"}
    first = owner.post("users", body).json()
    again = owner.post("users", body)
    assert again.status_code == 201
    assert again.json()["user"]["id"] == first["user"]["id"]
    assert Invitation.objects.count() == 1


def test_a_repeated_key_creation_does_not_show_the_token_again(
    alice: Principal, api: Callable[[Principal], Api]
) -> None:
    owner = api(alice)
    body = {"display_name": "ci", "expiry_time": expiry(), "async_operation_id": "key-1"}
    first = owner.post("api-keys", body).json()
    again = owner.post("api-keys", body).json()
    assert first["token"].startswith("sdl_")
    assert again["token"] is None
    assert again["api_key"]["id"] == first["api_key"]["id"]
    assert ApiKey.objects.filter(display_name="ci").count() == 1


def test_a_repeated_update_does_not_run_again(
    alice: Principal, bob: Principal, api: Callable[[Principal], Api]
) -> None:
    owner = api(alice)
    body = {"role": "read_only", "resource_version": "1", "async_operation_id": "demote-bob"}
    assert owner.post(f"users/{bob.public_id}", body).status_code == 200
    again = owner.post(f"users/{bob.public_id}", body)  # version 1 is stale now, but this is a replay
    assert again.status_code == 200
    assert again.json()["user"]["resource_version"] == "2"
    assert AuditEntry.objects.filter(operation="UpdateUser").count() == 1


def test_an_operation_id_reused_for_another_operation_is_refused(
    alice: Principal, bob: Principal, api: Callable[[Principal], Api]
) -> None:
    owner = api(alice)
    owner.post("service-accounts", {"name": "ci", "async_operation_id": "op-1"})
    response = owner.delete(f"users/{bob.public_id}", resource_version="1", async_operation_id="op-1")
    assert response.status_code == 400
    assert "was already used for CreateServiceAccount" in error_of(response)[1]


def test_a_failed_request_leaves_its_operation_id_free_for_a_retry(
    alice: Principal, api: Callable[[Principal], Api]
) -> None:
    owner = api(alice)
    assert owner.post("service-accounts", {"name": "", "async_operation_id": "op-1"}).status_code == 400
    assert owner.post("service-accounts", {"name": "ci", "async_operation_id": "op-1"}).status_code == 201


def test_an_overlong_operation_id_is_refused(alice: Principal, api: Callable[[Principal], Api]) -> None:
    response = api(alice).post("service-accounts", {"name": "ci", "async_operation_id": "x" * 65})
    assert response.status_code == 400
    assert "async_operation_id: Ensure this field has no more than 64 characters" in error_of(response)[1]
    assert not ServiceAccount.objects.exists()


def test_members_read_operations_of_their_account_only(
    alice: Principal, bob: Principal, charlie: Principal, api: Callable[[Principal], Api]
) -> None:
    api(alice).post("service-accounts", {"name": "ci", "async_operation_id": "op-1"})
    operation = api(bob).get("operations/op-1").json()["async_operation"]
    assert (operation["state"], operation["operation_type"]) == ("fulfilled", "CreateServiceAccount")
    assert operation["operation_input"]["name"] == "ci"
    assert operation["finished_time"].endswith("Z")
    response = api(charlie).get("operations/op-1")
    assert response.status_code == 404
    assert error_of(response) == ("not_found", "async operation 'op-1' not found")
    assert AsyncOperation.objects.count() == 1


def test_admins_read_the_audit_log_of_api_changes(
    alice: Principal, add_member: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    key, token = key_of(alice)
    owner = Api(token)
    owner.post("service-accounts", {"name": "ci", "async_operation_id": "op-1"})
    owner.post("service-accounts", {"name": "", "async_operation_id": "op-2"})  # refused: recorded as ERROR
    admin = api(add_member("gina@example.com", Role.GLOBAL_ADMIN))
    logs = admin.get("audit-logs", operation="CreateServiceAccount").json()["logs"]
    assert [(e["status"], e["async_operation_id"]) for e in logs] == [("OK", "op-1"), ("ERROR", "op-2")]
    assert logs[0]["principal"] == {
        "type": "user",
        "id": alice.public_id,
        "name": "alice@example.com",
        "api_key_id": key.key_id,
    }
    assert logs[0]["target"]["type"] == "service_account"
    assert logs[1]["error"] == "a service account needs a name"
    refused = admin.get("audit-logs", status="ERROR").json()["logs"]
    assert [e["async_operation_id"] for e in refused] == ["op-2"]
    assert logs[0]["client_ip"] == "127.0.0.1"


def test_the_audit_log_filters_by_principal_and_time_and_pages(
    alice: Principal, bob: Principal, add_service_account: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    robot = add_service_account("robot", Role.GLOBAL_ADMIN)
    api(robot).post("service-accounts", {"name": "made-by-robot"})
    owner = api(alice)
    by_robot = owner.get("audit-logs", principal="robot").json()["logs"]
    assert {e["operation"] for e in by_robot} == {"CreateAPIKey", "CreateServiceAccount"}
    assert all(e["principal"]["type"] == "service_account" for e in by_robot)

    everything = owner.get("audit-logs").json()["logs"]
    pages: list[dict[str, Any]] = []
    token = ""
    while True:
        page = owner.get("audit-logs", page_size=2, page_token=token).json()
        pages += page["logs"]
        token = page["next_page_token"]
        if not token:
            break
    assert [e["seq"] for e in pages] == [e["seq"] for e in everything] == sorted(e["seq"] for e in everything)

    later = rfc3339(timezone.now() + timedelta(minutes=1))
    assert owner.get("audit-logs", start_time_inclusive=later).json()["logs"] == []
    earlier = rfc3339(timezone.now() - timedelta(days=1))
    assert owner.get("audit-logs", end_time_exclusive=earlier).json()["logs"] == []


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"start_time_inclusive": "yesterday"}, "start_time_inclusive: Must be an RFC 3339 time"),
        ({"end_time_exclusive": "2026-01-01T00:00:00"}, "end_time_exclusive: Must carry a time zone offset"),
        ({"page_token": "bz00"}, "page_token is not valid"),
        ({"status": "MAYBE"}, 'status: "MAYBE" is not a valid choice'),
        (
            {"start_time_inclusive": "2026-02-01T00:00:00Z", "end_time_exclusive": "2026-01-01T00:00:00Z"},
            "the end of the time range must be after its start",
        ),
    ],
)
def test_bad_audit_queries_are_refused(
    alice: Principal, api: Callable[[Principal], Api], params: dict[str, Any], fragment: str
) -> None:
    response = api(alice).get("audit-logs", **params)
    assert response.status_code == 400
    assert fragment in error_of(response)[1]


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.READ_ONLY, Role.FINANCE_ADMIN])
def test_only_owners_and_global_admins_read_the_audit_log(
    alice: Principal, add_member: Callable[..., Principal], api: Callable[[Principal], Api], role: Role
) -> None:
    response = api(add_member("eve@example.com", role)).get("audit-logs")
    assert response.status_code == 403
    assert error_of(response)[0] == "permission_denied"


def test_an_outsider_reads_only_their_own_audit_log(
    alice: Principal, charlie: Principal, api: Callable[[Principal], Api]
) -> None:
    api(alice).post("service-accounts", {"name": "ci"})
    logs = api(charlie).get("audit-logs").json()["logs"]
    assert logs
    assert all(e["principal"]["name"] == "charlie@example.com" for e in logs)
    assert "CreateServiceAccount" not in {e["operation"] for e in logs}
