"""Members of an account: roles, namespace access, removal."""

from __future__ import annotations

from collections.abc import Mapping

from accounts.errors import FailedPrecondition, InvalidInput, NotFound, PermissionDenied
from accounts.models import Membership, NamespaceGrant, NamespacePermission, Role, ServiceAccount
from accounts.permissions import (
    Action,
    has_namespace_permission,
    is_admin,
    require,
    require_change_member,
    require_grant_role,
)
from accounts.principal import Principal
from accounts.services.common import access_changed, bump_version, check_version, namespace_name
from audit.services import audited


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {value!r} (one of {choices})") from None


def parse_permission(value: str) -> NamespacePermission:
    try:
        return NamespacePermission(value)
    except ValueError:
        choices = ", ".join(p.value for p in NamespacePermission)
        raise InvalidInput(f"unknown namespace permission {value!r} (one of {choices})") from None


def clean_namespace_accesses(principal: Principal, accesses: Mapping[str, str]) -> dict[str, NamespacePermission]:
    """Validate a {namespace: permission} map given by the caller (names or namespace ids)."""
    return {namespace_name(principal.account.account_id, ns): parse_permission(perm) for ns, perm in accesses.items()}


def _lock_member(principal: Principal, member_id: str) -> Membership:
    member = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(account=principal.account, public_id=member_id)
        .first()
    )
    if member is None:
        raise NotFound(f"user {member_id!r} not found")
    return member


def _other_owners(member: Membership) -> bool:
    return Membership.objects.filter(account_id=member.account_id, role=Role.OWNER).exclude(pk=member.pk).exists()


def replace_grants(
    *,
    membership: Membership | None = None,
    service_account: ServiceAccount | None = None,
    accesses: Mapping[str, NamespacePermission],
) -> None:
    owner = {"membership": membership} if membership is not None else {"service_account": service_account}
    account_id = membership.account_id if membership is not None else service_account.account_id  # type: ignore[union-attr]
    NamespaceGrant.objects.filter(**owner).exclude(namespace__in=list(accesses)).delete()
    for namespace, permission in accesses.items():
        NamespaceGrant.objects.update_or_create(
            **owner, namespace=namespace, defaults={"permission": permission, "account_id": account_id}
        )


def do_update_member(
    principal: Principal,
    *,
    member_id: str,
    role: Role | None = None,
    namespace_accesses: Mapping[str, str] | None = None,
    resource_version: str | None = None,
) -> Membership:
    """Change a member's role and/or replace their namespace permissions."""
    with audited(principal, "UpdateUser", target_type="user", target_id=member_id) as entry:
        member = _lock_member(principal, member_id)
        require_change_member(principal, member)
        check_version(member, resource_version, "user")
        details: dict[str, object] = {"email": member.user.email}
        changed = False
        if role is not None and role != member.role:
            require_grant_role(principal, role)
            if member.role == Role.OWNER and not _other_owners(member):
                raise FailedPrecondition("an account needs at least one Account Owner; make someone else Owner first")
            details["role"] = {"from": member.role, "to": role.value}
            member.role = role
            member.save(update_fields=["role", "updated_at"])
            changed = True
        if namespace_accesses is not None:
            accesses = clean_namespace_accesses(principal, namespace_accesses)
            replace_grants(membership=member, accesses=accesses)
            details["namespace_accesses"] = {k: v.value for k, v in accesses.items()}
            changed = True
        entry["details"] = details
        if changed:
            bump_version(member)
            access_changed(principal.account)
    return member


def do_set_member_namespace_access(
    principal: Principal,
    *,
    member_id: str,
    namespace: str,
    permission: str | None,
    resource_version: str | None = None,
) -> Membership:
    """Grant (or with ``permission=None`` revoke) one namespace permission. Account admins and
    the namespace's Admins may; Owners and Global Admins are Admin everywhere already."""
    with audited(principal, "SetUserNamespaceAccess", target_type="user", target_id=member_id) as entry:
        name = namespace_name(principal.account.account_id, namespace)
        member = _lock_member(principal, member_id)
        if not (is_admin(principal) or has_namespace_permission(principal, name, NamespacePermission.ADMIN)):
            raise PermissionDenied(f"you need Namespace Admin on {name!r} to change who may use it")
        check_version(member, resource_version, "user")
        if member.role in (Role.OWNER, Role.GLOBAL_ADMIN):
            raise FailedPrecondition(
                f"{member.user.email} is {Role(member.role).label} and so Namespace Admin everywhere already"
            )
        entry["details"] = {"email": member.user.email, "namespace": name, "permission": permission or "none"}
        if permission is None:
            NamespaceGrant.objects.filter(membership=member, namespace=name).delete()
        else:
            NamespaceGrant.objects.update_or_create(
                membership=member,
                namespace=name,
                defaults={"permission": parse_permission(permission), "account": principal.account},
            )
        bump_version(member)
        access_changed(principal.account)
    return member


def do_remove_member(principal: Principal, *, member_id: str, resource_version: str | None = None) -> None:
    """Remove a member (admins), or leave the account (anyone, themselves). Their API keys go too."""
    with audited(principal, "DeleteUser", target_type="user", target_id=member_id) as entry:
        member = _lock_member(principal, member_id)
        leaving = principal.membership is not None and member.pk == principal.membership.pk
        if not leaving:
            require(principal, Action.MANAGE_USERS)
            require_change_member(principal, member)
        check_version(member, resource_version, "user")
        if member.role == Role.OWNER and not _other_owners(member):
            raise FailedPrecondition("the last Account Owner cannot leave; hand over ownership or delete the account")
        entry["details"] = {"email": member.user.email, "role": member.role, "left": leaving}
        member.delete()
        access_changed(principal.account)
