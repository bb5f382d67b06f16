"""Engine changes that survive a broker outage, and account deletion that reaches the engine.

A lost queueing (the broker was down at commit) is simulated by dropping what the ``queued``
fixture recorded; the sweep (``namespaces.tasks.requeue_pending``) is called directly, with time
moved by ageing rows, and what it queues is run as a worker would. A real engine (a subprocess,
API keys enforced) answers what an SDK user sees.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from django.utils import timezone
from temporalio.service import RPCError, RPCStatusCode

import namespaces.provisioning
import namespaces.tasks
from accounts.models import Account, OperationState
from accounts.principal import Principal
from accounts.services.accounts import do_delete_account
from accounts.services.api_keys import do_create_api_key, do_update_api_key
from engine.admin_client import EngineAdminClient
from namespaces.models import EngineCleanup, Namespace, NamespaceState
from namespaces.provisioning import Status, sync_access
from namespaces.services import do_create_namespace, do_delete_namespace
from namespaces.tasks import (
    SWEEP_GRACE,
    SWEEP_INTERVAL,
    cleanup_deleted_account,
    provision,
    requeue_pending,
    sync_account_access,
)
from tests.accounts.conftest import in_days
from tests.namespaces.conftest import Queued
from tests.namespaces.engine_support import EngineProcess, engine_process
from tests.namespaces.test_provisioning import describe, new_token, operation_of
from tests.support.net import wait_until

pytestmark = pytest.mark.slow

NOTHING_QUEUED = {"namespaces": 0, "accounts": 0, "cleanups": 0}


@pytest.fixture
def engine(tmp_path: Path, settings) -> Iterator[EngineProcess]:
    """An engine the control plane is configured for; started by the test (or by ``running``)."""
    with engine_process(tmp_path) as process:
        settings.SUNDIAL_ENGINE_ADMIN_ADDRESS = process.admin_address
        settings.SUNDIAL_ENGINE_ADMIN_SECRET = process.secret
        yield process


@pytest.fixture
def running(engine: EngineProcess) -> EngineProcess:
    engine.start()
    return engine


@dataclass
class Recorded:
    """What commits and the sweep queue: provisioning and access syncs in ``queued`` (the sweep's
    re-queues land there too), account cleanups here."""

    queued: Queued
    cleanups: list[int] = field(default_factory=list)

    def lose(self) -> None:
        """The broker was down: nothing that was queued reached it."""
        self.queued.clear()
        self.cleanups.clear()

    def drain(self) -> list[str]:
        """Run what was queued as a worker would, each task committing what it changes: syncs,
        then provisioning, then cleanups. What they queue in turn waits for the next drain."""
        syncs, provisioning = list(self.queued.access_syncs), list(self.queued.provisioning)
        cleanups = list(self.cleanups)
        self.lose()
        outcomes = [self.queued.commit(partial(sync_account_access, account_id)) for account_id in syncs]
        outcomes += [self.queued.commit(partial(provision, pk)) for pk in provisioning]
        outcomes += [self.queued.commit(partial(cleanup_deleted_account, pk)) for pk in cleanups]
        return outcomes


@pytest.fixture
def recorded(queued: Queued, monkeypatch: pytest.MonkeyPatch) -> Recorded:
    record = Recorded(queued)
    monkeypatch.setattr(namespaces.tasks, "queue_cleanup", record.cleanups.append)
    monkeypatch.setattr(namespaces.tasks, "requeue_cleanup", record.cleanups.append)
    monkeypatch.setattr(namespaces.tasks, "requeue_provisioning", queued.provisioning.append)
    monkeypatch.setattr(namespaces.tasks, "requeue_access_sync", queued.access_syncs.append)
    return record


def age(queryset: Any, field_name: str, by: timedelta = SWEEP_GRACE + timedelta(seconds=1)) -> None:
    """Move rows' timestamp into the past: the sweep's clock, without waiting."""
    assert queryset.update(**{field_name: timezone.now() - by}) > 0


def refused(engine: EngineProcess, namespace_id: str, token: str) -> str:
    """The status (name) the engine answers an SDK describing the namespace with this key."""
    try:
        describe(engine, namespace_id, token)
    except RPCError as error:
        return error.status.name
    except RuntimeError as error:  # the SDK's connect reports an unknown or disabled key this way
        if "unauthenticated" in str(error).lower():
            return RPCStatusCode.UNAUTHENTICATED.name
        return f"connect failed: {error}"
    return "OK"


def listening(address: str) -> Callable[[], bool]:
    host, port = address.rsplit(":", 1)

    def check() -> bool:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
        except OSError:
            return False
        return True

    return check


def test_deleting_an_account_drops_its_namespaces_and_keys_on_the_engine(
    alice: Principal, charlie: Principal, recorded: Recorded, running: EngineProcess
) -> None:
    queued = recorded.queued
    account_id = alice.account.account_id
    payments = queued.commit(lambda: do_create_namespace(alice, name="payments"))
    orders = queued.commit(lambda: do_create_namespace(alice, name="orders"))
    token, outsider = new_token(alice, queued), new_token(charlie, queued)
    assert recorded.drain() == ["done"] * 4
    for namespace in (payments, orders):
        assert refused(running, namespace.namespace_id, token) == "OK"
        assert refused(running, namespace.namespace_id, outsider) == "PERMISSION_DENIED"  # it exists
    # "orders" is being deleted (its task lost), "staging" is being created: both go with the account
    queued.commit(lambda: do_delete_namespace(alice, namespace="orders"))
    staging = queued.commit(lambda: do_create_namespace(alice, name="staging"))
    queued.clear()

    queued.commit(lambda: do_delete_account(alice, confirm_account_id=account_id))

    (cleanup,) = EngineCleanup.objects.all()
    assert (cleanup.account_id, cleanup.namespace_ids) == (
        account_id,
        [orders.namespace_id, payments.namespace_id, staging.namespace_id],
    )
    assert recorded.cleanups == [cleanup.pk]
    assert queued.access_syncs == [account_id]
    queued.access_syncs.clear()  # the account's own sync is lost: the cleanup alone drops the keys
    queued.provisioning.append(staging.pk)  # and staging's provisioning arrives late
    assert recorded.drain() == ["nothing", "done"]

    assert not EngineCleanup.objects.exists()
    for namespace in (payments, orders, staging):
        assert refused(running, namespace.namespace_id, outsider) == "NOT_FOUND"
        assert refused(running, namespace.namespace_id, token) == "UNAUTHENTICATED"
    assert requeue_pending() == NOTHING_QUEUED


def test_a_provisioning_lost_with_the_broker_is_queued_again_after_the_grace_period(
    alice: Principal, recorded: Recorded, running: EngineProcess
) -> None:
    queued = recorded.queued
    namespace = queued.commit(lambda: do_create_namespace(alice, name="payments"))
    token = new_token(alice, queued)
    queued.provisioning.clear()  # lost
    assert recorded.drain() == ["done"]  # the key's sync

    assert requeue_pending() == NOTHING_QUEUED  # a task queued a moment ago may still be on its way
    assert queued.provisioning == []
    age(Namespace.objects.filter(pk=namespace.pk), "updated_at")
    assert requeue_pending() == {**NOTHING_QUEUED, "namespaces": 1}
    assert queued.provisioning == [namespace.pk]

    assert recorded.drain() == ["done"]
    namespace.refresh_from_db()
    assert namespace.state == NamespaceState.ACTIVE
    assert operation_of(namespace).state == OperationState.FULFILLED
    assert refused(running, namespace.namespace_id, token) == "OK"
    assert requeue_pending() == NOTHING_QUEUED


def test_an_access_change_lost_with_the_broker_is_synced_by_the_sweep(
    alice: Principal, recorded: Recorded, running: EngineProcess
) -> None:
    queued = recorded.queued
    namespace = queued.commit(lambda: do_create_namespace(alice, name="payments"))
    key, token = queued.commit(lambda: do_create_api_key(alice, display_name="laptop", expires_at=in_days(30)))
    assert recorded.drain() == ["done", "done"]
    assert requeue_pending() == NOTHING_QUEUED  # the engine confirmed the account's access

    queued.commit(lambda: do_update_api_key(alice, key_id=key.key_id, disabled=True))
    recorded.lose()
    assert refused(running, namespace.namespace_id, token) == "OK"  # the engine never heard of it

    assert requeue_pending() == {**NOTHING_QUEUED, "accounts": 1}
    assert queued.access_syncs == [alice.account.account_id]
    assert recorded.drain() == ["done"]
    assert refused(running, namespace.namespace_id, token) == "UNAUTHENTICATED"
    account = Account.objects.get(pk=alice.account.pk)
    assert account.access_synced_version == account.access_version > 0
    assert requeue_pending() == NOTHING_QUEUED
    assert queued.access_syncs == []


def test_an_account_deleted_while_the_engine_is_down_is_cleaned_up_once_it_is_back(
    alice: Principal, charlie: Principal, recorded: Recorded, running: EngineProcess
) -> None:
    queued = recorded.queued
    account_id = alice.account.account_id
    namespace = queued.commit(lambda: do_create_namespace(alice, name="payments"))
    token, outsider = new_token(alice, queued), new_token(charlie, queued)
    assert recorded.drain() == ["done", "done", "done"]
    running.stop()

    queued.commit(lambda: do_delete_account(alice, confirm_account_id=account_id))
    assert recorded.drain() == ["retry", "retry"]  # the account's sync and its cleanup

    (cleanup,) = EngineCleanup.objects.all()
    assert "unreachable" in cleanup.last_error
    assert requeue_pending() == NOTHING_QUEUED  # within the grace period
    age(EngineCleanup.objects.all(), "created_at")
    assert requeue_pending() == {**NOTHING_QUEUED, "cleanups": 1}
    assert recorded.cleanups == [cleanup.pk]
    assert queued.access_syncs == []  # the account is gone: its cleanup carries its access too

    running.start()
    wait_until(listening(running.admin_address), timeout=60, what="the restarted engine's admin API")
    wait_until(listening(running.address), timeout=60, what="the restarted engine")
    assert recorded.drain() == ["done"]
    assert not EngineCleanup.objects.exists()
    assert refused(running, namespace.namespace_id, outsider) == "NOT_FOUND"
    assert refused(running, namespace.namespace_id, token) == "UNAUTHENTICATED"
    assert requeue_pending() == NOTHING_QUEUED


def test_a_namespace_created_on_the_engine_while_its_account_is_deleted_is_dropped_again(
    alice: Principal, charlie: Principal, recorded: Recorded, running: EngineProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provisioning that read its namespace before the account was deleted, and whose
    PutNamespace reached the engine after the account's cleanup, leaves a new cleanup behind."""
    queued = recorded.queued
    account_id = alice.account.account_id
    namespace = queued.commit(lambda: do_create_namespace(alice, name="payments"))
    outsider = new_token(charlie, queued)
    queued.provisioning.clear()  # run below, by hand
    assert recorded.drain() == ["done"]  # Charlie's key
    put_namespace = EngineAdminClient.put_namespace

    def deleted_meanwhile(client: EngineAdminClient, spec: dict[str, Any]) -> dict[str, Any]:
        do_delete_account(alice, confirm_account_id=account_id)  # another request, another worker
        (first,) = EngineCleanup.objects.all()
        assert cleanup_deleted_account(first.pk) == "done"
        return put_namespace(client, spec)

    monkeypatch.setattr(EngineAdminClient, "put_namespace", deleted_meanwhile)
    assert queued.commit(partial(provision, namespace.pk)) == "nothing"
    monkeypatch.undo()

    (again,) = EngineCleanup.objects.all()
    assert (again.account_id, again.namespace_ids) == (account_id, [namespace.namespace_id])
    assert refused(running, namespace.namespace_id, outsider) == "PERMISSION_DENIED"  # it is back on the engine
    assert recorded.cleanups[-1] == again.pk
    assert recorded.drain()[-1] == "done"
    assert refused(running, namespace.namespace_id, outsider) == "NOT_FOUND"
    assert not EngineCleanup.objects.exists()


