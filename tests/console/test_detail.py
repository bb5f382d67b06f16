"""One run's page: summary, decoded input and result, pending activities, every history event
in order, the JSON view, and the download that the SDK's replayer accepts."""

from __future__ import annotations

import asyncio
import html
import json
import re

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from accounts.principal import Principal
from console.history import event_type_name
from namespaces.models import Namespace
from tests.accounts.pages import browser_of, page_of, says, text
from tests.console.conftest import greet, run, sdk, with_worker
from tests.console.sdk_workflows import TASK_QUEUE, Greeting
from tests.namespaces.engine_support import EngineProcess

pytestmark = pytest.mark.slow


def run_url(principal: Principal, workflow_id: str, run_id: str, rest: str = "") -> str:
    return page_of(principal, f"namespaces/shop/workflows/{workflow_id}/{run_id}/{rest}")


def shown_events(response) -> list[tuple[int, str]]:
    """(event id, type name) of the history list, in page order."""
    page = response.content.decode()
    return [(int(i), t) for i, t in re.findall(r'<li id="event-(\d+)" data-event-type="([A-Za-z]+)">', page)]


def sdk_history(engine: EngineProcess, namespace: Namespace, workflow_id: str) -> tuple[str, list[tuple[int, str]]]:
    """The run id and (event id, type name) of the run's history, as the SDK reads it."""
    namespace_id = namespace.namespace_id

    async def main() -> tuple[str, list[tuple[int, str]]]:
        client = await sdk(engine, namespace_id)
        handle = client.get_workflow_handle(workflow_id)
        history = await handle.fetch_history()
        run_id = history.events[0].workflow_execution_started_event_attributes.original_execution_run_id
        return run_id, [(e.event_id, event_type_name(e.event_type)) for e in history.events]

    return run(main)


@pytest.fixture
def ada(engine: EngineProcess, shop: Namespace) -> tuple[str, list[tuple[int, str]]]:
    assert greet(engine, shop, {"greet-ada": "Ada"}) == {"greet-ada": "Hello, Ada!"}
    return sdk_history(engine, shop, "greet-ada")


def test_it_shows_the_summary_input_result_and_every_event(
    alice: Principal, ada: tuple[str, list[tuple[int, str]]]
) -> None:
    run_id, events = ada
    response = browser_of(alice).get(run_url(alice, "greet-ada", run_id))
    assert response.status_code == 200
    assert says(response, "Status Completed")
    assert says(response, "Workflow type Greeting")
    assert says(response, "Workflow id greet-ada")
    assert says(response, f"Run id {run_id}")
    assert says(response, f"Task queue {TASK_QUEUE}")
    assert says(response, f"History length {len(events)} events")
    assert re.search(r"Duration [\d.]+ (ms|s)", text(response))
    page = response.content.decode()
    assert '<pre class="payload" id="workflow-input">&quot;Ada&quot;</pre>' in page
    assert '<pre class="payload" id="workflow-result">&quot;Hello, Ada!&quot;</pre>' in page

    assert shown_events(response) == events
    names = [name for _, name in events]
    assert names[0] == "WorkflowExecutionStarted"
    assert names[-1] == "WorkflowExecutionCompleted"
    for expected in (
        "ActivityTaskScheduled",
        "ActivityTaskStarted",
        "ActivityTaskCompleted",
        "WorkflowExecutionSignaled",
    ):
        assert expected in names
    # each event expands to its attributes, payloads decoded
    signaled = re.search(r'data-event-type="WorkflowExecutionSignaled">.*?</li>', page, re.S)
    assert signaled is not None
    assert "<details>" in signaled.group(0)
    assert "finish" in signaled.group(0)  # the summary names the signal
    assert "&quot;signalName&quot;: &quot;finish&quot;" in signaled.group(0)
    assert "&quot;input&quot;: [\n    &quot;!&quot;\n  ]" in signaled.group(0)
    scheduled = re.search(r'data-event-type="ActivityTaskScheduled">.*?</li>', page, re.S)
    assert scheduled is not None
    assert "compose_greeting" in scheduled.group(0)
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+\+00:00" data-local>', scheduled.group(0))


def test_the_json_view_and_the_download_replay(alice: Principal, ada: tuple[str, list[tuple[int, str]]]) -> None:
    run_id, events = ada
    client = browser_of(alice)
    view = client.get(run_url(alice, "greet-ada", run_id), {"view": "json"})
    assert view.status_code == 200
    shown = re.search(
        r'<pre class="payload console-history-json" id="history-json" tabindex="0">(.*?)</pre>',
        view.content.decode(),
        re.S,
    )
    assert shown is not None
    document = json.loads(html.unescape(shown.group(1)))
    assert [int(e["eventId"]) for e in document["events"]] == [i for i, _ in events]

    download = client.get(run_url(alice, "greet-ada", run_id, "history.json"))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/json"
    assert download["Content-Disposition"] == f'attachment; filename="greet-ada_{run_id}.json"'
    body = download.content.decode()
    assert json.loads(body) == document
    history = WorkflowHistory.from_json("greet-ada", body)
    assert history.run_id == run_id

    async def replay() -> None:
        await Replayer(workflows=[Greeting]).replay_workflow(history)

    run(replay)  # raises if the history does not replay


def test_a_running_workflow_shows_its_pending_activity(
    alice: Principal, engine: EngineProcess, shop: Namespace
) -> None:
    async def body(client: Client) -> str:
        # no workflow timeout: it would cap the activity's retries, and the hour-long backoff
        # would end them at once
        handle = await client.start_workflow(Greeting.run, "Flaky", id="greet-flaky", task_queue=TASK_QUEUE)
        for _ in range(200):  # until the first attempt has failed and the retry waits
            description = await handle.describe()
            pending = description.raw_description.pending_activities
            if pending and pending[0].attempt == 2:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the activity's first attempt did not fail")
        return handle.result_run_id or ""

    run_id = with_worker(engine, shop, body)
    response = browser_of(alice).get(run_url(alice, "greet-flaky", run_id))
    assert response.status_code == 200
    assert says(response, "Status Running")
    assert says(response, "The workflow is still running.")
    assert says(response, 'Input "Flaky"')
    table = re.search(r'<table class="console-pending">.*?</table>', response.content.decode(), re.S)
    assert table is not None
    row = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", table.group(0))).split())
    assert "compose_greeting 1 Scheduled 2 greeting backend unavailable" in row
    assert re.search(r'<time datetime="[^"]+" data-local>', table.group(0)), "no last heartbeat time"
    assert shown_events(response)[-1][1] == "ActivityTaskScheduled"


def test_an_unknown_workflow_is_not_found(alice: Principal, shop: Namespace) -> None:
    client = browser_of(alice)
    run_id = "4f2d1f0e-0000-4000-8000-000000000000"
    response = client.get(run_url(alice, "no-such-workflow", run_id))
    assert response.status_code == 404
    assert says(response, "Not found")
    assert says(response, "no-such-workflow")  # the engine's message names it
    download = client.get(run_url(alice, "no-such-workflow", run_id, "history.json"))
    assert download.status_code == 404


def test_event_type_names_are_temporals() -> None:
    assert event_type_name(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) == "WorkflowExecutionStarted"
    assert (
        event_type_name(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) == "WorkflowExecutionContinuedAsNew"
    )
    assert event_type_name(9999) == "Unknown(9999)"
