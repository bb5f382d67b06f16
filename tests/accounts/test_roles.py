"""Each Temporal Cloud role can do exactly what it should, through the services every API uses."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.errors import FailedPrecondition, NotFound, PermissionDenied
from accounts.models import Account, Membership, Role, ServiceAccount
from accounts.principal import Principal
from accounts.services.accounts import do_delete_account, do_transfer_ownership, do_update_account
from accounts.services.api_keys import do_create_api_key
from accounts.services.invitations import do_invite_user
from accounts.services.members import do_remove_member, do_set_member_namespace_access, do_update_member
from accounts.services.service_accounts import do_create_service_account
from audit.models import AuditEntry
from tests.accounts.conftest import in_days

Action = Callable[[Principal, Principal], object]

# (name, action(actor, target member), roles that may do it)
ACTIONS: list[tuple[str, Action, set[Role]]] = [
    ("rename account", lambda p, t: do_update_account(p, name="Renamed"), {Role.OWNER, Role.GLOBAL_ADMIN}),
    (
        "switch off key creation",
        lambda p, t: do_update_account(p, api_key_creation_enabled=False),
        {Role.OWNER, Role.GLOBAL_ADMIN},
    ),
    (
        "invite a developer",
        lambda p, t: do_invite_user(p, email="new@example.com", role=Role.DEVELOPER),
        {Role.OWNER, Role.GLOBAL_ADMIN},
    ),
    (
        "invite a finance admin",
        lambda p, t: do_invite_user(p, email="new@example.com", role=Role.FINANCE_ADMIN),
        {Role.OWNER},
    ),
    ("make someone owner", lambda p, t: do_update_member(p, member_id=t.public_id, role=Role.OWNER), {Role.OWNER}),
    (
        "change a member's role",
        lambda p, t: do_update_member(p, member_id=t.public_id, role=Role.READ_ONLY),
        {Role.OWNER, Role.GLOBAL_ADMIN},
    ),
    ("remove a member", lambda p, t: do_remove_member(p, member_id=t.public_id), {Role.OWNER, Role.GLOBAL_ADMIN}),
    (
        "grant namespace access",
        lambda p, t: do_set_member_namespace_access(p, member_id=t.public_id, namespace="payments", permission="write"),
        {Role.OWNER, Role.GLOBAL_ADMIN},
    ),
    (
        "create a service account",
        lambda p, t: do_create_service_account(p, name="ci", role=Role.DEVELOPER),
        {Role.OWNER, Role.GLOBAL_ADMIN},
    ),
    (
        "create an own API key",
        lambda p, t: do_create_api_key(p, display_name="mine", expires_at=in_days(30)),
        set(Role),
    ),
    (
        "create a key for another user",
        lambda p, t: do_create_api_key(
            p, display_name="theirs", expires_at=in_days(30), owner_type="user", owner_id=t.public_id
        ),
        set(),
    ),
    ("hand over ownership", lambda p, t: do_transfer_ownership(p, to_member_id=t.public_id), {Role.OWNER}),
    (
        "delete the account",
        lambda p, t: do_delete_account(p, confirm_account_id=p.account.account_id),
        {Role.OWNER},
    ),
]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize(("name", "action", "allowed"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_each_role_may_do_exactly_its_actions(
    role: Role, name: str, action: Action, allowed: set[Role], add_member, alice: Principal
) -> None:
    actor = alice if role == Role.OWNER else add_member("actor@example.com", role)
    target = add_member("target@example.com", Role.DEVELOPER)
    if role in allowed:
        action(actor, target)
        return
    before = AuditEntry.objects.filter(status="OK").count()
    with pytest.raises(PermissionDenied):
        action(actor, target)
    assert AuditEntry.objects.filter(status="OK").count() == before
    assert Account.objects.filter(pk=alice.account.pk).exists()
    assert Membership.objects.get(pk=target.membership.pk).role == Role.DEVELOPER
    assert not ServiceAccount.objects.exists()


def test_a_global_admin_cannot_change_or_remove_an_owner(alice: Principal, add_member) -> None:
    admin = add_member("admin@example.com", Role.GLOBAL_ADMIN)
    with pytest.raises(PermissionDenied, match="Owner"):
        do_update_member(admin, member_id=alice.public_id, role=Role.READ_ONLY)
    with pytest.raises(PermissionDenied):
        do_remove_member(admin, member_id=alice.public_id)
    assert Membership.objects.get(pk=alice.membership.pk).role == Role.OWNER  # type: ignore[union-attr]


def test_the_last_owner_can_neither_leave_nor_step_down(alice: Principal) -> None:
    with pytest.raises(FailedPrecondition, match="last Account Owner"):
        do_remove_member(alice, member_id=alice.public_id)
    with pytest.raises(FailedPrecondition, match="at least one Account Owner"):
        do_update_member(alice, member_id=alice.public_id, role=Role.GLOBAL_ADMIN)


def test_handing_over_ownership_swaps_the_roles(alice: Principal, bob: Principal) -> None:
    do_transfer_ownership(alice, to_member_id=bob.public_id)
    assert Membership.objects.get(pk=bob.membership.pk).role == Role.OWNER  # type: ignore[union-attr]
    assert Membership.objects.get(pk=alice.membership.pk).role == Role.GLOBAL_ADMIN  # type: ignore[union-attr]


def test_any_member_may_leave(alice: Principal, bob: Principal) -> None:
    do_remove_member(bob, member_id=bob.public_id)
    assert not Membership.objects.filter(pk=bob.membership.pk).exists()  # type: ignore[union-attr]


def test_deleting_the_account_needs_its_id_typed(alice: Principal) -> None:
    from accounts.errors import InvalidInput

    with pytest.raises(InvalidInput, match=alice.account.account_id):
        do_delete_account(alice, confirm_account_id="wrong")
    assert Account.objects.filter(pk=alice.account.pk).exists()
    do_delete_account(alice, confirm_account_id=alice.account.account_id)
    assert not Account.objects.filter(pk=alice.account.pk).exists()
    # The log of a deleted account outlives it.
    assert AuditEntry.objects.filter(account_code=alice.account.account_id, operation="DeleteAccount").exists()


OUTSIDER_ACTIONS: list[tuple[str, Action]] = [
    ("change role", lambda p, t: do_update_member(p, member_id=t.public_id, role=Role.READ_ONLY)),
    ("remove", lambda p, t: do_remove_member(p, member_id=t.public_id)),
    (
        "namespace access",
        lambda p, t: do_set_member_namespace_access(p, member_id=t.public_id, namespace="payments", permission="read"),
    ),
    ("hand over", lambda p, t: do_transfer_ownership(p, to_member_id=t.public_id)),
    (
        "key for them",
        lambda p, t: do_create_api_key(
            p, display_name="x", expires_at=in_days(3), owner_type="user", owner_id=t.public_id
        ),
    ),
]


@pytest.mark.parametrize(("name", "action"), OUTSIDER_ACTIONS, ids=[a[0] for a in OUTSIDER_ACTIONS])
def test_it_rejects_outsider_with_not_found(name: str, action: Action, charlie: Principal, bob: Principal) -> None:
    with pytest.raises(NotFound):
        action(charlie, bob)
    assert Membership.objects.get(pk=bob.membership.pk).role == Role.DEVELOPER  # type: ignore[union-attr]
    assert not AuditEntry.objects.filter(account_code=bob.account.account_id, status="ERROR").exists()
