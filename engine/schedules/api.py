"""The schedule RPCs' logic: validate, change the scheduler's entries, build Temporal's answers."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

from temporalio.api.common.v1 import Memo, SearchAttributes
from temporalio.api.schedule.v1 import (
    Schedule,
    ScheduleActionResult,
    ScheduleInfo,
    ScheduleListEntry,
    ScheduleListInfo,
    SchedulePatch,
)
from temporalio.api.workflowservice.v1 import (
    CreateScheduleRequest,
    DescribeScheduleResponse,
    ListScheduleMatchingTimesResponse,
    ListSchedulesResponse,
    UpdateScheduleRequest,
)

from engine.history.errors import FailedPrecondition, InvalidArgument, NotFound, WorkflowAlreadyStarted
from engine.history.service import NamespaceRef
from engine.schedules.scheduler import ScheduleEntry, Scheduler, to_datetime
from engine.schedules.spec import CompiledSpec, SpecError, compile_spec
from engine.schedules.state import ScheduleRecord
from engine.visibility.aliases import CustomAttributes
from engine.visibility.attributes import AttributeValueError, Indexed, decode_values, is_null_payload
from engine.visibility.bind import bind
from engine.visibility.evaluate import Candidate, matches
from engine.visibility.index import attribute_of, validate
from engine.visibility.listing import typed
from engine.visibility.query import parse

MAX_ID_LENGTH = 1000
FUTURE_ACTION_TIMES = 10
MAX_BACKFILL_TIMES = 1000


class ScheduleApi:
    def __init__(
        self,
        scheduler: Scheduler,
        search_attribute_types: Callable[[str], CustomAttributes],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.scheduler = scheduler
        self.search_attribute_types = search_attribute_types
        self.clock = clock

    # --- create, update, delete -----------------------------------------------------------

    async def create(self, ns: NamespaceRef, req: CreateScheduleRequest) -> bytes:
        _require_id(req.schedule_id)
        spec = self._check(
            ns, req.schedule_id, req.schedule, req.search_attributes if req.HasField("search_attributes") else None
        )
        existing = self.scheduler.get(ns.id, req.schedule_id)
        if existing is not None:
            if req.request_id and existing.record.create_request_id == req.request_id:
                return _token(existing)  # a retried create
            raise WorkflowAlreadyStarted(
                "schedule with this ID is already registered",
                start_request_id=existing.record.create_request_id,
                run_id="",
            )
        now = self.clock()
        types = self.search_attribute_types(ns.id)
        record = ScheduleRecord(
            namespace=ns.name,
            schedule=_stored_schedule(req.schedule, types).SerializeToString(),
            memo=req.memo.SerializeToString() if req.HasField("memo") else b"",
            search_attributes=_stored_attributes(req, types),
            create_time=now,
            create_request_id=req.request_id,
            last_processed=now,
        )
        entry = ScheduleEntry(ns.id, req.schedule_id, record, 1, Schedule.FromString(record.schedule), spec)
        async with entry.lock:
            await self.scheduler.add(entry)
            if req.HasField("initial_patch"):
                await self._apply_patch(entry, req.initial_patch)
        return _token(entry)

    async def update(self, ns: NamespaceRef, req: UpdateScheduleRequest) -> None:
        entry = self._entry(ns, req.schedule_id)
        spec = self._check(
            ns, req.schedule_id, req.schedule, req.search_attributes if req.HasField("search_attributes") else None
        )
        async with entry.lock:
            if req.conflict_token and req.conflict_token != _token(entry):
                raise FailedPrecondition("mismatched conflict token")
            types = self.search_attribute_types(ns.id)
            entry.schedule = _stored_schedule(req.schedule, types)
            entry.spec = spec
            record = entry.record
            record.conflict_token += 1
            record.update_time = self.clock()
            record.last_processed = max(record.last_processed, record.update_time)  # the new spec starts now
            if req.HasField("search_attributes"):
                record.search_attributes = _stored_attributes(req, types)
            if req.HasField("memo"):
                record.memo = req.memo.SerializeToString()
            await self.scheduler.save(entry)
            self.scheduler.arm(entry)

    async def patch(self, ns: NamespaceRef, schedule_id: str, patch: SchedulePatch) -> None:
        entry = self._entry(ns, schedule_id)
        async with entry.lock:
            await self._apply_patch(entry, patch)

    async def _apply_patch(self, entry: ScheduleEntry, patch: SchedulePatch) -> None:
        """Pause / unpause, trigger now and backfill. Caller holds the lock."""
        if patch.pause and patch.unpause:
            raise InvalidArgument("a patch cannot both pause and unpause")
        state = entry.schedule.state
        now = self.clock()
        if patch.pause:
            state.paused, state.notes = True, patch.pause
        if patch.unpause:
            state.paused, state.notes = False, patch.unpause
            entry.record.last_processed = max(entry.record.last_processed, now)  # no catching up the pause
        if patch.HasField("trigger_immediately"):
            trigger = patch.trigger_immediately
            nominal = trigger.scheduled_time.ToDatetime().timestamp() if trigger.HasField("scheduled_time") else now
            overlap = self.scheduler.overlap(entry, trigger.overlap_policy)
            await self.scheduler.act(entry, nominal, now, overlap, manual=True)
        for backfill in patch.backfill_request:
            if not backfill.HasField("start_time") or not backfill.HasField("end_time"):
                raise InvalidArgument("a backfill needs a start time and an end time")
            start, end = _aware(backfill.start_time.ToDatetime()), _aware(backfill.end_time.ToDatetime())
            if end < start:
                raise InvalidArgument("a backfill's end time is before its start time")
            overlap = self.scheduler.overlap(entry, backfill.overlap_policy)
            # Temporal's backfill includes its start time: step back a second for the (start, end] range
            times = entry.spec.times_between(to_datetime(start.timestamp() - 1), end)
            for when in times[:MAX_BACKFILL_TIMES]:
                await self.scheduler.act(entry, when.nominal.timestamp(), now, overlap, manual=True)
        entry.record.update_time = now
        await self.scheduler.save(entry)
        self.scheduler.arm(entry)

    async def delete(self, ns: NamespaceRef, schedule_id: str) -> None:
        entry = self._entry(ns, schedule_id)
        async with entry.lock:
            await self.scheduler.remove(entry)

    # --- reads ----------------------------------------------------------------------------

    def describe(self, ns: NamespaceRef, schedule_id: str) -> DescribeScheduleResponse:
        entry = self._entry(ns, schedule_id)
        schedule = Schedule()
        schedule.CopyFrom(entry.schedule)
        schedule.spec.CopyFrom(entry.spec.canonical)
        types = self.search_attribute_types(ns.id)
        if schedule.action.start_workflow.HasField("search_attributes"):  # typed, as Temporal answers since 1.24
            typed(schedule.action.start_workflow.search_attributes, types)
        response = DescribeScheduleResponse(schedule=schedule, info=self._info(entry), conflict_token=_token(entry))
        record = entry.record
        if record.memo:
            response.memo.CopyFrom(Memo.FromString(record.memo))
        if record.search_attributes:
            response.search_attributes.CopyFrom(typed(SearchAttributes.FromString(record.search_attributes), types))
        return response

    def list_schedules(
        self, ns: NamespaceRef, *, page_size: int, page_token: bytes, query: str
    ) -> ListSchedulesResponse:
        after = page_token.decode("utf-8", "replace")
        size = page_size if 0 < page_size <= 1000 else 1000
        ids = self._matching(ns, query, after)
        response = ListSchedulesResponse()
        for schedule_id in ids[:size]:
            entry = self.scheduler.entries[(ns.id, schedule_id)]
            item = ScheduleListEntry(schedule_id=schedule_id)
            if entry.record.memo:
                item.memo.CopyFrom(Memo.FromString(entry.record.memo))
            if entry.record.search_attributes:
                attributes = SearchAttributes.FromString(entry.record.search_attributes)
                item.search_attributes.CopyFrom(typed(attributes, self.search_attribute_types(ns.id)))
            info = self._info(entry)
            item.info.CopyFrom(
                ScheduleListInfo(
                    spec=entry.spec.canonical,
                    workflow_type=entry.schedule.action.start_workflow.workflow_type,
                    notes=entry.schedule.state.notes,
                    paused=entry.schedule.state.paused,
                    recent_actions=info.recent_actions[-5:],
                    future_action_times=info.future_action_times[:5],
                )
            )
            response.schedules.append(item)
        if len(ids) > size:
            response.next_page_token = ids[size - 1].encode()
        return response

    def count(self, ns: NamespaceRef, query: str) -> int:
        return len(self._matching(ns, query, ""))

    def _matching(self, ns: NamespaceRef, query: str, after: str) -> list[str]:
        """Ids of the namespace's schedules after `after` that match `query`, in order.

        A query sees a schedule as Temporal's visibility sees its scheduler: WorkflowId is the
        schedule id, WorkflowType and TaskQueue its action's, StartTime its creation, plus
        TemporalSchedulePaused and the schedule's own search attributes."""
        types = self.search_attribute_types(ns.id)
        bound = bind(parse(query), types)
        if bound.order_by or bound.group_by:
            raise InvalidArgument("ORDER BY and GROUP BY are not supported on schedules")
        ids = []
        for (namespace_id, schedule_id), entry in self.scheduler.entries.items():
            if namespace_id == ns.id and schedule_id > after and matches(bound.where, _candidate(entry, types)):
                ids.append(schedule_id)
        return sorted(ids)

    def matching_times(
        self, ns: NamespaceRef, schedule_id: str, start: datetime, end: datetime
    ) -> ListScheduleMatchingTimesResponse:
        entry = self._entry(ns, schedule_id)
        if end < start:
            raise InvalidArgument("end time is before start time")
        response = ListScheduleMatchingTimesResponse()
        for when in entry.spec.times_between(to_datetime(start.timestamp() - 1), end):
            response.start_time.add().FromDatetime(when.actual)
        return response

    def _info(self, entry: ScheduleEntry) -> ScheduleInfo:
        record = entry.record
        info = ScheduleInfo(
            action_count=record.action_count,
            missed_catchup_window=record.missed_catchup_window,
            overlap_skipped=record.overlap_skipped,
            buffer_dropped=record.buffer_dropped,
            buffer_size=len(record.buffered),
        )
        for run in record.running:
            info.running_workflows.add(workflow_id=run.workflow_id, run_id=run.run_id)
        for result in record.recent:
            action = ScheduleActionResult(start_workflow_status=result.status)  # type: ignore[arg-type]
            action.schedule_time.FromDatetime(to_datetime(result.schedule_time))
            action.actual_time.FromDatetime(to_datetime(result.actual_time))
            action.start_workflow_result.workflow_id = result.workflow_id
            action.start_workflow_result.run_id = result.run_id
            info.recent_actions.append(action)
        if not self.scheduler.out_of_actions(entry):  # paused ones too, as Temporal
            after = to_datetime(max(record.last_processed, self.clock()))
            for _ in range(FUTURE_ACTION_TIMES):
                upcoming = entry.spec.next_time(after)
                if upcoming is None:
                    break
                info.future_action_times.add().FromDatetime(upcoming.actual)
                after = upcoming.nominal
        info.create_time.FromDatetime(to_datetime(record.create_time))
        if record.update_time:
            info.update_time.FromDatetime(to_datetime(record.update_time))
        return info

    # --- checks ---------------------------------------------------------------------------

    def _entry(self, ns: NamespaceRef, schedule_id: str) -> ScheduleEntry:
        _require_id(schedule_id)
        entry = self.scheduler.get(ns.id, schedule_id)
        if entry is None:
            raise NotFound(f"schedule {schedule_id!r} not found")
        return entry

    def _check(
        self, ns: NamespaceRef, schedule_id: str, schedule: Schedule, search_attributes: SearchAttributes | None
    ) -> CompiledSpec:
        """Validate a schedule's definition; its compiled spec."""
        action = schedule.action
        if not action.HasField("start_workflow"):
            raise InvalidArgument("schedule.action.start_workflow is required")
        start = action.start_workflow
        if not start.workflow_id:
            raise InvalidArgument("schedule.action.start_workflow.workflow_id is required")
        if len(start.workflow_id) > MAX_ID_LENGTH:
            raise InvalidArgument(f"schedule.action.start_workflow.workflow_id is longer than {MAX_ID_LENGTH}")
        if not start.workflow_type.name:
            raise InvalidArgument("schedule.action.start_workflow.workflow_type.name is required")
        if not start.task_queue.name:
            raise InvalidArgument("schedule.action.start_workflow.task_queue.name is required")
        if schedule.policies.catchup_window.seconds < 0 or schedule.policies.catchup_window.nanos < 0:
            raise InvalidArgument("schedule.policies.catchup_window must not be negative")
        if schedule.policies.overlap_policy not in range(0, 7):
            raise InvalidArgument(f"unknown overlap policy {schedule.policies.overlap_policy}")
        if schedule.state.remaining_actions < 0:
            raise InvalidArgument("schedule.state.remaining_actions must not be negative")
        types = self.search_attribute_types(ns.id)
        try:
            if start.HasField("search_attributes"):
                validate(start.search_attributes, types, ns.name)
            if search_attributes is not None:
                validate(search_attributes, types, ns.name)
        except AttributeValueError as error:
            raise InvalidArgument(str(error)) from None
        try:
            return compile_spec(schedule.spec, schedule_id=schedule_id)
        except SpecError as error:
            raise InvalidArgument(f"invalid schedule spec: {error}") from None


