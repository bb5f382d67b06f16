"""Namespaces through the REST API: the round trip, walls and bad input (400/409, nothing queued)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from accounts.models import AsyncOperation, NamespaceGrant, NamespacePermission, Role
from accounts.principal import Principal
from namespaces.models import Namespace
from tests.api.conftest import Api, error_of
from tests.support.certs import bundle, make_ca, make_leaf


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """``with queued() as pks:`` runs a request's on-commit callbacks, as a commit would, and
    collects the namespaces it queued for provisioning."""
    import namespaces.tasks

    pks: list[int] = []
    monkeypatch.setattr(namespaces.tasks, "queue_provisioning", pks.append)
    monkeypatch.setattr(namespaces.tasks, "queue_access_sync", lambda account_id: None)

    @contextmanager
    def capture() -> Iterator[list[int]]:
        pks.clear()
        with django_capture_on_commit_callbacks(execute=True):
            yield pks

    return capture


def test_create_read_update_delete(
    alice: Principal, api: Callable[[Principal], Api], queued: Callable[[], Any]
) -> None:
    owner = api(alice)
    ca = make_ca()
    body = {
        "name": "orders",
        "retention_days": 14,
        "accepted_client_ca": base64.b64encode(ca.pem.encode()).decode(),
        "api_key_auth": True,
        "certificate_filters": [{"common_name": "worker.example.com"}],
        "search_attributes": [{"name": "CustomerId", "type": "Keyword"}],
        "codec_server": {"endpoint": "https://codec.example.com"},
        "enable_delete_protection": True,
        "tags": {"team": "payments"},
        "async_operation_id": "create-orders",
    }
    with queued() as pks:
        created = owner.post("namespaces", body)
    assert created.status_code == 201, created.json()
    namespace = created.json()["namespace"]
    namespace_id = f"orders.{alice.account.account_id}"
    assert pks == [Namespace.objects.get(name="orders").pk]
    assert (namespace["id"], namespace["state"], namespace["retention_days"]) == (namespace_id, "activating", 14)
    assert namespace["accepted_client_ca"].strip() == ca.pem.strip()
    assert namespace["search_attributes"] == {"CustomerId": "Keyword"}
    assert namespace["certificate_filters"][0]["common_name"] == "worker.example.com"
    assert created.json()["async_operation"]["state"] == "pending"
    assert namespace["async_operation_id"] == "create-orders"
    assert owner.get("operations/create-orders").json()["async_operation"]["state"] == "pending"

    listed = owner.get("namespaces").json()
    assert [n["id"] for n in listed["namespaces"]] == [namespace_id]
    assert owner.get("namespaces", name="other").json()["namespaces"] == []

    # while the create is pending, changes wait; once provisioned, deletion protection holds
    with queued() as pks:
        busy = owner.post(f"namespaces/{namespace_id}", {"retention_days": 30, "resource_version": "1"})
    assert (busy.status_code, error_of(busy)[0], pks) == (409, "failed_precondition", [])
    Namespace.objects.filter(name="orders").update(state="active")
    with queued() as pks:
        protected = owner.delete(f"namespaces/{namespace_id}", resource_version="1")
    assert (protected.status_code, pks) == (409, [])
    assert "deletion protection" in error_of(protected)[1]

    with queued() as pks:
        updated = owner.post(
            f"namespaces/{namespace_id}",
            {"retention_days": 30, "enable_delete_protection": False, "resource_version": "1"},
        )
    assert updated.status_code == 200, updated.json()
    after = updated.json()["namespace"]
    assert (after["state"], after["retention_days"], after["tags"], after["resource_version"]) == (
        "updating",
        30,
        {"team": "payments"},
        "2",
    )
    assert after["search_attributes"] == {"CustomerId": "Keyword"}
    assert len(pks) == 1

    Namespace.objects.filter(name="orders").update(state="active")
    with queued() as pks:
        deleted = owner.delete(f"namespaces/{namespace_id}", resource_version="2")
    assert deleted.status_code == 200, deleted.json()
    assert deleted.json()["async_operation"]["state"] == "pending"
    assert Namespace.objects.get(name="orders").state == "deleting"
    assert len(pks) == 1


def _ca_field(pem: str) -> dict[str, Any]:
    return {"accepted_client_ca": pem}


BAD_BODIES: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "bad name": (lambda: {"name": "Bad_Name"}, "not valid"),
    "name not a string": (lambda: {"name": 7}, "name"),
    "retention 0": (lambda: {"retention_days": 0}, "retention"),
    "retention 91": (lambda: {"retention_days": 91}, "retention"),
    "retention as text": (lambda: {"retention_days": "30"}, "retention_days"),
    "leaf certificate as CA": (lambda: _ca_field(make_leaf(make_ca()).pem), "not a CA certificate"),
    "17 certificates": (lambda: _ca_field(bundle(*(make_ca(f"CA {n}") for n in range(17)))), "at most 16"),
    "CA neither PEM nor base64": (lambda: _ca_field("not a certificate!"), "accepted_client_ca"),
    "duplicate search attribute": (
        lambda: {
            "search_attributes": [{"name": "CustomerId", "type": "Keyword"}, {"name": "CustomerId", "type": "Int"}]
        },
        "listed twice",
    ),
    "unknown search attribute type": (lambda: {"search_attributes": [{"name": "X", "type": "Money"}]}, "unknown type"),
    "filters without CA": (lambda: {"certificate_filters": [{"common_name": "x"}]}, "CA bundle"),
    "bad tag": (lambda: {"tags": {"Team": "x"}}, "tag key"),
    "plain http codec": (lambda: {"codec_server": {"endpoint": "http://codec.example.com"}}, "https://"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_input_is_400_and_nothing_is_provisioned(
    case: str, alice: Principal, api: Callable[[Principal], Api], queued: Callable[[], Any]
) -> None:
    make, fragment = BAD_BODIES[case]
    body = {"name": "orders", "retention_days": 7, **make()}
    with queued() as pks:
        response = api(alice).post("namespaces", body)
    assert response.status_code == 400, response.json()
    assert fragment in str(response.json())
    assert pks == []
    assert not Namespace.objects.exists()
    assert not AsyncOperation.objects.filter(operation_type="CreateNamespace").exists()


def test_walls(
    alice: Principal,
    bob: Principal,
    charlie: Principal,
    add_member: Callable[..., Principal],
    api: Callable[[Principal], Api],
    queued: Callable[[], Any],
) -> None:
    with queued():
        assert api(alice).post("namespaces", {"name": "orders", "retention_days": 7}).status_code == 201
    Namespace.objects.update(state="active")
    namespace_id = f"orders.{alice.account.account_id}"
    theirs = api(charlie)
    assert theirs.get("namespaces").json()["namespaces"] == []
    for response in (
        theirs.get(f"namespaces/{namespace_id}"),
        theirs.post(f"namespaces/{namespace_id}", {"retention_days": 9, "resource_version": "1"}),
        theirs.delete(f"namespaces/{namespace_id}", resource_version="1"),
    ):
        assert (response.status_code, error_of(response)[0]) == (404, "not_found")
    carol = api(add_member("carol@example.com", Role.READ_ONLY))
    denied = carol.post("namespaces", {"name": "mine", "retention_days": 7})
    assert (denied.status_code, error_of(denied)[0]) == (403, "permission_denied")
    bobs = api(bob)
    assert bobs.get(f"namespaces/{namespace_id}").status_code == 404
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="orders", permission=NamespacePermission.WRITE
    )
    assert bobs.get(f"namespaces/{namespace_id}").json()["namespace"]["name"] == "orders"
    assert bobs.post(f"namespaces/{namespace_id}", {"retention_days": 9, "resource_version": "1"}).status_code == 403
    assert bobs.delete(f"namespaces/{namespace_id}", resource_version="1").status_code == 403
    assert Namespace.objects.get(account=alice.account).retention_days == 7
    assert api(alice).get("namespaces", page_token="nonsense").status_code == 400
