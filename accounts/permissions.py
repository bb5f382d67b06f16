"""Every permission question of the control plane, answered in one place.

Roles and powers follow Temporal Cloud (docs.temporal.io/cloud/manage-access/roles-and-permissions
and permissions-reference; ``../shared/reference/temporal-cloud.md`` §2–3):

* Account Owner: everything; the only role that grants Owner or Finance Admin, deletes the
  account, or changes another Owner.
* Global Admin: administers the account (settings, users, service accounts, any API key,
  audit log); Namespace Admin everywhere.
* Developer: creates namespaces (Admin on those it creates); manages its own API keys.
* Finance Admin: billing and usage; otherwise Read-Only.
* Read-Only: sees the account's configuration and people; changes nothing but its own keys.
* Metrics Read-Only: for metrics scraping; sees only its own identity and the account.

A namespace is seen by those with a permission on it, changed and deleted by its Namespace
Admins; its tags are set by Owners and Global Admins only.

Services call ``require`` (raises ``PermissionDenied``) or the ``can_*`` predicates; views use
the predicates to hide controls a user may not use.
"""

from __future__ import annotations

import enum

from accounts.errors import PermissionDenied
from accounts.models import ApiKey, Membership, NamespaceGrant, NamespacePermission, Role, ServiceAccount
from accounts.principal import Principal


class Action(enum.StrEnum):
    VIEW_ACCOUNT = "view_account"
    UPDATE_ACCOUNT = "update_account"
    DELETE_ACCOUNT = "delete_account"
    VIEW_USERS = "view_users"
    MANAGE_USERS = "manage_users"
    VIEW_SERVICE_ACCOUNTS = "view_service_accounts"
    MANAGE_SERVICE_ACCOUNTS = "manage_service_accounts"
    VIEW_ALL_API_KEYS = "view_all_api_keys"
    MANAGE_ALL_API_KEYS = "manage_all_api_keys"
    CREATE_OWN_API_KEY = "create_own_api_key"
    VIEW_AUDIT_LOG = "view_audit_log"
    VIEW_USAGE = "view_usage"
    MANAGE_BILLING = "manage_billing"
    CREATE_NAMESPACE = "create_namespace"


_EVERYONE = frozenset({Action.VIEW_ACCOUNT, Action.CREATE_OWN_API_KEY})
_READER = _EVERYONE | {Action.VIEW_USERS, Action.VIEW_SERVICE_ACCOUNTS}
_ADMIN = _READER | {
    Action.UPDATE_ACCOUNT,
    Action.MANAGE_USERS,
    Action.MANAGE_SERVICE_ACCOUNTS,
    Action.VIEW_ALL_API_KEYS,
    Action.MANAGE_ALL_API_KEYS,
    Action.VIEW_AUDIT_LOG,
    Action.VIEW_USAGE,
    Action.CREATE_NAMESPACE,
}

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset(_ADMIN | {Action.DELETE_ACCOUNT, Action.MANAGE_BILLING}),
    Role.GLOBAL_ADMIN: frozenset(_ADMIN),
    Role.DEVELOPER: frozenset(_READER | {Action.CREATE_NAMESPACE}),
    Role.FINANCE_ADMIN: frozenset(_READER | {Action.VIEW_USAGE, Action.MANAGE_BILLING}),
    Role.READ_ONLY: frozenset(_READER),
    Role.METRICS_READ_ONLY: frozenset(_EVERYONE),
}

# Roles only an Account Owner may hand out (Temporal Cloud: Owner and Finance Admin).
OWNER_GRANTED_ROLES = frozenset({Role.OWNER, Role.FINANCE_ADMIN})
# Service accounts cannot own an account.
SERVICE_ACCOUNT_ROLES = frozenset(set(Role) - {Role.OWNER})

_PERMISSION_RANK = {NamespacePermission.READ: 1, NamespacePermission.WRITE: 2, NamespacePermission.ADMIN: 3}


def can(principal: Principal, action: Action) -> bool:
    return action in ROLE_ACTIONS[principal.role]


def require(principal: Principal, action: Action, message: str | None = None) -> None:
    if not can(principal, action):
        raise PermissionDenied(
            message or f"your role ({principal.role.label}) may not {action.value.replace('_', ' ')}"
        )


# Account roles that are Namespace Admin on every namespace of the account.
ADMIN_ROLES = frozenset({Role.OWNER, Role.GLOBAL_ADMIN})


def is_admin(principal: Principal) -> bool:
    return principal.role in ADMIN_ROLES


