"""Async operations: the record behind ``async_operation_id`` on every mutating API request.

Sundial's account changes finish inside the request, so their operation is FULFILLED as soon as
it is answered; it is kept so that ``GetAsyncOperation`` can report it and so that a request
repeating an ``async_operation_id`` gets the first outcome instead of running twice.

A change that a background task finishes (a namespace provisioned on the engine) calls
``begin_deferred_operation`` inside its transaction instead: the operation stays PENDING until
the task calls ``finish_operation`` (FULFILLED, or FAILED with the reason).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import InvalidInput, NotFound
from accounts.models import AsyncOperation, OperationState
from accounts.principal import Principal
from audit.services import current_operation_id, redact

MAX_OPERATION_ID_LENGTH = 64


def run_operation(
    principal: Principal,
    *,
    operation_id: str,
    operation_type: str,
    request: dict[str, Any],
    change: Callable[[], dict[str, Any]],
) -> tuple[dict[str, Any], AsyncOperation, bool]:
    """Run ``change`` once per ``operation_id``; returns (result, operation, replayed).

    ``change`` returns the JSON-able result that a repeat of the request gets back (ids, never
    secrets). A change that fails leaves no operation behind, so the request can be retried.
    """
    operation_id = operation_id.strip()
    if len(operation_id) > MAX_OPERATION_ID_LENGTH:
        raise InvalidInput(f"async_operation_id is longer than {MAX_OPERATION_ID_LENGTH} characters")
    if operation_id:
        existing = AsyncOperation.objects.filter(account=principal.account, operation_id=operation_id).first()
        if existing is not None:
            return _replay(existing, operation_type)
    else:
        operation_id = uuid.uuid4().hex
    try:
        with transaction.atomic():
            operation = AsyncOperation.objects.create(
                account=principal.account,
                operation_id=operation_id,
                operation_type=operation_type,
                state=OperationState.IN_PROGRESS,
                input=redact(request),
            )
    except IntegrityError:
        existing = AsyncOperation.objects.get(account=principal.account, operation_id=operation_id)
        return _replay(existing, operation_type)
    token = current_operation_id.set(operation_id)
    try:
        result = change()
    except BaseException:
        AsyncOperation.objects.filter(pk=operation.pk).delete()
        raise
    finally:
        current_operation_id.reset(token)
    AsyncOperation.objects.filter(pk=operation.pk).update(result=redact(result))
    # A deferred change left its operation PENDING (or its task already finished it): keep that state.
    AsyncOperation.objects.filter(pk=operation.pk, state=OperationState.IN_PROGRESS).update(
        state=OperationState.FULFILLED, finished_at=timezone.now()
    )
    operation.refresh_from_db()
    return result, operation, False


@contextmanager
def operation_scope() -> Iterator[str]:
    """The ``async_operation_id`` of the request being served, or a fresh one for the duration.

    A service that defers its change wraps itself in this, so that when a page calls it directly
    its operation and its audit entry still share one id.
    """
    current = current_operation_id.get()
    if current:
        yield current
        return
    token = current_operation_id.set(uuid.uuid4().hex)
    try:
        yield current_operation_id.get()
    finally:
        current_operation_id.reset(token)


def begin_deferred_operation(
    principal: Principal, *, operation_type: str, request: dict[str, Any], result: dict[str, Any]
) -> AsyncOperation:
    """Inside a change's transaction: its operation, left PENDING for a background task.

    The operation is the one ``run_operation`` made for the request being served, or a new one
    (id from ``operation_scope``, else random) when a page called the service directly.
    """
    operation_id = current_operation_id.get() or uuid.uuid4().hex
    operation = (
        AsyncOperation.objects.select_for_update().filter(account=principal.account, operation_id=operation_id).first()
    )
    if operation is None:
        return AsyncOperation.objects.create(
            account=principal.account,
            operation_id=operation_id,
            operation_type=operation_type,
            state=OperationState.PENDING,
            input=redact(request),
            result=redact(result),
        )
    operation.state = OperationState.PENDING
    operation.result = redact(result)
    operation.save(update_fields=["state", "result"])
    return operation


def finish_operation(operation_pk: int, *, failure_reason: str = "") -> bool:
    """Mark a deferred operation FULFILLED, or FAILED with ``failure_reason``; False if it had
    already finished (a task that runs twice finishes it once)."""
    state = OperationState.FAILED if failure_reason else OperationState.FULFILLED
    updated = AsyncOperation.objects.filter(
        pk=operation_pk, state__in=(OperationState.PENDING, OperationState.IN_PROGRESS)
    ).update(state=state, failure_reason=failure_reason[:1000], finished_at=timezone.now())
    return updated > 0


def _replay(existing: AsyncOperation, operation_type: str) -> tuple[dict[str, Any], AsyncOperation, bool]:
    if existing.operation_type != operation_type:
        raise InvalidInput(
            f"async_operation_id {existing.operation_id!r} was already used for {existing.operation_type}"
        )
    return dict(existing.result), existing, True


def get_operation(principal: Principal, operation_id: str) -> AsyncOperation:
    """Any member of the account may read its operations (Temporal Cloud: all roles)."""
    operation = AsyncOperation.objects.filter(account=principal.account, operation_id=operation_id).first()
    if operation is None:
        raise NotFound(f"async operation {operation_id!r} not found")
    return operation
