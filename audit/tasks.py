"""Audit log housekeeping run by Celery beat (``CELERY_BEAT_SCHEDULE`` in settings)."""

from __future__ import annotations

from celery import shared_task

from audit.retention import purge_expired


@shared_task(name="audit.apply_retention", time_limit=1800, soft_time_limit=1700, acks_late=True)
def apply_retention() -> dict[str, int]:
    """Delete entries past each account's retention; idempotent (a second run deletes nothing).

    Returns {account id: entries deleted} for the accounts that had any.
    """
    return {purge.account_code: purge.deleted for purge in purge_expired()}
