"""Workflow actions from the console, against a real engine and a real SDK worker: what the
workflow sees after a signal, cancel or terminate from the page; query answers and the call stack
on the page; starting a run; the engine's refusals shown in its words; bad input refused before
anything reaches the engine; who may do what; and the audit log of it all."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client as Browser
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import CancelledError
from temporalio.worker import Worker

from accounts.principal import Principal
from accounts.services.members import do_set_member_namespace_access
from audit.models import AuditEntry
from console.history import event_type_name
from namespaces.models import Namespace
from tests.accounts.pages import browser_of, page_of, says, text
from tests.console.conftest import run, sdk
from tests.console.sdk_action_workflows import TASK_QUEUE, Tally
from tests.namespaces.conftest import Queued
from tests.namespaces.engine_support import EngineProcess

pytestmark = pytest.mark.slow

WRITE_VERBS = ("signal", "update", "cancel", "terminate", "reset")


# --- helpers ----------------------------------------------------------------------------------


@contextmanager
def tally_worker(engine: EngineProcess, namespace: Namespace) -> Iterator[None]:
    """A Tally worker polling in a thread of its own while the test uses the (synchronous) pages."""
    namespace_id = namespace.namespace_id
    ready, stop = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    async def serve() -> None:
        client = await sdk(engine, namespace_id)
        async with Worker(client, task_queue=TASK_QUEUE, workflows=[Tally]):
            ready.set()
            await asyncio.to_thread(stop.wait)

    def main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the test below
            failures.append(exc)
            ready.set()

    thread = threading.Thread(target=main, name="tally-worker", daemon=True)
    thread.start()
    assert ready.wait(30), "the worker did not start"
    if failures:
        raise failures[0]
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def on_sdk(engine: EngineProcess, namespace: Namespace, body: Callable[[Client], Any]) -> Any:
    namespace_id = namespace.namespace_id

    async def main() -> Any:
        return await body(await sdk(engine, namespace_id))

    return run(main)


def start_tally(engine: EngineProcess, namespace: Namespace, workflow_id: str, label: str = "groceries") -> str:
    """Start a Tally run (whether or not a worker polls yet); its run id."""

    async def body(client: Client) -> str:
        handle = await client.start_workflow(Tally.run, label, id=workflow_id, task_queue=TASK_QUEUE)
        assert handle.result_run_id is not None
        return handle.result_run_id

    return on_sdk(engine, namespace, body)


def event_types(engine: EngineProcess, namespace: Namespace, workflow_id: str) -> list[str]:
    async def body(client: Client) -> list[str]:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        return [event_type_name(e.event_type) for e in history.events]

    return on_sdk(engine, namespace, body)


def status_of(engine: EngineProcess, namespace: Namespace, workflow_id: str) -> WorkflowExecutionStatus | None:
    async def body(client: Client) -> WorkflowExecutionStatus | None:
        return (await client.get_workflow_handle(workflow_id).describe()).status

    return on_sdk(engine, namespace, body)


def close_and_result(engine: EngineProcess, namespace: Namespace, workflow_id: str) -> Any:
    async def body(client: Client) -> Any:
        handle = client.get_workflow_handle(workflow_id)
        await handle.signal(Tally.close)
        return await asyncio.wait_for(handle.result(), 30)

    return on_sdk(engine, namespace, body)


def run_url(principal: Principal, workflow_id: str, run_id: str, verb: str = "") -> str:
    return page_of(principal, f"namespaces/shop/workflows/{workflow_id}/{run_id}/{verb}")


def audit_entries(principal: Principal, operation: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(account_code=principal.account.account_id, operation=operation).order_by("seq")
    )


HTMX = {"HX-Request": "true"}


@pytest.fixture
def tally(engine: EngineProcess, shop: Namespace) -> str:
    """A running Tally ``tally-1`` (no worker yet); its run id."""
    return start_tally(engine, shop, "tally-1")


# --- signal -----------------------------------------------------------------------------------


def test_a_signal_from_the_form_reaches_the_workflow(
    alice: Principal, engine: EngineProcess, shop: Namespace, tally: str
) -> None:
    browser = browser_of(alice)
    page = browser.get(run_url(alice, "tally-1", tally))
    assert page.status_code == 200
    assert says(page, "Send signal")
    assert says(page, "Terminate")
    assert says(page, "Run query")

    response = browser.post(run_url(alice, "tally-1", tally, "signal"), {"name": "add", "args": '"milk"'})
    assert response.status_code == 302
    assert response["Location"] == run_url(alice, "tally-1", tally)
    assert says(browser.get(response["Location"]), "Signal 'add' sent")
    several = {"name": "add", "args": '["eggs"]', "several": "on"}
    assert browser.post(run_url(alice, "tally-1", tally, "signal"), several).status_code == 302

    with tally_worker(engine, shop):
        assert close_and_result(engine, shop, "tally-1") == {"label": "groceries", "items": ["milk", "eggs"]}

    async def signalers(client: Client) -> list[str]:
        history = await client.get_workflow_handle("tally-1").fetch_history()
        return [
            e.workflow_execution_signaled_event_attributes.identity
            for e in history.events
            if e.HasField("workflow_execution_signaled_event_attributes")
            and e.workflow_execution_signaled_event_attributes.signal_name == "add"
        ]

    assert on_sdk(engine, shop, signalers) == ["sundial-console: alice@example.com"] * 2

    entries = audit_entries(alice, "SignalWorkflowExecution")
    assert [(e.status, e.target_type, e.details) for e in entries] == [
        ("OK", "workflow", {"signal": "add"}),
        ("OK", "workflow", {"signal": "add"}),
    ]
    assert entries[0].target_id == f"{shop.namespace_id}/tally-1/{tally}"
    assert entries[0].principal_name


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "add", "args": "{oops"}, "This is not valid JSON"),
        ({"name": "add", "args": '"milk"', "several": "on"}, "enter a JSON array"),
        ({"name": "", "args": '"milk"'}, "This field is required"),
        ({"name": "x" * 201, "args": '"milk"'}, "at most 200 characters"),
    ],
)
def test_bad_signal_input_is_refused_and_nothing_is_sent(
    alice: Principal, engine: EngineProcess, shop: Namespace, tally: str, form: dict[str, str], message: str
) -> None:
    response = browser_of(alice).post(run_url(alice, "tally-1", tally, "signal"), form)
    assert response.status_code == 400
    assert says(response, message)
    assert says(response, "Check the signal form")
    assert "WorkflowExecutionSignaled" not in event_types(engine, shop, "tally-1")
    assert audit_entries(alice, "SignalWorkflowExecution") == []


def test_a_signal_to_a_closed_run_shows_the_engines_refusal(
    alice: Principal, engine: EngineProcess, shop: Namespace, tally: str
) -> None:
    browser = browser_of(alice)
    confirmed = {"reason": "cleanup", "confirm": "on"}
    assert browser.post(run_url(alice, "tally-1", tally, "terminate"), confirmed).status_code == 302
    page = browser.get(run_url(alice, "tally-1", tally))
    assert says(page, "Workflow terminated")
    for control in ("Send signal", "Send update", "Request cancellation", "Stack trace"):
        assert not says(page, control), control  # a closed run offers no changes
    assert says(page, "Run query")
    assert says(page, "Reset")

    response = browser.post(run_url(alice, "tally-1", tally, "signal"), {"name": "add", "args": '"late"'})
    assert response.status_code == 404  # Temporal's answer: NotFound, "already completed"
    assert says(response, "Workflow execution already completed (status 404)")
    errors = [e for e in audit_entries(alice, "SignalWorkflowExecution") if e.status == "ERROR"]
    assert len(errors) == 1
    assert errors[0].error


# --- query and stack trace --------------------------------------------------------------------


def test_a_query_shows_the_handlers_answer(
    alice: Principal, engine: EngineProcess, shop: Namespace, tally: str
) -> None:
    browser = browser_of(alice)
    for item in ("milk", "mint", "eggs"):
        browser.post(run_url(alice, "tally-1", tally, "signal"), {"name": "add", "args": f'"{item}"'})
    with tally_worker(engine, shop):
        page = browser.post(run_url(alice, "tally-1", tally, "query"), {"name": "items"})
        assert page.status_code == 200
        assert says(page, "Query 'items' returned")
        assert '"milk",' in text(page)
        assert '"eggs"' in text(page)
        assert "<html" in page.content.decode()  # without JS: a whole page

        fragment = browser.post(
            run_url(alice, "tally-1", tally, "query"), {"name": "count_of", "args": '"mi"'}, headers=HTMX
        )
        assert fragment.status_code == 200
        assert "<html" not in fragment.content.decode()
        assert re.search(
            r'<pre class="payload action-output" id="action-output" tabindex="0">2</pre>', fragment.content.decode()
        )

        bad = browser.post(run_url(alice, "tally-1", tally, "query"), {"name": "items", "args": "[1,"}, headers=HTMX)
        assert bad.status_code == 200  # htmx 2 swaps only 2xx answers: the status is in the fragment
        assert 'data-status="400"' in bad.content.decode()
        assert says(bad, "Arguments (JSON): This is not valid JSON")

        unknown = browser.post(run_url(alice, "tally-1", tally, "query"), {"name": "nope"})
        assert unknown.status_code == 400
        assert says(unknown, "nope")
    assert [e.status for e in audit_entries(alice, "QueryWorkflow")] == ["OK", "OK", "ERROR"]
    assert audit_entries(alice, "QueryWorkflow")[1].details == {"query": "count_of"}


def test_the_stack_trace_shows_where_the_workflow_waits(
    alice: Principal, engine: EngineProcess, shop: Namespace, tally: str
) -> None:
    with tally_worker(engine, shop):
        response = browser_of(alice).post(run_url(alice, "tally-1", tally, "stack-trace"), headers=HTMX)
    assert response.status_code == 200
    shown = text(response)
    assert "Call stack" in shown
    # the Python SDK's trace names each task of the run (its `run` method among them) and the
    # top frame of each: asyncio keeps no deeper frames of a suspended task
    assert "Stack for <Task pending name='run (workflow: Tally, id: tally-1" in shown
    assert re.search(r'File "[^"]+\.py", line \d+', shown)
    assert [(e.status, e.details) for e in audit_entries(alice, "QueryWorkflow")] == [
        ("OK", {"query": "__stack_trace"})
    ]


# --- cancel and terminate ---------------------------------------------------------------------


def test_cancel_reaches_the_workflow(alice: Principal, engine: EngineProcess, shop: Namespace, tally: str) -> None:
    response = browser_of(alice).post(run_url(alice, "tally-1", tally, "cancel"), {"reason": "not needed"})
    assert response.status_code == 302
    assert "WorkflowExecutionCancelRequested" in event_types(engine, shop, "tally-1")

    async def outcome(client: Client) -> BaseException | None:
        try:
            await asyncio.wait_for(client.get_workflow_handle("tally-1").result(), 30)
        except WorkflowFailureError as exc:
            return exc.cause
        return None

    with tally_worker(engine, shop):
        cause = on_sdk(engine, shop, outcome)
    assert isinstance(cause, CancelledError)
    assert status_of(engine, shop, "tally-1") == WorkflowExecutionStatus.CANCELED
    assert [(e.status, e.details) for e in audit_entries(alice, "RequestCancelWorkflowExecution")] == [
        ("OK", {"reason": "not needed"})
    ]


def test_terminate_needs_a_confirmation(alice: Principal, engine: EngineProcess, shop: Namespace, tally: str) -> None:
    browser = browser_of(alice)
    unconfirmed = browser.post(run_url(alice, "tally-1", tally, "terminate"), {"reason": "oops"})
    assert unconfirmed.status_code == 400
    assert says(unconfirmed, "Tick the box to confirm the termination")
    assert status_of(engine, shop, "tally-1") == WorkflowExecutionStatus.RUNNING

    too_long = browser.post(run_url(alice, "tally-1", tally, "terminate"), {"reason": "x" * 1001, "confirm": "on"})
    assert too_long.status_code == 400
    assert status_of(engine, shop, "tally-1") == WorkflowExecutionStatus.RUNNING

    done = browser.post(run_url(alice, "tally-1", tally, "terminate"), {"reason": "stuck", "confirm": "on"})
    assert done.status_code == 302
    assert status_of(engine, shop, "tally-1") == WorkflowExecutionStatus.TERMINATED
    page = browser.get(run_url(alice, "tally-1", tally))
    assert says(page, "Status Terminated")
    assert says(page, "stuck")
    assert [(e.status, e.details) for e in audit_entries(alice, "TerminateWorkflowExecution")] == [
        ("OK", {"reason": "stuck"})
    ]


# --- update -----------------------------------------------------------------------------------


def test_an_update_from_the_form_shows_its_result_or_the_validators_refusal(
    alice: Principal, engine: EngineProcess, shop: Namespace, tally: str
) -> None:
    browser = browser_of(alice)
    url = run_url(alice, "tally-1", tally, "update")
    bad_update = browser.post(url, {"name": "add_many", "args": "[1,"})
    assert bad_update.status_code == 400

    with tally_worker(engine, shop):
        done = browser.post(url, {"name": "add_many", "args": '["a", "b"]'})
        assert done.status_code == 200
        assert says(done, "Update 'add_many' returned")
        assert says(done, "2")
        refused = browser.post(url, {"name": "add_many", "args": "[]"})
        assert refused.status_code == 200
        assert says(refused, "Update 'add_many' failed")
        assert says(refused, "nothing to add")
        items = on_sdk(engine, shop, lambda client: client.get_workflow_handle("tally-1").query(Tally.items))
    assert items == ["a", "b"]  # the refused update changed nothing
    updates = audit_entries(alice, "UpdateWorkflowExecution")
    assert [(e.status, e.details) for e in updates] == [("OK", {"update": "add_many"})] * 2


# --- reset ------------------------------------------------------------------------------------


def test_reset_from_the_page_reruns_the_workflow_and_keeps_its_signals(
    alice: Principal, engine: EngineProcess, shop: Namespace, tally: str
) -> None:
    browser = browser_of(alice)

    async def add_milk(client: Client) -> None:
        handle = client.get_workflow_handle("tally-1")
        await handle.query(Tally.items)  # the first workflow task has completed: a reset point
        await handle.signal(Tally.add, "milk")
        while await handle.query(Tally.items) != ["milk"]:
            await asyncio.sleep(0.05)

    with tally_worker(engine, shop):
        on_sdk(engine, shop, add_milk)
    form = browser.get(run_url(alice, "tally-1", tally, "reset"))
    assert form.status_code == 200
    choices = re.findall(r'<option value="(\d+)"', form.content.decode())
    assert len(choices) == 2, "the reset points come from the history, newest first"
    assert 'name="reapply_signals" id="reset_reapply_signals" checked' in form.content.decode()

    missing_reason = browser.post(run_url(alice, "tally-1", tally, "reset"), {"event_id": choices[0]})
    assert missing_reason.status_code == 400
    not_a_point = browser.post(run_url(alice, "tally-1", tally, "reset"), {"event_id": "1", "reason": "r"})
    assert not_a_point.status_code == 400
    assert says(not_a_point, "Select a valid choice")

    first_task = {"event_id": choices[-1], "reason": "bad deploy", "reapply_signals": "on"}
    reset = browser.post(run_url(alice, "tally-1", tally, "reset"), first_task)
    assert reset.status_code == 302
    new_run = reset["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert reset["Location"] == run_url(alice, "tally-1", new_run)
    assert new_run != tally
    assert says(browser.get(reset["Location"]), f"Workflow reset: the new run is {new_run}")

    async def old_status(client: Client) -> WorkflowExecutionStatus | None:
        return (await client.get_workflow_handle("tally-1", run_id=tally).describe()).status

    assert on_sdk(engine, shop, old_status) == WorkflowExecutionStatus.TERMINATED
    with tally_worker(engine, shop):  # the new run re-runs from the first task, with the signal
        assert close_and_result(engine, shop, "tally-1") == {"label": "groceries", "items": ["milk"]}

    resets = audit_entries(alice, "ResetWorkflowExecution")
    assert [(e.status, e.details["reason"]) for e in resets] == [("OK", "bad deploy")]


# --- start ------------------------------------------------------------------------------------


def test_start_a_workflow_from_the_page(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    browser = browser_of(alice)
    start_url = page_of(alice, "namespaces/shop/start-workflow/")
    form = browser.get(f"{start_url}?type=Tally&task_queue={TASK_QUEUE}")
    assert form.status_code == 200
    page = form.content.decode()
    assert re.search(r'name="workflow_id" value="[0-9a-f-]{36}"', page)
    assert 'name="workflow_type" value="Tally"' in page

    fields = {"workflow_id": "tally-new", "workflow_type": "Tally", "task_queue": TASK_QUEUE, "args": '"errands"'}
    bad = browser.post(start_url, {**fields, "args": "'single quotes'"})
    assert bad.status_code == 400
    assert says(bad, "This is not valid JSON")
    assert browser.post(start_url, {**fields, "execution_timeout": "0"}).status_code == 400
    assert audit_entries(alice, "StartWorkflowExecution") == []

    started = browser.post(start_url, {**fields, "execution_timeout": "600"})
    assert started.status_code == 302
    location = started["Location"]
    run_id = location.rstrip("/").rsplit("/", 1)[-1]
    assert location == run_url(alice, "tally-new", run_id)
    assert says(browser.get(location), "Workflow 'tally-new' started")
    with tally_worker(engine, shop):
        assert close_and_result(engine, shop, "tally-new") == {"label": "errands", "items": []}

    again = browser.post(start_url, fields)  # the id is free again once the run closed…
    assert again.status_code == 302
    twice = browser.post(start_url, fields)  # …but not while a run with it is running
    assert twice.status_code == 409
    assert says(twice, "already running")
    statuses = [(e.status, e.target_id.count("/")) for e in audit_entries(alice, "StartWorkflowExecution")]
    assert statuses == [("OK", 2), ("OK", 2), ("ERROR", 1)]


# --- who may do what --------------------------------------------------------------------------


def write_forms() -> dict[str, dict[str, str]]:
    return {
        "signal": {"name": "add", "args": '"milk"'},
        "update": {"name": "add_many", "args": '["a"]'},
        "cancel": {"reason": "r"},
        "terminate": {"reason": "r", "confirm": "on"},
        "reset": {"event_id": "4", "reason": "r"},
    }


def test_a_reader_sees_no_write_actions_and_is_refused(
    alice: Principal, bob: Principal, queued: Queued, engine: EngineProcess, shop: Namespace, tally: str
) -> None:
    assert bob.membership is not None
    member_id = bob.membership.public_id
    queued.commit(
        lambda: do_set_member_namespace_access(alice, member_id=member_id, namespace="shop", permission="read")
    )
    browser = browser_of(bob)
    page = browser.get(run_url(alice, "tally-1", tally))
    assert page.status_code == 200
    assert says(page, "Run query")
    assert says(page, "Stack trace")
    for control in ("Send signal", "Send update", "Request cancellation", "Terminate", "Reset", "Start another run"):
        assert not says(page, control), control

    before = event_types(engine, shop, "tally-1")
    for verb, form in write_forms().items():
        response = browser.post(run_url(alice, "tally-1", tally, verb), form)
        assert response.status_code == 403, verb
        assert says(response, "you need Write permission on namespace 'shop'")
    assert browser.get(run_url(alice, "tally-1", tally, "reset")).status_code == 403
    start_url = page_of(alice, "namespaces/shop/start-workflow/")
    assert browser.get(start_url).status_code == 403
    start = {"workflow_id": "x", "workflow_type": "Tally", "task_queue": TASK_QUEUE}
    assert browser.post(start_url, start).status_code == 403
    assert event_types(engine, shop, "tally-1") == before
    assert status_of(engine, shop, "tally-1") == WorkflowExecutionStatus.RUNNING
    assert not AuditEntry.objects.filter(target_type="workflow").exists()

    with tally_worker(engine, shop):  # queries need only Read
        assert browser.post(run_url(alice, "tally-1", tally, "query"), {"name": "items"}).status_code == 200


def refused_everywhere(browser: Browser, alice: Principal, run_id: str) -> None:
    for verb, form in {**write_forms(), "query": {"name": "items"}, "stack-trace": {}}.items():
        response = browser.post(run_url(alice, "tally-1", run_id, verb), form)
        assert response.status_code == 404, verb
        assert b"tally-1" not in response.content
    assert browser.get(run_url(alice, "tally-1", run_id, "reset")).status_code == 404
    assert browser.get(page_of(alice, "namespaces/shop/start-workflow/")).status_code == 404


def test_it_rejects_outsider(alice: Principal, charlie: Principal, engine: EngineProcess, tally: str) -> None:
    refused_everywhere(browser_of(charlie), alice, tally)
    assert not AuditEntry.objects.filter(target_type="workflow").exists()


def test_it_rejects_member_without_grant(alice: Principal, bob: Principal, engine: EngineProcess, tally: str) -> None:
    refused_everywhere(browser_of(bob), alice, tally)


def test_actions_need_a_post(alice: Principal, tally: str) -> None:
    browser = browser_of(alice)
    for verb in ("signal", "query", "stack-trace", "update", "cancel", "terminate"):
        assert browser.get(run_url(alice, "tally-1", tally, verb)).status_code == 405, verb
