"""Saved views of the workflows list: a person saves the list's parameters under a name, sees
their own views listed, and shares a view by its link with anyone who may read the namespace;
only the owner renames or deletes it — against a real engine."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest

from accounts.models import Role
from accounts.principal import Principal
from accounts.services.members import do_set_member_namespace_access
from audit.models import AuditEntry
from console.models import MAX_VIEWS_PER_OWNER, SavedView
from namespaces.models import Namespace
from namespaces.services import do_create_namespace
from tests.accounts.pages import browser_of, page_of, says
from tests.console.conftest import start_waiting
from tests.console.test_list import headings, listed
from tests.namespaces.conftest import Queued
from tests.namespaces.engine_support import EngineProcess

pytestmark = pytest.mark.slow

FAREWELLS = {"query": "WorkflowType = 'Farewell'", "cols": "status,workflow_id,task_queue"}


def list_url(alice: Principal, namespace: str = "shop") -> str:
    return page_of(alice, f"namespaces/{namespace}/workflows/")


def save_url(alice: Principal, namespace: str = "shop") -> str:
    return page_of(alice, f"namespaces/{namespace}/saved-views/")


@pytest.fixture
def runs(engine: EngineProcess, shop: Namespace) -> None:
    start_waiting(engine, shop, "Farewell", ["bye-1", "bye-2"])
    start_waiting(engine, shop, "Hello", ["hi-1"])


def grant(alice: Principal, member: Principal, queued: Queued, permission: str = "read") -> None:
    assert member.membership is not None
    member_id = member.membership.public_id
    queued.commit(
        lambda: do_set_member_namespace_access(alice, member_id=member_id, namespace="shop", permission=permission)
    )


def save(principal: Principal, alice: Principal, name: str, **parameters: str):
    return browser_of(principal).post(save_url(alice), {"name": name, **parameters})


def your_views(response) -> list[str]:
    found = re.search(r'<nav class="saved-views" aria-label="Your views">(.*?)</nav>', response.content.decode(), re.S)
    return [] if found is None else [html.unescape(n) for n in re.findall(r"<a [^>]*>([^<]*)</a>", found.group(1))]


def test_a_saved_view_keeps_the_lists_parameters(alice: Principal, runs: None) -> None:
    response = save(alice, alice, "Farewells", **FAREWELLS)
    assert response.status_code == 302
    view = SavedView.objects.get(name="Farewells")
    assert response["Location"] == f"{list_url(alice)}?view={view.public_id}"
    assert (view.query, view.cols, view.owner) == (FAREWELLS["query"], FAREWELLS["cols"], alice.user)

    client = browser_of(alice)
    opened = client.get(response["Location"])
    assert opened.status_code == 200
    assert sorted(listed(opened)) == ["bye-1", "bye-2"]
    assert headings(opened) == ["Status", "Workflow id", "Task queue"]
    assert says(opened, "Workflows: Farewells")
    assert your_views(opened) == ["Farewells"]
    assert 'value="WorkflowType = &#x27;Farewell&#x27;"' in opened.content.decode()
    # a parameter of the link itself wins over the view's (the counts' links rely on it)
    narrowed = client.get(response["Location"] + "&query=WorkflowId+%3D+%27bye-2%27")
    assert listed(narrowed) == ["bye-2"]
    assert headings(narrowed) == ["Status", "Workflow id", "Task queue"]
    # the plain list names the views too
    assert your_views(client.get(list_url(alice))) == ["Farewells"]

    entry = AuditEntry.objects.get(account_code=alice.account.account_id, operation="CreateSavedView")
    assert (entry.status, entry.target_type, entry.target_id) == ("OK", "saved_view", view.public_id)
    assert entry.details["name"] == "Farewells"


def test_a_view_is_shared_by_its_link_but_listed_for_its_owner_only(
    alice: Principal, bob: Principal, queued: Queued, runs: None
) -> None:
    grant(alice, bob, queued)
    link = save(alice, alice, "Farewells", **FAREWELLS)["Location"]
    view = SavedView.objects.get(name="Farewells")
    client = browser_of(bob)
    assert your_views(client.get(list_url(alice))) == []
    opened = client.get(link)
    assert opened.status_code == 200
    assert sorted(listed(opened)) == ["bye-1", "bye-2"]
    assert says(opened, "Saved view Farewells by alice@example.com")
    assert b"Delete view" not in opened.content
    assert b"Rename" not in opened.content
    # the view's own link leads to the same list
    own = client.get(page_of(alice, f"namespaces/shop/saved-views/{view.public_id}/"))
    assert own.status_code == 302
    assert own["Location"] == link


def test_a_reader_saves_views_of_their_own(alice: Principal, bob: Principal, queued: Queued, runs: None) -> None:
    grant(alice, bob, queued)
    page = browser_of(bob).get(list_url(alice))
    assert b"Save view" in page.content
    assert not says(page, "Terminate…")  # batches need Write
    # the same name as Alice's is fine: names are unique per person
    save(alice, alice, "Mine", query="WorkflowType = 'Hello'")
    response = save(bob, alice, "Mine", **FAREWELLS)
    assert response.status_code == 302
    assert your_views(browser_of(bob).get(list_url(alice))) == ["Mine"]
    assert listed(browser_of(bob).get(response["Location"])) != ["hi-1"]


def test_it_rejects_outsider(alice: Principal, charlie: Principal, runs: None) -> None:
    link = save(alice, alice, "Farewells", **FAREWELLS)["Location"]
    view = SavedView.objects.get(name="Farewells")
    client = browser_of(charlie)
    response = client.get(link)
    assert response.status_code == 404
    assert b"bye-1" not in response.content
    # nor under Charlie's own account
    assert client.get(page_of(charlie, f"namespaces/shop/workflows/?view={view.public_id}")).status_code == 404
    assert client.post(page_of(alice, f"namespaces/shop/saved-views/{view.public_id}/delete/")).status_code == 404
    assert client.post(save_url(alice), {"name": "Sneaky"}).status_code == 404
    assert SavedView.objects.count() == 1


def test_a_view_of_another_namespace_is_not_found(alice: Principal, queued: Queued, runs: None) -> None:
    save(alice, alice, "Farewells", **FAREWELLS)
    view = SavedView.objects.get(name="Farewells")
    queued.commit(lambda: do_create_namespace(alice, name="depot"))
    client = browser_of(alice)
    response = client.get(list_url(alice, "depot"), {"view": view.public_id})
    assert response.status_code == 404
    assert says(response, "saved view not found")
    assert client.get(page_of(alice, f"namespaces/depot/saved-views/{view.public_id}/")).status_code == 404
    assert client.get(list_url(alice), {"view": "0" * 32}).status_code == 404


def test_only_the_owner_renames_or_deletes(
    alice: Principal, add_member: Callable[..., Principal], queued: Queued, runs: None
) -> None:
    dana = add_member("dana@example.com", Role.DEVELOPER)
    grant(alice, dana, queued, "write")
    save(alice, alice, "Farewells", **FAREWELLS)
    view = SavedView.objects.get(name="Farewells")
    base = page_of(alice, f"namespaces/shop/saved-views/{view.public_id}/")
    refused = browser_of(dana).post(f"{base}delete/")
    assert refused.status_code == 403
    assert says(refused, "only the owner of a saved view may change or delete it")
    assert browser_of(dana).post(f"{base}rename/", {"name": "Mine now"}).status_code == 403
    view.refresh_from_db()
    assert view.name == "Farewells"
    failed = AuditEntry.objects.get(account_code=alice.account.account_id, operation="DeleteSavedView")
    assert (failed.status, failed.principal_name) == ("ERROR", "dana@example.com")

    client = browser_of(alice)
    renamed = client.post(f"{base}rename/", {"name": "Goodbyes"})
    assert renamed.status_code == 302
    view.refresh_from_db()
    assert view.name == "Goodbyes"
    assert client.post(f"{base}delete/").status_code == 302
    assert not SavedView.objects.exists()
    assert your_views(client.get(list_url(alice))) == []
    deleted = AuditEntry.objects.get(account_code=alice.account.account_id, operation="DeleteSavedView", status="OK")
    assert (deleted.target_id, deleted.details["name"]) == (view.public_id, "Goodbyes")
    assert client.get(list_url(alice), {"view": view.public_id}).status_code == 404


def test_bad_names_and_parameters_are_refused(alice: Principal, runs: None) -> None:
    assert save(alice, alice, "Farewells", **FAREWELLS).status_code == 302
    duplicate = save(alice, alice, " Farewells ", query="WorkflowType = 'Hello'")
    assert duplicate.status_code == 400
    assert says(duplicate, "you already have a view named 'Farewells' in this namespace")
    rename_clash = save(alice, alice, "Other")
    assert rename_clash.status_code == 302
    other = SavedView.objects.get(name="Other")
    clash = browser_of(alice).post(
        page_of(alice, f"namespaces/shop/saved-views/{other.public_id}/rename/"), {"name": "Farewells"}
    )
    assert clash.status_code == 400
    assert says(clash, "you already have a view named 'Farewells'")

    blank = save(alice, alice, "   ")
    assert blank.status_code == 400
    assert says(blank, "View name: This field is required.")
    long = save(alice, alice, "x" * 101)
    assert long.status_code == 400
    assert says(long, "View name: Ensure this value has at most 100 characters (it has 101).")
    column = save(alice, alice, "Columns", cols="status,owner")
    assert column.status_code == 400
    assert says(column, "Columns: unknown column 'owner'")
    status = save(alice, alice, "Statuses", status="Sleeping")
    assert status.status_code == 400
    assert sorted(SavedView.objects.values_list("name", flat=True)) == ["Farewells", "Other"]
    assert browser_of(alice).get(save_url(alice)).status_code == 405


def test_there_is_a_limit_per_person(alice: Principal, shop: Namespace) -> None:
    assert alice.user is not None
    SavedView.objects.bulk_create(
        SavedView(namespace=shop, owner=alice.user, name=f"view {i}") for i in range(MAX_VIEWS_PER_OWNER)
    )
    response = save(alice, alice, "one more")
    assert response.status_code == 400
    assert says(response, f"you have {MAX_VIEWS_PER_OWNER} saved views in this namespace, the most there may be")
    assert SavedView.objects.count() == MAX_VIEWS_PER_OWNER
