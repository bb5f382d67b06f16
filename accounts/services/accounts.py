"""The account itself: create, settings, hand over ownership, delete."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.errors import FailedPrecondition, InvalidInput, NotFound, PermissionDenied
from accounts.models import (
    MAX_AUDIT_RETENTION_DAYS,
    MIN_AUDIT_RETENTION_DAYS,
    Account,
    Membership,
    Role,
    User,
    new_account_id,
)
from accounts.permissions import Action, require
from accounts.principal import Principal, principal_for_membership
from accounts.services.common import access_changed, bump_version, check_version
from audit.models import AuditChain
from audit.services import audited

_ACCOUNT_ID_TRIES = 20
MAX_ACCOUNT_NAME = 200


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("an account needs a name")
    if len(name) > MAX_ACCOUNT_NAME:
        raise InvalidInput(f"an account name has at most {MAX_ACCOUNT_NAME} characters")
    return name


def do_create_account(*, owner: User, name: str, client_ip: str = "") -> Account:
    """Create an account with a fresh unique short id and make ``owner`` its Account Owner.

    Ids are never reused: one that an earlier (deleted) account's audit log still holds is skipped.
    """
    name = _clean_name(name)
    for _ in range(_ACCOUNT_ID_TRIES):
        account_id = new_account_id()
        if AuditChain.objects.filter(account_code=account_id).exists():
            continue
        try:
            with transaction.atomic():
                account = Account.objects.create(account_id=account_id, name=name)
                membership = Membership.objects.create(account=account, user=owner, role=Role.OWNER)
                principal = principal_for_membership(membership, client_ip=client_ip)
                with audited(principal, "CreateAccount", target_type="account", target_id=account_id) as entry:
                    entry["details"] = {"name": name}
                return account
        except IntegrityError:
            continue  # the random id collided; draw another
    raise RuntimeError("could not allocate a unique account id")


def do_update_account(
    principal: Principal,
    *,
    name: str | None = None,
    api_key_creation_enabled: bool | None = None,
    audit_retention_days: int | None = None,
    resource_version: str | None = None,
) -> Account:
    changes: dict[str, object] = {}
    with audited(principal, "UpdateAccount", target_type="account", target_id=principal.account.account_id) as entry:
        require(principal, Action.UPDATE_ACCOUNT)
        account = Account.objects.select_for_update().get(pk=principal.account.pk)
        check_version(account, resource_version, "account")
        if name is not None and name.strip() != account.name:
            changes["name"] = account.name = _clean_name(name)
        if api_key_creation_enabled is not None and api_key_creation_enabled != account.api_key_creation_enabled:
            changes["api_key_creation_enabled"] = account.api_key_creation_enabled = api_key_creation_enabled
        if audit_retention_days is not None and audit_retention_days != account.audit_retention_days:
            if not MIN_AUDIT_RETENTION_DAYS <= audit_retention_days <= MAX_AUDIT_RETENTION_DAYS:
                raise InvalidInput(
                    f"audit log retention must be {MIN_AUDIT_RETENTION_DAYS}–{MAX_AUDIT_RETENTION_DAYS} days"
                )
            changes["audit_retention_days"] = account.audit_retention_days = audit_retention_days
        entry["details"] = changes
        if changes:
            account.save(update_fields=[*changes, "updated_at"])
            bump_version(account)
    return account


def do_transfer_ownership(
    principal: Principal, *, to_member_id: str, keep_role: Role = Role.GLOBAL_ADMIN
) -> Membership:
    """Make another member Account Owner and step down to ``keep_role``. Owners only."""
    with audited(principal, "TransferAccountOwnership", target_type="user", target_id=to_member_id) as entry:
        if principal.role != Role.OWNER or principal.membership is None:
            raise PermissionDenied("only an Account Owner may hand over ownership")
        target = (
            Membership.objects.select_for_update()
            .select_related("user")
            .filter(account=principal.account, public_id=to_member_id)
            .first()
        )
        if target is None:
            raise NotFound(f"user {to_member_id!r} not found")
        if target.pk == principal.membership.pk:
            raise InvalidInput("you already own this account")
        if keep_role == Role.OWNER:
            raise InvalidInput("to share ownership, change the member's role to Account Owner instead")
        entry["details"] = {"to": target.user.email, "previous_owner_role": keep_role.value}
        target.role = Role.OWNER
        target.save(update_fields=["role", "updated_at"])
        bump_version(target)
        me = Membership.objects.select_for_update().get(pk=principal.membership.pk)
        me.role = keep_role
        me.save(update_fields=["role", "updated_at"])
        bump_version(me)
        access_changed(principal.account)
    return target


def do_delete_account(principal: Principal, *, confirm_account_id: str, resource_version: str | None = None) -> None:
    """Delete the account and everything it owns. Owners only; the caller types the account id."""
    account = principal.account
    with audited(principal, "DeleteAccount", target_type="account", target_id=account.account_id):
        require(principal, Action.DELETE_ACCOUNT, "only an Account Owner may delete the account")
        locked = Account.objects.select_for_update().get(pk=account.pk)
        check_version(locked, resource_version, "account")
        if confirm_account_id.strip() != account.account_id:
            raise InvalidInput(f"type the account id {account.account_id!r} to confirm")
        if principal.membership is None:
            raise FailedPrecondition("an account is deleted by a person, not a service account")
        # The namespaces' rows go with the account, so their provisioning cannot remove them from
        # the engine: an outbox row says what the engine must drop (namespaces, then keys and
        # principals), and its task does it once this commits. With the account row locked, no
        # namespace can be added to the account before the delete.
        from namespaces.provisioning import namespace_ids_of, record_cleanup

        namespace_ids = namespace_ids_of(locked)
        locked.delete()
        record_cleanup(account.account_id, namespace_ids)
        access_changed(account)