def can_grant_role(principal: Principal, role: Role) -> bool:
    """May the caller give someone ``role``? Owners any; Global Admins any but Owner/Finance Admin."""
    if not can(principal, Action.MANAGE_USERS):
        return False
    return principal.role == Role.OWNER or role not in OWNER_GRANTED_ROLES


def require_grant_role(principal: Principal, role: Role) -> None:
    if not can_grant_role(principal, role):
        raise PermissionDenied(f"your role ({principal.role.label}) may not grant the role {role.label}")


def can_transfer_ownership(principal: Principal) -> bool:
    """Handing over the account: only a person who is its Account Owner."""
    return principal.role == Role.OWNER and principal.membership is not None


def can_change_member(principal: Principal, member: Membership) -> bool:
    """Changing or removing a member: admins may, but only an Owner touches another Owner."""
    if not can(principal, Action.MANAGE_USERS):
        return False
    return member.role != Role.OWNER or principal.role == Role.OWNER


def require_change_member(principal: Principal, member: Membership) -> None:
    require(principal, Action.MANAGE_USERS)
    if not can_change_member(principal, member):
        raise PermissionDenied("only an Account Owner may change or remove another Account Owner")


def namespace_permission(principal: Principal, namespace: str) -> NamespacePermission | None:
    """The caller's permission on a namespace of its account: Owners and Global Admins are Admin
    everywhere; everyone else has what was granted to them (or nothing)."""
    if is_admin(principal):
        return NamespacePermission.ADMIN
    grants = NamespaceGrant.objects.filter(account=principal.account, namespace=namespace)
    if principal.membership is not None:
        grant = grants.filter(membership=principal.membership).first()
    else:
        grant = grants.filter(service_account=principal.service_account).first()
    return NamespacePermission(grant.permission) if grant is not None else None


def has_namespace_permission(principal: Principal, namespace: str, needed: NamespacePermission) -> bool:
    held = namespace_permission(principal, namespace)
    return held is not None and _PERMISSION_RANK[held] >= _PERMISSION_RANK[needed]


def can_manage_service_account(principal: Principal, service_account: ServiceAccount) -> bool:
    """Admins manage every service account; a namespace-scoped one also by its namespace's Admins."""
    if can(principal, Action.MANAGE_SERVICE_ACCOUNTS):
        return True
    scope = service_account.namespace_scope
    return bool(scope) and has_namespace_permission(principal, scope, NamespacePermission.ADMIN)


def owns_key(principal: Principal, key: ApiKey) -> bool:
    if principal.membership is not None:
        return key.owner_membership_id == principal.membership.pk
    return principal.service_account is not None and key.owner_service_account_id == principal.service_account.pk


def can_view_api_key(principal: Principal, key: ApiKey) -> bool:
    if owns_key(principal, key) or can(principal, Action.VIEW_ALL_API_KEYS):
        return True
    sa = key.owner_service_account
    return sa is not None and can_manage_service_account(principal, sa)


def can_manage_api_key(principal: Principal, key: ApiKey) -> bool:
    """Update, disable, enable or delete: a user their own keys, admins any key, namespace Admins
    the keys of service accounts scoped to their namespace. A service account may create keys
    for itself (rotation) but not change or delete them (Temporal Cloud's rule)."""
    if can(principal, Action.MANAGE_ALL_API_KEYS):
        return True
    if principal.membership is not None and key.owner_membership_id == principal.membership.pk:
        return True
    sa = key.owner_service_account
    return sa is not None and principal.membership is not None and can_manage_service_account(principal, sa)


def can_create_api_key_for(
    principal: Principal, *, membership: Membership | None = None, service_account: ServiceAccount | None = None
) -> bool:
    """Users create keys for themselves; admins (and scoped namespace Admins) for service
    accounts; a service account for itself. Nobody creates keys for another user."""
    if membership is not None:
        return principal.membership is not None and principal.membership.pk == membership.pk
    assert service_account is not None
    if principal.service_account is not None and principal.service_account.pk == service_account.pk:
        return True
    return principal.membership is not None and can_manage_service_account(principal, service_account)


def can_view_namespace(principal: Principal, namespace: str) -> bool:
    """Seeing a namespace of the account: admins see all of them, others those granted to them."""
    return namespace_permission(principal, namespace) is not None


def can_manage_namespace(principal: Principal, namespace: str) -> bool:
    """Changing or deleting a namespace: its Namespace Admins (Owners and Global Admins included)."""
    return has_namespace_permission(principal, namespace, NamespacePermission.ADMIN)


def can_edit_namespace_tags(principal: Principal) -> bool:
    """Temporal Cloud: only Account Owners and Global Admins set namespace tags."""
    return is_admin(principal)
