"""What the schedule pages read from and write to the engine (how a spec reads in words is
``console.schedule_spec``). The calls go through ``console.engine.call`` and so raise
``ConsoleEngineError``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from temporalio.api.common.v1 import Payloads, WorkflowType
from temporalio.api.enums.v1 import ScheduleOverlapPolicy
from temporalio.api.schedule.v1 import (
    BackfillRequest,
    IntervalSpec,
    Schedule,
    ScheduleAction,
    ScheduleActionResult,
    SchedulePatch,
    SchedulePolicies,
    ScheduleSpec,
    ScheduleState,
    TriggerImmediatelyRequest,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import NewWorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    CreateScheduleRequest,
    DeleteScheduleRequest,
    DescribeScheduleRequest,
    ListSchedulesRequest,
    PatchScheduleRequest,
    UpdateScheduleRequest,
)
from temporalio.converter import DataConverter

from console.engine import call, workflow_service
from console.history import timestamp
from console.payloads import decode_payloads, pretty
from console.schedule_spec import calendar_to_cron, interval_to_cron, seconds_of, spec_in_words
from console.workflows import status_name

# Temporal's overlap policy names (as its UI and CLI spell them), in the enum's order.
OVERLAP_POLICIES = {
    "Skip": ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_SKIP,
    "BufferOne": ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
    "BufferAll": ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
    "CancelOther": ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
    "TerminateOther": ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
    "AllowAll": ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}
_SCHEDULES_OWN = ScheduleOverlapPolicy.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED  # in a patch: the schedule's policy
_OVERLAP_NAMES = {int(value): name for name, value in OVERLAP_POLICIES.items()}

PAGE_SIZE = 100


def overlap_name(policy: int) -> str:
    """Temporal's name; unspecified is Skip, the engine's default."""
    return _OVERLAP_NAMES.get(policy, "Skip")


# --- the form's definition <-> the engine's Schedule ------------------------------------------


@dataclass
class Definition:
    """What the create and edit forms hold."""

    schedule_id: str
    workflow_type: str
    task_queue: str
    workflow_id: str
    input_json: str = ""  # one JSON value, or "" for no input
    interval_seconds: int = 0  # 0: the spec is the cron lines
    offset_seconds: int = 0
    cron_lines: list[str] = field(default_factory=list)
    time_zone: str = ""
    overlap: str = "Skip"
    paused: bool = False
    note: str = ""
    start: datetime | None = None
    end: datetime | None = None


def apply_definition(schedule: Schedule, definition: Definition) -> Schedule:
    """``schedule`` (the existing one, or empty) with the form's fields set. What the form cannot
    show (exclusions, jitter, timeouts, retry policy, memo…) is kept as it was."""
    result = Schedule()
    result.CopyFrom(schedule)
    spec = result.spec
    for name in ("structured_calendar", "cron_string", "calendar", "interval"):
        spec.ClearField(name)
    if definition.interval_seconds:
        interval = IntervalSpec()
        interval.interval.FromSeconds(definition.interval_seconds)
        if definition.offset_seconds:
            interval.phase.FromSeconds(definition.offset_seconds)
        spec.interval.append(interval)
    else:
        spec.cron_string.extend(definition.cron_lines)
    spec.timezone_name = definition.time_zone
    for name, moment in (("start_time", definition.start), ("end_time", definition.end)):
        if moment is None:
            spec.ClearField(name)  # type: ignore[arg-type]
        else:
            getattr(spec, name).FromDatetime(moment)
    start = result.action.start_workflow
    start.workflow_id = definition.workflow_id
    start.workflow_type.CopyFrom(WorkflowType(name=definition.workflow_type))
    start.task_queue.CopyFrom(TaskQueue(name=definition.task_queue))
    start.ClearField("input")
    if definition.input_json.strip():
        value = json.loads(definition.input_json)
        start.input.CopyFrom(Payloads(payloads=DataConverter.default.payload_converter.to_payloads([value])))
    result.policies.overlap_policy = OVERLAP_POLICIES[definition.overlap]
    result.state.paused = definition.paused
    result.state.notes = definition.note
    return result


def definition_of(schedule_id: str, schedule: Schedule) -> Definition:
    """The form's fields of an existing schedule (its spec as the engine describes it)."""
    spec, start = schedule.spec, schedule.action.start_workflow
    only_interval = len(spec.interval) == 1 and not spec.structured_calendar and not spec.cron_string
    values = [v.as_json() for v in decode_payloads(start.input)]
    return Definition(
        schedule_id=schedule_id,
        workflow_type=start.workflow_type.name,
        task_queue=start.task_queue.name,
        workflow_id=start.workflow_id,
        input_json="" if not values else pretty(values[0] if len(values) == 1 else values),
        interval_seconds=seconds_of(spec.interval[0].interval) if only_interval else 0,
        offset_seconds=seconds_of(spec.interval[0].phase) if only_interval else 0,
        cron_lines=[]
        if only_interval
        else [
            *[calendar_to_cron(cal) for cal in spec.structured_calendar],
            *spec.cron_string,
            *[interval_to_cron(iv) for iv in spec.interval],
        ],
        time_zone=spec.timezone_name,
        overlap=overlap_name(schedule.policies.overlap_policy),
        paused=schedule.state.paused,
        note=schedule.state.notes,
        start=timestamp(spec.start_time),
        end=timestamp(spec.end_time),
    )


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecentAction:
    workflow_id: str
    run_id: str
    status: str
    schedule_time: datetime | None
    actual_time: datetime | None


