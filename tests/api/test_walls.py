"""Every endpoint against the tenant wall and the role walls.

Charlie (another account's Owner) gets 404 for each of Alice's objects by id and finds none of them
in his lists; a Read-Only member and a Developer get 403 from every endpoint that manages the
account, its people or its service accounts; keys of others are not even visible to them (404).
Nothing changes in any of these cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import Role
from accounts.principal import Principal
from accounts.services.invitations import do_invite_user
from accounts.services.members import do_set_member_namespace_access
from tests.api.conftest import Api, error_of, expiry, key_of, snapshot


@dataclass(frozen=True)
class World:
    """Alice's account with a member (Erin), a pending invitation, a service account and keys."""

    ids: dict[str, str]


@pytest.fixture
def world(
    alice: Principal, add_member: Callable[..., Principal], add_service_account: Callable[..., Principal]
) -> World:
    erin = add_member("erin@example.com", Role.DEVELOPER)
    do_set_member_namespace_access(alice, member_id=erin.public_id, namespace="prod", permission="read")
    invitation = do_invite_user(alice, email="dana@example.com", role=Role.DEVELOPER)
    robot = add_service_account("robot", Role.DEVELOPER)
    alice_key, _ = key_of(alice, name="alice's")
    robot_key, _ = key_of(robot, name="robot's")
    api_for_op = Api(key_of(alice, name="ops")[1])
    api_for_op.post("service-accounts", {"name": "made-by-op", "async_operation_id": "op-1"})
    return World(
        ids={
            "erin": erin.public_id,
            "invite": invitation.public_id,
            "sa": robot.public_id,
            "alice_key": alice_key.key_id,
            "robot_key": robot_key.key_id,
            "op": "op-1",
            "account": alice.account.account_id,
        }
    )


# (method, path, body or query) — paths and bodies name World ids as {placeholders}; versions are current.
BY_ID: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "users/{erin}", {}),
    ("POST", "users/{erin}", {"role": "read_only", "resource_version": "2"}),
    ("DELETE", "users/{erin}", {"resource_version": "2"}),
    ("POST", "users/{erin}/namespace-access", {"namespace": "prod", "permission": "admin", "resource_version": "2"}),
    ("GET", "users/{invite}", {}),
    ("POST", "users/{invite}", {"role": "read_only", "resource_version": "1"}),
    ("DELETE", "users/{invite}", {"resource_version": "1"}),
    ("POST", "users/{invite}/resend-invitation", {}),
    ("GET", "service-accounts/{sa}", {}),
    ("POST", "service-accounts/{sa}", {"name": "renamed", "resource_version": "1"}),
    ("DELETE", "service-accounts/{sa}", {"resource_version": "1"}),
    (
        "POST",
        "service-accounts/{sa}/namespace-access",
        {"namespace": "prod", "permission": "read", "resource_version": "1"},
    ),
    ("GET", "api-keys/{alice_key}", {}),
    ("POST", "api-keys/{alice_key}", {"disabled": True, "resource_version": "1"}),
    ("DELETE", "api-keys/{alice_key}", {"resource_version": "1"}),
    ("GET", "api-keys/{robot_key}", {}),
    ("POST", "api-keys/{robot_key}", {"disabled": True, "resource_version": "1"}),
    ("DELETE", "api-keys/{robot_key}", {"resource_version": "1"}),
    ("GET", "operations/{op}", {}),
    ("POST", "account/transfer-ownership", {"user_id": "{erin}"}),
    ("POST", "api-keys", {"display_name": "k", "owner_type": "service_account", "owner_id": "{sa}"}),
]

