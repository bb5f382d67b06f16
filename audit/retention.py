"""Audit log retention: entries older than the account's ``audit_retention_days`` are deleted.

The oldest entries go, never a middle part, so the retained entries stay one chain. In the same
transaction the chain's anchor moves to the first retained entry and a ``PurgeAuditLog`` entry
naming the new anchor is appended: ``audit.verify`` accepts a moved anchor only when such an
entry (covered by the chain's HMAC) vouches for it. A log whose account was deleted is kept for
the default retention period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import DEFAULT_AUDIT_RETENTION_DAYS, Account
from audit.models import AuditChain, AuditEntry
from audit.services import record
from audit.verify import PURGE_OPERATION


@dataclass(frozen=True)
class Purge:
    account_code: str
    deleted: int
    anchor_seq: int


def purge_account(account_code: str, *, retention_days: int, now: datetime | None = None) -> Purge | None:
    """Delete ``account_code``'s entries older than ``retention_days``; None when none are."""
    cutoff = (now or timezone.now()) - timedelta(days=retention_days)
    with transaction.atomic():
        chain = AuditChain.objects.select_for_update().filter(account_code=account_code).first()
        if chain is None:
            return None
        old = AuditEntry.objects.filter(account_code=account_code, emitted_at__lt=cutoff)
        last_old = old.order_by("-seq").values("seq", "entry_hash").first()
        if last_old is None:
            return None
        deleted, _ = AuditEntry.objects.filter(account_code=account_code, seq__lte=last_old["seq"]).delete()
        chain.anchor_seq = last_old["seq"] + 1
        chain.anchor_prev_hash = last_old["entry_hash"]
        chain.save(update_fields=["anchor_seq", "anchor_prev_hash"])
        record(
            account_code=account_code,
            operation=PURGE_OPERATION,
            principal_type="system",
            principal_name="audit retention",
            target_type="audit_log",
            target_id=account_code,
            details={
                "anchor_seq": chain.anchor_seq,
                "anchor_prev_hash": chain.anchor_prev_hash,
                "deleted_entries": deleted,
                "older_than": cutoff.isoformat(),
                "retention_days": retention_days,
            },
        )
    return Purge(account_code=account_code, deleted=deleted, anchor_seq=chain.anchor_seq)


def purge_expired(*, now: datetime | None = None) -> list[Purge]:
    """Apply every account's retention now. Running it again right away deletes nothing."""
    now = now or timezone.now()
    retention = dict(Account.objects.values_list("account_id", "audit_retention_days"))
    purges = []
    for code in AuditChain.objects.order_by("account_code").values_list("account_code", flat=True):
        days = retention.get(code, DEFAULT_AUDIT_RETENTION_DAYS)
        purge = purge_account(code, retention_days=days, now=now)
        if purge is not None:
            purges.append(purge)
    return purges
