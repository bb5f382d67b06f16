"""Namespace access for members and service accounts; service-account rules; optimistic concurrency."""

from __future__ import annotations

import pytest

from accounts.errors import AlreadyExists, FailedPrecondition, InvalidInput, NotFound, StaleResourceVersion
from accounts.models import NamespaceGrant, NamespacePermission, Role, ServiceAccount
from accounts.permissions import namespace_permission
from accounts.principal import Principal
from accounts.services.members import do_set_member_namespace_access, do_update_member
from accounts.services.service_accounts import (
    do_create_service_account,
    do_set_service_account_namespace_access,
    do_update_service_account,
)


def test_owners_and_admins_are_namespace_admin_everywhere_others_by_grant(alice: Principal, bob: Principal) -> None:
    assert namespace_permission(alice, "anything") == NamespacePermission.ADMIN
    assert namespace_permission(bob, "payments") is None
    do_set_member_namespace_access(alice, member_id=bob.public_id, namespace="payments", permission="write")
    assert namespace_permission(bob, "payments") == NamespacePermission.WRITE
    do_set_member_namespace_access(
        alice, member_id=bob.public_id, namespace=f"payments.{alice.account.account_id}", permission=None
    )
    assert namespace_permission(bob, "payments") is None


def test_a_namespace_admin_may_grant_on_their_namespace_only(alice: Principal, bob: Principal, add_member) -> None:
    dora = add_member("dora@example.com", Role.READ_ONLY)
    do_set_member_namespace_access(alice, member_id=bob.public_id, namespace="payments", permission="admin")
    do_set_member_namespace_access(bob, member_id=dora.public_id, namespace="payments", permission="read")
    from accounts.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="Namespace Admin on 'billing'"):
        do_set_member_namespace_access(bob, member_id=dora.public_id, namespace="billing", permission="read")


def test_granting_to_an_admin_is_refused(alice: Principal, add_member) -> None:
    admin = add_member("admin@example.com", Role.GLOBAL_ADMIN)
    with pytest.raises(FailedPrecondition, match="Namespace Admin everywhere"):
        do_set_member_namespace_access(alice, member_id=admin.public_id, namespace="payments", permission="read")


def test_another_accounts_namespace_id_is_not_found(alice: Principal, bob: Principal, charlie: Principal) -> None:
    with pytest.raises(NotFound):
        do_set_member_namespace_access(
            alice, member_id=bob.public_id, namespace=f"payments.{charlie.account.account_id}", permission="read"
        )
    assert not NamespaceGrant.objects.exists()


def test_a_stale_member_version_is_refused(alice: Principal, bob: Principal) -> None:
    do_update_member(alice, member_id=bob.public_id, role=Role.READ_ONLY, resource_version="1")
    with pytest.raises(StaleResourceVersion, match="read it again"):
        do_update_member(alice, member_id=bob.public_id, role=Role.GLOBAL_ADMIN, resource_version="1")


def test_service_accounts_never_own_and_names_are_unique(alice: Principal) -> None:
    with pytest.raises(InvalidInput, match="cannot have the role Account Owner"):
        do_create_service_account(alice, name="boss", role=Role.OWNER)
    do_create_service_account(alice, name="ci", role=Role.DEVELOPER, namespace_accesses={"payments": "write"})
    with pytest.raises(AlreadyExists):
        do_create_service_account(alice, name="CI", role=Role.DEVELOPER)
    with pytest.raises(InvalidInput, match="needs a name"):
        do_create_service_account(alice, name="  ", role=Role.DEVELOPER)
    sa = ServiceAccount.objects.get()
    assert NamespaceGrant.objects.get(service_account=sa).permission == "write"


def test_a_namespace_scoped_service_account(alice: Principal, bob: Principal) -> None:
    do_set_member_namespace_access(alice, member_id=bob.public_id, namespace="payments", permission="admin")
    sa = do_create_service_account(bob, name="payments-worker", namespace_scope="payments", scoped_permission="write")
    assert (sa.role, sa.namespace_scope) == (Role.READ_ONLY, "payments")
    with pytest.raises(InvalidInput, match="'payments' only"):
        do_set_service_account_namespace_access(
            alice, service_account_id=sa.public_id, namespace="billing", permission="read"
        )
    with pytest.raises(InvalidInput, match="keeps the role"):
        do_update_service_account(alice, service_account_id=sa.public_id, role=Role.DEVELOPER)
    from accounts.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        do_create_service_account(bob, name="billing-worker", namespace_scope="billing")


def test_it_rejects_outsider(alice: Principal, charlie: Principal) -> None:
    sa = do_create_service_account(alice, name="ci", role=Role.DEVELOPER)
    with pytest.raises(NotFound):
        do_update_service_account(charlie, service_account_id=sa.public_id, name="stolen")
    with pytest.raises(NotFound):
        do_set_service_account_namespace_access(
            charlie, service_account_id=sa.public_id, namespace="payments", permission="admin"
        )
    assert ServiceAccount.objects.get(pk=sa.pk).name == "ci"
