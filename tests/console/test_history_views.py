"""The run page's history views: a long history arrives in chunks, the compact view groups an
activity's events into one row, the timeline draws activities and timers, the run chain, the
codec server's payloads, and who may look."""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.worker import Worker

import console.views_detail
from accounts.principal import Principal
from accounts.services.members import do_set_member_namespace_access
from console.compact import group_events
from console.history import run_chain
from console.timeline import timeline
from console.workflows import encode_page_token
from namespaces.models import Namespace
from tests.accounts.pages import browser_of, page_of, says, text
from tests.console.conftest import run, sdk
from tests.console.sdk_history_workflows import TASK_QUEUE, Steps, ship, weigh
from tests.namespaces.conftest import Queued
from tests.namespaces.engine_support import EngineProcess

pytestmark = pytest.mark.slow


def run_url(principal: Principal, workflow_id: str, run_id: str, rest: str = "") -> str:
    return page_of(principal, f"namespaces/shop/workflows/{workflow_id}/{run_id}/{rest}")


def shown_ids(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li id="event-(\d+)" data-event-type="', body)]


def more_url(body: str) -> str | None:
    """The URL the sentinel loads the next chunk from (None: no sentinel)."""
    found = re.search(r'<li class="console-more" id="history-more" hx-get="([^"]+)"', body)
    return html.unescape(found.group(1)) if found else None


def signalled(engine: EngineProcess, namespace: Namespace, workflow_id: str, signals: int) -> str:
    """A run no worker serves, signalled ``signals`` times: 2 + signals events. Its run id."""
    namespace_id = namespace.namespace_id

    async def main() -> str:
        client = await sdk(engine, namespace_id)
        handle = await client.start_workflow("Waiting", id=workflow_id, task_queue="nobody-polls")
        for i in range(signals):
            await handle.signal("poke", i)
        return handle.result_run_id or ""

    return run(main)


def signal_more(engine: EngineProcess, namespace: Namespace, workflow_id: str, signals: int) -> None:
    namespace_id = namespace.namespace_id

    async def main() -> None:
        client = await sdk(engine, namespace_id)
        handle = client.get_workflow_handle(workflow_id)
        for i in range(signals):
            await handle.signal("poke", 1000 + i)

    run(main)


def steps(engine: EngineProcess, namespace: Namespace, workflow_id: str, parcel: str) -> tuple[str, Any]:
    """Run ``Steps`` to completion; (run id, result)."""
    namespace_id = namespace.namespace_id

    async def main() -> tuple[str, Any]:
        client = await sdk(engine, namespace_id)
        async with Worker(client, task_queue=TASK_QUEUE, workflows=[Steps], activities=[weigh, ship]):
            handle = await client.start_workflow(
                Steps.run, parcel, id=workflow_id, task_queue=TASK_QUEUE, execution_timeout=timedelta(minutes=2)
            )
            result = await handle.result()
        return handle.result_run_id or "", result

    return run(main)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.views_detail, "FIRST_PAGE", 10)
    monkeypatch.setattr(console.views_detail, "CHUNK", 15)


# --- progressive loading ----------------------------------------------------------------------


def test_a_long_history_arrives_in_chunks(
    alice: Principal, engine: EngineProcess, shop: Namespace, small_pages: None
) -> None:
    run_id = signalled(engine, shop, "long-one", 40)  # 42 events
    client = browser_of(alice)
    page = client.get(run_url(alice, "long-one", run_id))
    assert page.status_code == 200
    body = page.content.decode()
    assert shown_ids(body) == list(range(1, 11))
    assert page.context["live_after"] == 42
    assert says(page, "History (42 events)")
    assert says(page, "Events 11 to 42 are not shown yet. Load more events")
    assert 'hx-trigger="revealed"' in body
    assert '<ol id="live-events" class="console-events"' in body
    assert body.index('id="history-more"') < body.index('id="live-events"')

    signal_more(engine, shop, "long-one", 3)  # events after the page was drawn are the live updates'
    seen = shown_ids(body)
    url = more_url(body)
    chunks = 0
    while url is not None:
        assert "/long-one/" + run_id + "/events?" in url
        chunk = client.get(url)
        assert chunk.status_code == 200
        chunk_body = chunk.content.decode()
        assert "<html" not in chunk_body  # a fragment
        ids = shown_ids(chunk_body)
        assert ids
        assert ids[0] == seen[-1] + 1
        assert len(ids) <= 15
        seen += ids
        url = more_url(chunk_body)
        chunks += 1
    assert seen == list(range(1, 43))
    assert chunks == 3  # 11–25, 26–40, 41–42

    # a fresh page counts the new events and shows every one of them eventually
    again = client.get(run_url(alice, "long-one", run_id))
    assert again.context["live_after"] == 45


