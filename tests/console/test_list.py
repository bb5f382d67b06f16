"""The workflows list: what runs the namespace holds, narrowed by the List Filter and the quick
filters, counted by status, paged with the engine's tokens — against a real engine."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import unquote

import pytest
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

import console.workflows
from accounts.principal import Principal
from namespaces.models import Namespace
from namespaces.services import do_create_namespace
from namespaces.validation import NamespaceSpec
from tests.accounts.pages import browser_of, page_of, says, text
from tests.console.conftest import drain, greet, run, sdk, start_waiting
from tests.namespaces.conftest import Queued
from tests.namespaces.engine_support import EngineProcess

pytestmark = pytest.mark.slow

ROW = re.compile(r'<tr data-workflow-id="([^"]*)" data-run-id="([^"]*)">(.*?)</tr>', re.S)


def listed(response) -> list[str]:
    """The workflow ids of the table's rows, in order."""
    return [html.unescape(m.group(1)) for m in ROW.finditer(response.content.decode())]


def counts(response) -> dict[str, int]:
    found = re.search(r'<ul class="console-counts"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    assert found is not None, "no counts on the page"
    result = {}
    for label, number in re.findall(r'data-status="[^"]*">([A-Za-z]+)</span> <strong>(\d+)</strong>', found.group(1)):
        result[label] = int(number)
    total = re.search(r">All <strong>(\d+)</strong>", found.group(1))
    assert total is not None
    result["All"] = int(total.group(1))
    return result


def workflows_url(principal: Principal, query: str = "") -> str:
    return page_of(principal, f"namespaces/shop/workflows/{query}")


@pytest.fixture
def five(engine: EngineProcess, shop: Namespace) -> None:
    """Two completed Greetings and three Farewells that wait forever (no worker)."""
    greet(engine, shop, {"greet-ada": "Ada", "greet-grace": "Grace"})
    start_waiting(engine, shop, "Farewell", ["bye-1", "bye-2", "bye-3"])


def test_it_lists_the_workflows_with_their_status_and_counts(alice: Principal, five: None) -> None:
    response = browser_of(alice).get(workflows_url(alice))
    assert response.status_code == 200
    assert sorted(listed(response)) == ["bye-1", "bye-2", "bye-3", "greet-ada", "greet-grace"]
    assert counts(response) == {"All": 5, "Running": 3, "Completed": 2}
    page = response.content.decode()
    assert 'data-status="Completed">Completed</span>' in page
    assert 'data-status="Running">Running</span>' in page
    row = next(m.group(3) for m in ROW.finditer(page) if m.group(1) == "greet-ada")
    assert "Greeting" in row
    assert "Completed" in row
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+"', row)
    assert says(response, "Workflows")


def test_the_list_filter_narrows_the_list(alice: Principal, five: None) -> None:
    client = browser_of(alice)
    by_id = client.get(workflows_url(alice), {"query": "WorkflowId = 'greet-ada'"})
    assert listed(by_id) == ["greet-ada"]
    assert counts(by_id) == {"All": 1, "Completed": 1}

    by_type = client.get(workflows_url(alice), {"query": "WorkflowType = 'Farewell'"})
    assert sorted(listed(by_type)) == ["bye-1", "bye-2", "bye-3"]

    running = client.get(workflows_url(alice), {"query": "ExecutionStatus = 'Running'"})
    assert sorted(listed(running)) == ["bye-1", "bye-2", "bye-3"]
    assert counts(running) == {"All": 3, "Running": 3}


def test_quick_filters_combine_with_the_query(alice: Principal, five: None) -> None:
    client = browser_of(alice)
    completed = client.get(workflows_url(alice), {"status": "Completed"})
    assert sorted(listed(completed)) == ["greet-ada", "greet-grace"]
    assert says(completed, "Filter: ExecutionStatus = 'Completed'")

    typed = client.get(workflows_url(alice), {"type": "Farewell", "query": "WorkflowId != 'bye-2'"})
    assert sorted(listed(typed)) == ["bye-1", "bye-3"]
    assert says(typed, "Filter: (WorkflowId != 'bye-2') AND WorkflowType = 'Farewell'")

    recent = client.get(workflows_url(alice), {"range": "hour", "status": "Running"})
    assert sorted(listed(recent)) == ["bye-1", "bye-2", "bye-3"]
    assert re.search(r"ExecutionStatus = 'Running' AND StartTime > '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'", text(recent))

    nothing = client.get(workflows_url(alice), {"status": "Failed"})
    assert listed(nothing) == []
    assert says(nothing, "No workflows match this filter.")


def test_a_malformed_query_shows_the_engines_message(alice: Principal, five: None) -> None:
    response = browser_of(alice).get(workflows_url(alice), {"query": "WorkflowId = "})
    assert response.status_code == 400
    assert says(response, "Invalid query:")
    assert re.search(r"position \d+", text(response))
    # the page still renders: the box keeps what was typed, the filters are there
    assert 'value="WorkflowId = "' in response.content.decode()
    assert says(response, "Status: Any status Running Completed")
    assert listed(response) == []

    dangling = browser_of(alice).get(workflows_url(alice), {"query": "WorkflowId = 'x' AND"})
    assert dangling.status_code == 400
    assert says(dangling, "Invalid query: unexpected end of query at position")

    bogus = browser_of(alice).get(workflows_url(alice), {"status": "Sleeping"})
    assert bogus.status_code == 400
    assert says(bogus, "Status: Select a valid choice. Sleeping is not one of the available choices.")

    unknown = browser_of(alice).get(workflows_url(alice), {"query": "NoSuchAttribute = 'x'"})
    assert unknown.status_code == 400
    assert says(unknown, "NoSuchAttribute")


def test_an_ordered_query_lists_without_counts(alice: Principal, five: None) -> None:
    response = browser_of(alice).get(
        workflows_url(alice), {"query": "WorkflowType = 'Farewell' ORDER BY WorkflowId DESC"}
    )
    assert response.status_code == 200
    assert listed(response) == ["bye-3", "bye-2", "bye-1"]
    assert says(
        response, "Counts by status are not available for this filter: invalid query: ORDER BY is not supported"
    )


def test_paging_reaches_every_workflow_exactly_once(
    alice: Principal, five: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console.workflows, "PAGE_SIZE", 2)
    client = browser_of(alice)
    seen: list[str] = []
    url = workflows_url(alice)
    pages = 0
    while True:
        response = client.get(url)
        assert response.status_code == 200
        rows = listed(response)
        assert 0 < len(rows) <= 2
        seen.extend(rows)
        pages += 1
        following = re.search(r'<a href="([^"]+)" rel="next">Next 2</a>', response.content.decode())
        if following is None:
            break
        url = html.unescape(following.group(1))
        assert pages < 10
    assert pages == 3
    assert sorted(seen) == ["bye-1", "bye-2", "bye-3", "greet-ada", "greet-grace"]
    first = re.search(r'<a href="([^"]+)">First page</a>', response.content.decode())
    assert first is not None
    assert html.unescape(first.group(1)).rstrip("?") == workflows_url(alice)
    assert len(listed(client.get(html.unescape(first.group(1))))) == 2


def test_a_damaged_page_link_is_explained(alice: Principal, shop: Namespace) -> None:
    client = browser_of(alice)
    response = client.get(workflows_url(alice), {"page": "not base64!"})
    assert response.status_code == 400
    assert says(response, "The page link is damaged: start again from the first page")
    forged = client.get(workflows_url(alice), {"page": "eyJub3QiOiAib3VycyJ9"})  # {"not": "ours"}
    assert forged.status_code == 400
    assert says(forged, "invalid next page token")


def test_an_empty_namespace_says_how_to_start(alice: Principal, shop: Namespace) -> None:
    response = browser_of(alice).get(workflows_url(alice))
    assert response.status_code == 200
    assert says(response, f"No workflows in {shop.namespace_id} yet.")
    assert says(response, "how to connect")
    assert counts(response) == {"All": 0}


def test_the_namespace_pages_link_to_the_workflows(alice: Principal, shop: Namespace) -> None:
    response = browser_of(alice).get(page_of(alice, "namespaces/shop/"))
    assert f'href="{workflows_url(alice)}">Workflows</a>' in response.content.decode()


ODD_IDS = ["orders/2024/17", "a workflow with spaces", "ünïcødé ✓ 注文", "what?#50%&more=yes+no"]


def test_odd_workflow_ids_round_trip_through_the_links(
    alice: Principal, engine: EngineProcess, shop: Namespace
) -> None:
    start_waiting(engine, shop, "Odd", ODD_IDS)
    client = browser_of(alice)
    response = client.get(workflows_url(alice))
    page = response.content.decode()
    assert sorted(listed(response)) == sorted(ODD_IDS)
    for match in ROW.finditer(page):
        workflow_id, run_id = html.unescape(match.group(1)), match.group(2)
        link = re.search(r'<a href="([^"]+)">', match.group(3))
        assert link is not None
        href = html.unescape(link.group(1))
        assert not set("?# ") & set(href)
        assert unquote(href) == workflows_url(alice) + f"{workflow_id}/{run_id}/"
        detail = client.get(href)
        assert detail.status_code == 200, (workflow_id, text(detail))
        assert says(detail, f"Workflow id {workflow_id}")
        assert says(detail, f"Run id {run_id}")
        assert says(detail, "Workflow type Odd")
        # the page's own links (JSON view, download) keep the id intact too
        views = dict(
            (label, html.unescape(href))
            for href, label in re.findall(r'<a href="([^"]+)"[^>]*>(JSON|Download JSON)</a>', detail.content.decode())
        )
        assert views["JSON"] == href + "?view=json"
        as_json = client.get(views["JSON"])
        assert as_json.status_code == 200
        assert 'id="history-json"' in as_json.content.decode()
        download = client.get(views["Download JSON"])
        assert download.status_code == 200
        assert json.loads(download.content)["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"


# --- columns ----------------------------------------------------------------------------------


def headings(response) -> list[str]:
    found = re.search(r"<thead>(.*?)</thead>", response.content.decode(), re.S)
    assert found is not None, "no table on the page"
    return [html.unescape(h) for h in re.findall(r"<th [^>]*>([^<]*)</th>", found.group(1))]


def cells(response, workflow_id: str) -> list[str]:
    row = next(m.group(3) for m in ROW.finditer(response.content.decode()) if html.unescape(m.group(1)) == workflow_id)
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in re.findall(r"<td>(.*?)</td>", row, re.S)
    ]


def test_the_default_columns(alice: Principal, five: None) -> None:
    response = browser_of(alice).get(workflows_url(alice))
    assert headings(response) == ["Status", "Workflow id", "Run id", "Type", "Start", "Close"]
    assert cells(response, "bye-1")[:2] == ["Running", "bye-1"]
    assert cells(response, "bye-1")[3] == "Farewell"


def test_chosen_columns_show_and_hide(alice: Principal, five: None) -> None:
    client = browser_of(alice)
    chosen = client.get(workflows_url(alice), {"cols": "task_queue,history_length,duration", "type": "Farewell"})
    assert chosen.status_code == 200
    # status and workflow id are always shown; run id, type, start and close were not chosen
    assert headings(chosen) == ["Status", "Workflow id", "Task queue", "History length", "Execution duration"]
    row = cells(chosen, "bye-2")
    assert row[:3] == ["Running", "bye-2", "nobody-polls"]
    assert int(row[3]) >= 2
    assert row[4] == "—"  # still running
    assert "Farewell" not in " ".join(row)

    # the checkboxes send one parameter per column, in any order; the table keeps its own
    ticked = client.get(workflows_url(alice) + "?cols=duration&cols=workflow_id&cols=status&cols=type&status=Completed")
    assert headings(ticked) == ["Status", "Workflow id", "Type", "Execution duration"]
    done = cells(ticked, "greet-ada")
    assert done[2] == "Greeting"
    assert re.fullmatch(r"[\d.]+ (ms|s)", done[3]), done
    page = ticked.content.decode()
    assert '<input type="checkbox" name="cols" value="duration" checked>' in page
    assert '<input type="checkbox" name="cols" value="run_id">' in page
    # the counts' links keep the columns
    everything = re.search(r'<a href="([^"]+)">All <strong>\d+</strong>', page)
    assert everything is not None
    assert headings(client.get(html.unescape(everything.group(1)))) == headings(ticked)


def test_an_unknown_column_is_a_400(alice: Principal, shop: Namespace) -> None:
    response = browser_of(alice).get(workflows_url(alice), {"cols": "status,owner"})
    assert response.status_code == 400
    assert says(response, "Columns: unknown column 'owner' (the columns are: status, workflow_id, run_id")
    assert listed(response) == []


def test_custom_search_attributes_are_columns(alice: Principal, queued: Queued, engine: EngineProcess) -> None:
    spec = NamespaceSpec(search_attributes={"CustomerId": "Keyword", "Amount": "Double"})
    store = queued.commit(lambda: do_create_namespace(alice, name="store", spec=spec))
    drain(queued)
    store.refresh_from_db()
    namespace_id = store.namespace_id

    async def main() -> None:
        client = await sdk(engine, namespace_id)
        attributes = TypedSearchAttributes(
            [SearchAttributePair(SearchAttributeKey.for_keyword("CustomerId"), "cust-42")]
        )
        await client.start_workflow("Order", id="order-1", task_queue="nobody-polls", search_attributes=attributes)

    run(main)
    url = page_of(alice, "namespaces/store/workflows/")
    response = browser_of(alice).get(url, {"cols": "status,workflow_id,CustomerId,Amount"})
    assert response.status_code == 200
    assert headings(response) == ["Status", "Workflow id", "Amount", "CustomerId"]
    assert cells(response, "order-1") == ["Running", "order-1", "—", "cust-42"]
    assert '<input type="checkbox" name="cols" value="CustomerId" checked>' in response.content.decode()


SWITCHER = re.compile(r'<ul aria-label="Switch namespace">(.*?)</ul>', re.S)


def test_the_namespace_switcher_lists_only_what_the_caller_may_see(
    alice: Principal, bob: Principal, queued: Queued, shop: Namespace
) -> None:
    from accounts.services.members import do_set_member_namespace_access

    queued.commit(lambda: do_create_namespace(alice, name="ledger"))
    queued.commit(lambda: do_create_namespace(alice, name="vault"))
    owner_page = browser_of(alice).get(page_of(alice, "namespaces/shop/workflows/"))
    switcher = SWITCHER.search(owner_page.content.decode())
    assert switcher is not None
    assert re.findall(r">([a-z]+)</a>", switcher.group(1)) == ["ledger", "vault"]
    assert f'href="/a/{alice.account.account_id}/namespaces/vault/workflows/"' in switcher.group(1)

    # Bob (Developer) holds Read on shop and ledger only: vault is not offered to him.
    assert bob.membership is not None
    member_id = bob.membership.public_id

    def grant(name: str) -> None:
        do_set_member_namespace_access(alice, member_id=member_id, namespace=name, permission="read")

    queued.commit(lambda: grant("shop"))
    queued.commit(lambda: grant("ledger"))
    bob_page = browser_of(bob).get(page_of(alice, "namespaces/shop/workflows/"))
    assert bob_page.status_code == 200
    switcher = SWITCHER.search(bob_page.content.decode())
    assert switcher is not None
    assert re.findall(r">([a-z]+)</a>", switcher.group(1)) == ["ledger"]
    assert "vault" not in text(bob_page)
