"""Celery tasks that carry the control plane's namespace and access changes to the engine.

Both take ids, are idempotent (each run sends the current state from the database), are acked
late and re-queued if their worker dies mid-task (so a killed worker loses nothing), and retry with exponential
backoff, without limit, until the engine confirms. Services queue them with
``transaction.on_commit`` (``queue_provisioning`` / ``accounts.services.common.access_changed``).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError

from namespaces.provisioning import Outcome, Status, provision_namespace, sync_access

log = logging.getLogger(__name__)

RETRY_FIRST_DELAY = 1  # seconds; doubled after every failed attempt …
RETRY_MAX_DELAY = 300  # … up to five minutes between attempts


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


def _finish(task: Task[Any, Any], outcome: Outcome) -> str:
    if outcome.status != Status.RETRY:
        return outcome.status.value
    if task.request.is_eager or task.request.called_directly:
        # Run inline (CELERY_TASK_ALWAYS_EAGER, or a direct call): a retry would recurse in this
        # very call, so the change stays pending until the task is queued again.
        log.warning("%s not retried (run inline): %s", task.name, outcome.detail)
        return outcome.status.value
    raise task.retry(countdown=retry_delay(task.request.retries), exc=EngineNotConfirmed(outcome.detail))


@shared_task(
    bind=True,
    name="namespaces.provision",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    time_limit=60,
    soft_time_limit=45,
)
def provision(self: Task[Any, Any], namespace_pk: int) -> str:
    """Finish the namespace's pending create, update or delete on the engine."""
    return _finish(self, _attempt(provision_namespace, namespace_pk))


@shared_task(
    bind=True,
    name="namespaces.sync_account_access",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    time_limit=60,
    soft_time_limit=45,
)
def sync_account_access(self: Task[Any, Any], account_id: str) -> str:
    """Replace the engine's copy of the account's principals, grants and API keys."""
    return _finish(self, _attempt(sync_access, account_id))


def queue_provisioning(namespace_pk: int) -> None:
    provision.delay(namespace_pk)


def queue_access_sync(account_id: str) -> None:
    sync_account_access.delay(account_id)
