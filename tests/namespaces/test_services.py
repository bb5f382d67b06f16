"""Creating, changing and deleting namespaces through the services every API and page uses.

The engine is not involved here: these tests check what the control plane records and queues
(``queued``). tests/namespaces/test_provisioning.py runs the queued tasks against a real engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from accounts.errors import AlreadyExists, FailedPrecondition, InvalidInput, NotFound, PermissionDenied, ServiceError
from accounts.models import AsyncOperation, NamespaceGrant, NamespacePermission, OperationState, Role
from accounts.operations import get_operation, run_operation
from accounts.principal import Principal
from audit.models import AuditEntry
from namespaces.models import Namespace, NamespaceState
from namespaces.selectors import namespace_get, namespace_list, namespace_spec
from namespaces.services import do_create_namespace, do_delete_namespace, do_update_namespace
from namespaces.validation import NamespaceSpec
from tests.namespaces.conftest import Queued
from tests.support.certs import bundle, make_ca, make_leaf


def _activate(namespace: Namespace) -> Namespace:
    """What a confirmed provisioning leaves behind (test_provisioning.py checks the real thing)."""
    namespace.refresh_from_db()
    Namespace.objects.filter(pk=namespace.pk).update(
        state=NamespaceState.ACTIVE, provisioned_search_attributes=namespace.search_attributes
    )
    namespace.refresh_from_db()
    return namespace


def test_owner_creates_a_namespace_that_waits_for_the_engine(alice: Principal, queued: Queued) -> None:
    namespace = queued.commit(lambda: do_create_namespace(alice, name="payments", spec=NamespaceSpec(retention_days=7)))
    account_id = alice.account.account_id
    assert namespace.namespace_id == f"payments.{account_id}"
    assert (namespace.state, namespace.retention_days, namespace.api_key_auth) == (NamespaceState.ACTIVATING, 7, True)
    operation = namespace.async_operation
    assert operation is not None
    assert (operation.state, operation.operation_type) == (OperationState.PENDING, "CreateNamespace")
    assert operation.result == {"namespace": f"payments.{account_id}"}
    entry = AuditEntry.objects.get(operation="CreateNamespaceAPI")
    assert (entry.target_id, entry.async_operation_id, entry.status) == (
        f"payments.{account_id}",
        operation.operation_id,
        "OK",
    )
    assert entry.details["retention_days"] == 7
    assert queued.provisioning == [namespace.pk]
    # Owners are Namespace Admin everywhere already: no grant, so nothing changed for the engine's access
    assert not NamespaceGrant.objects.exists()
    assert queued.access_syncs == []


def test_a_developer_becomes_namespace_admin_of_what_they_create(bob: Principal, queued: Queued) -> None:
    namespace = queued.commit(lambda: do_create_namespace(bob, name="orders"))
    grant = NamespaceGrant.objects.get(namespace="orders")
    assert (grant.membership, grant.permission) == (bob.membership, NamespacePermission.ADMIN)
    assert queued.access_syncs == [bob.account.account_id]
    _activate(namespace)
    updated = queued.commit(
        lambda: do_update_namespace(bob, namespace="orders", spec=replace(namespace_spec(namespace), retention_days=14))
    )
    assert (updated.state, updated.retention_days) == (NamespaceState.UPDATING, 14)


def test_a_developer_service_account_gets_the_grant_itself(
    add_service_account: Callable[..., Principal], queued: Queued
) -> None:
    robot = add_service_account("ci", Role.DEVELOPER)
    queued.commit(lambda: do_create_namespace(robot, name="ci-runs"))
    grant = NamespaceGrant.objects.get(namespace="ci-runs")
    assert (grant.service_account, grant.permission) == (robot.service_account, NamespacePermission.ADMIN)


def test_it_rejects_read_only_creating(add_member: Callable[..., Principal], queued: Queued) -> None:
    carol = add_member("carol@example.com", Role.READ_ONLY)
    with pytest.raises(PermissionDenied, match=r"your role \(Read-Only\) may not create namespace"):
        queued.commit(lambda: do_create_namespace(carol, name="sneaky"))
    assert not Namespace.objects.exists()
    assert queued.provisioning == []
    assert AuditEntry.objects.get(operation="CreateNamespaceAPI").status == "ERROR"


def test_a_developer_cannot_change_anothers_namespace(alice: Principal, bob: Principal, queued: Queued) -> None:
    payments = _activate(queued.commit(lambda: do_create_namespace(alice, name="payments")))
    spec = replace(namespace_spec(payments), retention_days=3)
    # without any permission on it, Bob does not even see it
    with pytest.raises(NotFound, match="namespace 'payments' not found"):
        do_update_namespace(bob, namespace="payments", spec=spec)
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="payments", permission=NamespacePermission.WRITE
    )
    assert namespace_get(principal=bob, namespace="payments") == payments
    with pytest.raises(PermissionDenied, match="you need Namespace Admin on 'payments' to change it"):
        do_update_namespace(bob, namespace="payments", spec=spec)
    with pytest.raises(PermissionDenied, match="you need Namespace Admin"):
        do_delete_namespace(bob, namespace="payments")
    payments.refresh_from_db()
    assert (payments.retention_days, payments.state) == (30, NamespaceState.ACTIVE)


def test_it_rejects_outsider(alice: Principal, charlie: Principal, queued: Queued) -> None:
    payments = _activate(queued.commit(lambda: do_create_namespace(alice, name="payments")))
    queued.clear()
    spec = namespace_spec(payments)
    for namespace in ("payments", payments.namespace_id):
        with pytest.raises(NotFound):
            namespace_get(principal=charlie, namespace=namespace)
        with pytest.raises(NotFound):
            do_update_namespace(charlie, namespace=namespace, spec=replace(spec, retention_days=1))
        with pytest.raises(NotFound):
            do_delete_namespace(charlie, namespace=namespace)
    assert list(namespace_list(principal=charlie)) == []
    payments.refresh_from_db()
    assert (payments.state, payments.retention_days) == (NamespaceState.ACTIVE, 30)
    assert queued.provisioning == []
    # another tenant's ids are not Alice's business, nor Charlie's: no entry in either log
    assert not AuditEntry.objects.filter(operation__in=["UpdateNamespaceAPI", "DeleteNamespaceAPI"]).exists()


def test_each_person_lists_the_namespaces_they_may_see(
    alice: Principal, bob: Principal, add_member: Callable[..., Principal], queued: Queued
) -> None:
    for name in ("payments", "orders", "ledger"):
        do_create_namespace(alice, name=name)
    carol = add_member("carol@example.com", Role.READ_ONLY)
    dave = add_member("dave@example.com", Role.GLOBAL_ADMIN)
    NamespaceGrant.objects.create(
        account=alice.account, membership=carol.membership, namespace="orders", permission=NamespacePermission.READ
    )
    assert [n.name for n in namespace_list(principal=alice)] == ["ledger", "orders", "payments"]
    assert [n.name for n in namespace_list(principal=dave)] == ["ledger", "orders", "payments"]
    assert [n.name for n in namespace_list(principal=carol)] == ["orders"]
    assert [n.name for n in namespace_list(principal=bob)] == []
    assert [n.name for n in namespace_list(principal=alice, name="orders")] == ["orders"]


# --- the acceptance's invalid inputs: a clear message, and nothing provisioned -----------------------------

ROOT = make_ca("Acceptance Root")

INVALID_CREATES: list[tuple[str, str, NamespaceSpec, type[ServiceError], str]] = [
    ("a bad name", "Bad_Name", NamespaceSpec(), InvalidInput, "namespace name 'Bad_Name' is not valid"),
    ("retention 0", "payments", NamespaceSpec(retention_days=0), InvalidInput, "retention must be 1–90 days, not 0"),
    ("retention 91", "payments", NamespaceSpec(retention_days=91), InvalidInput, "retention must be 1–90 days, not 91"),
    (
        "a leaf certificate as CA",
        "payments",
        NamespaceSpec(ca_bundle_pem=make_leaf(ROOT, "worker.example.com").pem),
        InvalidInput,
        r"certificate 1 \(CN=worker.example.com\) is not a CA certificate",
    ),
    (
        "17 certificates",
        "payments",
        NamespaceSpec(ca_bundle_pem=bundle(*(make_ca(f"Root {i}") for i in range(17)))),
        InvalidInput,
        "the CA bundle holds 17 certificates; at most 16 are accepted",
    ),
    (
        "a bundle over 32 KB",
        "payments",
        NamespaceSpec(ca_bundle_pem=ROOT.pem * 2 + "\n" * 33_000),
        InvalidInput,
        r"at most 32768 bytes \(32 KB\)",
    ),
    (
        "a duplicate search attribute",
        "payments",
        NamespaceSpec(search_attributes=[("CustomerId", "Keyword"), ("CustomerId", "Text")]),
        InvalidInput,
        "search attribute 'CustomerId' is listed twice",
    ),
]


@pytest.mark.parametrize(
    ("case", "name", "spec", "error", "message"), INVALID_CREATES, ids=[c[0] for c in INVALID_CREATES]
)
def test_invalid_input_provisions_nothing(
    alice: Principal, queued: Queued, case: str, name: str, spec: NamespaceSpec, error: type[ServiceError], message: str
) -> None:
    with pytest.raises(error, match=message):
        queued.commit(lambda: do_create_namespace(alice, name=name, spec=spec))
    assert not Namespace.objects.exists()
    assert not AsyncOperation.objects.exists()
    assert (queued.provisioning, queued.access_syncs) == ([], [])
    entry = AuditEntry.objects.get(operation="CreateNamespaceAPI")
    assert entry.status == "ERROR"
    assert entry.error  # the refusal is in the log, with its reason


def test_deleting_a_protected_namespace_is_refused(alice: Principal, queued: Queued) -> None:
    namespace = _activate(
        queued.commit(lambda: do_create_namespace(alice, name="payments", spec=NamespaceSpec(deletion_protection=True)))
    )
    queued.clear()
    with pytest.raises(FailedPrecondition, match="namespace 'payments' has deletion protection on; switch it off"):
        queued.commit(lambda: do_delete_namespace(alice, namespace="payments"))
    namespace.refresh_from_db()
    assert (namespace.state, namespace.resource_version) == (NamespaceState.ACTIVE, 1)
    assert queued.provisioning == []
    assert AsyncOperation.objects.filter(operation_type="DeleteNamespace").count() == 0
    # switched off, the namespace may go
    namespace = queued.commit(
        lambda: do_update_namespace(
            alice, namespace="payments", spec=replace(namespace_spec(namespace), deletion_protection=False)
        )
    )
    _activate(namespace)
    deleted = queued.commit(lambda: do_delete_namespace(alice, namespace=namespace.namespace_id))
    assert deleted.state == NamespaceState.DELETING
    assert queued.provisioning == [namespace.pk, namespace.pk]
    assert deleted.async_operation is not None
    assert deleted.async_operation.operation_type == "DeleteNamespace"


def test_names_are_unique_per_account_and_free_in_another(alice: Principal, charlie: Principal, queued: Queued) -> None:
    queued.commit(lambda: do_create_namespace(alice, name="payments"))
    with pytest.raises(AlreadyExists, match="a namespace named 'payments' already exists"):
        queued.commit(lambda: do_create_namespace(alice, name="payments"))
    theirs = queued.commit(lambda: do_create_namespace(charlie, name="payments"))
    assert theirs.namespace_id == f"payments.{charlie.account.account_id}"


def test_an_account_holds_a_limited_number_of_namespaces(
    alice: Principal, queued: Queued, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("namespaces.services.MAX_NAMESPACES_PER_ACCOUNT", 2)
    queued.commit(lambda: do_create_namespace(alice, name="one"))
    queued.commit(lambda: do_create_namespace(alice, name="two"))
    with pytest.raises(FailedPrecondition, match="an account may have at most 2 namespaces"):
        queued.commit(lambda: do_create_namespace(alice, name="three"))
    assert Namespace.objects.count() == 2


def test_the_default_limit_is_ten() -> None:
    from namespaces.services import MAX_NAMESPACES_PER_ACCOUNT

    assert MAX_NAMESPACES_PER_ACCOUNT == 10


# --- updates ----------------------------------------------------------------------------------------------


@pytest.fixture
def payments(alice: Principal, queued: Queued) -> Namespace:
    spec = NamespaceSpec(search_attributes={"CustomerId": "Keyword"})
    namespace = _activate(queued.commit(lambda: do_create_namespace(alice, name="payments", spec=spec)))
    queued.clear()
    return namespace


def test_an_update_records_what_changed(alice: Principal, payments: Namespace, queued: Queued) -> None:
    spec = replace(
        namespace_spec(payments),
        retention_days=60,
        search_attributes={"CustomerId": "Keyword", "Amount": "Double"},
        ca_bundle_pem=ROOT.pem,
        cert_filters=[{"common_name": "*.workers.example.com"}],
    )
    updated = queued.commit(lambda: do_update_namespace(alice, namespace="payments", spec=spec, resource_version="1"))
    assert (updated.state, updated.resource_version) == (NamespaceState.UPDATING, 2)
    assert updated.search_attributes == {"CustomerId": "Keyword", "Amount": "Double"}
    assert updated.mtls_enabled
    entry = AuditEntry.objects.get(operation="UpdateNamespaceAPI")
    assert entry.details["retention_days"] == {"from": 30, "to": 60}
    assert set(entry.details) == {"retention_days", "search_attributes", "ca_bundle_sha256", "cert_filters"}
    assert "BEGIN CERTIFICATE" not in str(entry.details)
    assert queued.provisioning == [payments.pk]
    assert updated.async_operation is not None
    assert updated.async_operation.operation_type == "UpdateNamespace"
    assert entry.async_operation_id == updated.async_operation.operation_id


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            {"search_attributes": {"CustomerId": "Int"}},
            InvalidInput,
            "'CustomerId' is a Keyword; its type cannot change",
        ),
        ({"search_attributes": {}}, InvalidInput, "'CustomerId' cannot be removed"),
        ({"retention_days": 91}, InvalidInput, "retention must be 1–90 days, not 91"),
        ({}, InvalidInput, "already has these settings; nothing to change"),
    ],
)
def test_bad_updates_change_nothing(
    alice: Principal, payments: Namespace, queued: Queued, change: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        queued.commit(
            lambda: do_update_namespace(alice, namespace="payments", spec=replace(namespace_spec(payments), **change))
        )
    payments.refresh_from_db()
    assert (payments.state, payments.resource_version, payments.retention_days) == (NamespaceState.ACTIVE, 1, 30)
    assert queued.provisioning == []


def test_a_stale_resource_version_is_refused(alice: Principal, payments: Namespace, queued: Queued) -> None:
    spec = replace(namespace_spec(payments), retention_days=5)
    with pytest.raises(FailedPrecondition, match="the namespace has changed since resource_version '7'"):
        queued.commit(lambda: do_update_namespace(alice, namespace="payments", spec=spec, resource_version="7"))
    with pytest.raises(FailedPrecondition, match="the namespace has changed"):
        queued.commit(lambda: do_delete_namespace(alice, namespace="payments", resource_version="2"))
    assert queued.provisioning == []


def test_one_change_at_a_time(alice: Principal, payments: Namespace, queued: Queued) -> None:
    queued.commit(
        lambda: do_update_namespace(
            alice, namespace="payments", spec=replace(namespace_spec(payments), retention_days=5)
        )
    )
    payments.refresh_from_db()
    with pytest.raises(
        FailedPrecondition, match=r"namespace 'payments' is updating \(operation [0-9a-f]+\); try again"
    ):
        do_update_namespace(alice, namespace="payments", spec=replace(namespace_spec(payments), retention_days=6))
    with pytest.raises(FailedPrecondition, match="namespace 'payments' is updating"):
        do_delete_namespace(alice, namespace="payments")


def test_tags_are_for_owners_and_global_admins(
    alice: Principal, bob: Principal, payments: Namespace, queued: Queued
) -> None:
    with pytest.raises(PermissionDenied, match="only Account Owners and Global Admins may set namespace tags"):
        queued.commit(lambda: do_create_namespace(bob, name="orders", spec=NamespaceSpec(tags={"team": "orders"})))
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="payments", permission=NamespacePermission.ADMIN
    )
    with pytest.raises(PermissionDenied, match="may change namespace tags"):
        do_update_namespace(bob, namespace="payments", spec=replace(namespace_spec(payments), tags={"team": "x"}))
    tagged = queued.commit(
        lambda: do_update_namespace(
            alice, namespace="payments", spec=replace(namespace_spec(payments), tags={"team": "pay"})
        )
    )
    assert tagged.tags == {"team": "pay"}


def test_a_failed_change_may_be_sent_again(alice: Principal, payments: Namespace, queued: Queued) -> None:
    Namespace.objects.filter(pk=payments.pk).update(state=NamespaceState.ACTIVATION_FAILED, last_error="refused")
    payments.refresh_from_db()
    again = queued.commit(lambda: do_update_namespace(alice, namespace="payments", spec=namespace_spec(payments)))
    assert (again.state, again.last_error) == (NamespaceState.ACTIVATING, "")
    assert queued.provisioning == [payments.pk]


# --- async operations through the APIs' run_operation ----------------------------------------------------


def test_an_api_request_gets_a_pending_operation_once(alice: Principal, queued: Queued) -> None:
    def create() -> dict[str, str]:
        return {"namespace": do_create_namespace(alice, name="payments").namespace_id}

    def request() -> tuple[dict[str, object], AsyncOperation, bool]:
        return run_operation(
            alice,
            operation_id="create-payments",
            operation_type="CreateNamespace",
            request={"name": "payments"},
            change=create,
        )

    result, operation, replayed = queued.commit(request)
    again, same, replayed_again = queued.commit(request)
    assert (replayed, replayed_again) == (False, True)
    assert result == again == {"namespace": f"payments.{alice.account.account_id}"}
    assert operation.pk == same.pk
    assert operation.state == OperationState.PENDING  # not FULFILLED: the engine has not confirmed yet
    assert Namespace.objects.get().async_operation == operation
    assert AuditEntry.objects.get(operation="CreateNamespaceAPI").async_operation_id == "create-payments"
    assert get_operation(alice, "create-payments").state == OperationState.PENDING
    assert queued.provisioning == [Namespace.objects.get().pk]


def test_a_refused_api_request_leaves_no_operation(alice: Principal, queued: Queued) -> None:
    with pytest.raises(InvalidInput):
        run_operation(
            alice,
            operation_id="bad",
            operation_type="CreateNamespace",
            request={},
            change=lambda: {"namespace": do_create_namespace(alice, name="x").namespace_id},
        )
    assert not AsyncOperation.objects.exists()
