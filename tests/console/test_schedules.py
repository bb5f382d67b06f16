"""The schedules pages: the spec in words (pure), then list, detail, create, edit, pause, resume,
trigger, backfill and delete against a real engine, checked with the SDK; who may do what
(a reader sees no controls and is refused each POST, another account sees nothing) and the
audit entries the changes leave."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from temporalio.api.schedule.v1 import IntervalSpec, Schedule, ScheduleSpec
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleState,
)
from temporalio.client import Schedule as SdkSchedule
from temporalio.client import ScheduleSpec as SdkScheduleSpec

from accounts.principal import Principal
from accounts.services.members import do_set_member_namespace_access
from audit.models import AuditEntry, AuditStatus
from console.schedule_spec import calendar_in_words, calendar_to_cron, interval_in_words, spec_in_words
from console.schedules import Definition, apply_definition, definition_of
from engine.schedules.spec import compile_spec
from namespaces.models import Namespace
from tests.accounts.pages import browser_of, page_of, says, text
from tests.console.conftest import run, sdk
from tests.namespaces.conftest import Queued
from tests.namespaces.engine_support import EngineProcess

slow = pytest.mark.slow

ODD_ID = "nightly/report ☀ été"  # a slash, a space, unicode

# --- the spec in words (pure) -----------------------------------------------------------------


def canonical(*cron: str) -> ScheduleSpec:
    """The spec as DescribeSchedule returns it: the engine's own parser and canonical form."""
    return compile_spec(ScheduleSpec(cron_string=list(cron)), schedule_id="s").canonical


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 9 * * 1-5", "At 09:00, Monday through Friday"),
        ("0 9 * * 1,3,5", "At 09:00, Monday, Wednesday and Friday"),
        ("5 4 * * sun", "At 04:05, only on Sunday"),
        ("@daily", "Every day at 00:00"),
        ("30 8,17 * * *", "Every day at 08:30 and 17:30"),
        ("*/15 * * * *", "Every 15 minutes"),
        ("* * * * *", "Every minute"),
        ("0 * * * *", "Every hour, on the hour"),
        ("20 * * * *", "At 20 minutes past every hour"),
        ("0 */2 * * *", "Every 2 hours, on the hour"),
        ("0 9-17 * * *", "Every hour from 09:00 to 17:00"),
        ("0 0 1 * *", "At 00:00, on day 1 of the month"),
        ("0 12 * jan-mar *", "At 12:00, in January through March"),
        ("15 10 * * * # standup", "Every day at 10:15 (standup)"),
        ("1-30/3 2 3 4 5", "Cron 1-30/3 2 3 4 5"),  # not a common shape: the expression itself
    ],
)
def test_it_describes_cron_in_words(cron: str, words: str) -> None:
    assert spec_in_words(canonical(cron)) == [words]


def test_it_names_the_time_zone_window_and_exclusions() -> None:
    spec = canonical("CRON_TZ=Europe/Paris 0 9 * * 1-5")
    spec.exclude_structured_calendar.extend(canonical("* * * aug *").structured_calendar)
    spec.start_time.FromDatetime(datetime(2030, 1, 1, tzinfo=UTC))
    assert spec_in_words(spec) == [
        "At 09:00, Monday through Friday",
        "Except: Every minute, in August",
        "Not before 2030-01-01 00:00 UTC",
        "In time zone Europe/Paris",
    ]
    assert spec_in_words(ScheduleSpec()) == ["Never (no calendar or interval)"]


@pytest.mark.parametrize(
    ("seconds", "phase", "words"),
    [
        (1800, 0, "Every 30 minutes"),
        (3600, 300, "Every 1 hour, offset 5 minutes"),
        (5400, 0, "Every 90 minutes"),
        (86400 * 2, 3600, "Every 2 days, offset 1 hour"),
        (45, 0, "Every 45 seconds"),
    ],
)
def test_it_describes_intervals_in_words(seconds: int, phase: int, words: str) -> None:
    interval = IntervalSpec()
    interval.interval.FromSeconds(seconds)
    if phase:
        interval.phase.FromSeconds(phase)
    assert interval_in_words(interval) == words