def test_a_short_history_has_no_sentinel(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    run_id = signalled(engine, shop, "short-one", 3)
    page = browser_of(alice).get(run_url(alice, "short-one", run_id))
    body = page.content.decode()
    assert shown_ids(body) == [1, 2, 3, 4, 5]
    assert more_url(body) is None
    assert page.context["live_after"] == 5


def test_a_damaged_page_link_is_a_400(
    alice: Principal, engine: EngineProcess, shop: Namespace, small_pages: None
) -> None:
    run_id = signalled(engine, shop, "long-two", 20)
    client = browser_of(alice)
    url = more_url(client.get(run_url(alice, "long-two", run_id)).content.decode())
    assert url is not None
    base = run_url(alice, "long-two", run_id, "events")
    for query in (
        {"page": "not*base64!", "until": "22"},
        {"page": encode_page_token(b"garbage-token"), "until": "22"},  # base64, but not the engine's
        {"page": "", "until": "22"},
        {"page": url.split("page=")[1].split("&")[0], "until": "lots"},
        {"page": url.split("page=")[1].split("&")[0]},
    ):
        response = client.get(base, query)
        assert response.status_code == 400, query
        assert says(response, "the page link is damaged"), query
        assert shown_ids(response.content.decode()) == []
    assert client.get(url).status_code == 200  # the real link still works


def test_an_unknown_view_is_a_400(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    run_id = signalled(engine, shop, "short-two", 1)
    response = browser_of(alice).get(run_url(alice, "short-two", run_id), {"view": "pie"})
    assert response.status_code == 400
    assert says(response, "there is no history view 'pie'")


# --- compact, timeline, JSON ------------------------------------------------------------------


@pytest.fixture
def parcel(engine: EngineProcess, shop: Namespace) -> str:
    run_id, result = steps(engine, shop, "steps-1", "box")
    assert result == {"parcel": "box", "grams": 300, "shipped": False}
    return run_id


def test_the_compact_view_groups_an_activity_into_one_row(alice: Principal, parcel: str) -> None:
    response = browser_of(alice).get(run_url(alice, "steps-1", parcel), {"view": "compact"})
    assert response.status_code == 200
    body = response.content.decode()
    rows = re.findall(r'<tr data-kind="([^"]+)" data-first-event="(\d+)"[^>]*>(.*?)</tr>', body, re.S)
    kinds = [kind for kind, _, _ in rows]
    assert kinds == ["WorkflowExecutionStarted", "Activity", "Activity", "Timer", "WorkflowExecutionCompleted"]
    words = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cells)).split()) for _, _, cells in rows]
    weigh_row, ship_row, timer_row = words[1], words[2], words[3]
    assert weigh_row.startswith("Activity weigh activity id 1 Completed")
    assert re.search(r"Completed .* \d+ ms 300 \d+, \d+, \d+$", weigh_row), weigh_row
    assert ship_row.startswith("Activity ship activity id 2 Failed")
    assert "no courier for box" in ship_row
    assert timer_row.startswith("Timer Timer 1 fires after 300 ms Fired")
    assert words[0].endswith('"box" 1')  # the start row shows the input
    assert '"grams": 300' in words[4]  # the close row shows the result
    assert '<ol id="live-events" class="console-events"' in body
    assert "workflow task" not in text(response).lower()


