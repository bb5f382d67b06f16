"""Batch operations from the workflows list: terminate, cancel or signal the running workflows a
filter matches, after a confirmation that states how many — against a real engine."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
from django.test import Client as Browser
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import StartBatchOperationRequest
from temporalio.client import Client, WorkflowExecutionStatus

import console.batch
from accounts.models import Role
from accounts.principal import Principal
from accounts.services.members import do_set_member_namespace_access
from audit.models import AuditEntry
from console.engine import ConsoleEngineError
from namespaces.models import Namespace
from tests.accounts.pages import browser_of, page_of, says, text
from tests.console.conftest import run, sdk, start_waiting, with_worker
from tests.console.sdk_workflows import TASK_QUEUE, Greeting
from tests.namespaces.conftest import Queued
from tests.namespaces.engine_support import EngineProcess

pytestmark = pytest.mark.slow

FAREWELLS = "WorkflowType = 'Farewell'"
RUNNING = WorkflowExecutionStatus.RUNNING


def confirm_url(alice: Principal, kind: str) -> str:
    return page_of(alice, f"namespaces/shop/batches/start/{kind}/")


def statuses(engine: EngineProcess, namespace: Namespace, ids: list[str]) -> dict[str, WorkflowExecutionStatus | None]:
    namespace_id = namespace.namespace_id

    async def main() -> dict[str, WorkflowExecutionStatus | None]:
        client = await sdk(engine, namespace_id)
        return {i: (await client.get_workflow_handle(i).describe()).status for i in ids}

    return run(main)


def finished(browser: Browser, url: str) -> str:
    """The batch page's text once the job has ended."""
    for _ in range(100):
        response = browser.get(url)
        assert response.status_code == 200
        if not says(response, "State Running"):
            return text(response)
        time.sleep(0.1)
    raise AssertionError("the batch job did not finish")


@pytest.fixture
def waiting(engine: EngineProcess, shop: Namespace) -> None:
    """Three Farewells and two Hellos that wait forever (no worker serves them)."""
    start_waiting(engine, shop, "Farewell", ["bye-1", "bye-2", "bye-3"])
    start_waiting(engine, shop, "Hello", ["hi-1", "hi-2"])