@pytest.mark.parametrize(
    "cron", ["0 9 * * 1-5", "*/15 * * * *", "1-30/3 2 3 4 5", "0 0 1 1 * 2030", "5 10 * * * # a note", "30 0 9 * * * *"]
)
def test_a_calendar_turns_back_into_the_same_cron(cron: str) -> None:
    (calendar,) = canonical(cron).structured_calendar
    (again,) = canonical(calendar_to_cron(calendar)).structured_calendar
    assert again == calendar
    assert calendar_in_words(calendar)


def test_the_form_definition_round_trips_and_keeps_what_the_form_does_not_show() -> None:
    existing = Schedule()
    existing.spec.jitter.FromSeconds(30)
    existing.action.start_workflow.workflow_execution_timeout.FromSeconds(600)
    definition = Definition(
        schedule_id="s",
        workflow_type="Report",
        task_queue="reports",
        workflow_id="report",
        input_json='{"region": "eu"}',
        cron_lines=["0 9 * * 1-5"],
        time_zone="Europe/Paris",
        overlap="BufferOne",
        paused=True,
        note="holidays",
        start=datetime(2030, 1, 1, tzinfo=UTC),
    )
    schedule = apply_definition(existing, definition)
    assert schedule.spec.jitter.seconds == 30
    assert schedule.action.start_workflow.workflow_execution_timeout.seconds == 600
    schedule.spec.CopyFrom(compile_spec(schedule.spec, schedule_id="s").canonical)  # as the engine answers
    back = definition_of("s", schedule)
    assert back.cron_lines == ["0 9 * * 1-5"]
    assert back.input_json == '{\n  "region": "eu"\n}'
    assert (back.workflow_type, back.task_queue, back.workflow_id) == ("Report", "reports", "report")
    assert (back.time_zone, back.overlap, back.paused, back.note) == ("Europe/Paris", "BufferOne", True, "holidays")
    assert back.start == datetime(2030, 1, 1, tzinfo=UTC)
    interval = apply_definition(Schedule(), Definition("s", "T", "q", "w", interval_seconds=3600, offset_seconds=300))
    assert (definition_of("s", interval).interval_seconds, definition_of("s", interval).offset_seconds) == (3600, 300)


# --- helpers for the engine tests -------------------------------------------------------------


def url(principal: Principal, rest: str = "") -> str:
    return page_of(principal, f"namespaces/shop/schedules/{rest}")


def detail_url(principal: Principal, schedule_id: str, verb: str = "") -> str:
    path = quote(schedule_id)
    return url(principal, f"{path}/{verb}" if verb else f"{path}/")


def form_data(schedule_id: str, **changes: Any) -> dict[str, Any]:
    data = {
        "schedule_id": schedule_id,
        "workflow_type": "Report",
        "task_queue": "reports",
        "workflow_id": "report",
        "input": '{"region": "eu"}',
        "spec_kind": "interval",
        "every": "30",
        "every_unit": "minutes",
        "offset": "",
        "offset_unit": "minutes",
        "cron": "",
        "time_zone": "",
        "overlap": "Skip",
        "note": "",
        "start": "",
        "end": "",
    }
    data.update(changes)
    return data


def describe(engine: EngineProcess, namespace: Namespace, schedule_id: str) -> ScheduleDescription:
    namespace_id = namespace.namespace_id

    async def main() -> ScheduleDescription:
        client = await sdk(engine, namespace_id)
        return await client.get_schedule_handle(schedule_id).describe()

    return run(main)


def schedule_ids(engine: EngineProcess, namespace: Namespace) -> list[str]:
    namespace_id = namespace.namespace_id

    async def main() -> list[str]:
        client = await sdk(engine, namespace_id)
        return [entry.id async for entry in await client.list_schedules()]

    return run(main)