def test_the_timeline_draws_activities_and_timers(alice: Principal, parcel: str) -> None:
    response = browser_of(alice).get(run_url(alice, "steps-1", parcel), {"view": "timeline"})
    assert response.status_code == 200
    body = response.content.decode()
    bars = re.findall(r'<li class="timeline-row" data-kind="([^"]+)" data-state="([^"]+)">(.*?)</li>', body, re.S)
    assert [(kind, state) for kind, state, _ in bars] == [
        ("Activity", "Completed"),
        ("Activity", "Failed"),
        ("Timer", "Fired"),
    ]
    for _, _, row in bars:
        assert re.search(r'class="timeline-bar[^"]*" style="margin-left:[\d.]+%;width:[\d.]+%"', row)
    assert 'class="timeline-bar failed"' in bars[1][2]
    assert says(response, "weigh Activity · Completed · starts +")
    assert says(response, "Timer 1 Timer · Fired · starts +")
    assert "live-events" not in body  # the live updates say "reload" on this view


def test_the_json_view_and_the_download_still_replay(alice: Principal, parcel: str) -> None:
    client = browser_of(alice)
    view = client.get(run_url(alice, "steps-1", parcel), {"view": "json"})
    shown = re.search(r'id="history-json" tabindex="0">(.*?)</pre>', view.content.decode(), re.S)
    assert shown is not None
    document = json.loads(html.unescape(shown.group(1)))
    download = client.get(run_url(alice, "steps-1", parcel, "history.json"))
    assert json.loads(download.content) == document


def test_the_summary_shows_the_result_and_the_run_chain(alice: Principal, parcel: str) -> None:
    response = browser_of(alice).get(run_url(alice, "steps-1", parcel))
    assert says(response, 'Result { "grams": 300, "parcel": "box", "shipped": false }')
    assert says(response, "Run chain This is the only run of its chain.")
    body = response.content.decode()
    assert 'id="chain-previous"' not in body
    assert 'id="chain-first"' not in body


# --- pure parts -------------------------------------------------------------------------------


def started(run_id: str, *, previous: str = "", first: str = "") -> HistoryEvent:
    event = HistoryEvent(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    attrs = event.workflow_execution_started_event_attributes
    attrs.original_execution_run_id = run_id
    attrs.continued_execution_run_id = previous
    attrs.first_execution_run_id = first
    return event


def test_the_run_chain_names_the_previous_and_first_runs() -> None:
    chain = run_chain([started("r3", previous="r2", first="r1")], run_id="r3")
    assert (chain.previous_run_id, chain.first_run_id, chain.is_first) == ("r2", "r1", False)
    alone = run_chain([started("r1", first="r1")], run_id="r1")
    assert (alone.previous_run_id, alone.first_run_id, alone.is_first) == ("", "r1", True)
    assert run_chain([], run_id="r9", first_run_id="r7").first_run_id == "r7"


def _event(event_id: int, event_type: int, seconds: float, **attrs: Any) -> HistoryEvent:
    event = HistoryEvent(event_id=event_id, event_type=event_type)  # type: ignore[arg-type]
    event.event_time.FromDatetime(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds))
    for path, value in attrs.items():
        target: Any = event
        *parents, leaf = path.split("__")
        for part in parents:
            target = getattr(target, part)
        setattr(target, leaf, value)
    return event


def test_groups_and_bars_of_an_open_activity_and_a_child() -> None:
    e = EventType
    events = [
        _event(1, e.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0),
        _event(5, e.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 1, activity_task_scheduled_event_attributes__activity_id="a"),
        _event(
            6,
            e.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            1,
            start_child_workflow_execution_initiated_event_attributes__workflow_id="kid",
        ),
        _event(
            7,
            e.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
            2,
            child_workflow_execution_started_event_attributes__initiated_event_id=6,
        ),
        _event(8, e.EVENT_TYPE_ACTIVITY_TASK_STARTED, 3, activity_task_started_event_attributes__scheduled_event_id=5),
        _event(
            9,
            e.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
            5,
            child_workflow_execution_completed_event_attributes__initiated_event_id=6,
        ),
    ]
    groups = group_events(events)
    assert [(g.kind, g.state, g.event_ids, g.is_open) for g in groups] == [
        ("WorkflowExecutionStarted", "WorkflowExecutionStarted", "1", False),
        ("Activity", "Started", "5, 8", True),
        ("Child workflow", "Completed", "6, 7, 9", False),
    ]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    drawn = timeline(groups, start=start, end=start + timedelta(seconds=10))
    assert [(b.kind, b.left, b.width, b.duration) for b in drawn.bars] == [
        ("Activity", 10.0, 90.0, ""),  # open: reaches the axis end
        ("Child workflow", 10.0, 40.0, "4.0 s"),
    ]
    assert [t.label for t in drawn.ticks] == ["+0 ms", "+2.5 s", "+5.0 s", "+7.5 s", "+10.0 s"]