def _recent(actions: Sequence[ScheduleActionResult]) -> list[RecentAction]:
    """Newest first."""
    rows = [
        RecentAction(
            workflow_id=a.start_workflow_result.workflow_id,
            run_id=a.start_workflow_result.run_id,
            status=status_name(a.start_workflow_status) if a.start_workflow_status else "",
            schedule_time=timestamp(a.schedule_time),
            actual_time=timestamp(a.actual_time),
        )
        for a in actions
    ]
    return rows[::-1]


@dataclass(frozen=True)
class ScheduleRow:
    schedule_id: str
    spec_words: list[str]
    workflow_type: str
    paused: bool
    note: str
    next_run: datetime | None
    last_action: RecentAction | None


def list_schedules(namespace_id: str) -> list[ScheduleRow]:
    """Every schedule of the namespace (all pages), by id."""
    rows: list[ScheduleRow] = []
    token = b""
    while True:
        response = call(
            workflow_service().ListSchedules,
            ListSchedulesRequest(namespace=namespace_id, maximum_page_size=PAGE_SIZE, next_page_token=token),
        )
        for entry in response.schedules:
            info = entry.info
            recent = _recent(info.recent_actions)
            rows.append(
                ScheduleRow(
                    schedule_id=entry.schedule_id,
                    spec_words=spec_in_words(info.spec),
                    workflow_type=info.workflow_type.name,
                    paused=info.paused,
                    note=info.notes,
                    next_run=timestamp(info.future_action_times[0]) if info.future_action_times else None,
                    last_action=recent[0] if recent else None,
                )
            )
        token = response.next_page_token
        if not token:
            return rows


@dataclass(frozen=True)
class ScheduleDetail:
    schedule_id: str
    schedule: Schedule
    spec_words: list[str]
    workflow_type: str
    task_queue: str
    workflow_id: str
    input_text: str
    overlap: str
    paused: bool
    note: str
    action_count: int
    overlap_skipped: int
    recent: list[RecentAction]
    upcoming: list[datetime]
    running: list[tuple[str, str]]
    create_time: datetime | None
    update_time: datetime | None
    conflict_token: bytes


