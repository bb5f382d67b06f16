"""Celery tasks that carry the control plane's namespace and access changes to the engine.

They take ids, are idempotent (each run sends the current state from the database), are acked
late and re-queued if their worker dies mid-task (so a killed worker loses nothing), and retry with exponential
backoff, without limit, until the engine confirms. Services queue them with
``transaction.on_commit`` (``queue_provisioning`` / ``accounts.services.common.access_changed`` /
``namespaces.provisioning.record_cleanup``).

A queueing can still be lost: the broker is down when the change commits (the on-commit
callback logs and moves on), or when a retry is re-published. ``requeue_pending`` (beat, every
minute) finds what the engine has not confirmed in the database itself and queues it again:
namespaces left in a pending state for longer than ``SWEEP_GRACE``, accounts whose
``access_version`` is ahead of ``access_synced_version``, and ``EngineCleanup`` rows older than
``SWEEP_GRACE``. What it queues makes one attempt (``once=True``) and expires before the next
sweep, which is its retry: a long engine outage costs one attempt per item and minute, never a
new retry chain per minute.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from namespaces.models import PENDING_STATES, EngineCleanup, Namespace
from namespaces.provisioning import Outcome, Status, clean_up_deleted_account, provision_namespace, sync_access

log = logging.getLogger(__name__)

RETRY_FIRST_DELAY = 1  # seconds; doubled after every failed attempt …
RETRY_MAX_DELAY = 300  # … up to five minutes between attempts

SWEEP_INTERVAL = 60  # seconds between sweeps (cloud.settings.CELERY_BEAT_SCHEDULE)
# How long a pending change may wait for the task its commit queued before the sweep queues another.
SWEEP_GRACE = timedelta(seconds=60)


class EngineNotConfirmed(Exception):
    """The engine did not confirm a change (the reason is the message); the task is retried."""


def retry_delay(retries: int) -> int:
    """Seconds before attempt ``retries + 2``: 1, 2, 4, … capped at five minutes."""
    return int(min(RETRY_FIRST_DELAY * 2 ** min(retries, 16), RETRY_MAX_DELAY))


def _attempt(step: Any, *args: Any) -> Outcome:
    """One step; a database that is briefly unavailable, or an attempt that ran out of time, is
    retried like an unreachable engine."""
    try:
        outcome: Outcome = step(*args)
    except DatabaseError as error:
        log.warning("database error, will retry: %s", error)
        return Outcome(Status.RETRY, f"database error: {error}")
    except SoftTimeLimitExceeded:
        log.warning("%s ran out of time, will retry", getattr(step, "__name__", step))
        return Outcome(Status.RETRY, "the attempt ran out of time")
    return outcome


def _finish(task: Task[Any, Any], outcome: Outcome, *, once: bool = False) -> str:
    if outcome.status != Status.RETRY:
        return outcome.status.value
    if once:
        # Queued by the sweep: the next sweep is the retry.
        log.warning("%s not retried (queued by the sweep): %s", task.name, outcome.detail)
        return outcome.status.value
    if task.request.is_eager or task.request.called_directly:
        # Run inline (CELERY_TASK_ALWAYS_EAGER, or a direct call): a retry would recurse in this
        # very call, so the change stays pending until the task is queued again.
        log.warning("%s not retried (run inline): %s", task.name, outcome.detail)
        return outcome.status.value
    raise task.retry(countdown=retry_delay(task.request.retries), exc=EngineNotConfirmed(outcome.detail))


# Every task that carries a change to the engine: acked late and re-queued if its worker dies,
# retried (by ``_finish``) without limit until the engine confirms.
ENGINE_TASK: dict[str, Any] = {"bind": True, "acks_late": True, "reject_on_worker_lost": True, "max_retries": None}


@shared_task(name="namespaces.provision", time_limit=60, soft_time_limit=45, **ENGINE_TASK)
def provision(self: Task[Any, Any], namespace_pk: int, once: bool = False) -> str:
    """Finish the namespace's pending create, update or delete on the engine."""
    return _finish(self, _attempt(provision_namespace, namespace_pk), once=once)


@shared_task(name="namespaces.sync_account_access", time_limit=60, soft_time_limit=45, **ENGINE_TASK)
def sync_account_access(self: Task[Any, Any], account_id: str, once: bool = False) -> str:
    """Replace the engine's copy of the account's principals, grants and API keys."""
    return _finish(self, _attempt(sync_access, account_id), once=once)


@shared_task(name="namespaces.cleanup_deleted_account", time_limit=120, soft_time_limit=105, **ENGINE_TASK)
def cleanup_deleted_account(self: Task[Any, Any], cleanup_pk: int, once: bool = False) -> str:
    """Drop a deleted account's namespaces, keys and principals from the engine."""
    return _finish(self, _attempt(clean_up_deleted_account, cleanup_pk), once=once)


@shared_task(name="namespaces.requeue_pending", time_limit=120, soft_time_limit=100)
def requeue_pending() -> dict[str, int]:
    """Queue again what the engine has not confirmed and nothing may be carrying out any more
    (see the module's docstring). Returns how many of each it queued."""
    cutoff = timezone.now() - SWEEP_GRACE
    namespaces = list(
        Namespace.objects.filter(state__in=PENDING_STATES, updated_at__lt=cutoff).values_list("pk", flat=True)
    )
    accounts = list(
        Account.objects.filter(access_synced_version__lt=F("access_version")).values_list("account_id", flat=True)
    )
    cleanups = list(EngineCleanup.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True))
    for account_id in accounts:  # first, as a drain would: keys must exist before they are used
        requeue_access_sync(account_id)
    for namespace_pk in namespaces:
        requeue_provisioning(namespace_pk)
    for cleanup_pk in cleanups:
        requeue_cleanup(cleanup_pk)
    if namespaces or accounts or cleanups:
        log.info(
            "re-queued what the engine has not confirmed: %d namespaces, %d account syncs, %d account cleanups",
            len(namespaces),
            len(accounts),
            len(cleanups),
        )
    return {"namespaces": len(namespaces), "accounts": len(accounts), "cleanups": len(cleanups)}


def queue_provisioning(namespace_pk: int) -> None:
    provision.delay(namespace_pk)


def queue_access_sync(account_id: str) -> None:
    sync_account_access.delay(account_id)


def queue_cleanup(cleanup_pk: int) -> None:
    cleanup_deleted_account.delay(cleanup_pk)


# The sweep's: one attempt each, dropped if no worker takes it before the next sweep.
def requeue_provisioning(namespace_pk: int) -> None:
    provision.apply_async((namespace_pk,), {"once": True}, expires=SWEEP_INTERVAL)


def requeue_access_sync(account_id: str) -> None:
    sync_account_access.apply_async((account_id,), {"once": True}, expires=SWEEP_INTERVAL)


def requeue_cleanup(cleanup_pk: int) -> None:
    cleanup_deleted_account.apply_async((cleanup_pk,), {"once": True}, expires=SWEEP_INTERVAL)
