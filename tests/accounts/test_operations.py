"""async_operation_id: a repeated request gets the first outcome and runs once."""

from __future__ import annotations

import pytest

from accounts.errors import InvalidInput
from accounts.models import AsyncOperation, OperationState, Role, ServiceAccount
from accounts.operations import get_operation, run_operation
from accounts.principal import Principal
from accounts.services.service_accounts import do_create_service_account
from audit.models import AuditEntry


def _create(principal: Principal, op_id: str, name: str = "ci"):
    def change() -> dict[str, str]:
        return {"service_account_id": do_create_service_account(principal, name=name, role=Role.DEVELOPER).public_id}

    return run_operation(
        principal, operation_id=op_id, operation_type="CreateServiceAccount", request={"name": name}, change=change
    )


def test_a_repeated_operation_id_runs_once(alice: Principal) -> None:
    first, operation, replayed = _create(alice, "op-1")
    again, same, replayed_again = _create(alice, "op-1", name="other")
    assert (replayed, replayed_again) == (False, True)
    assert first == again
    assert operation.pk == same.pk
    assert ServiceAccount.objects.count() == 1
    assert operation.state == OperationState.FULFILLED
    entry = AuditEntry.objects.get(operation="CreateServiceAccount")
    assert entry.async_operation_id == "op-1"
    assert get_operation(alice, "op-1").result == first


def test_an_id_reused_for_another_operation_is_refused(alice: Principal) -> None:
    _create(alice, "op-1")
    with pytest.raises(InvalidInput, match="already used for CreateServiceAccount"):
        run_operation(alice, operation_id="op-1", operation_type="DeleteUser", request={}, change=lambda: {})


def test_a_failed_change_leaves_no_operation_so_a_retry_runs(alice: Principal) -> None:
    from accounts.errors import AlreadyExists

    _create(alice, "op-1", name="taken")
    with pytest.raises(AlreadyExists):
        _create(alice, "op-2", name="taken")
    assert not AsyncOperation.objects.filter(operation_id="op-2").exists()


def test_operations_are_per_account(alice: Principal, charlie: Principal) -> None:
    from accounts.errors import NotFound

    _create(alice, "op-1")
    with pytest.raises(NotFound):
        get_operation(charlie, "op-1")
    _, theirs, replayed = _create(charlie, "op-1")
    assert not replayed
    assert theirs.account == charlie.account