def describe_schedule(namespace_id: str, schedule_id: str) -> ScheduleDetail:
    response = call(
        workflow_service().DescribeSchedule,
        DescribeScheduleRequest(namespace=namespace_id, schedule_id=schedule_id),
    )
    schedule, info = response.schedule, response.info
    start = schedule.action.start_workflow
    values = [v.as_json() for v in decode_payloads(start.input)]
    upcoming = [t for t in (timestamp(ts) for ts in info.future_action_times) if t is not None]
    return ScheduleDetail(
        schedule_id=schedule_id,
        schedule=schedule,
        spec_words=spec_in_words(schedule.spec),
        workflow_type=start.workflow_type.name,
        task_queue=start.task_queue.name,
        workflow_id=start.workflow_id,
        input_text="" if not values else pretty(values[0] if len(values) == 1 else values),
        overlap=overlap_name(schedule.policies.overlap_policy),
        paused=schedule.state.paused,
        note=schedule.state.notes,
        action_count=info.action_count,
        overlap_skipped=info.overlap_skipped,
        recent=_recent(info.recent_actions),
        upcoming=upcoming,
        running=[(r.workflow_id, r.run_id) for r in info.running_workflows],
        create_time=timestamp(info.create_time),
        update_time=timestamp(info.update_time),
        conflict_token=response.conflict_token,
    )


# --- writes -----------------------------------------------------------------------------------


def create_schedule(namespace_id: str, definition: Definition) -> None:
    schedule = apply_definition(
        Schedule(
            spec=ScheduleSpec(),
            action=ScheduleAction(start_workflow=NewWorkflowExecutionInfo()),
            policies=SchedulePolicies(),
            state=ScheduleState(),
        ),
        definition,
    )
    call(
        workflow_service().CreateSchedule,
        CreateScheduleRequest(
            namespace=namespace_id,
            schedule_id=definition.schedule_id,
            schedule=schedule,
            identity="sundial-console",
            request_id=str(uuid.uuid4()),
        ),
    )


def update_schedule(namespace_id: str, definition: Definition, *, base: Schedule, conflict_token: bytes) -> None:
    """Replace the schedule's definition; the token makes a concurrent change a conflict."""
    call(
        workflow_service().UpdateSchedule,
        UpdateScheduleRequest(
            namespace=namespace_id,
            schedule_id=definition.schedule_id,
            schedule=apply_definition(base, definition),
            conflict_token=conflict_token,
            identity="sundial-console",
            request_id=str(uuid.uuid4()),
        ),
    )


def patch_schedule(namespace_id: str, schedule_id: str, patch: SchedulePatch) -> None:
    call(
        workflow_service().PatchSchedule,
        PatchScheduleRequest(
            namespace=namespace_id,
            schedule_id=schedule_id,
            patch=patch,
            identity="sundial-console",
            request_id=str(uuid.uuid4()),
        ),
    )


def pause_patch(note: str) -> SchedulePatch:
    return SchedulePatch(pause=note or "Paused from the console")


def unpause_patch(note: str) -> SchedulePatch:
    return SchedulePatch(unpause=note or "Resumed from the console")


def trigger_patch(overlap: str = "") -> SchedulePatch:
    """Start now; ``overlap`` "" uses the schedule's own policy."""
    return SchedulePatch(
        trigger_immediately=TriggerImmediatelyRequest(overlap_policy=OVERLAP_POLICIES.get(overlap, _SCHEDULES_OWN))
    )


def backfill_patch(start: datetime, end: datetime, overlap: str = "") -> SchedulePatch:
    request = BackfillRequest(overlap_policy=OVERLAP_POLICIES.get(overlap, _SCHEDULES_OWN))
    request.start_time.FromDatetime(start)
    request.end_time.FromDatetime(end)
    return SchedulePatch(backfill_request=[request])


def delete_schedule(namespace_id: str, schedule_id: str) -> None:
    call(
        workflow_service().DeleteSchedule,
        DeleteScheduleRequest(namespace=namespace_id, schedule_id=schedule_id, identity="sundial-console"),
    )
