"""The role, permission and owner-type mapping between Cloud Ops protos and Sundial's models."""

from __future__ import annotations

import pytest
from temporalio.api.cloud.identity.v1 import message_pb2 as identity

from accounts.errors import InvalidInput
from accounts.models import NamespacePermission, Role
from cloudapi.context import client_ip, peer_ip
from cloudapi.convert import owner_type_of, permission_of, role_of

ROLE = identity.AccountAccess
PERMISSION = identity.NamespaceAccess

ROLES = [
    (ROLE.ROLE_OWNER, "owner", Role.OWNER),
    (ROLE.ROLE_ADMIN, "admin", Role.GLOBAL_ADMIN),
    (ROLE.ROLE_DEVELOPER, "developer", Role.DEVELOPER),
    (ROLE.ROLE_FINANCE_ADMIN, "financeadmin", Role.FINANCE_ADMIN),
    (ROLE.ROLE_READ, "read", Role.READ_ONLY),
    (ROLE.ROLE_METRICS_READ, "metricsread", Role.METRICS_READ_ONLY),
]


@pytest.mark.parametrize(("proto", "word", "role"), ROLES)
def test_each_cloud_role_maps_to_one_sundial_role(proto: int, word: str, role: Role) -> None:
    assert role_of(identity.AccountAccess(role=proto), "access") == role  # type: ignore[arg-type]
    assert role_of(identity.AccountAccess(role_deprecated=word), "access") == role


def test_every_sundial_role_has_a_cloud_role() -> None:
    assert {role for _, _, role in ROLES} == set(Role)


@pytest.mark.parametrize(
    ("access", "message"),
    [
        (identity.AccountAccess(), "access.role is required"),
        (identity.AccountAccess(role=17), "access.role 17 is not a known role"),  # type: ignore[arg-type]
        (identity.AccountAccess(role_deprecated="root"), "'root' is not a known role"),
        (identity.AccountAccess(role=ROLE.ROLE_READ, custom_roles=["r1"]), "custom roles are not supported"),
    ],
)
def test_a_missing_or_unknown_role_is_invalid(access: identity.AccountAccess, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        role_of(access, "access")


@pytest.mark.parametrize(
    ("access", "expected"),
    [
        (identity.NamespaceAccess(permission=PERMISSION.PERMISSION_ADMIN), NamespacePermission.ADMIN),
        (identity.NamespaceAccess(permission=PERMISSION.PERMISSION_WRITE), NamespacePermission.WRITE),
        (identity.NamespaceAccess(permission=PERMISSION.PERMISSION_READ), NamespacePermission.READ),
        (identity.NamespaceAccess(permission_deprecated="Write"), NamespacePermission.WRITE),
        (identity.NamespaceAccess(), None),
    ],
)
def test_namespace_permissions_map_both_spellings(
    access: identity.NamespaceAccess, expected: NamespacePermission | None
) -> None:
    assert permission_of(access, "access") == expected


def test_an_unknown_permission_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="'owner' is not known"):
        permission_of(identity.NamespaceAccess(permission_deprecated="owner"), "access")


@pytest.mark.parametrize(
    ("value", "deprecated", "expected"),
    [
        (identity.OWNER_TYPE_USER, "", "user"),
        (identity.OWNER_TYPE_SERVICE_ACCOUNT, "", "service_account"),
        (identity.OWNER_TYPE_UNSPECIFIED, "service-account", "service_account"),
        (identity.OWNER_TYPE_UNSPECIFIED, "", ""),
    ],
)
def test_owner_types(value: int, deprecated: str, expected: str) -> None:
    assert owner_type_of(value, deprecated, "owner_type") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("ipv4:127.0.0.1:5000", "", "127.0.0.1"),
        ("ipv6:[::1]:5000", "", "::1"),
        ("ipv4:10.0.0.2:5000", "203.0.113.9, 198.51.100.1", "203.0.113.9, 198.51.100.1, 10.0.0.2"),
        ("unix:/tmp/sock", "", "/tmp/sock"),
    ],
)
def test_the_client_address_is_the_forwarded_chain_then_the_peer(peer: str, forwarded: str, expected: str) -> None:
    metadata = {"x-forwarded-for": forwarded} if forwarded else {}
    assert client_ip(metadata, peer) == expected
    assert peer_ip(peer) == expected.rpartition(", ")[2]
