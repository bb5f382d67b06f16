"""Users: members and invitations — list, invite, read, update, namespace access, resend, remove."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from accounts.models import Invitation, Membership, NamespaceGrant, Role, User
from accounts.principal import Principal
from accounts.services.invitations import do_accept_invitation
from tests.api.conftest import Api, error_of, key_of, snapshot


def _invite(caller: Api, email: str = "dana@example.com", role: str = "developer", **extra: Any) -> Any:
    return caller.post("users", {"email": email, "role": role, **extra})


def test_admins_list_members_then_invitations(
    alice: Principal, bob: Principal, api: Callable[[Principal], Api]
) -> None:
    owner = api(alice)
    invited = _invite(owner).json()["user"]
    users = owner.get("users").json()
    assert [(u["email"], u["state"]) for u in users["users"]] == [
        ("alice@example.com", "active"),
        ("bob@example.com", "active"),
        ("dana@example.com", "pending"),
    ]
    assert users["next_page_token"] == ""
    assert users["users"][2]["id"] == invited["id"]
    assert users["users"][2]["invitation"]["expired_time"].endswith("Z")
    assert users["users"][1]["invitation"] is None


def test_users_page_through_with_tokens(alice: Principal, bob: Principal, api: Callable[[Principal], Api]) -> None:
    owner = api(alice)
    first = owner.get("users", page_size=1).json()
    second = owner.get("users", page_size=1, page_token=first["next_page_token"]).json()
    assert [u["email"] for u in first["users"] + second["users"]] == ["alice@example.com", "bob@example.com"]
    assert second["next_page_token"] == ""


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"page_token": "garbage"}, "page_token is not valid"),
        ({"page_size": "many"}, "page_size: A valid integer is required"),
        ({"page_size": 5000}, "page_size: Ensure this value is less than or equal to 1000"),
        ({"namespace": "Not_A_Namespace"}, "is not a valid namespace name"),
    ],
)
def test_bad_list_queries_are_refused(
    alice: Principal, api: Callable[[Principal], Api], params: dict[str, Any], fragment: str
) -> None:
    response = api(alice).get("users", **params)
    assert response.status_code == 400
    assert fragment in error_of(response)[1]


def test_users_filter_by_email_and_namespace(
    alice: Principal, bob: Principal, add_member: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    add_member("erin@example.com", Role.DEVELOPER)
    NamespaceGrant.objects.create(account=alice.account, membership=bob.membership, namespace="prod", permission="read")
    owner = api(alice)
    _invite(owner, namespace_accesses={"prod": "write"})
    by_email = owner.get("users", email="BOB@example.com").json()["users"]
    assert [u["email"] for u in by_email] == ["bob@example.com"]
    in_prod = owner.get("users", namespace=f"prod.{alice.account.account_id}").json()["users"]
    # Alice is Owner, so Namespace Admin everywhere; Erin has no access
    assert [u["email"] for u in in_prod] == ["alice@example.com", "bob@example.com", "dana@example.com"]
    assert in_prod[1]["namespace_accesses"] == {"prod": "read"}


def test_outsiders_see_none_of_the_users(
    alice: Principal, bob: Principal, charlie: Principal, api: Callable[[Principal], Api]
) -> None:
    invited = _invite(api(alice)).json()["user"]["id"]
    outsider = api(charlie)
    assert [u["email"] for u in outsider.get("users").json()["users"]] == ["charlie@example.com"]
    assert outsider.get("users", email="bob@example.com").json()["users"] == []
    for user_id in (alice.public_id, bob.public_id, invited):
        response = outsider.get(f"users/{user_id}")
        assert response.status_code == 404
        assert error_of(response) == ("not_found", f"user {user_id!r} not found")


def test_an_admin_invites_and_the_mail_goes_out(
    alice: Principal, api: Callable[[Principal], Api], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(api(alice), role="read_only", namespace_accesses={"billing": "read"})
    assert response.status_code == 201
    user = response.json()["user"]
    assert (user["email"], user["role"], user["state"]) == ("dana@example.com", "read_only", "pending")
    assert user["namespace_accesses"] == {"billing": "read"}
    assert mail.outbox[-1].to == ["dana@example.com"]
    assert api(alice).get(f"users/{user['id']}").json()["user"]["email"] == "dana@example.com"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"email": "bob@example.com", "role": "developer"}, 409, "already a member"),
        ({"email": "not-an-email", "role": "developer"}, 400, "is not a valid e-mail address"),
        ({"email": "dana@example.com", "role": "emperor"}, 400, 'role: "emperor" is not a valid choice'),
        ({"email": "dana@example.com"}, 400, "role: This field is required"),
        (
            {"email": "dana@example.com", "role": "developer", "namespace_accesses": {"Bad Name": "read"}},
            400,
            "is not a valid namespace name",
        ),
        (
            {"email": "dana@example.com", "role": "developer", "namespace_accesses": {"prod": "superuser"}},
            400,
            'namespace_accesses.prod: "superuser" is not a valid choice',
        ),
        (
            {"email": "dana@example.com", "role": "developer", "namespace_accesses": ["prod"]},
            400,
            "namespace_accesses: Expected a dictionary",
        ),
        ({"email": ["dana@example.com"], "role": "developer"}, 400, "email: Must be a string"),
    ],
)
def test_bad_invitations_are_refused_and_change_nothing(
    alice: Principal, bob: Principal, api: Callable[[Principal], Api], body: dict[str, Any], status: int, fragment: str
) -> None:
    caller = api(alice)
    before = snapshot(alice.account)
    response = caller.post("users", body)
    assert response.status_code == status
    assert fragment in error_of(response)[1]
    assert snapshot(alice.account) == before


def test_a_second_invitation_to_the_same_address_is_refused(alice: Principal, api: Callable[[Principal], Api]) -> None:
    owner = api(alice)
    assert _invite(owner).status_code == 201
    response = _invite(owner, email="DANA@example.com")
    assert response.status_code == 409
    assert error_of(response) == (
        "already_exists",
        "dana@example.com has already been invited; resend or revoke that invitation",
    )
    assert Invitation.objects.count() == 1


@pytest.mark.parametrize("role", ["owner", "finance_admin"])
def test_only_an_owner_grants_owner_and_finance_admin(
    alice: Principal, bob: Principal, add_member: Callable[..., Principal], api: Callable[[Principal], Api], role: str
) -> None:
    admin = api(add_member("gina@example.com", Role.GLOBAL_ADMIN))
    before = snapshot(alice.account)
    refused = _invite(admin, role=role)
    assert refused.status_code == 403
    assert "may not grant the role" in error_of(refused)[1]
    refused = admin.post(f"users/{bob.public_id}", {"role": role, "resource_version": "1"})
    assert refused.status_code == 403
    assert snapshot(alice.account) == before

    owner = api(alice)
    assert _invite(owner, role=role).status_code == 201
    granted = owner.post(f"users/{bob.public_id}", {"role": role, "resource_version": "1"})
    assert granted.status_code == 200
    assert granted.json()["user"]["role"] == role


def test_a_global_admin_manages_ordinary_members(
    alice: Principal, bob: Principal, add_member: Callable[..., Principal], api: Callable[[Principal], Api]
) -> None:
    admin = api(add_member("gina@example.com", Role.GLOBAL_ADMIN))
    response = admin.post(f"users/{bob.public_id}", {"role": "read_only", "resource_version": "1"})
    assert response.status_code == 200
    assert response.json()["user"]["resource_version"] == "2"
    refused = admin.post(f"users/{alice.public_id}", {"role": "developer", "resource_version": "1"})
    assert refused.status_code == 403
    assert "only an Account Owner may change or remove another Account Owner" in error_of(refused)[1]


def test_updating_a_user_needs_the_current_resource_version(
    alice: Principal, bob: Principal, api: Callable[[Principal], Api]
) -> None:
    owner = api(alice)
    before = snapshot(alice.account)
    stale = owner.post(f"users/{bob.public_id}", {"role": "read_only", "resource_version": "0"})
    assert stale.status_code == 409
    assert error_of(stale)[0] == "failed_precondition"
    missing = owner.post(f"users/{bob.public_id}", {"role": "read_only"})
    assert missing.status_code == 400
    assert "resource_version is required" in error_of(missing)[1]
    assert snapshot(alice.account) == before


def test_an_invitation_is_updated_through_its_user_id(alice: Principal, api: Callable[[Principal], Api]) -> None:
    owner = api(alice)
    invited = _invite(owner).json()["user"]
    response = owner.post(
        f"users/{invited['id']}",
        {"role": "read_only", "namespace_accesses": {"prod": "read"}, "resource_version": invited["resource_version"]},
    )
    assert response.status_code == 200
    assert response.json()["user"]["role"] == "read_only"
    assert Invitation.objects.get().namespace_accesses == {"prod": "read"}


def test_namespace_access_is_granted_and_removed(
    alice: Principal, bob: Principal, api: Callable[[Principal], Api]
) -> None:
    owner = api(alice)
    granted = owner.post(
        f"users/{bob.public_id}/namespace-access", {"namespace": "prod", "permission": "write", "resource_version": "1"}
    )
    assert granted.status_code == 200
    assert granted.json()["user"]["namespace_accesses"] == {"prod": "write"}
    removed = owner.post(
        f"users/{bob.public_id}/namespace-access", {"namespace": "prod", "permission": None, "resource_version": "2"}
    )
    assert removed.json()["user"]["namespace_accesses"] == {}
    assert not NamespaceGrant.objects.exists()


def test_namespace_access_of_an_invitation(alice: Principal, api: Callable[[Principal], Api]) -> None:
    owner = api(alice)
    invited = _invite(owner).json()["user"]
    response = owner.post(
        f"users/{invited['id']}/namespace-access",
        {"namespace": "prod", "permission": "admin", "resource_version": invited["resource_version"]},
    )
    assert response.status_code == 200
    assert response.json()["user"]["namespace_accesses"] == {"prod": "admin"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"namespace": "Prod!", "permission": "read", "resource_version": "1"}, "is not a valid namespace name"),
        ({"namespace": "prod", "permission": "root", "resource_version": "1"}, 'permission: "root" is not a valid'),
        ({"namespace": "prod", "resource_version": "1"}, "permission: This field is required"),
        ({"permission": "read", "resource_version": "1"}, "namespace: This field is required"),
    ],
)
def test_bad_namespace_access_is_refused(
    alice: Principal, bob: Principal, api: Callable[[Principal], Api], body: dict[str, Any], fragment: str
) -> None:
    caller = api(alice)
    before = snapshot(alice.account)
    response = caller.post(f"users/{bob.public_id}/namespace-access", body)
    assert response.status_code == 400
    assert fragment in error_of(response)[1]
    assert snapshot(alice.account) == before


def test_an_invitation_is_resent_with_a_new_link(alice: Principal, api: Callable[[Principal], Api]) -> None:
    owner = api(alice)
    invited = _invite(owner).json()["user"]
    digest = Invitation.objects.get().token_digest
    response = owner.post(f"users/{invited['id']}/resend-invitation")
    assert response.status_code == 200
    assert Invitation.objects.get().token_digest != digest
    assert response.json()["async_operation"]["operation_type"] == "ResendUserInvite"


def test_an_invited_user_keeps_their_id_once_they_accept(
    alice: Principal, api: Callable[[Principal], Api], django_capture_on_commit_callbacks: Any
) -> None:
    owner = api(alice)
    with django_capture_on_commit_callbacks(execute=True):
        invited = _invite(owner).json()["user"]
    link = re.search(r"/invitations/([^/\s]+)/", str(mail.outbox[-1].body))
    assert link is not None
    token = link.group(1)
    do_accept_invitation(User.objects.create_user("dana@example.com", "pw-dana-123456"), token=token)
    user = owner.get(f"users/{invited['id']}").json()["user"]
    assert (user["id"], user["state"], user["invitation"]) == (invited["id"], "active", None)
    assert [u["email"] for u in owner.get("users").json()["users"]].count("dana@example.com") == 1


def test_resending_to_a_member_without_an_invitation_is_not_found(
    alice: Principal, bob: Principal, api: Callable[[Principal], Api]
) -> None:
    response = api(alice).post(f"users/{bob.public_id}/resend-invitation")
    assert response.status_code == 404


def test_removing_a_member_takes_their_keys(alice: Principal, bob: Principal, api: Callable[[Principal], Api]) -> None:
    bobs_token = key_of(bob)[1]
    owner = api(alice)
    stale = owner.delete(f"users/{bob.public_id}", resource_version="5")
    assert stale.status_code == 409
    response = owner.delete(f"users/{bob.public_id}", resource_version="1")
    assert response.status_code == 200
    assert response.json()["async_operation"]["operation_type"] == "DeleteUser"
    assert not Membership.objects.filter(pk=bob.membership.pk).exists()  # type: ignore[union-attr]
    assert Api(bobs_token).get("account").status_code == 401
    assert owner.get(f"users/{bob.public_id}").status_code == 404


def test_revoking_an_invitation_through_delete(alice: Principal, api: Callable[[Principal], Api]) -> None:
    owner = api(alice)
    invited = _invite(owner).json()["user"]
    response = owner.delete(f"users/{invited['id']}", resource_version=invited["resource_version"])
    assert response.status_code == 200
    assert Invitation.objects.get().revoked_at is not None
    assert [u["email"] for u in owner.get("users").json()["users"]] == ["alice@example.com"]


def test_a_member_may_leave(alice: Principal, bob: Principal, api: Callable[[Principal], Api]) -> None:
    response = api(bob).delete(f"users/{bob.public_id}", resource_version="1")
    assert response.status_code == 200
    assert not Membership.objects.filter(user__email="bob@example.com").exists()


def test_the_last_owner_may_not_leave(alice: Principal, api: Callable[[Principal], Api]) -> None:
    response = api(alice).delete(f"users/{alice.public_id}", resource_version="1")
    assert response.status_code == 409
    assert "the last Account Owner cannot leave" in error_of(response)[1]
