"""Bringing the engine to what the control plane's database says, one idempotent step at a time.

``provision_namespace`` looks at a namespace's state (ACTIVATING, UPDATING, DELETING), makes
the engine match (``PutNamespace`` with the whole current settings, ``DeleteNamespace``, or
``RenameSearchAttribute`` when a confirmed attribute was renamed), and
only then records the outcome, compare-and-set on the state and ``resource_version`` it read: a
namespace that changed meanwhile is left to the newer change's own task. ``sync_access`` sends
an account's whole access document until what the engine got is what the database holds, and
then records the account's ``access_version`` it sent as confirmed. ``clean_up_deleted_account``
drops what a deleted account left on the engine (its ``EngineCleanup`` outbox row).

Both answer an ``Outcome`` instead of retrying themselves; the Celery tasks decide about retries.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

import grpc
from django.conf import settings
from django.db import transaction

from accounts.models import Account, NamespaceGrant
from accounts.operations import finish_operation
from accounts.services.common import access_changed
from engine.admin_client import EngineAdminClient, EngineAdminError
from namespaces.documents import access_document, namespace_document
from namespaces.models import FAILED_STATE, PENDING_STATES, EngineCleanup, Namespace, NamespaceState

log = logging.getLogger(__name__)

# How many times sync_access re-sends when the database changed while it was sending.
MAX_SYNC_ROUNDS = 5


class Status(enum.StrEnum):
    DONE = "done"  # the engine confirmed; the namespace and its operation are finished
    FAILED = "failed"  # the engine refused the input (INVALID_ARGUMENT): not retried
    RETRY = "retry"  # the engine did not confirm (unreachable, …): try again later
    NOTHING = "nothing"  # nothing to do (already done, or superseded by a newer change)


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str = ""


def engine_admin_client() -> EngineAdminClient:
    return EngineAdminClient(settings.SUNDIAL_ENGINE_ADMIN_ADDRESS, settings.SUNDIAL_ENGINE_ADMIN_SECRET)


def _describe(error: EngineAdminError) -> str:
    if error.code == grpc.StatusCode.UNAVAILABLE:
        return f"the engine is unreachable at {settings.SUNDIAL_ENGINE_ADMIN_ADDRESS} ({error.message}); retrying"
    return f"the engine answered {error.code.name}: {error.message}"


# What the engine answers to input it will never accept (retrying cannot help).
REFUSALS = frozenset({grpc.StatusCode.INVALID_ARGUMENT})
# … and to a rename, when its copy of the attributes is not what the control plane confirmed.
RENAME_REFUSALS = REFUSALS | {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS}


def pending_rename(namespace: Namespace) -> tuple[str, str, str] | None:
    """(old name, new name, type) of a rename the engine has not confirmed: a confirmed attribute
    missing from ``search_attributes`` (they are never removed, only renamed, and a rename is the
    only change in flight) and the new name of its type that took its place."""
    current, confirmed = namespace.search_attributes, namespace.provisioned_search_attributes
    gone = [name for name in confirmed if name not in current]
    new = [name for name in current if name not in confirmed]
    if len(gone) != 1:
        return None
    old_name = gone[0]
    label = confirmed[old_name]
    candidates = [name for name in new if current[name] == label]
    return (old_name, candidates[0], label) if len(candidates) == 1 else None


def provision_namespace(namespace_pk: int) -> Outcome:
    """One attempt at finishing a namespace's pending change on the engine."""
    namespace = Namespace.objects.select_related("account").filter(pk=namespace_pk).first()
    if namespace is None or namespace.state not in PENDING_STATES:
        return Outcome(Status.NOTHING)
    state, version = NamespaceState(namespace.state), namespace.resource_version
    rename = pending_rename(namespace) if state == NamespaceState.UPDATING else None
    try:
        with engine_admin_client() as client:
            if state == NamespaceState.DELETING:
                client.delete_namespace(namespace.namespace_id)
            elif rename is not None:  # the only change (renames start from ACTIVE); a retry answers renamed=false
                old_name, new_name, label = rename
                client.rename_search_attribute(namespace.namespace_id, old_name, new_name, sa_type=label)
            else:
                client.put_namespace(namespace_document(namespace))
    except EngineAdminError as error:
        reason = _describe(error)
        if error.code in (RENAME_REFUSALS if rename is not None else REFUSALS):
            return _record_refusal(namespace, state, version, reason, undo_rename=rename is not None)
        Namespace.objects.filter(pk=namespace.pk, state=state, resource_version=version).update(last_error=reason)
        log.warning("provisioning %s (%s) will be retried: %s", namespace.namespace_id, state, reason)
        return Outcome(Status.RETRY, reason)
    return _record_success(namespace, state, version)


def _lock_unchanged(namespace: Namespace, state: NamespaceState, version: int) -> Namespace | None:
    return (
        Namespace.objects.select_for_update()
        .select_related("account")
        .filter(pk=namespace.pk, state=state, resource_version=version)
        .first()
    )


