"""Sign-ins in the audit log: Temporal Cloud's log shows ``UserLogin``, so a completed sign-in
(after any second factor) appends one entry to each account the user belongs to.

A sign-in is not a change of the account, so there is no change for the entry to share a
transaction with; the entries of one sign-in are written together in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from accounts.models import Membership, User
from accounts.principal import principal_for_membership
from accounts.web import client_ip
from audit.services import record

LOGIN_OPERATION = "UserLogin"
# Where allauth keeps how the current session was authenticated.
_METHODS_SESSION_KEY = "account_authentication_methods"


def _methods(request: HttpRequest) -> list[str]:
    used = request.session.get(_METHODS_SESSION_KEY, []) if hasattr(request, "session") else []
    names = [":".join(str(v) for v in (m.get("method"), m.get("type")) if v) for m in used if isinstance(m, dict)]
    return list(dict.fromkeys(n for n in names if n))


def record_login(sender: Any, *, request: HttpRequest, user: User, **kwargs: Any) -> None:
    memberships = Membership.objects.filter(user=user).select_related("account", "user")
    ip = client_ip(request)
    details = {"methods": _methods(request)}
    with transaction.atomic():
        for membership in memberships:
            record(
                account_code=membership.account.account_id,
                operation=LOGIN_OPERATION,
                principal=principal_for_membership(membership, client_ip=ip),
                target_type="user",
                target_id=membership.public_id,
                details=details,
            )