# Mutations a Read-Only member or a Developer may not make: 403 (404 for keys they cannot see).
MANAGING: list[tuple[str, str, dict[str, Any], int]] = [
    ("POST", "account", {"name": "Mine", "resource_version": "1"}, 403),
    ("DELETE", "account", {"confirm_account_id": "{account}", "resource_version": "1"}, 403),
    ("POST", "account/transfer-ownership", {"user_id": "{erin}"}, 403),
    ("POST", "users", {"email": "new@example.com", "role": "read_only"}, 403),
    ("POST", "users/{erin}", {"role": "read_only", "resource_version": "2"}, 403),
    ("DELETE", "users/{erin}", {"resource_version": "2"}, 403),
    (
        "POST",
        "users/{erin}/namespace-access",
        {"namespace": "prod", "permission": "admin", "resource_version": "2"},
        403,
    ),
    ("POST", "users/{invite}", {"role": "read_only", "resource_version": "1"}, 403),
    ("DELETE", "users/{invite}", {"resource_version": "1"}, 403),
    ("POST", "users/{invite}/resend-invitation", {}, 403),
    ("POST", "service-accounts", {"name": "mine"}, 403),
    ("POST", "service-accounts/{sa}", {"name": "renamed", "resource_version": "1"}, 403),
    ("DELETE", "service-accounts/{sa}", {"resource_version": "1"}, 403),
    (
        "POST",
        "service-accounts/{sa}/namespace-access",
        {"namespace": "prod", "permission": "read", "resource_version": "1"},
        403,
    ),
    ("POST", "api-keys", {"display_name": "k", "owner_type": "service_account", "owner_id": "{sa}"}, 403),
    ("POST", "api-keys", {"display_name": "k", "owner_type": "user", "owner_id": "{erin}"}, 403),
    ("POST", "api-keys/{alice_key}", {"disabled": True, "resource_version": "1"}, 404),
    ("DELETE", "api-keys/{alice_key}", {"resource_version": "1"}, 404),
    ("POST", "api-keys/{robot_key}", {"disabled": True, "resource_version": "1"}, 404),
    ("DELETE", "api-keys/{robot_key}", {"resource_version": "1"}, 404),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _call(caller: Api, method: str, path: str, body: dict[str, Any], ids: dict[str, str]) -> Any:
    path, body = _fill(path, ids), _fill(body, ids)
    if path == "api-keys" and method == "POST":
        body = {**body, "expiry_time": expiry()}
    if method == "GET":
        return caller.get(path, **body)
    if method == "DELETE":
        return caller.delete(path, **body)
    return caller.post(path, body)


@pytest.mark.parametrize(("method", "path", "body"), BY_ID, ids=[f"{m} {p}" for m, p, _ in BY_ID])
def test_an_outsider_gets_404_for_every_object_of_another_account(
    alice: Principal, charlie: Principal, world: World, method: str, path: str, body: dict[str, Any]
) -> None:
    outsider = Api(key_of(charlie)[1])
    before = snapshot(alice.account)
    response = _call(outsider, method, path, body, world.ids)
    assert response.status_code == 404, response.json()
    assert error_of(response)[0] == "not_found"
    assert snapshot(alice.account) == before


def test_an_outsiders_lists_hold_nothing_of_another_account(alice: Principal, charlie: Principal, world: World) -> None:
    outsider = Api(key_of(charlie)[1])
    theirs = set(world.ids.values())
    users = outsider.get("users").json()["users"]
    service_accounts = outsider.get("service-accounts").json()["service_accounts"]
    keys = outsider.get("api-keys").json()["api_keys"]
    logs = outsider.get("audit-logs").json()["logs"]
    assert [u["email"] for u in users] == ["charlie@example.com"]
    assert service_accounts == []
    assert {k["owner_id"] for k in keys} == {charlie.public_id}
    assert not theirs & {e["target"]["id"] for e in logs}
    for email in ("erin@example.com", "dana@example.com"):
        assert outsider.get("users", email=email).json()["users"] == []
    assert outsider.get("api-keys", owner_id=world.ids["sa"]).json()["api_keys"] == []


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.DEVELOPER])
@pytest.mark.parametrize(
    ("method", "path", "body", "status"), MANAGING, ids=[f"{m} {p} {b}"[:60] for m, p, b, _ in MANAGING]
)
def test_read_only_members_and_developers_manage_nothing(
    alice: Principal,
    add_member: Callable[..., Principal],
    world: World,
    role: Role,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
) -> None:
    caller = Api(key_of(add_member("rita@example.com", role))[1])
    before = snapshot(alice.account)
    response = _call(caller, method, path, body, world.ids)
    assert response.status_code == status, response.json()
    assert error_of(response)[0] == ("permission_denied" if status == 403 else "not_found")
    assert snapshot(alice.account) == before


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.DEVELOPER])
def test_read_only_members_and_developers_still_read(
    alice: Principal, add_member: Callable[..., Principal], world: World, role: Role
) -> None:
    caller = Api(key_of(add_member("rita@example.com", role))[1])
    for path in (
        "account",
        "users",
        f"users/{world.ids['erin']}",
        "service-accounts",
        f"service-accounts/{world.ids['sa']}",
        "operations/op-1",
        "current-identity",
    ):
        assert caller.get(path).status_code == 200, path
