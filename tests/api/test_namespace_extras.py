"""Regions, renaming a custom search attribute and a namespace's user / service-account
assignments through the REST API: shapes, bad input (nothing changes), paging and the walls.

Provisioning is recorded, not run: ``queued`` collects the namespaces a request queued for the
engine, and ``provisioned`` does what the provisioning task does once the engine confirms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client

from accounts.models import AsyncOperation, NamespaceGrant, NamespacePermission, Role
from accounts.operations import finish_operation
from accounts.principal import Principal
from accounts.services.invitations import do_invite_user
from audit.models import AuditEntry
from namespaces.models import Namespace, NamespaceState
from tests.api.conftest import Api, error_of, snapshot

ATTRIBUTES = {"CustomerId": "Keyword", "Amount": "Int"}
LOCAL = {
    "id": "sundial-local",
    "cloud_provider": "",
    "cloud_provider_region": "local",
    "location": "The local Sundial engine",
}


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


def provisioned(name: str = "orders") -> Namespace:
    """What the provisioning task does once the engine confirms (the engine is not run here)."""
    found = Namespace.objects.get(name=name)
    assert found.async_operation is not None
    finish_operation(found.async_operation.pk)
    found.state = NamespaceState.ACTIVE
    found.provisioned_search_attributes = dict(found.search_attributes)
    found.save()
    return found


def create(owner: Api, queued: Callable[[], Any], name: str = "orders") -> str:
    """A namespace with ``ATTRIBUTES``, confirmed by the engine; its id."""
    body = {
        "name": name,
        "retention_days": 7,
        "search_attributes": [{"name": n, "type": t} for n, t in ATTRIBUTES.items()],
    }
    with queued():
        created = owner.post("namespaces", body)
    assert created.status_code == 201, created.json()
    return str(created.json()["namespace"]["id"])


def rename_body(old: str = "CustomerId", new: str = "Customer", version: str = "1", **fields: Any) -> dict[str, Any]:
    return {
        "existing_custom_search_attribute_name": old,
        "new_custom_search_attribute_name": new,
        "resource_version": version,
        **fields,
    }


def namespace_state(name: str = "orders") -> tuple[Any, ...]:
    found = Namespace.objects.get(name=name)
    return (
        found.search_attributes,
        found.provisioned_search_attributes,
        found.state,
        found.resource_version,
        found.async_operation_id,
    )


# ---- regions ----------------------------------------------------------------------------------


def test_regions_list_and_get(alice: Principal, api: Callable[[Principal], Api], queued: Callable[[], Any]) -> None:
    owner = api(alice)
    listed = owner.get("regions")
    assert listed.status_code == 200, listed.json()
    assert listed.json() == {"regions": [LOCAL]}
    got = owner.get("regions/sundial-local")
    assert (got.status_code, got.json()) == (200, {"region": LOCAL})
    # a namespace lives in that region
    namespace_id = create(owner, queued)
    assert owner.get(f"namespaces/{namespace_id}").json()["namespace"]["region"] == LOCAL["id"]


def test_an_unknown_region_is_404_and_regions_need_a_key(alice: Principal, api: Callable[[Principal], Api]) -> None:
    missing = api(alice).get("regions/aws-us-east-1")
    assert missing.status_code == 404
    code, message = error_of(missing)
    assert code == "not_found"
    assert "'aws-us-east-1'" in message
    assert "sundial-local" in message
    for path in ("regions", "regions/sundial-local"):
        anonymous = Api(None).get(path)
        assert (anonymous.status_code, error_of(anonymous)[0]) == (401, "unauthenticated")


# ---- renaming a custom search attribute ---------------------------------------------------------


def test_rename_is_an_audited_async_operation(
    alice: Principal, api: Callable[[Principal], Api], queued: Callable[[], Any]
) -> None:
    owner = api(alice)
    namespace_id = create(owner, queued)
    found = provisioned()

    with queued() as pks:
        answer = owner.post(
            f"namespaces/{namespace_id}/rename-search-attribute", rename_body(async_operation_id="rename-1")
        )

    assert answer.status_code == 200, answer.json()
    body = answer.json()
    operation = body["async_operation"]
    assert (operation["id"], operation["state"], operation["operation_type"]) == (
        "rename-1",
        "pending",
        "RenameCustomSearchAttribute",
    )
    assert operation["operation_input"]["namespace"] == namespace_id
    assert operation["operation_input"]["existing_custom_search_attribute_name"] == "CustomerId"
    assert operation["operation_input"]["new_custom_search_attribute_name"] == "Customer"
    shown = body["namespace"]
    assert shown["search_attributes"] == {"Customer": "Keyword", "Amount": "Int"}
    assert (shown["id"], shown["state"], shown["resource_version"], shown["async_operation_id"]) == (
        namespace_id,
        "updating",
        "2",
        "rename-1",
    )
    assert pks == [found.pk]
    row = Namespace.objects.get(pk=found.pk)
    assert row.search_attributes == {"Customer": "Keyword", "Amount": "Int"}
    assert row.provisioned_search_attributes == ATTRIBUTES  # until the engine says so
    assert (row.state, row.resource_version) == (NamespaceState.UPDATING, 2)
    assert owner.get("operations/rename-1").json()["async_operation"]["state"] == "pending"
    assert owner.get(f"namespaces/{namespace_id}").json()["namespace"]["search_attributes"] == {
        "Customer": "Keyword",
        "Amount": "Int",
    }
    entry = AuditEntry.objects.filter(operation="RenameCustomSearchAttributeAPI").get()
    assert (entry.status, entry.target_id) == ("OK", namespace_id)
    assert (entry.details["from"], entry.details["to"]) == ("CustomerId", "Customer")
    assert entry.async_operation_id == "rename-1"

    # the same async_operation_id again is a replay, not a second rename
    with queued() as pks:
        again = owner.post(
            f"namespaces/{namespace_id}/rename-search-attribute", rename_body(async_operation_id="rename-1")
        )
    assert again.status_code == 200, again.json()
    assert again.json()["async_operation"]["id"] == "rename-1"
    assert again.json()["namespace"]["resource_version"] == "2"
    assert pks == []
    assert AuditEntry.objects.filter(operation="RenameCustomSearchAttributeAPI").count() == 1

    # one change at a time: while the engine has not confirmed, another rename waits
    with queued() as pks:
        busy = owner.post(
            f"namespaces/{namespace_id}/rename-search-attribute", rename_body("Amount", "Total", version="2")
        )
    assert busy.status_code == 409
    code, message = error_of(busy)
    assert code == "failed_precondition"
    assert "updating" in message
    assert pks == []
    assert Namespace.objects.get(pk=found.pk).search_attributes == {"Customer": "Keyword", "Amount": "Int"}


NAME_RULE = "may hold only letters, digits, spaces and . , : _ - /"

# body → (status, error code, fragment of the message)
BAD_RENAMES: dict[str, tuple[dict[str, Any], int, str, str]] = {
    "existing name missing": (
        {"new_custom_search_attribute_name": "Customer", "resource_version": "1"},
        400,
        "invalid_argument",
        "existing_custom_search_attribute_name: This field is required.",
    ),
    "new name missing": (
        {"existing_custom_search_attribute_name": "CustomerId", "resource_version": "1"},
        400,
        "invalid_argument",
        "new_custom_search_attribute_name: This field is required.",
    ),
    "new name blank": (rename_body(new=" "), 400, "invalid_argument", "new_custom_search_attribute_name"),
    "existing name not a string": (rename_body(old=7), 400, "invalid_argument", "Must be a string"),  # type: ignore[arg-type]
    "unknown attribute": (rename_body(old="Nope"), 404, "not_found", "no custom search attribute 'Nope'"),
    "new name taken": (rename_body(new="Amount"), 409, "already_exists", "'Amount'"),
    "same name": (rename_body(new="CustomerId"), 400, "invalid_argument", "already has that name"),
    "bad characters": (rename_body(new="bad$name"), 400, "invalid_argument", NAME_RULE),
    "too long": (rename_body(new="x" * 65), 400, "invalid_argument", "longer"),
    "reserved system name": (rename_body(new="WorkflowId"), 400, "invalid_argument", "reserved"),
    "reserved prefix": (rename_body(new="TemporalX"), 400, "invalid_argument", "reserved"),
    "stale resource_version": (rename_body(version="7"), 409, "failed_precondition", "'7'"),
    "no resource_version": (rename_body(version=""), 400, "invalid_argument", "resource_version is required"),
    "resource_version not a string": (rename_body(version=1), 400, "invalid_argument", "Must be a string"),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", list(BAD_RENAMES))
def test_bad_renames_are_refused_and_change_nothing(
    case: str, alice: Principal, api: Callable[[Principal], Api], queued: Callable[[], Any]
) -> None:
    body, status, code, fragment = BAD_RENAMES[case]
    owner = api(alice)
    namespace_id = create(owner, queued)
    provisioned()
    before = namespace_state()
    with queued() as pks:
        response = owner.post(f"namespaces/{namespace_id}/rename-search-attribute", body)
    assert response.status_code == status, response.json()
    found_code, message = error_of(response)
    assert found_code == code
    assert fragment in message
    assert pks == []
    assert namespace_state() == before
    assert not AsyncOperation.objects.filter(operation_type="RenameCustomSearchAttribute").exists()
    assert owner.get(f"namespaces/{namespace_id}").json()["namespace"]["search_attributes"] == ATTRIBUTES


def test_a_refused_rename_is_audited_as_an_error(
    alice: Principal, api: Callable[[Principal], Api], queued: Callable[[], Any]
) -> None:
    owner = api(alice)
    namespace_id = create(owner, queued)
    provisioned()
    taken = owner.post(f"namespaces/{namespace_id}/rename-search-attribute", rename_body(new="Amount"))
    assert taken.status_code == 409
    logs = owner.get("audit-logs", operation="RenameCustomSearchAttributeAPI").json()["logs"]
    assert [(e["status"], e["target"]["id"], e["details"]) for e in logs] == [
        ("ERROR", namespace_id, {"from": "CustomerId", "to": "Amount"})
    ]
    assert "'Amount'" in logs[0]["error"]


def test_a_rename_waits_until_the_engine_has_created_the_namespace(
    alice: Principal, api: Callable[[Principal], Api], queued: Callable[[], Any]
) -> None:
    owner = api(alice)
    namespace_id = create(owner, queued)  # still activating
    before = namespace_state()
    with queued() as pks:
        response = owner.post(f"namespaces/{namespace_id}/rename-search-attribute", rename_body())
    assert response.status_code == 409
    code, message = error_of(response)
    assert code == "failed_precondition"
    assert "activating" in message
    assert (pks, namespace_state()) == ([], before)


def test_only_namespace_admins_rename(
    alice: Principal,
    bob: Principal,
    add_member: Callable[..., Principal],
    api: Callable[[Principal], Api],
    queued: Callable[[], Any],
) -> None:
    namespace_id = create(api(alice), queued)
    provisioned()
    before = namespace_state()
    path = f"namespaces/{namespace_id}/rename-search-attribute"
    read_only = add_member("carol@example.com", Role.READ_ONLY)
    carol = api(read_only)
    # a Read-only member does not see the namespace …
    with queued() as pks:
        hidden = carol.post(path, rename_body())
    assert (hidden.status_code, error_of(hidden)[0], pks) == (404, "not_found", [])
    # … with Read on it she sees it but may not change it
    NamespaceGrant.objects.create(
        account=alice.account, membership=read_only.membership, namespace="orders", permission=NamespacePermission.READ
    )
    with queued() as pks:
        denied = carol.post(path, rename_body())
    assert (denied.status_code, pks) == (403, [])
    code, message = error_of(denied)
    assert code == "permission_denied"
    assert "Namespace Admin" in message
    # nor may a Developer with Write
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="orders", permission=NamespacePermission.WRITE
    )
    bobs = api(bob)
    with queued() as pks:
        refused = bobs.post(path, rename_body())
    assert (refused.status_code, error_of(refused)[0], pks) == (403, "permission_denied", [])
    assert namespace_state() == before
    assert not AsyncOperation.objects.filter(operation_type="RenameCustomSearchAttribute").exists()
    # a Namespace Admin may
    NamespaceGrant.objects.filter(membership=bob.membership).update(permission=NamespacePermission.ADMIN)
    with queued() as pks:
        allowed = bobs.post(path, rename_body())
    assert allowed.status_code == 200, allowed.json()
    assert allowed.json()["namespace"]["search_attributes"] == {"Customer": "Keyword", "Amount": "Int"}
    assert len(pks) == 1


# ---- assignments --------------------------------------------------------------------------------


def test_assignments_show_grants_and_inherited_admins(
    alice: Principal,
    bob: Principal,
    add_member: Callable[..., Principal],
    add_service_account: Callable[..., Principal],
    api: Callable[[Principal], Api],
    queued: Callable[[], Any],
) -> None:
    owner = api(alice)
    namespace_id = create(owner, queued)
    dave = add_member("dave@example.com", Role.GLOBAL_ADMIN)
    add_member("erin@example.com", Role.DEVELOPER)  # no access: not listed
    do_invite_user(alice, email="fay@example.com", role=Role.GLOBAL_ADMIN)  # not a member yet: not listed
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="orders", permission=NamespacePermission.WRITE
    )
    NamespaceGrant.objects.create(  # another namespace's grant does not count
        account=alice.account, membership=bob.membership, namespace="other", permission=NamespacePermission.ADMIN
    )
    ci = add_service_account("ci", Role.READ_ONLY)
    ops = add_service_account("ops", Role.GLOBAL_ADMIN)
    add_service_account("idle", Role.READ_ONLY)
    assert ci.service_account is not None
    NamespaceGrant.objects.create(
        account=alice.account,
        service_account=ci.service_account,
        namespace="orders",
        permission=NamespacePermission.READ,
    )

    users = owner.get(f"namespaces/{namespace_id}/user-assignments")
    assert users.status_code == 200, users.json()
    assert users.json()["next_page_token"] == ""
    rows = users.json()["users"]
    assert {r["email"]: (r["permission"], r["inherited_access"]) for r in rows} == {
        "alice@example.com": ("admin", True),
        "bob@example.com": ("write", False),
        "dave@example.com": ("admin", True),
    }
    assert [r["id"] for r in rows] == sorted([alice.public_id, bob.public_id, dave.public_id])
    assert bob.membership is not None
    bob.membership.refresh_from_db()
    assert next(r for r in rows if r["id"] == bob.public_id) == {
        "id": bob.public_id,
        "email": "bob@example.com",
        "permission": "write",
        "inherited_access": False,
        "resource_version": str(bob.membership.resource_version),
    }
    # the namespace may be named by its name too
    assert owner.get("namespaces/orders/user-assignments").json()["users"] == rows

    sas = owner.get(f"namespaces/{namespace_id}/service-account-assignments")
    assert sas.status_code == 200, sas.json()
    assert sas.json()["next_page_token"] == ""
    sa_rows = sas.json()["service_accounts"]
    assert {r["name"]: (r["permission"], r["inherited_access"]) for r in sa_rows} == {
        "ci": ("read", False),
        "ops": ("admin", True),
    }
    assert [r["id"] for r in sa_rows] == sorted([ci.public_id, ops.public_id])
    assert set(sa_rows[0]) == {"id", "name", "permission", "inherited_access", "resource_version"}

    # a Global Admin service account's own key sees the same
    assert api(ops).get(f"namespaces/{namespace_id}/service-account-assignments").json()["service_accounts"] == sa_rows


def _all_pages(caller: Api, path: str, field: str) -> tuple[list[dict[str, Any]], int]:
    """Every row of a list read one at a time, and how many pages that took."""
    rows: list[dict[str, Any]] = []
    token, pages = "", 0
    while True:
        response = caller.get(path, page_size=1, page_token=token)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert len(body[field]) == 1
        rows += body[field]
        pages += 1
        token = body["next_page_token"]
        if not token:
            return rows, pages
        assert pages < 20, "paging does not end"


def test_assignments_page_one_at_a_time(
    alice: Principal,
    bob: Principal,
    add_member: Callable[..., Principal],
    add_service_account: Callable[..., Principal],
    api: Callable[[Principal], Api],
    queued: Callable[[], Any],
) -> None:
    owner = api(alice)
    namespace_id = create(owner, queued)
    add_member("dave@example.com", Role.GLOBAL_ADMIN)
    NamespaceGrant.objects.create(
        account=alice.account, membership=bob.membership, namespace="orders", permission=NamespacePermission.READ
    )
    for name, role in (("a", Role.GLOBAL_ADMIN), ("b", Role.READ_ONLY), ("c", Role.GLOBAL_ADMIN)):
        sa = add_service_account(name, role)
        if role == Role.READ_ONLY:
            assert sa.service_account is not None
            NamespaceGrant.objects.create(
                account=alice.account,
                service_account=sa.service_account,
                namespace="orders",
                permission=NamespacePermission.WRITE,
            )

    for path, field in (
        (f"namespaces/{namespace_id}/user-assignments", "users"),
        (f"namespaces/{namespace_id}/service-account-assignments", "service_accounts"),
    ):
        whole = owner.get(path).json()[field]
        assert len(whole) == 3
        paged, pages = _all_pages(owner, path, field)
        assert (paged, pages) == (whole, 3)
        two = owner.get(path, page_size=2).json()
        assert two[field] == whole[:2]
        assert two["next_page_token"]
        bad = owner.get(path, page_token="nonsense")
        assert (bad.status_code, error_of(bad)[0]) == (400, "invalid_argument")
        assert "page_token" in error_of(bad)[1]
        too_big = owner.get(path, page_size=1001)
        assert (too_big.status_code, error_of(too_big)[0]) == (400, "invalid_argument")


def test_who_may_read_assignments(
    alice: Principal,
    bob: Principal,
    add_member: Callable[..., Principal],
    api: Callable[[Principal], Api],
    queued: Callable[[], Any],
) -> None:
    namespace_id = create(api(alice), queued)
    carol = add_member("carol@example.com", Role.READ_ONLY)
    paths = (
        f"namespaces/{namespace_id}/user-assignments",
        f"namespaces/{namespace_id}/service-account-assignments",
    )
    # without a permission on the namespace it does not exist for them
    for caller in (api(bob), api(carol)):
        for path in paths:
            hidden = caller.get(path)
            assert (hidden.status_code, error_of(hidden)[0]) == (404, "not_found")
            assert "not found" in error_of(hidden)[1]
    # anyone who may see it may read who else may (as Cloud Ops GetUserNamespaceAssignments)
    NamespaceGrant.objects.create(
        account=alice.account, membership=carol.membership, namespace="orders", permission=NamespacePermission.READ
    )
    users = api(carol).get(paths[0])
    assert users.status_code == 200, users.json()
    assert {r["email"]: r["permission"] for r in users.json()["users"]} == {
        "alice@example.com": "admin",
        "carol@example.com": "read",
    }
    assert api(carol).get(paths[1]).json() == {"service_accounts": [], "next_page_token": ""}
    missing = api(alice).get("namespaces/missing/user-assignments")
    assert (missing.status_code, error_of(missing)[0]) == (404, "not_found")


# ---- the tenant wall ----------------------------------------------------------------------------


def test_another_account_gets_404_from_every_new_endpoint(
    alice: Principal,
    charlie: Principal,
    add_service_account: Callable[..., Principal],
    api: Callable[[Principal], Api],
    queued: Callable[[], Any],
) -> None:
    namespace_id = create(api(alice), queued)
    provisioned()
    before, namespace_before = snapshot(alice.account), namespace_state()
    theirs = api(charlie)
    with queued() as pks:
        responses = [
            theirs.post(f"namespaces/{namespace_id}/rename-search-attribute", rename_body()),
            theirs.get(f"namespaces/{namespace_id}/user-assignments"),
            theirs.get(f"namespaces/{namespace_id}/service-account-assignments"),
        ]
    for response in responses:
        assert response.status_code == 404, response.json()
        code, message = error_of(response)
        assert code == "not_found"
        assert "not found" in message
        assert "alice" not in message.lower()
    assert pks == []
    assert snapshot(alice.account) == before
    assert namespace_state() == namespace_before
    assert not AuditEntry.objects.filter(operation="RenameCustomSearchAttributeAPI").exists()
    # a service account of Charlie's account, Global Admin there, is walled off as well
    robot = add_service_account("robot", Role.GLOBAL_ADMIN, account=charlie.account)
    assert api(robot).get(f"namespaces/{namespace_id}/service-account-assignments").status_code == 404
    # Charlie's own "orders" is a different namespace, with only his people on it
    mine = create(theirs, queued)
    assert mine == f"orders.{charlie.account.account_id}"
    own = theirs.get("namespaces/orders/user-assignments").json()["users"]
    assert [(r["email"], r["permission"], r["inherited_access"]) for r in own] == [
        ("charlie@example.com", "admin", True)
    ]
    assert theirs.get("regions").json() == {"regions": [LOCAL]}  # regions are not the tenant's


# ---- the schema ---------------------------------------------------------------------------------


def test_the_schema_describes_the_new_endpoints(db: None) -> None:
    paths = Client().get("/api/schema/", headers={"Accept": "application/json"}).json()["paths"]
    operations = {(path, method): spec["operationId"] for path, item in paths.items() for method, spec in item.items()}
    assert operations[("/api/v1/regions", "get")] == "GetRegions"
    assert operations[("/api/v1/regions/{region}", "get")] == "GetRegion"
    assert (
        operations[("/api/v1/namespaces/{namespace}/rename-search-attribute", "post")] == "RenameCustomSearchAttribute"
    )
    assert operations[("/api/v1/namespaces/{namespace}/user-assignments", "get")] == "GetUserNamespaceAssignments"
    assert (
        operations[("/api/v1/namespaces/{namespace}/service-account-assignments", "get")]
        == "GetServiceAccountNamespaceAssignments"
    )
