"""API keys for users and service accounts.

The token ``sdl_<key_id>_<secret>`` is returned once, by ``do_create_api_key``; only its
HMAC-SHA256 digest is stored. Expiry is required and at most two years away; a user holds at
most 10 unexpired keys, a service account 20 (Temporal Cloud's limits).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.errors import FailedPrecondition, InvalidInput, NotFound, PermissionDenied
from accounts.models import Account, ApiKey, Membership, ServiceAccount
from accounts.permissions import can_create_api_key_for, can_manage_api_key, can_view_api_key, is_admin
from accounts.principal import API_KEY_PREFIX, Principal, api_key_digest
from accounts.selectors import active_key_count
from accounts.services.common import access_changed, bump_version, check_version
from audit.services import audited

MAX_LIFETIME = timedelta(days=731)  # two years, a leap day included
MAX_KEYS_PER_USER = 10
MAX_KEYS_PER_SERVICE_ACCOUNT = 20
MAX_DISPLAY_NAME = 200
MAX_DESCRIPTION = 1000


def _clean_text(display_name: str, description: str) -> tuple[str, str]:
    display_name = display_name.strip()
    if not display_name:
        raise InvalidInput("an API key needs a name")
    if len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidInput(f"an API key name has at most {MAX_DISPLAY_NAME} characters")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"a description has at most {MAX_DESCRIPTION} characters")
    return display_name, description.strip()


def check_expiry(expires_at: datetime | None) -> datetime:
    if expires_at is None:
        raise InvalidInput("an API key needs an expiry time (at most 2 years from now)")
    if timezone.is_naive(expires_at):
        raise InvalidInput("the expiry time needs a time zone")
    now = timezone.now()
    if expires_at <= now:
        raise InvalidInput("the expiry time must be in the future")
    if expires_at > now + MAX_LIFETIME:
        raise InvalidInput("an API key expires at most 2 years from now")
    return expires_at


def _owner(principal: Principal, owner_type: str, owner_id: str) -> tuple[Membership | None, ServiceAccount | None]:
    if owner_type == "user":
        member = Membership.objects.filter(account=principal.account, public_id=owner_id).first()
        if member is None:
            raise NotFound(f"user {owner_id!r} not found")
        return member, None
    if owner_type == "service_account":
        sa = ServiceAccount.objects.filter(account=principal.account, public_id=owner_id).first()
        if sa is None:
            raise NotFound(f"service account {owner_id!r} not found")
        return None, sa
    raise InvalidInput(f"owner type must be 'user' or 'service_account', not {owner_type!r}")


def do_create_api_key(
    principal: Principal,
    *,
    display_name: str,
    expires_at: datetime | None,
    description: str = "",
    owner_type: str = "",
    owner_id: str = "",
) -> tuple[ApiKey, str]:
    """Create a key; returns it and its token (the only time the token exists in clear).

    Without an owner the key is the caller's own.
    """
    with audited(principal, "CreateAPIKey", target_type="api_key") as entry:
        if not owner_type and not owner_id:
            owner_type = principal.kind
            owner_id = principal.public_id
        membership, service_account = _owner(principal, owner_type, owner_id)
        entry["details"] = {"owner_type": owner_type, "owner_id": owner_id}
        if not can_create_api_key_for(principal, membership=membership, service_account=service_account):
            if membership is not None:
                raise PermissionDenied("API keys of a user are created by that user only")
            raise PermissionDenied(f"your role ({principal.role.label}) may not create keys for this service account")
        creation_enabled = Account.objects.values_list("api_key_creation_enabled", flat=True).get(
            pk=principal.account.pk
        )
        if not creation_enabled and not is_admin(principal):
            raise PermissionDenied("API key creation is switched off for this account; ask an administrator")
        display_name, description = _clean_text(display_name, description)
        expires_at = check_expiry(expires_at)
        entry["details"].update(display_name=display_name, expires_at=expires_at.isoformat())
        if membership is not None:
            # Lock the owner so that concurrent creations cannot both pass the limit.
            Membership.objects.select_for_update().filter(pk=membership.pk).first()
            if active_key_count(membership=membership) >= MAX_KEYS_PER_USER:
                raise FailedPrecondition(f"a user may hold at most {MAX_KEYS_PER_USER} unexpired API keys")
        else:
            ServiceAccount.objects.select_for_update().filter(pk=service_account.pk).first()  # type: ignore[union-attr]
            if active_key_count(service_account=service_account) >= MAX_KEYS_PER_SERVICE_ACCOUNT:
                raise FailedPrecondition(
                    f"a service account may hold at most {MAX_KEYS_PER_SERVICE_ACCOUNT} unexpired API keys"
                )
        key_id = secrets.token_hex(8)
        token = f"{API_KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        key = ApiKey.objects.create(
            key_id=key_id,
            account=principal.account,
            owner_membership=membership,
            owner_service_account=service_account,
            display_name=display_name,
            description=description,
            digest=api_key_digest(token),
            expires_at=expires_at,
            created_by=principal.user,
        )
        entry["target_id"] = key_id
        access_changed(principal.account)
    return key, token


def _lock(principal: Principal, key_id: str) -> ApiKey:
    key = (
        ApiKey.objects.select_for_update(of=("self",))
        .select_related("owner_service_account", "owner_membership")
        .filter(account=principal.account, key_id=key_id)
        .first()
    )
    if key is None or not can_view_api_key(principal, key):
        raise NotFound(f"API key {key_id!r} not found")
    if not can_manage_api_key(principal, key):
        raise PermissionDenied("you may not change this API key")
    return key


def do_update_api_key(
    principal: Principal,
    *,
    key_id: str,
    display_name: str | None = None,
    description: str | None = None,
    disabled: bool | None = None,
    expires_at: datetime | None = None,
    resource_version: str | None = None,
) -> ApiKey:
    """Rename, describe, disable or enable a key. Its expiry cannot move (create a new key)."""
    operation = "UpdateAPIKey"
    with audited(principal, operation, target_type="api_key", target_id=key_id) as entry:
        key = _lock(principal, key_id)
        check_version(key, resource_version, "API key")
        if expires_at is not None and abs((expires_at - key.expires_at).total_seconds()) >= 1:
            raise InvalidInput("an API key's expiry cannot be changed; create a new key instead")
        new_name, new_description = _clean_text(
            key.display_name if display_name is None else display_name,
            key.description if description is None else description,
        )
        details: dict[str, object] = {}
        if new_name != key.display_name:
            details["display_name"] = key.display_name = new_name
        if new_description != key.description:
            details["description"] = key.description = new_description
        if disabled is not None and disabled != key.disabled:
            details["disabled"] = key.disabled = disabled
        entry["details"] = details
        if details:
            key.save(update_fields=["display_name", "description", "disabled", "updated_at"])
            bump_version(key)
            access_changed(principal.account)
    return key


def do_delete_api_key(principal: Principal, *, key_id: str, resource_version: str | None = None) -> None:
    with audited(principal, "DeleteAPIKey", target_type="api_key", target_id=key_id) as entry:
        key = _lock(principal, key_id)
        check_version(key, resource_version, "API key")
        entry["details"] = {"display_name": key.display_name}
        key.delete()
        access_changed(principal.account)
