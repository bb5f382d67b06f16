"""Async operations: the record behind ``async_operation_id`` on every mutating API request.

Sundial's account changes finish inside the request, so an operation is FULFILLED as soon as
it is answered; it is kept so that ``GetAsyncOperation`` can report it and so that a request
repeating an ``async_operation_id`` gets the first outcome instead of running twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
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
    operation.state = OperationState.FULFILLED
    operation.result = redact(result)
    operation.finished_at = timezone.now()
    operation.save(update_fields=["state", "result", "finished_at"])
    return result, operation, False


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