def _require_id(schedule_id: str) -> None:
    if not schedule_id:
        raise InvalidArgument("schedule_id is required")
    if len(schedule_id) > MAX_ID_LENGTH:
        raise InvalidArgument(f"schedule_id is longer than {MAX_ID_LENGTH} characters")


def _token(entry: ScheduleEntry) -> bytes:
    """Changes with every update of the definition (not with the schedule's own actions)."""
    return str(entry.record.conflict_token).encode()


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _stored_schedule(schedule: Schedule, types: CustomAttributes) -> Schedule:
    """A copy of `schedule` whose action keeps its search attributes by stored field, so a later
    rename of an attribute does not break it (the scheduler starts runs with the aliases of then)."""
    stored = Schedule()
    stored.CopyFrom(schedule)
    start = stored.action.start_workflow
    if start.HasField("search_attributes") and not types.identity:
        start.search_attributes.CopyFrom(types.to_fields(schedule.action.start_workflow.search_attributes))
    return stored


def _stored_attributes(req: CreateScheduleRequest | UpdateScheduleRequest, types: CustomAttributes) -> bytes:
    """The schedule's own search attributes, by stored field."""
    if not req.HasField("search_attributes"):
        return b""
    return types.to_fields(req.search_attributes).SerializeToString()


def _candidate(entry: ScheduleEntry, types: CustomAttributes) -> Candidate:
    action = entry.schedule.action.start_workflow
    created = round(entry.record.create_time * 1e9)
    columns = {
        "workflow_id": entry.schedule_id,
        "workflow_type": action.workflow_type.name,
        "task_queue": action.task_queue.name,
        "status": 1,
        "start_time": created,
        "execution_time": created,
    }
    attributes: dict[str, list[Indexed]] = {"TemporalSchedulePaused": [int(entry.schedule.state.paused)]}
    if entry.record.search_attributes:
        for name, payload in SearchAttributes.FromString(entry.record.search_attributes).indexed_fields.items():
            attribute = attribute_of(name, types.by_field)
            if attribute is not None and not is_null_payload(payload):
                with contextlib.suppress(AttributeValueError):
                    attributes[name] = decode_values(attribute, payload)
    return Candidate(columns, attributes)
