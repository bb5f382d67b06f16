"""Issue 7's acceptance, in real Chromium against the web app (daphne) and a real engine, with
the official SDK as client and worker: find a workflow with a filter, open it, signal it from
the page and watch the events arrive live, query it, terminate it and watch the list change;
what a Read-only member and an outsider get; the downloaded history replays; screenshots of
every page kind (light, dark, phone width) are saved as artifacts.

One app serves the module: starting the engine and the web app and seeding people takes
seconds, and each test only adds workflows of its own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from temporalio.client import Schedule, ScheduleActionStartWorkflow, ScheduleIntervalSpec, ScheduleSpec, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from tests.conftest import ROOT
from tests.console.browser_app import ConsoleApp, artifacts_dir, background_sdk, console_app, signed_in
from tests.console.codec_double import ReversingCodec, codec_double
from tests.console.sdk_action_workflows import TASK_QUEUE, Tally
from tests.support.browser import launch_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE_TIMEOUT = 10_000  # ms; the page shows new events within a second, the machine may be busy


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleApp]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    with console_app(tmp_path_factory.mktemp("console-app"), env) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return artifacts_dir(tmp_path, "console")


def test_find_signal_query_and_terminate_live(app: ConsoleApp, browser: Browser, shots: Path, tmp_path: Path) -> None:
    workflow_id = f"order-{uuid.uuid4().hex[:8]}"
    with background_sdk(app) as sdk:
        sdk.start_worker(TASK_QUEUE, [Tally], [])
        sdk.call(lambda: sdk.client.start_workflow(Tally.run, "basket", id=workflow_id, task_queue=TASK_QUEUE))
        # Someone in Tokyo: the console shows times in the browser's zone.
        page = signed_in(browser, app, "owner", timezone_id="Asia/Tokyo")

        # Find it with a filter typed into the List Filter box, submitted with the keyboard.
        page.goto(app.page_url("workflows/"))
        page.get_by_label("List Filter").fill(f"WorkflowId = '{workflow_id}'")
        page.get_by_label("List Filter").press("Enter")
        row = page.locator(f'tr[data-workflow-id="{workflow_id}"]')
        expect(row).to_have_count(1)
        expect(row.locator(".badge")).to_have_text("Running")
        expect(row.locator("time").first).to_contain_text("GMT+9")
        page.screenshot(path=str(shots / "01-list.png"), full_page=True)

        # A second tab keeps the filtered list open: its status changes live later.
        listing = page.context.new_page()
        listing.goto(page.url)
        expect(listing.locator("#console-live-state")).to_contain_text("Live", timeout=LIVE_TIMEOUT)

        row.get_by_role("link", name=workflow_id).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(workflow_id)
        expect(page.locator("#console-live-state")).to_contain_text("Live", timeout=LIVE_TIMEOUT)
        page.evaluate("window.__sameDocument = true")  # gone if anything below reloads the page

        # Signal from the page: the WorkflowExecutionSignaled event appears without a reload.
        page.locator("#action-signal summary").click()
        page.get_by_label("Signal name").fill("add")
        page.locator("#signal_args").fill('"apples"')
        page.get_by_role("button", name="Send signal").click()
        expect(page.locator("#run-action-result")).to_contain_text("Signal 'add' sent")
        signaled = page.locator('#live-events li[data-event-type="WorkflowExecutionSignaled"]')
        expect(signaled).to_have_count(1, timeout=LIVE_TIMEOUT)
        expect(signaled.locator("pre")).to_contain_text("apples")
        # The worker's workflow task that took the signal follows, live as well.
        expect(page.locator('#live-events li[data-event-type="WorkflowTaskCompleted"]')).not_to_have_count(
            0, timeout=LIVE_TIMEOUT
        )
        assert page.evaluate("window.__sameDocument === true")
        page.screenshot(path=str(shots / "02-detail-events-live.png"), full_page=True)

        # Run a query: its answer shows under the panel.
        page.locator("#action-query summary").click()
        page.get_by_label("Query name").fill("items")
        page.get_by_role("button", name="Run query").click()
        expect(page.locator("#action-output")).to_contain_text("apples")

        # The call stack (the __stack_trace query).
        page.get_by_role("button", name="Stack trace").click()
        expect(page.locator("#action-output")).to_contain_text("run")

        # Terminate: the page's status changes live, and so does the list in the other tab.
        page.locator("#action-terminate summary").click()
        page.locator("#terminate_reason").fill("acceptance test")
        page.locator("#terminate_confirm").check()
        page.get_by_role("button", name="Terminate").click()
        expect(page.locator("h1 [data-live-run-status]")).to_have_text("Terminated", timeout=LIVE_TIMEOUT)
        expect(page.locator('#live-events li[data-event-type="WorkflowExecutionTerminated"]')).to_have_count(
            1, timeout=LIVE_TIMEOUT
        )
        assert page.evaluate("window.__sameDocument === true")
        expect(listing.locator(f'tr[data-workflow-id="{workflow_id}"] .badge')).to_have_text(
            "Terminated", timeout=LIVE_TIMEOUT
        )
        listing.screenshot(path=str(shots / "03-list-after-terminate.png"), full_page=True)
        description = sdk.call(lambda: sdk.client.get_workflow_handle(workflow_id).describe())
        assert description.status is not None
        assert description.status.name == "TERMINATED"

        # Every history view, after a reload (the run is closed now).
        page.reload()
        page.screenshot(path=str(shots / "04-detail-events.png"), full_page=True)
        views = page.get_by_role("navigation", name="History views")
        for number, (view, label) in enumerate((("compact", "Compact"), ("timeline", "Timeline"), ("json", "JSON")), 5):
            views.get_by_role("link", name=label, exact=True).click()
            expect(page).to_have_url(re.compile(rf"view={view}"))
            page.screenshot(path=str(shots / f"0{number}-detail-{view}.png"), full_page=True)

        # The downloaded history replays in the SDK's Replayer.
        with page.expect_download() as download_info:
            page.get_by_role("link", name="Download JSON").click()
        saved = tmp_path / "history.json"
        download_info.value.save_as(saved)
        history = WorkflowHistory.from_json(workflow_id, json.loads(saved.read_text()))
        assert any(e.HasField("workflow_execution_signaled_event_attributes") for e in history.events)
        replay = sdk.call(lambda: Replayer(workflows=[Tally]).replay_workflow(history))
        assert replay.replay_failure is None


def test_schedules_and_task_queue_pages(app: ConsoleApp, browser: Browser, shots: Path) -> None:
    schedule_id = f"nightly-{uuid.uuid4().hex[:6]}"
    with background_sdk(app) as sdk:
        sdk.start_worker(TASK_QUEUE, [Tally], [])
        sdk.call(
            lambda: sdk.client.create_schedule(
                schedule_id,
                Schedule(
                    action=ScheduleActionStartWorkflow(
                        "Tally", "nightly", id=f"{schedule_id}-run", task_queue=TASK_QUEUE
                    ),
                    spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
                ),
            )
        )
        page = signed_in(browser, app, "owner")
        page.goto(app.page_url("workflows/"))
        page.get_by_role("link", name="Schedules").first.click()
        expect(page.get_by_role("link", name=schedule_id)).to_be_visible()
        page.screenshot(path=str(shots / "08-schedules.png"), full_page=True)
        page.get_by_role("link", name=schedule_id).click()
        expect(page.get_by_text("Every 1 hour").first).to_be_visible()
        page.screenshot(path=str(shots / "09-schedule.png"), full_page=True)

        page.goto(app.page_url(f"task-queues/{TASK_QUEUE}/"))
        workflow_pollers = page.locator('section[data-task-type="Workflow"]')
        expect(workflow_pollers.locator("tbody tr")).not_to_have_count(0)
        expect(workflow_pollers).to_contain_text(sdk.client.identity)
        page.screenshot(path=str(shots / "10-task-queue.png"), full_page=True)


def test_dark_mode_and_phone_width(app: ConsoleApp, browser: Browser, shots: Path) -> None:
    workflow_id = f"phone-{uuid.uuid4().hex[:8]}"
    with background_sdk(app) as sdk:
        sdk.call(lambda: sdk.client.start_workflow(Tally.run, "x", id=workflow_id, task_queue="nobody-polls"))
    page = signed_in(browser, app, "owner", color_scheme="dark", viewport={"width": 390, "height": 844})
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 21, 26)", background  # the dark palette's --bg
    page.goto(app.page_url("workflows/"))
    expect(page.locator(f'tr[data-workflow-id="{workflow_id}"]')).to_have_count(1)
    for name, url in (("list", page.url), ("detail", None)):
        if url is None:
            page.get_by_role("link", name=workflow_id).click()
            expect(page.get_by_role("heading", level=1)).to_contain_text(workflow_id)
        # Nothing sticks out sideways: wide tables scroll inside their own box.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the {name} page is {overflow}px wider than a phone"
        page.screenshot(path=str(shots / f"11-phone-dark-{name}.png"), full_page=True)


def test_a_reader_sees_no_write_actions_and_an_outsider_nothing(app: ConsoleApp, browser: Browser) -> None:
    workflow_id = f"read-{uuid.uuid4().hex[:8]}"
    with background_sdk(app) as sdk:
        handle = sdk.call(lambda: sdk.client.start_workflow(Tally.run, "x", id=workflow_id, task_queue="nobody-polls"))
    run_id = handle.result_run_id
    detail = app.page_url(f"workflows/{workflow_id}/{run_id}/")

    reader: Page = signed_in(browser, app, "reader")
    reader.goto(detail)
    expect(reader.get_by_role("heading", level=1)).to_contain_text(workflow_id)
    for write in ("Send signal", "Terminate", "Request cancellation", "Send update"):
        expect(reader.get_by_role("button", name=write)).to_have_count(0)
    expect(reader.get_by_role("link", name="Reset…")).to_have_count(0)
    token = reader.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    assert token
    for verb in ("signal", "terminate", "cancel"):
        response = reader.request.post(
            f"{detail.rstrip('/')}/{verb}",
            form={"csrfmiddlewaretoken": token, "name": "add", "args": '"x"', "confirm": "on", "reason": "r"},
            headers={"X-CSRFToken": token},
        )
        assert response.status == 403, (verb, response.status)
    with background_sdk(app) as sdk:
        description = sdk.call(lambda: sdk.client.get_workflow_handle(workflow_id).describe())
    assert description.status is not None
    assert description.status.name == "RUNNING"

    outsider = signed_in(browser, app, "outsider")
    for url in (app.page_url("workflows/"), detail):
        answer = outsider.goto(url)
        assert answer is not None
        assert answer.status == 404, url
        expect(outsider.locator("body")).not_to_contain_text(workflow_id)


def test_the_browser_decodes_payloads_with_the_namespaces_codec_server(app: ConsoleApp, browser: Browser) -> None:
    """Runs last: it gives namespace shop a codec server (through its settings page) and takes it away."""
    workflow_id = f"sealed-{uuid.uuid4().hex[:8]}"
    converter = dataclasses.replace(DataConverter.default, payload_codec=ReversingCodec())
    with codec_double() as codec, background_sdk(app, converter) as sdk:
        handle = sdk.call(
            lambda: sdk.client.start_workflow(Tally.run, "secret order", id=workflow_id, task_queue="nobody-polls")
        )
        page = signed_in(browser, app, "owner")
        page.goto(app.page_url(""))
        page.get_by_label("Codec server endpoint").fill(codec.url)
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_label("Codec server endpoint")).to_have_value(codec.url)
        try:
            page.goto(app.page_url(f"workflows/{workflow_id}/{handle.result_run_id}/"))
            shown = page.locator("#workflow-input")
            expect(shown).to_have_attribute("data-codec", "decoded")
            expect(shown).to_have_text('"secret order"')
            expect(page.get_by_text("Decoded by the codec server.").first).to_be_visible()
            assert codec.namespaces
            assert set(codec.namespaces) == {app.namespace_id}
        finally:
            page.goto(app.page_url(""))
            page.get_by_label("Codec server endpoint").fill("")
            page.get_by_role("button", name="Save settings").click()
            expect(page.get_by_label("Codec server endpoint")).to_have_value("")
    # Without the codec server the console shows what it can: the encoding and the bytes.
    page.goto(app.page_url(f"workflows/{workflow_id}/{handle.result_run_id}/"))
    expect(page.locator("#workflow-input")).to_contain_text("binary/sundial-reversed")