# --- the codec server -------------------------------------------------------------------------


def test_payloads_carry_their_stored_form_for_the_codec_server(alice: Principal, parcel: str, shop: Namespace) -> None:
    Namespace.objects.filter(pk=shop.pk).update(
        codec_endpoint="http://localhost:8888/codec/", codec_include_cross_origin_credentials=True
    )
    response = browser_of(alice).get(run_url(alice, "steps-1", parcel))
    body = response.content.decode()
    config = re.search(r'<div id="console-codec" hidden ([^>]*)>', body)
    assert config is not None
    assert 'data-endpoint="http://localhost:8888/codec"' in config.group(1)
    assert f'data-namespace="{shop.namespace_id}"' in config.group(1)
    assert 'data-credentials="include"' in config.group(1)
    assert re.search(r'<script src="/static/js/console-codec\.js[^"]*" defer></script>', body)

    def stored(element_id: str) -> list[Any]:
        found = re.search(rf'<pre class="payload" id="{element_id}" data-payloads="([^"]+)">', body)
        assert found is not None, element_id
        payloads = json.loads(html.unescape(found.group(1)))["payloads"]
        return [
            (base64.b64decode(p["metadata"]["encoding"]).decode(), json.loads(base64.b64decode(p["data"])))
            for p in payloads
        ]

    assert stored("workflow-input") == [("json/plain", "box")]
    assert stored("workflow-result") == [("json/plain", {"parcel": "box", "grams": 300, "shipped": False})]
    # event attributes' payloads too (the activity's input here)
    scheduled = re.search(r'data-event-type="ActivityTaskScheduled">.*?</li>', body, re.S)
    assert scheduled is not None
    assert "input, as the codec server decodes it" in text_of(scheduled.group(0))
    assert "data-payloads=" in scheduled.group(0)


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_without_a_codec_server_the_page_has_no_codec_script(alice: Principal, parcel: str) -> None:
    body = browser_of(alice).get(run_url(alice, "steps-1", parcel)).content.decode()
    assert "data-payloads" not in body
    assert "console-codec" not in body


# --- who may look -----------------------------------------------------------------------------


def test_a_reader_sees_every_view(
    alice: Principal, bob: Principal, queued: Queued, engine: EngineProcess, shop: Namespace, small_pages: None
) -> None:
    run_id = signalled(engine, shop, "long-three", 12)
    assert bob.membership is not None
    member_id = bob.membership.public_id
    queued.commit(
        lambda: do_set_member_namespace_access(alice, member_id=member_id, namespace="shop", permission="read")
    )
    client = browser_of(bob)
    for view in ("events", "compact", "timeline", "json"):
        response = client.get(run_url(alice, "long-three", run_id), {"view": view})
        assert response.status_code == 200, view
    url = more_url(client.get(run_url(alice, "long-three", run_id)).content.decode())
    assert url is not None
    assert shown_ids(client.get(url).content.decode()) == [11, 12, 13, 14]


def test_it_rejects_outsider(
    alice: Principal, charlie: Principal, engine: EngineProcess, shop: Namespace, small_pages: None
) -> None:
    run_id = signalled(engine, shop, "long-four", 12)
    url = more_url(browser_of(alice).get(run_url(alice, "long-four", run_id)).content.decode())
    assert url is not None
    client = browser_of(charlie)
    for view in ("events", "compact", "timeline", "json"):
        response = client.get(run_url(alice, "long-four", run_id), {"view": view})
        assert response.status_code == 404, view
        assert b"long-four" not in response.content
    chunk = client.get(url)
    assert chunk.status_code == 404
    assert b"event-11" not in chunk.content