def _record_success(namespace: Namespace, state: NamespaceState, version: int) -> Outcome:
    with transaction.atomic():
        current = _lock_unchanged(namespace, state, version)
        if current is None:
            if state != NamespaceState.DELETING and not Account.objects.filter(pk=namespace.account_id).exists():
                # The account was deleted while this was sent: its cleanup may have dropped the
                # namespace before it arrived, so the engine must be told to drop it (again).
                record_cleanup(namespace.account.account_id, [namespace.namespace_id])
            return Outcome(Status.NOTHING, "the namespace changed while it was provisioned")
        operation_pk = current.async_operation_id
        if state == NamespaceState.DELETING:
            # The row goes (see namespaces.models); so do the grants naming it, and the engine hears of it.
            NamespaceGrant.objects.filter(account=current.account, namespace=current.name).delete()
            current.delete()
            access_changed(current.account)
        else:
            current.state = NamespaceState.ACTIVE
            current.last_error = ""
            current.provisioned_search_attributes = dict(current.search_attributes)
            current.save(update_fields=["state", "last_error", "provisioned_search_attributes", "updated_at"])
        if operation_pk is not None:
            finish_operation(operation_pk)
    return Outcome(Status.DONE)


def _record_refusal(
    namespace: Namespace, state: NamespaceState, version: int, reason: str, *, undo_rename: bool = False
) -> Outcome:
    with transaction.atomic():
        current = _lock_unchanged(namespace, state, version)
        if current is None:
            return Outcome(Status.NOTHING, "the namespace changed while it was provisioned")
        current.state = FAILED_STATE[state]
        current.last_error = reason
        if undo_rename:
            # Nothing changed on the engine: the namespace is as it was (ACTIVE, with the names the
            # engine has, so a later update does not carry the rename); the operation fails.
            current.search_attributes = dict(current.provisioned_search_attributes)
            current.state = NamespaceState.ACTIVE
        current.save(update_fields=["state", "last_error", "search_attributes", "updated_at"])
        if current.async_operation_id is not None:
            finish_operation(current.async_operation_id, failure_reason=reason)
    log.warning("the engine refused %s of %s: %s", state, namespace.namespace_id, reason)
    return Outcome(Status.FAILED, reason)


def _access_version(account_id: str) -> int | None:
    """The account's ``access_version`` (``None`` once the account is deleted)."""
    return Account.objects.filter(account_id=account_id).values_list("access_version", flat=True).first()


def _record_synced(account_id: str, version: int | None) -> None:
    """The engine has the account's access as of ``version``: compare-and-set, so a slow sync
    finishing after a newer one never moves ``access_synced_version`` back."""
    if version is not None:
        Account.objects.filter(account_id=account_id, access_synced_version__lt=version).update(
            access_synced_version=version
        )


def sync_access(account_id: str) -> Outcome:
    """Send the account's access document; again if the database changed meanwhile, so that a
    document built before a revocation can never be the last one the engine receives. Once the
    engine has it, the ``access_version`` read before building it is recorded as synchronised."""
    version = _access_version(account_id)  # read first: the document holds at least this version
    document = access_document(account_id)
    try:
        with engine_admin_client() as client:
            for _ in range(MAX_SYNC_ROUNDS):
                client.sync_account_access(document)
                current_version = _access_version(account_id)
                current = access_document(account_id)
                if current == document:
                    _record_synced(account_id, version)
                    return Outcome(Status.DONE)
                version, document = current_version, current
    except EngineAdminError as error:
        reason = _describe(error)
        if error.code == grpc.StatusCode.INVALID_ARGUMENT:
            log.error("the engine refused the access document of account %s: %s", account_id, reason)
            return Outcome(Status.FAILED, reason)
        log.warning("access of account %s not synchronised, will retry: %s", account_id, reason)
        return Outcome(Status.RETRY, reason)
    return Outcome(Status.RETRY, "the account kept changing while its access was sent")


def namespace_ids_of(account: Account) -> list[str]:
    """The ids of all the account's namespaces, in whatever state (one being created may already
    be on the engine; one being deleted may still be)."""
    return [
        ns.namespace_id for ns in Namespace.objects.filter(account=account).select_related("account").order_by("name")
    ]


def record_cleanup(account_id: str, namespace_ids: list[str]) -> EngineCleanup:
    """Inside the transaction that deletes the account: the outbox row, and its task queued once
    that commits (if the queueing is lost, the sweep re-queues the row)."""
    from namespaces.tasks import queue_cleanup

    cleanup = EngineCleanup.objects.create(account_id=account_id, namespace_ids=list(namespace_ids))
    pk = cleanup.pk
    transaction.on_commit(lambda: queue_cleanup(pk), robust=True)
    return cleanup


def clean_up_deleted_account(cleanup_pk: int) -> Outcome:
    """One attempt at dropping what a deleted account left on the engine: each namespace (a
    missing one is success: ``{"deleted": false}``), then its access (the now empty document, so
    every key and principal of the account goes), then the outbox row."""
    cleanup = EngineCleanup.objects.filter(pk=cleanup_pk).first()
    if cleanup is None:
        return Outcome(Status.NOTHING)
    try:
        with engine_admin_client() as client:
            for namespace_id in cleanup.namespace_ids:
                client.delete_namespace(namespace_id)
            client.sync_account_access(access_document(cleanup.account_id))
    except EngineAdminError as error:
        reason = _describe(error)
        EngineCleanup.objects.filter(pk=cleanup_pk).update(last_error=reason[:1000])
        if error.code in REFUSALS:
            log.error("the engine refused the cleanup of deleted account %s: %s", cleanup.account_id, reason)
            return Outcome(Status.FAILED, reason)
        log.warning("cleanup of deleted account %s will be retried: %s", cleanup.account_id, reason)
        return Outcome(Status.RETRY, reason)
    EngineCleanup.objects.filter(pk=cleanup_pk).delete()
    return Outcome(Status.DONE)