class FakeEngine:
    """An admin client that accepts every access document, running ``during_send`` inside the
    first send (what happens while a slow request is on its way)."""

    def __init__(self, during_send: Callable[[], None]) -> None:
        self.during_send: Callable[[], None] | None = during_send
        self.sent: list[dict[str, Any]] = []

    def sync_account_access(self, document: dict[str, Any]) -> dict[str, Any]:
        hook, self.during_send = self.during_send, None
        if hook is not None:
            hook()
        self.sent.append(document)
        return {}

    def __enter__(self) -> FakeEngine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


def test_a_slow_sync_finishing_after_a_newer_one_does_not_lower_the_synced_version(
    alice: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, _ = do_create_api_key(alice, display_name="laptop", expires_at=in_days(30))
    account_id = alice.account.account_id

    def versions() -> tuple[int, int]:
        account = Account.objects.get(account_id=account_id)
        return account.access_version, account.access_synced_version

    before = versions()[0]

    def rename_and_sync_again() -> None:
        # A change that leaves the document as it was (a key's name), and its own, faster sync.
        do_update_api_key(alice, key_id=key.key_id, display_name="work laptop")
        assert sync_access(account_id).status == Status.DONE
        assert versions() == (before + 1, before + 1)

    fake = FakeEngine(rename_and_sync_again)
    monkeypatch.setattr(namespaces.provisioning, "engine_admin_client", lambda: fake)
    # the slow sync read version `before`, sent that document, and finds it still current
    assert sync_access(account_id).status == Status.DONE
    assert len(fake.sent) == 2
    assert versions() == (before + 1, before + 1)  # not back to `before`

    do_update_api_key(alice, key_id=key.key_id, disabled=True)
    assert versions() == (before + 2, before + 1)  # the sweep would re-queue this account now
    assert sync_access(account_id).status == Status.DONE
    assert versions() == (before + 2, before + 2)
    assert fake.sent[-1]["api_keys"][0]["disabled"] is True


def test_what_the_sweep_queues_makes_one_attempt_that_expires_before_the_next_sweep(
    alice: Principal, charlie: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next sweep is the retry: a long outage costs one attempt per item and sweep."""
    # Nothing here commits, so nothing is queued: Charlie's namespace stays pending, his new key
    # unsynced, and Alice's deleted account leaves its cleanup.
    namespace = do_create_namespace(charlie, name="payments")
    do_create_api_key(charlie, display_name="laptop", expires_at=in_days(30))
    do_create_namespace(alice, name="orders")
    do_delete_account(alice, confirm_account_id=alice.account.account_id)
    age(Namespace.objects.all(), "updated_at")
    age(EngineCleanup.objects.all(), "created_at")
    sent: list[tuple[str, tuple[Any, ...], dict[str, Any], dict[str, Any]]] = []

    def recorder(name: str) -> Callable[..., None]:
        return lambda args, kwargs, **options: sent.append((name, args, kwargs, options))

    for task in (provision, sync_account_access, cleanup_deleted_account):
        monkeypatch.setattr(task, "apply_async", recorder(task.name))

    assert requeue_pending() == {"namespaces": 1, "accounts": 1, "cleanups": 1}
    (cleanup,) = EngineCleanup.objects.all()
    once, expiring = {"once": True}, {"expires": SWEEP_INTERVAL}
    assert sent == [
        ("namespaces.sync_account_access", (charlie.account.account_id,), once, expiring),
        ("namespaces.provision", (namespace.pk,), once, expiring),
        ("namespaces.cleanup_deleted_account", (cleanup.pk,), once, expiring),
    ]