def test_it_terminates_the_filtered_running_workflows(
    alice: Principal, engine: EngineProcess, shop: Namespace, waiting: None
) -> None:
    client = browser_of(alice)
    listing = client.get(page_of(alice, "namespaces/shop/workflows/"), {"type": "Farewell"})
    link = re.search(r'<a class="button" href="([^"]+)">Terminate…</a>', listing.content.decode())
    assert link is not None
    page = client.get(link.group(1).replace("&amp;", "&"))
    assert page.status_code == 200
    assert says(page, "This will terminate 3 running workflows matching WorkflowType = 'Farewell'")
    assert says(page, "Only running workflows are touched")

    started = client.post(confirm_url(alice, "terminate"), {"filter": FAREWELLS, "count": "3", "reason": "cleaning up"})
    assert started.status_code == 302
    job_id = started["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert job_id.startswith("console-")
    done = finished(client, started["Location"])
    assert "State Completed" in done
    assert "Workflows 3 Completed 3 Failed 0" in done
    assert "Reason cleaning up" in done
    assert "Started by sundial-console: alice@example.com" in done
    assert statuses(engine, shop, ["bye-1", "bye-2", "bye-3", "hi-1", "hi-2"]) == {
        "bye-1": WorkflowExecutionStatus.TERMINATED,
        "bye-2": WorkflowExecutionStatus.TERMINATED,
        "bye-3": WorkflowExecutionStatus.TERMINATED,
        "hi-1": RUNNING,
        "hi-2": RUNNING,
    }
    entry = AuditEntry.objects.get(account_code=alice.account.account_id, operation="StartBatchOperation")
    assert (entry.status, entry.target_type, entry.target_id) == ("OK", "batch_operation", job_id)
    assert entry.details["kind"] == "terminate"
    assert entry.details["count"] == 3
    assert entry.details["reason"] == "cleaning up"
    assert entry.details["query"] == f"({FAREWELLS}) AND ExecutionStatus = 'Running'"
    # the job is listed; the same filter now matches no running workflow
    assert job_id in text(client.get(page_of(alice, "namespaces/shop/batches/")))
    again = client.get(confirm_url(alice, "terminate"), {"filter": FAREWELLS})
    assert says(again, "No running workflow matches this filter: there is nothing to terminate.")
    assert '<form method="post" class="stack batch-form"' not in again.content.decode()


def test_a_changed_count_asks_again(alice: Principal, engine: EngineProcess, shop: Namespace, waiting: None) -> None:
    client = browser_of(alice)
    assert says(client.get(confirm_url(alice, "terminate"), {"filter": FAREWELLS}), "This will terminate 3 running")
    start_waiting(engine, shop, "Farewell", ["bye-4"])
    response = client.post(confirm_url(alice, "terminate"), {"filter": FAREWELLS, "count": "3", "reason": "tidy"})
    assert response.status_code == 409
    assert says(response, "changed from 3 to 4 since the confirmation was shown: nothing was done")
    assert says(response, "This will terminate 4 running workflows")
    assert 'name="count" value="4"' in response.content.decode()
    assert 'value="tidy"' in response.content.decode()  # what was typed stays
    assert set(statuses(engine, shop, ["bye-1", "bye-2", "bye-3", "bye-4"]).values()) == {RUNNING}
    assert not AuditEntry.objects.filter(operation="StartBatchOperation").exists()
    confirmed = client.post(confirm_url(alice, "terminate"), {"filter": FAREWELLS, "count": "4", "reason": "tidy"})
    assert confirmed.status_code == 302


def test_a_batch_signal_reaches_the_running_workflows(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    namespace_id = shop.namespace_id

    async def start(client: Client) -> None:
        for workflow_id, name in {"greet-ada": "Ada", "greet-grace": "Grace", "other-bob": "Bob"}.items():
            await client.start_workflow(
                Greeting.run, name, id=workflow_id, task_queue=TASK_QUEUE, execution_timeout=timedelta(minutes=5)
            )

    async def started() -> None:
        await start(await sdk(engine, namespace_id))

    run(started)  # no worker yet: the signal waits in their histories
    browser = browser_of(alice)
    query = "WorkflowId STARTS_WITH 'greet-'"
    page = browser.get(confirm_url(alice, "signal"), {"filter": query})
    assert says(page, "This will signal 2 running workflows matching WorkflowId STARTS_WITH 'greet-'")
    assert says(page, "Signal name")
    response = browser.post(
        confirm_url(alice, "signal"),
        {"filter": query, "count": "2", "reason": "wrap up", "signal_name": "finish", "signal_input": '"?!"'},
    )
    assert response.status_code == 302
    assert "Completed 2 Failed 0" in finished(browser, response["Location"])

    async def results(client: Client) -> dict[str, str]:
        return {i: await client.get_workflow_handle(i).result() for i in ("greet-ada", "greet-grace")}

    assert with_worker(engine, shop, results) == {"greet-ada": "Hello, Ada?!", "greet-grace": "Hello, Grace?!"}
    assert statuses(engine, shop, ["other-bob"]) == {"other-bob": RUNNING}
    entry = AuditEntry.objects.get(operation="StartBatchOperation")
    assert (entry.details["kind"], entry.details["signal_name"], entry.details["count"]) == ("signal", "finish", 2)
    assert "?!" not in str(entry.details)  # the input is not logged


def test_a_batch_cancel_requests_cancellation(
    alice: Principal, engine: EngineProcess, shop: Namespace, waiting: None
) -> None:
    browser = browser_of(alice)
    assert says(browser.get(confirm_url(alice, "cancel"), {"filter": FAREWELLS}), "This will request cancellation of 3")
    response = browser.post(confirm_url(alice, "cancel"), {"filter": FAREWELLS, "count": "3", "reason": "not needed"})
    assert response.status_code == 302
    assert "Operation Cancel" in finished(browser, response["Location"])
    namespace_id = shop.namespace_id

    async def cancel_requests() -> dict[str, list[str]]:
        client = await sdk(engine, namespace_id)
        found: dict[str, list[str]] = {}
        for workflow_id in ("bye-1", "bye-2", "bye-3", "hi-1"):
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            found[workflow_id] = [
                e.workflow_execution_cancel_requested_event_attributes.identity
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
            ]
        return found

    requested = run(cancel_requests)
    assert requested == {
        "bye-1": ["sundial-console: alice@example.com"],
        "bye-2": ["sundial-console: alice@example.com"],
        "bye-3": ["sundial-console: alice@example.com"],
        "hi-1": [],
    }


def test_an_empty_filter_needs_an_explicit_tick(
    alice: Principal, engine: EngineProcess, shop: Namespace, waiting: None
) -> None:
    browser = browser_of(alice)
    page = browser.get(confirm_url(alice, "terminate"))
    assert says(page, "This will terminate 5 running workflows matching no filter (all of shop)")
    assert says(page, "Yes, every running workflow of this namespace")
    refused = browser.post(confirm_url(alice, "terminate"), {"filter": "", "count": "5", "reason": "all of them"})
    assert refused.status_code == 400
    assert says(refused, "The filter is empty: tick this box to confirm every running workflow.")
    assert set(statuses(engine, shop, ["bye-1", "hi-1"]).values()) == {RUNNING}
    done = browser.post(
        confirm_url(alice, "terminate"), {"filter": "", "count": "5", "reason": "all of them", "all_runs": "on"}
    )
    assert done.status_code == 302
    assert "Completed 5 Failed 0" in finished(browser, done["Location"])
    assert set(statuses(engine, shop, ["bye-1", "hi-1"]).values()) == {WorkflowExecutionStatus.TERMINATED}


def test_bad_input_starts_nothing(alice: Principal, engine: EngineProcess, shop: Namespace, waiting: None) -> None:
    browser = browser_of(alice)
    no_reason = browser.post(confirm_url(alice, "terminate"), {"filter": FAREWELLS, "count": "3", "reason": " "})
    assert no_reason.status_code == 400
    assert says(no_reason, "Reason: This field is required.")
    assert says(no_reason, "This will terminate 3 running workflows")

    bad_json = browser.post(
        confirm_url(alice, "signal"),
        {"filter": FAREWELLS, "count": "3", "reason": "x", "signal_name": "finish", "signal_input": "{'no': json"},
    )
    assert bad_json.status_code == 400
    assert says(bad_json, "Input: this is not valid JSON: Expecting property name enclosed in double quotes")
    no_name = browser.post(confirm_url(alice, "signal"), {"filter": FAREWELLS, "count": "3", "reason": "x"})
    assert no_name.status_code == 400
    assert says(no_name, "Signal name: This field is required.")

    malformed = browser.get(confirm_url(alice, "terminate"), {"filter": "WorkflowId = "})
    assert malformed.status_code == 400
    assert says(malformed, "Invalid query:")
    assert "batch-form" not in malformed.content.decode()
    posted = browser.post(confirm_url(alice, "terminate"), {"filter": "WorkflowId = ", "count": "3", "reason": "x"})
    assert posted.status_code == 400
    assert says(posted, "Invalid query:")

    count = browser.post(confirm_url(alice, "terminate"), {"filter": FAREWELLS, "count": "many", "reason": "x"})
    assert count.status_code == 400
    nothing = browser.post(
        confirm_url(alice, "terminate"), {"filter": "WorkflowType = 'Nobody'", "count": "0", "reason": "x"}
    )
    assert nothing.status_code == 400
    assert says(nothing, "No running workflow matches this filter: there is nothing to terminate. Nothing was done.")
    assert browser.get(confirm_url(alice, "explode")).status_code == 404

    assert set(statuses(engine, shop, ["bye-1", "bye-2", "bye-3"]).values()) == {RUNNING}
    assert not AuditEntry.objects.filter(operation="StartBatchOperation").exists()
    assert says(browser.get(page_of(alice, "namespaces/shop/batches/")), "No batch operations in shop yet")


def test_a_reader_may_not_start_a_batch(
    alice: Principal,
    add_member: Callable[..., Principal],
    queued: Queued,
    engine: EngineProcess,
    shop: Namespace,
    waiting: None,
) -> None:
    dana = add_member("dana@example.com", Role.DEVELOPER)
    assert dana.membership is not None
    member_id = dana.membership.public_id
    queued.commit(
        lambda: do_set_member_namespace_access(alice, member_id=member_id, namespace="shop", permission="read")
    )
    browser = browser_of(dana)
    listing = browser.get(page_of(alice, "namespaces/shop/workflows/"))
    assert listing.status_code == 200
    for control in ("Terminate…", "Cancel…", "Signal…"):
        assert not says(listing, control)
    assert browser.get(confirm_url(alice, "terminate"), {"filter": FAREWELLS}).status_code == 403
    refused = browser.post(confirm_url(alice, "terminate"), {"filter": FAREWELLS, "count": "3", "reason": "mine"})
    assert refused.status_code == 403
    assert says(refused, "you need Write permission on namespace 'shop' to do this")
    assert set(statuses(engine, shop, ["bye-1", "bye-2", "bye-3"]).values()) == {RUNNING}
    assert not AuditEntry.objects.filter(operation="StartBatchOperation").exists()

    # a reader may follow a job someone else started
    started = browser_of(alice).post(
        confirm_url(alice, "terminate"), {"filter": FAREWELLS, "count": "3", "reason": "x"}
    )
    assert "Completed 3" in finished(browser, started["Location"])


def test_it_rejects_outsider(alice: Principal, charlie: Principal, engine: EngineProcess, waiting: None) -> None:
    started = browser_of(alice).post(
        confirm_url(alice, "terminate"), {"filter": FAREWELLS, "count": "3", "reason": "x"}
    )
    browser = browser_of(charlie)
    assert browser.get(started["Location"]).status_code == 404
    assert browser.get(confirm_url(alice, "terminate")).status_code == 404
    response = browser.post(confirm_url(alice, "cancel"), {"filter": "", "count": "2", "reason": "x", "all_runs": "on"})
    assert response.status_code == 404
    assert AuditEntry.objects.filter(operation="StartBatchOperation").count() == 1
    unknown = browser_of(alice).get(page_of(alice, "namespaces/shop/batches/console-nope/"))
    assert unknown.status_code == 404
    assert says(unknown, "batch job console-nope not found")


def test_a_refused_start_is_shown_and_audited(
    alice: Principal, engine: EngineProcess, shop: Namespace, waiting: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine runs one batch job at a time per namespace: its refusal is a 409 on the page."""
    real_call = console.batch.call

    def busy(method: Any, request: Any, **kwargs: Any) -> Any:
        if isinstance(request, StartBatchOperationRequest):
            raise ConsoleEngineError(
                grpc.StatusCode.RESOURCE_EXHAUSTED, "Max concurrent batch operations is reached: one batch job runs"
            )
        return real_call(method, request, **kwargs)

    monkeypatch.setattr(console.batch, "call", busy)
    response = browser_of(alice).post(
        confirm_url(alice, "terminate"), {"filter": FAREWELLS, "count": "3", "reason": "x"}
    )
    assert response.status_code == 409
    assert says(response, "Max concurrent batch operations is reached")
    assert says(response, "This will terminate 3 running workflows")  # one may try again
    entry = AuditEntry.objects.get(operation="StartBatchOperation")
    assert entry.status == "ERROR"
    assert entry.details["count"] == 3
    assert set(statuses(engine, shop, ["bye-1", "bye-2", "bye-3"]).values()) == {RUNNING}
