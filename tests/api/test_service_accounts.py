"""Service accounts through the REST API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import ApiKey, NamespaceGrant, Role, ServiceAccount
from accounts.principal import Principal
from tests.api.conftest import Api, error_of, expiry, snapshot


def test_an_admin_creates_reads_updates_and_deletes_a_service_account(
    alice: Principal, api: Callable[[Principal], Api]
) -> None:
    owner = api(alice)
    created = owner.post(
        "service-accounts",
        {"name": "ci", "description": "deploys", "role": "developer", "namespace_accesses": {"prod": "write"}},
    )
    assert created.status_code == 201
    sa = created.json()["service_account"]
    assert (sa["name"], sa["role"], sa["namespace_accesses"]) == ("ci", "developer", {"prod": "write"})
    assert sa["namespace_scoped_access"] is None
    assert owner.get(f"service-accounts/{sa['id']}").json()["service_account"]["description"] == "deploys"
    assert [x["id"] for x in owner.get("service-accounts").json()["service_accounts"]] == [sa["id"]]

    updated = owner.post(f"service-accounts/{sa['id']}", {"name": "ci-bot", "resource_version": "1"})
    assert updated.status_code == 200
    assert updated.json()["service_account"]["name"] == "ci-bot"
    assert updated.json()["service_account"]["resource_version"] == "2"

    key_of_sa = owner.post(
        "api-keys",
        {"display_name": "k", "expiry_time": expiry(), "owner_type": "service_account", "owner_id": sa["id"]},
    )
    assert key_of_sa.status_code == 201
    deleted = owner.delete(f"service-accounts/{sa['id']}", resource_version="2")
    assert deleted.status_code == 200
    assert not ServiceAccount.objects.exists()
    assert not ApiKey.objects.filter(key_id=key_of_sa.json()["api_key"]["id"]).exists()
    assert Api(key_of_sa.json()["token"]).get("account").status_code == 401


def test_a_namespace_scoped_service_account(alice: Principal, api: Callable[[Principal], Api]) -> None:
    response = api(alice).post(
        "service-accounts", {"name": "prod-sa", "namespace_scoped_access": {"namespace": "prod", "permission": "admin"}}
    )
    assert response.status_code == 201
    sa = response.json()["service_account"]
    assert sa["role"] == "read_only"
    assert sa["namespace_scoped_access"] == {"namespace": "prod", "permission": "admin"}


def test_a_namespace_admin_creates_a_service_account_scoped_to_their_namespace(
    alice: Principal, bob: Principal, api: Callable[[Principal], Api]
) -> None:
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="prod", permission="admin"
    )
    developer = api(bob)
    scoped = developer.post(
        "service-accounts", {"name": "prod-sa", "namespace_scoped_access": {"namespace": "prod", "permission": "write"}}
    )
    assert scoped.status_code == 201
    elsewhere = developer.post(
        "service-accounts", {"name": "dev-sa", "namespace_scoped_access": {"namespace": "dev", "permission": "write"}}
    )
    assert elsewhere.status_code == 403
    assert "you need Namespace Admin on 'dev'" in error_of(elsewhere)[1]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"name": "taken"}, 409, "a service account named 'taken' already exists"),
        ({"name": ""}, 400, "a service account needs a name"),
        ({}, 400, "name: This field is required"),
        ({"name": "x", "role": "wizard"}, 400, 'role: "wizard" is not a valid choice'),
        ({"name": "x", "role": "owner"}, 400, "a service account cannot have the role Account Owner"),
        ({"name": "x", "namespace_accesses": {"UPPER": "read"}}, 400, "is not a valid namespace name"),
        ({"name": "x", "description": 7}, 400, "description: Must be a string"),
        (
            {"name": "x", "namespace_scoped_access": {"namespace": "prod"}},
            400,
            "namespace_scoped_access.permission: This field is required",
        ),
        (
            {"name": "x", "role": "developer", "namespace_scoped_access": {"namespace": "prod", "permission": "read"}},
            400,
            "a namespace-scoped service account has role Read-Only",
        ),
    ],
)
def test_bad_service_accounts_are_refused_and_change_nothing(
    alice: Principal,
    add_service_account: Callable[..., Principal],
    api: Callable[[Principal], Api],
    body: dict[str, Any],
    status: int,
    fragment: str,
) -> None:
    add_service_account("taken", Role.READ_ONLY)
    caller = api(alice)
    before = snapshot(alice.account)
    response = caller.post("service-accounts", body)
    assert response.status_code == status
    assert fragment in error_of(response)[1]
    assert snapshot(alice.account) == before


def test_a_global_admin_may_not_make_a_finance_admin_service_account(
    alice: Principal, add_member: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    admin = api(add_member("gina@example.com", Role.GLOBAL_ADMIN))
    response = admin.post("service-accounts", {"name": "billing", "role": "finance_admin"})
    assert response.status_code == 403
    assert api(alice).post("service-accounts", {"name": "billing", "role": "finance_admin"}).status_code == 201


def test_updating_needs_the_current_version(
    alice: Principal, add_service_account: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    sa = add_service_account("ci", Role.DEVELOPER)
    caller = api(alice)
    before = snapshot(alice.account)
    assert caller.post(f"service-accounts/{sa.public_id}", {"name": "x", "resource_version": "3"}).status_code == 409
    assert caller.post(f"service-accounts/{sa.public_id}", {"name": "x"}).status_code == 400
    assert caller.delete(f"service-accounts/{sa.public_id}", resource_version="3").status_code == 409
    assert snapshot(alice.account) == before


def test_service_account_namespace_access(
    alice: Principal, add_service_account: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    sa = add_service_account("ci", Role.DEVELOPER)
    response = api(alice).post(
        f"service-accounts/{sa.public_id}/namespace-access",
        {"namespace": "prod", "permission": "read", "resource_version": "1"},
    )
    assert response.status_code == 200
    assert response.json()["service_account"]["namespace_accesses"] == {"prod": "read"}


def test_a_service_account_reads_itself_but_manages_nothing(
    alice: Principal, add_service_account: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    robot = add_service_account("robot", Role.DEVELOPER)
    caller = api(robot)
    assert caller.get(f"service-accounts/{robot.public_id}").status_code == 200
    before = snapshot(alice.account)
    refused = caller.post(f"service-accounts/{robot.public_id}", {"role": "global_admin", "resource_version": "1"})
    assert refused.status_code == 403
    assert snapshot(alice.account) == before
