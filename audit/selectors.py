"""Reading one account's audit log: Owners and Global Admins only.

Every face (the page, the REST API, the Cloud Ops ``GetAuditLogs``, exports) reads through
``audit_entry_list`` so the filters and the permission rule are the same everywhere.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.errors import InvalidInput
from accounts.permissions import Action, require
from accounts.principal import Principal
from audit.models import AuditEntry, AuditStatus

MAX_FILTER_LENGTH = 320


def _clean_text(value: str, what: str) -> str:
    text = value.strip()
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidInput(f"the {what} filter has at most {MAX_FILTER_LENGTH} characters")
    return text


def audit_entry_list(
    *,
    principal: Principal,
    start: datetime | None = None,
    end: datetime | None = None,
    actor: str = "",
    operation: str = "",
    status: str = "",
    newest_first: bool = True,
) -> QuerySet[AuditEntry]:
    """The caller's account's entries, filtered.

    ``start`` is inclusive and ``end`` exclusive (as ``GetAuditLogs``); both need a time zone.
    ``actor`` matches a principal id or API key id exactly, or part of the principal's name
    (a user's e-mail, a service account's name), ignoring case. ``status`` is OK or ERROR.
    """
    require(principal, Action.VIEW_AUDIT_LOG, "only an Account Owner or a Global Admin may read the audit log")
    for bound, name in ((start, "start"), (end, "end")):
        if bound is not None and timezone.is_naive(bound):
            raise InvalidInput(f"the {name} time needs a time zone")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("the end of the time range must be after its start")
    entries = AuditEntry.objects.filter(account_code=principal.account.account_id)
    if start is not None:
        entries = entries.filter(emitted_at__gte=start)
    if end is not None:
        entries = entries.filter(emitted_at__lt=end)
    actor = _clean_text(actor, "actor")
    if actor:
        entries = entries.filter(Q(principal_id=actor) | Q(api_key_id=actor) | Q(principal_name__icontains=actor))
    operation = _clean_text(operation, "operation")
    if operation:
        entries = entries.filter(operation=operation)
    status = status.strip().upper()
    if status:
        if status not in AuditStatus.values:
            raise InvalidInput(f"status must be one of {', '.join(AuditStatus.values)}")
        entries = entries.filter(status=status)
    return entries.order_by("-seq") if newest_first else entries.order_by("seq")


def audit_operation_names(*, principal: Principal) -> list[str]:
    """The operations that occur in the caller's account's log, for a filter's choices."""
    require(principal, Action.VIEW_AUDIT_LOG, "only an Account Owner or a Global Admin may read the audit log")
    names = (
        AuditEntry.objects.filter(account_code=principal.account.account_id)
        .order_by("operation")
        .values_list("operation", flat=True)
        .distinct()
    )
    return list(names)