def create(
    engine: EngineProcess, namespace: Namespace, schedule_id: str, *, every: timedelta, paused: bool = False
) -> None:
    namespace_id = namespace.namespace_id

    async def main() -> None:
        client: Client = await sdk(engine, namespace_id)
        await client.create_schedule(
            schedule_id,
            SdkSchedule(
                action=ScheduleActionStartWorkflow("Report", id="report", task_queue="nobody-polls-reports"),
                spec=SdkScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
                state=ScheduleState(paused=paused, note="made by the SDK" if paused else None),
            ),
        )

    run(main)


def wait_for(check: Callable[[], bool], *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def entries(principal: Principal, operation: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(account_code=principal.account.account_id, operation=operation).order_by("seq")
    )


# --- create, list, detail ---------------------------------------------------------------------


@slow
def test_it_creates_a_schedule_through_the_form(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    client = browser_of(alice)
    empty = client.get(url(alice))
    assert empty.status_code == 200
    assert says(empty, "No schedules in")
    assert says(empty, "Create one here")

    form = client.get(url(alice, "new"))
    assert form.status_code == 200
    assert says(form, "Workflow id prefix")
    response = client.post(url(alice, "new"), form_data(ODD_ID, offset="5", every="1", every_unit="hours"))
    assert response.status_code == 302
    assert response["Location"] == detail_url(alice, ODD_ID)

    described = describe(engine, shop, ODD_ID)
    assert [(i.every, i.offset) for i in described.schedule.spec.intervals] == [
        (timedelta(hours=1), timedelta(minutes=5))
    ]
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue, action.id) == ("Report", "reports", "report")
    assert not described.schedule.state.paused

    detail = client.get(response["Location"])
    assert detail.status_code == 200
    assert says(detail, f"Schedule {ODD_ID} created.")
    assert says(detail, "Runs Every 1 hour, offset 5 minutes")
    assert says(detail, "Workflow type Report")
    assert says(detail, "Overlap policy Skip")
    assert (
        '<pre class="payload" id="schedule-input">{\n  &quot;region&quot;: &quot;eu&quot;\n}</pre>'
        in detail.content.decode()
    )
    upcoming = re.findall(r'<li><time datetime="([^"]+)" data-local>', detail.content.decode())
    assert len(upcoming) == 10
    first = datetime.fromisoformat(upcoming[0])
    assert first.minute == 5
    assert first > datetime.now(UTC)

    listing = client.get(url(alice))
    assert says(listing, f"{ODD_ID} Every 1 hour, offset 5 minutes Report Active")
    assert f'href="{detail_url(alice, ODD_ID)}"' in listing.content.decode()

    (entry,) = entries(alice, "CreateSchedule")
    assert entry.status == AuditStatus.OK
    assert (entry.target_type, entry.target_id) == ("schedule", f"{shop.namespace_id}/{ODD_ID}")
    assert entry.details["workflow_type"] == "Report"


@slow
def test_cron_schedules_read_in_words(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    client = browser_of(alice)
    data = form_data("weekday-report", spec_kind="cron", cron="0 9 * * 1-5\n\n@every 90m", time_zone="Europe/Paris")
    assert client.post(url(alice, "new"), data).status_code == 302
    detail = client.get(detail_url(alice, "weekday-report"))
    assert says(detail, "Runs At 09:00, Monday through Friday Every 90 minutes In time zone Europe/Paris")
    assert says(detail, "Time zone Europe/Paris")
    listing = client.get(url(alice))
    assert says(listing, "weekday-report At 09:00, Monday through Friday")


@slow
def test_a_bad_cron_is_refused_and_nothing_is_created(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    response = browser_of(alice).post(url(alice, "new"), form_data("bad", spec_kind="cron", cron="61 * * * *"))
    assert response.status_code == 400
    assert says(response, "The engine refused this schedule: invalid schedule spec: cron_string[0] '61 * * * *'")
    assert says(response, "minute")
    assert 'value="bad"' in response.content.decode()  # the form keeps what was typed
    assert schedule_ids(engine, shop) == []
    (entry,) = entries(alice, "CreateSchedule")
    assert entry.status == AuditStatus.ERROR
    assert "cron_string[0]" in entry.error


@slow
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"every": ""}, "Say how often the schedule runs."),
        ({"spec_kind": "cron"}, "Enter at least one cron expression."),
        ({"input": "{not json"}, "This is not JSON"),
        ({"offset": "30"}, "The offset must be shorter than the interval."),
        ({"start": "2030-01-02T00:00", "end": "2030-01-01T00:00"}, "The end is before the start."),
        ({"start": "yesterday"}, "Enter a date and time like"),
        ({"overlap": "Sometimes"}, "Select a valid choice"),
        ({"workflow_type": ""}, "This field is required."),
    ],
)
def test_malformed_forms_are_400_and_change_nothing(
    alice: Principal, engine: EngineProcess, shop: Namespace, changes: dict[str, str], message: str
) -> None:
    response = browser_of(alice).post(url(alice, "new"), form_data("x", **changes))
    assert response.status_code == 400
    assert says(response, message)
    assert schedule_ids(engine, shop) == []
    assert entries(alice, "CreateSchedule") == []


