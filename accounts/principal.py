"""Who is calling: a member of an account (signed in, or through one of their API keys) or a
service account (through its API key). Every service takes a ``Principal``.

``principal_for_user`` and ``principal_for_api_key`` are the only ways to make one outside
tests, so that a request can never act in an account its caller does not belong to.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.errors import NotFound, Unauthenticated
from accounts.models import Account, ApiKey, Membership, Role, ServiceAccount, User

API_KEY_PREFIX = "sdl"
# last_used_at is written at most this often per key, so a busy key does not write on every call.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class Principal:
    account: Account
    role: Role
    membership: Membership | None = None
    service_account: ServiceAccount | None = None
    api_key: ApiKey | None = None
    client_ip: str = ""
    api_version: str = ""

    @property
    def user(self) -> User | None:
        return self.membership.user if self.membership is not None else None

    @property
    def kind(self) -> str:
        return "user" if self.membership is not None else "service_account"

    @property
    def public_id(self) -> str:
        if self.membership is not None:
            return self.membership.public_id
        assert self.service_account is not None
        return self.service_account.public_id

    @property
    def name(self) -> str:
        if self.membership is not None:
            return self.membership.user.email
        assert self.service_account is not None
        return self.service_account.name


def principal_for_user(user: User, account_id: str, *, client_ip: str = "") -> Principal:
    """The signed-in ``user`` acting in the account ``account_id``; NotFound unless a member."""
    if not user.is_authenticated:
        raise NotFound("account not found")
    membership = (
        Membership.objects.select_related("account", "user").filter(user=user, account__account_id=account_id).first()
    )
    if membership is None:
        raise NotFound("account not found")
    return Principal(account=membership.account, role=Role(membership.role), membership=membership, client_ip=client_ip)


def principal_for_membership(membership: Membership, *, client_ip: str = "") -> Principal:
    return Principal(account=membership.account, role=Role(membership.role), membership=membership, client_ip=client_ip)


def principal_for_service_account(service_account: ServiceAccount, *, client_ip: str = "") -> Principal:
    return Principal(
        account=service_account.account,
        role=Role(service_account.role),
        service_account=service_account,
        client_ip=client_ip,
    )


def api_key_digest(token: str) -> str:
    """HMAC-SHA256 of the whole token under the server's key pepper, as hex."""
    return hmac.new(settings.API_KEY_PEPPER.encode(), token.encode(), hashlib.sha256).hexdigest()


def parse_api_key(token: str) -> str:
    """The key id inside a token ``sdl_<key_id>_<secret>``; Unauthenticated if malformed."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        raise Unauthenticated("malformed API key")
    return parts[1]


def principal_for_api_key(token: str, *, client_ip: str = "", api_version: str = "") -> Principal:
    """The owner of the API key ``token`` acting through it.

    Unknown, expired and disabled keys are Unauthenticated; the comparison of digests takes
    the same time whatever the token.
    """
    key_id = parse_api_key(token)
    key = (
        ApiKey.objects.select_related(
            "account", "owner_membership__user", "owner_membership__account", "owner_service_account__account"
        )
        .filter(key_id=key_id)
        .first()
    )
    expected = key.digest if key is not None else "0" * 64
    if not hmac.compare_digest(expected, api_key_digest(token)) or key is None:
        raise Unauthenticated("invalid API key")
    now = timezone.now()
    if key.disabled:
        raise Unauthenticated("API key is disabled")
    if key.expires_at <= now:
        raise Unauthenticated("API key has expired")
    if key.owner_membership is not None and not key.owner_membership.user.is_active:
        raise Unauthenticated("the owner of this API key is deactivated")
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    if key.owner_membership is not None:
        base = principal_for_membership(key.owner_membership)
    else:
        assert key.owner_service_account is not None
        base = principal_for_service_account(key.owner_service_account)
    return replace(base, api_key=key, client_ip=client_ip, api_version=api_version)