@slow
def test_an_existing_id_is_a_conflict(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    create(engine, shop, "taken", every=timedelta(hours=1))
    response = browser_of(alice).post(url(alice, "new"), form_data("taken"))
    assert response.status_code == 409
    assert says(response, "already registered")


# --- edit -------------------------------------------------------------------------------------


@slow
def test_edit_prefills_and_changes_the_spec(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    client = browser_of(alice)
    data = form_data(ODD_ID, spec_kind="cron", cron="0 9 * * 1-5", overlap="BufferOne")
    assert client.post(url(alice, "new"), data).status_code == 302

    form = client.get(detail_url(alice, ODD_ID, "edit"))
    assert form.status_code == 200
    page = html.unescape(form.content.decode())
    assert re.search(r'name="cron"[^>]*>\s*0 9 \* \* 1-5</textarea>', page)
    assert 'value="BufferOne" selected' in page or 'value="BufferOne" id' in page
    token = re.search(r'name="conflict_token" value="([^"]*)"', page)
    assert token is not None

    changed = form_data(ODD_ID, spec_kind="cron", cron="30 18 * * 5", overlap="AllowAll", conflict_token=token[1])
    changed.pop("schedule_id")  # disabled on the edit form: the id cannot change
    response = client.post(detail_url(alice, ODD_ID, "edit"), changed)
    assert response.status_code == 302
    described = describe(engine, shop, ODD_ID)
    (calendar,) = described.schedule.spec.calendars
    assert [(r.start, r.end) for r in calendar.hour] == [(18, 18)]
    assert [(r.start, r.end) for r in calendar.day_of_week] == [(5, 5)]
    detail = client.get(response["Location"])
    assert says(detail, f"Schedule {ODD_ID} updated.")
    assert says(detail, "Runs At 18:30, only on Friday")
    assert says(detail, "Overlap policy AllowAll")
    (entry,) = entries(alice, "UpdateSchedule")
    assert (entry.status, entry.target_id) == (AuditStatus.OK, f"{shop.namespace_id}/{ODD_ID}")

    # the form opened before that change is now stale: a conflict, not a silent overwrite
    stale = client.post(detail_url(alice, ODD_ID, "edit"), {**changed, "cron": "0 1 * * *"})
    assert stale.status_code == 409
    assert says(stale, "Someone changed this schedule since the form was opened")
    assert [(r.start, r.end) for r in describe(engine, shop, ODD_ID).schedule.spec.calendars[0].hour] == [(18, 18)]


# --- pause, resume, trigger, backfill, delete -------------------------------------------------


@slow
def test_pause_and_resume(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    create(engine, shop, ODD_ID, every=timedelta(hours=1))
    client = browser_of(alice)
    response = client.post(detail_url(alice, ODD_ID, "pause"), {"note": "holidays"})
    assert response.status_code == 302
    state = describe(engine, shop, ODD_ID).schedule.state
    assert (state.paused, state.note) == (True, "holidays")
    detail = client.get(response["Location"])
    assert says(detail, f"Schedule {ODD_ID} paused.")
    assert says(detail, "State Paused — holidays")
    assert says(detail, "Resume")
    assert says(client.get(url(alice)), f"{ODD_ID} Every 1 hour Report Paused paused")

    assert client.post(detail_url(alice, ODD_ID, "resume"), {"note": ""}).status_code == 302
    state = describe(engine, shop, ODD_ID).schedule.state
    assert (state.paused, state.note) == (False, "Resumed from the console")
    assert [e.details for e in entries(alice, "PatchSchedule")] == [{"pause": "holidays"}, {"unpause": ""}]


@slow
def test_trigger_starts_a_run_shown_in_recent_runs(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    create(engine, shop, ODD_ID, every=timedelta(days=1), paused=True)
    client = browser_of(alice)
    assert says(client.get(detail_url(alice, ODD_ID)), "The schedule has not started a run yet.")
    response = client.post(detail_url(alice, ODD_ID, "trigger"))
    assert response.status_code == 302
    wait_for(lambda: bool(describe(engine, shop, ODD_ID).info.recent_actions))
    (action,) = describe(engine, shop, ODD_ID).info.recent_actions
    started = action.action
    assert isinstance(started, ScheduleActionExecutionStartWorkflow)
    detail = client.get(detail_url(alice, ODD_ID))
    assert says(detail, f"Schedule {ODD_ID} triggered")
    run_link = page_of(alice, f"namespaces/shop/workflows/{started.workflow_id}/{started.first_execution_run_id}/")
    assert f'href="{run_link}"' in detail.content.decode()
    assert says(detail, f"{started.workflow_id} Running")
    assert started.workflow_id.startswith("report-")


@slow
def test_backfill_runs_the_missed_times(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    create(engine, shop, "hourly", every=timedelta(hours=1))
    client = browser_of(alice)
    assert client.get(detail_url(alice, "hourly", "backfill")).status_code == 200
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start, end = now - timedelta(hours=3), now - timedelta(hours=1)
    fmt = "%Y-%m-%dT%H:%M"
    bad = client.post(detail_url(alice, "hourly", "backfill"), {"start": end.strftime(fmt), "end": start.strftime(fmt)})
    assert bad.status_code == 400
    assert says(bad, "The end is before the start.")
    assert describe(engine, shop, "hourly").info.num_actions == 0

    response = client.post(
        detail_url(alice, "hourly", "backfill"),
        {"start": start.strftime(fmt), "end": end.strftime(fmt), "overlap": "AllowAll"},
    )
    assert response.status_code == 302
    wait_for(lambda: describe(engine, shop, "hourly").info.num_actions == 3)
    actions = [a.action for a in describe(engine, shop, "hourly").info.recent_actions]
    ids = sorted(a.workflow_id for a in actions if isinstance(a, ScheduleActionExecutionStartWorkflow))
    assert ids == [f"report-{(start + timedelta(hours=h)):%Y-%m-%dT%H:%M:%SZ}" for h in range(3)]
    assert says(client.get(response["Location"]), "backfill from")
    (entry,) = entries(alice, "PatchSchedule")
    assert entry.details["backfill"]["overlap"] == "AllowAll"


@slow
def test_delete_needs_confirmation(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    create(engine, shop, ODD_ID, every=timedelta(hours=1))
    client = browser_of(alice)
    unconfirmed = client.post(detail_url(alice, ODD_ID, "delete"))
    assert unconfirmed.status_code == 400
    assert says(unconfirmed, "Tick the box to confirm the deletion.")
    assert schedule_ids(engine, shop) == [ODD_ID]

    response = client.post(detail_url(alice, ODD_ID, "delete"), {"confirm": "yes"})
    assert response.status_code == 302
    assert response["Location"] == url(alice)
    assert schedule_ids(engine, shop) == []
    assert says(client.get(response["Location"]), f"Schedule {ODD_ID} deleted.")
    assert client.get(detail_url(alice, ODD_ID)).status_code == 404
    (entry,) = entries(alice, "DeleteSchedule")
    assert (entry.status, entry.target_id) == (AuditStatus.OK, f"{shop.namespace_id}/{ODD_ID}")
    # an engine refusal (it is gone) is shown and recorded
    again = client.post(detail_url(alice, ODD_ID, "delete"), {"confirm": "yes"})
    assert again.status_code == 404
    assert [e.status for e in entries(alice, "DeleteSchedule")] == [AuditStatus.OK, AuditStatus.ERROR]


# --- who may do what --------------------------------------------------------------------------

WRITES = ["pause", "resume", "trigger", "delete", "backfill", "edit"]


@slow
def test_a_reader_sees_no_controls_and_is_refused(
    alice: Principal, bob: Principal, queued: Queued, engine: EngineProcess, shop: Namespace
) -> None:
    create(engine, shop, ODD_ID, every=timedelta(hours=1))
    assert bob.membership is not None
    member_id = bob.membership.public_id
    queued.commit(
        lambda: do_set_member_namespace_access(alice, member_id=member_id, namespace="shop", permission="read")
    )
    client = browser_of(bob)
    listing, detail = client.get(url(alice)), client.get(detail_url(alice, ODD_ID))
    assert listing.status_code == detail.status_code == 200
    assert says(detail, "Runs Every 1 hour")
    for control in ("Create schedule", "Trigger now", "Pause", "Backfill", "Delete schedule", "Edit"):
        assert control not in text(listing), control
        assert control not in text(detail), control
    for verb in WRITES:
        response = client.post(detail_url(alice, ODD_ID, verb), {"confirm": "yes", "note": "x"})
        assert response.status_code == 403, verb
        assert says(response, "you need Write permission on namespace 'shop'")
    for page in (url(alice, "new"), detail_url(alice, ODD_ID, "edit"), detail_url(alice, ODD_ID, "backfill")):
        assert client.get(page).status_code == 403
    assert client.post(url(alice, "new"), form_data("sneaky")).status_code == 403
    described = describe(engine, shop, ODD_ID)
    assert not described.schedule.state.paused
    assert described.info.num_actions == 0
    assert schedule_ids(engine, shop) == [ODD_ID]
    assert AuditEntry.objects.filter(target_type="schedule").count() == 0


@slow
def test_it_rejects_outsider(alice: Principal, charlie: Principal, engine: EngineProcess, shop: Namespace) -> None:
    create(engine, shop, ODD_ID, every=timedelta(hours=1))
    client = browser_of(charlie)
    for page in (url(alice), url(alice, "new"), detail_url(alice, ODD_ID), detail_url(alice, ODD_ID, "edit")):
        response = client.get(page)
        assert response.status_code == 404, page
        assert ODD_ID not in response.content.decode()
    for verb in WRITES:
        assert client.post(detail_url(alice, ODD_ID, verb), {"confirm": "yes"}).status_code == 404, verb
    assert schedule_ids(engine, shop) == [ODD_ID]
    assert client.get(page_of(charlie, "namespaces/shop/schedules/")).status_code == 404


@slow
def test_the_namespace_header_links_to_schedules(alice: Principal, engine: EngineProcess, shop: Namespace) -> None:
    page = browser_of(alice).get(page_of(alice, "namespaces/shop/workflows/"))
    assert f'href="{url(alice)}">Schedules</a>' in page.content.decode()
