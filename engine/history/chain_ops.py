"""Closing a run into the next run of its chain: continue-as-new, workflow retries, cron.

A run that continues-as-new, fails or times out under a retry policy, or completes, fails or
times out with a cron schedule, closes with an event naming `new_execution_run_id`, and the run
that continues it is created in the same commit (`HistoryCore.commit` sees `Mutation.successor`
and writes the new run, its current-run change and the closing run as one transaction): a crash
leaves either the open run or both. The new run's first workflow task waits out its backoff
(`first_workflow_task_backoff`: retry backoff, time to the next cron time, or the command's
`backoff_start_interval`, at least 1 s after the previous run began, as Temporal enforces) with
`first_workflow_task_time`, which `recover()` re-arms.

Temporal's rules (service/history: `handleCommandContinueAsNewWorkflow`, `handleCommandFailWorkflow`,
`handleCommandCompleteWorkflow`, `SetupNewWorkflowForRetryOrCron`, `getBackoffInterval`,
`backoff.GetBackoffForNextSchedule`):
- continue-as-new takes the command's values, with the workflow type, task queue, run and task
  timeouts inherited when unset; attempt 1;
- a failed (or timed-out) run is retried when it has a retry policy, the failure is retryable
  and attempts and the execution timeout allow (attempt + 1, initiator RETRY); otherwise a cron
  workflow continues at its next cron time (attempt 1, initiator CRON_SCHEDULE); a completed cron
  run continues at its next time with its result as `last_completion_result`;
- retry and cron runs repeat the closing run's start (input, header, memo, search attributes,
  retry policy, cron schedule, timeouts); every run of the chain shares the first run id and the
  execution expiration time. Canceled and terminated runs end the chain.

`chain_closed(state)` tells whether a closed run ended its chain (no successor): parents are told
of their child's close only then.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.api.command.v1 import ContinueAsNewWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import Header, Memo, Payloads, RetryPolicy, SearchAttributes
from temporalio.api.enums.v1 import (
    ContinueAsNewInitiator,
    EventType,
    RetryState,
    TaskQueueKind,
    TimeoutType,
)
from temporalio.api.enums.v1 import WorkflowTaskFailedCause as Cause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent, WorkflowExecutionStartedEventAttributes
from temporalio.api.schedule.v1 import ScheduleSpec

from engine.history.cache import WorkflowEntry
from engine.history.errors import CommandError, InvalidArgument
from engine.history.events import duration, seconds_of
from engine.history.mutation import Mutation
from engine.history.retry import decide_retry, normalized_activity_retry_policy
from engine.history.state import STATUS_CONTINUED_AS_NEW, STATUS_RUNNING, MutableState
from engine.persistence.records import CurrentRunWrite, ExecutionKey
from engine.schedules.cron import ParseError, parse_cron
from engine.schedules.spec import CompiledSpec, SpecError, compile_spec
from engine.visibility.aliases import CustomAttributes
from engine.visibility.attributes import AttributeValueError
from engine.visibility.index import merge, validate

INITIATOR_WORKFLOW = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
INITIATOR_RETRY = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY
INITIATOR_CRON = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE

MIN_RUN_INTERVAL = 1.0  # Temporal's history.workflowIdReuseMinimalInterval: a chain's runs start ≥ 1 s apart
DEFAULT_WORKFLOW_TASK_TIMEOUT = 10.0  # as start_ops
MAX_WORKFLOW_TASK_TIMEOUT = 120.0
MAX_NAME_LENGTH = 1000
TIMEOUT_FAILURE_TYPE_PREFIX = "TemporalTimeout:"
_RETRYABLE_TIMEOUTS = {
    TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE: "StartToClose",
    TimeoutType.TIMEOUT_TYPE_HEARTBEAT: "Heartbeat",
}


@dataclass
class NextRun:
    """The run that continues a closing one; `HistoryCore.commit` creates it with the close."""

    run_id: str
    initiator: int
    backoff: float  # seconds before its first workflow task
    attempt: int = 1
    command: ContinueAsNewWorkflowExecutionCommandAttributes | None = None  # continue-as-new
    continued_failure: Failure | None = None
    last_completion_result: Payloads | None = None


def chain_closed(state: MutableState) -> bool:
    """The run is closed and no run continues it: its workflow (the chain) is over."""
    return not state.running and not state.new_execution_run_id


# --- deciding --------------------------------------------------------------------------------


def continue_as_new(
    m: Mutation, attrs: ContinueAsNewWorkflowExecutionCommandAttributes, completed_event_id: int
) -> None:
    """The ContinueAsNewWorkflowExecution command: validate, close the run, plan the next one."""
    cause = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES
    state = m.state
    command = ContinueAsNewWorkflowExecutionCommandAttributes()
    command.CopyFrom(attrs)
    if not command.workflow_type.name:
        command.workflow_type.name = state.workflow_type
    if len(command.workflow_type.name) > MAX_NAME_LENGTH:
        raise CommandError(cause, "WorkflowType on ContinueAsNewWorkflowExecutionCommand exceeds length limit.")
    if not command.task_queue.name:
        command.task_queue.name = state.task_queue
    if len(command.task_queue.name) > MAX_NAME_LENGTH:
        raise CommandError(cause, "TaskQueue on ContinueAsNewWorkflowExecutionCommand exceeds length limit.")
    command.task_queue.kind = TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    for name in ("workflow_run_timeout", "workflow_task_timeout", "backoff_start_interval"):
        if seconds_of(getattr(command, name)) < 0:
            raise CommandError(cause, f"Invalid {_camel(name)} on ContinueAsNewWorkflowExecutionCommand.")
    run_timeout = seconds_of(command.workflow_run_timeout) or state.run_timeout
    run_timeout = _capped_run_timeout(run_timeout, state.execution_timeout)
    task_timeout = seconds_of(command.workflow_task_timeout) or state.workflow_task_timeout
    command.workflow_run_timeout.CopyFrom(duration(run_timeout))
    command.workflow_task_timeout.CopyFrom(duration(_capped_task_timeout(task_timeout, run_timeout)))
    if command.HasField("retry_policy"):
        try:
            command.retry_policy.CopyFrom(normalized_activity_retry_policy(command.retry_policy))
        except InvalidArgument as exc:
            message = f"invalid WorkflowRetryPolicy on ContinueAsNewWorkflowExecutionCommand: {exc}"
            raise CommandError(cause, message) from None
    if command.cron_schedule:
        try:
            cron_spec(command.cron_schedule)
        except InvalidArgument as exc:
            raise CommandError(cause, str(exc)) from None
    if command.HasField("search_attributes"):
        try:
            validate(command.search_attributes, m.sa_types, state.namespace)
        except AttributeValueError as exc:
            raise CommandError(
                Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
                f"invalid SearchAttributes on ContinueAsNewWorkflowExecutionCommand: {exc}",
            ) from None

    initiator = command.initiator or INITIATOR_WORKFLOW
    plan = NextRun(
        run_id=str(uuid.uuid4()),
        initiator=initiator,
        backoff=min_backoff(state, m.now, seconds_of(command.backoff_start_interval)),
        attempt=state.attempt + 1 if initiator == INITIATOR_RETRY else 1,
        command=command,
        continued_failure=command.failure if command.HasField("failure") else None,
        last_completion_result=command.last_completion_result if command.HasField("last_completion_result") else None,
    )
    event = m.add_event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
    out = event.workflow_execution_continued_as_new_event_attributes
    out.new_execution_run_id = plan.run_id
    out.workflow_type.CopyFrom(command.workflow_type)
    out.task_queue.CopyFrom(command.task_queue)
    if command.HasField("input"):
        out.input.CopyFrom(command.input)
    if command.HasField("header"):
        out.header.CopyFrom(command.header)
    if command.HasField("failure"):
        out.failure.CopyFrom(command.failure)
    if command.HasField("last_completion_result"):
        out.last_completion_result.CopyFrom(command.last_completion_result)
    out.workflow_run_timeout.CopyFrom(command.workflow_run_timeout)
    out.workflow_task_timeout.CopyFrom(command.workflow_task_timeout)
    out.workflow_task_completed_event_id = completed_event_id
    if command.HasField("backoff_start_interval"):
        out.backoff_start_interval.CopyFrom(command.backoff_start_interval)
    out.initiator = initiator
    out.inherit_build_id = command.inherit_build_id
    _close_into(m, STATUS_CONTINUED_AS_NEW, event.event_id, plan)


def after_failure(m: Mutation, failure: Failure) -> tuple[int, NextRun | None]:
    """A run fails or times out with `failure`: its retry state, and the run that retries it
    (retry policy) or runs at the next cron time, if any (Temporal checks retry first)."""
    state = m.state
    retry_state, backoff = retry_backoff(state, failure, m.now)
    if backoff is not None:
        return retry_state, NextRun(
            run_id=str(uuid.uuid4()),
            initiator=INITIATOR_RETRY,
            backoff=min_backoff(state, m.now, backoff),
            attempt=state.attempt + 1,
            continued_failure=failure,
        )
    cron = cron_backoff(state.cron_schedule, execution_time(state), m.now)
    if cron is None:
        return retry_state, None
    return retry_state, NextRun(
        run_id=str(uuid.uuid4()),
        initiator=INITIATOR_CRON,
        backoff=min_backoff(state, m.now, cron),
        continued_failure=failure,
    )


def after_completion(m: Mutation, result: Payloads | None) -> NextRun | None:
    """A run completes: a cron workflow runs again at its next time, with this result."""
    state = m.state
    cron = cron_backoff(state.cron_schedule, execution_time(state), m.now)
    if cron is None:
        return None
    return NextRun(
        run_id=str(uuid.uuid4()),
        initiator=INITIATOR_CRON,
        backoff=min_backoff(state, m.now, cron),
        last_completion_result=result,
    )


def close_with(m: Mutation, status: int, event: HistoryEvent, plan: NextRun | None) -> None:
    """Close the run with its close `event`, naming (and planning) the run that continues it."""
    attrs: Any = {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: event.workflow_execution_completed_event_attributes,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: event.workflow_execution_failed_event_attributes,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: event.workflow_execution_timed_out_event_attributes,
    }.get(event.event_type)
    if plan is not None and attrs is not None:
        attrs.new_execution_run_id = plan.run_id
    _close_into(m, status, event.event_id, plan)


def _close_into(m: Mutation, status: int, event_id: int, plan: NextRun | None) -> None:
    if plan is not None:  # before the close, so that whatever the close does knows the chain goes on
        m.state.new_execution_run_id = plan.run_id
        m.successor = plan
    m.close_run(status, event_id)


def retry_backoff(state: MutableState, failure: Failure, now: float) -> tuple[int, float | None]:
    """(retry state, backoff or None) for a failed run, as Temporal's `getBackoffInterval`."""
    if not state.retry_policy:
        return RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET, None
    policy = RetryPolicy.FromString(state.retry_policy)
    if not _retryable(failure, list(policy.non_retryable_error_types)):
        return RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, None
    decision = decide_retry(
        policy,
        attempt=state.attempt,
        failure=failure,
        now=now,
        expiration=state.execution_expiration_time,
        timeout=True,  # its non-retryable check is done above, Temporal's way
    )
    return decision.state, decision.backoff if decision.retry else None


def _retryable(failure: Failure, non_retryable: list[str]) -> bool:
    if failure.HasField("terminated_failure_info") or failure.HasField("canceled_failure_info"):
        return False
    if failure.HasField("timeout_failure_info"):
        name = _RETRYABLE_TIMEOUTS.get(failure.timeout_failure_info.timeout_type)
        return name is not None and TIMEOUT_FAILURE_TYPE_PREFIX + name not in non_retryable
    if failure.HasField("server_failure_info"):
        return not failure.server_failure_info.non_retryable
    if failure.HasField("application_failure_info"):
        info = failure.application_failure_info
        return not info.non_retryable and info.type not in non_retryable
    return True


def execution_time(state: MutableState) -> float:
    """When the run's first workflow task became due: its start plus its first backoff."""
    return state.first_workflow_task_time or state.start_time


def min_backoff(state: MutableState, now: float, backoff: float) -> float:
    """Temporal's `ContinueAsNewMinBackoff`: the next run begins at least `MIN_RUN_INTERVAL`
    after this one began, so a chain cannot spin."""
    lifetime = now - execution_time(state)
    if lifetime + backoff < MIN_RUN_INTERVAL:
        return MIN_RUN_INTERVAL - lifetime
    return backoff


# --- cron ------------------------------------------------------------------------------------


def cron_spec(schedule: str) -> CompiledSpec | float:
    """The compiled cron string, or for `@every` its interval in whole seconds (at least 1, as
    robfig/cron's `Every`, which Temporal's workflow cron uses). InvalidArgument if it does not
    parse (5–7 fields, `CRON_TZ=`, `@daily`…, `@every`)."""
    try:
        parsed = parse_cron(schedule)
        if parsed.interval is not None:
            return max(1.0, float(math.floor(seconds_of(parsed.interval.interval))))
        compiled = compile_spec(ScheduleSpec(cron_string=[schedule]), schedule_id="")
    except (ParseError, SpecError) as exc:
        raise InvalidArgument(f"invalid CronSchedule: {exc}") from None
    if compiled.next_time(datetime.now(UTC)) is None:
        raise InvalidArgument("invalid CronSchedule, no time can be found to satisfy the schedule")
    return compiled


def cron_backoff(schedule: str, scheduled: float, now: float) -> float | None:
    """Seconds from `now` to the cron time after `scheduled` that is nearest after `now`
    (rounded up to whole seconds), None without a schedule or a next time."""
    if not schedule:
        return None
    try:
        spec = cron_spec(schedule)
    except InvalidArgument:
        return None
    if now < scheduled:
        following: float | None = scheduled
    else:
        following = _next(spec, scheduled)
        while following is not None and following < now:
            following = _next(spec, following)
    if following is None:
        return None
    return float(math.ceil(following - now))


def first_cron_backoff(schedule: str, now: float) -> float:
    """A cron workflow's first run waits for the first cron time after its start."""
    return max(0.0, cron_backoff(schedule, now, now) or 0.0)


def _next(spec: CompiledSpec | float, after: float) -> float | None:
    if isinstance(spec, float):
        return math.floor(after) + spec
    upcoming = spec.next_time(datetime.fromtimestamp(after, UTC))
    return None if upcoming is None else upcoming.nominal.timestamp()


# --- the next run ----------------------------------------------------------------------------


def successor_of(
    entry: WorkflowEntry, m: Mutation, start: HistoryEvent, custom: CustomAttributes
) -> tuple[WorkflowEntry, Mutation, CurrentRunWrite]:
    """The run `m.successor` plans, with its first events, and its current-run change (which
    expects the closing run). `start` is the closing run's WorkflowExecutionStarted event."""
    plan = m.successor
    assert isinstance(plan, NextRun)
    old, now = entry.state, m.now
    first = start.workflow_execution_started_event_attributes
    source = _Source.of_command(plan.command) if plan.command is not None else _Source.of_start(first, old)
    last_result = plan.last_completion_result
    if plan.command is None and plan.continued_failure is not None and first.HasField("last_completion_result"):
        last_result = first.last_completion_result  # a failed run keeps the chain's last result
    run_timeout = _capped_run_timeout(source.run_timeout, old.execution_timeout)
    task_timeout = _capped_task_timeout(source.task_timeout, run_timeout)
    run_expiration = now + plan.backoff + run_timeout if run_timeout else 0.0
    if old.execution_expiration_time and (not run_expiration or run_expiration > old.execution_expiration_time):
        run_expiration = old.execution_expiration_time
    policy = normalized_activity_retry_policy(source.retry_policy) if source.retry_policy is not None else None
    state = MutableState(
        namespace_id=old.namespace_id,
        namespace=old.namespace,
        workflow_id=old.workflow_id,
        run_id=plan.run_id,
        workflow_type=source.workflow_type,
        task_queue=source.task_queue,
        start_time=now,
        start_request_id=str(uuid.uuid4()),
        first_execution_run_id=old.first_execution_run_id or old.run_id,
        workflow_task_timeout=task_timeout,
        run_timeout=run_timeout,
        execution_timeout=old.execution_timeout,
        run_expiration_time=run_expiration,
        first_workflow_task_time=now + plan.backoff if plan.backoff > 0 else 0.0,
        search_attributes=_stored_attributes(source.search_attributes, custom),
        memo=source.memo.SerializeToString() if source.memo is not None and source.memo.fields else b"",
        attempt=plan.attempt,
        retry_policy=policy.SerializeToString() if policy is not None else b"",
        cron_schedule=source.cron_schedule,
        execution_expiration_time=old.execution_expiration_time,
        parent=old.parent,
        root_workflow_id=old.root_workflow_id,
        root_run_id=old.root_run_id,
    )
    new_m = Mutation(state, now)
    event = new_m.add_event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    attrs = event.workflow_execution_started_event_attributes
    attrs.workflow_type.name = source.workflow_type
    attrs.task_queue.name = source.task_queue
    attrs.task_queue.kind = TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    for name in ("parent_workflow_namespace", "parent_workflow_namespace_id", "parent_initiated_event_id"):
        setattr(attrs, name, getattr(first, name))
    if first.HasField("parent_workflow_execution"):
        attrs.parent_workflow_execution.CopyFrom(first.parent_workflow_execution)
    if first.HasField("root_workflow_execution"):
        attrs.root_workflow_execution.CopyFrom(first.root_workflow_execution)
    if first.HasField("priority"):
        attrs.priority.CopyFrom(first.priority)
    if source.input is not None:
        attrs.input.CopyFrom(source.input)
    if source.header is not None:
        attrs.header.CopyFrom(source.header)
    if old.execution_timeout:
        attrs.workflow_execution_timeout.CopyFrom(duration(old.execution_timeout))
    if old.execution_expiration_time:
        attrs.workflow_execution_expiration_time.FromNanoseconds(int(old.execution_expiration_time * 1e9))
    if run_timeout:
        attrs.workflow_run_timeout.CopyFrom(duration(run_timeout))
    attrs.workflow_task_timeout.CopyFrom(duration(task_timeout))
    attrs.continued_execution_run_id = old.run_id
    attrs.initiator = plan.initiator  # type: ignore[assignment]
    if plan.continued_failure is not None:
        attrs.continued_failure.CopyFrom(plan.continued_failure)
    if last_result is not None:
        attrs.last_completion_result.CopyFrom(last_result)
    attrs.original_execution_run_id = plan.run_id
    attrs.first_execution_run_id = state.first_execution_run_id
    if policy is not None:
        attrs.retry_policy.CopyFrom(policy)
    attrs.attempt = plan.attempt
    attrs.cron_schedule = source.cron_schedule
    if plan.backoff > 0:
        attrs.first_workflow_task_backoff.CopyFrom(duration(plan.backoff))
    if source.memo is not None and source.memo.fields:
        attrs.memo.CopyFrom(source.memo)
    if source.search_attributes is not None and source.search_attributes.indexed_fields:
        attrs.search_attributes.CopyFrom(source.search_attributes)
    attrs.workflow_id = old.workflow_id
    new_m.schedule_workflow_task()
    if run_expiration:
        new_m.arm_timer(run_expiration, "run_timeout", run_expiration)
    key = ExecutionKey(old.namespace_id, old.workflow_id, plan.run_id)
    write = CurrentRunWrite(
        run_id=plan.run_id,
        running=True,
        start_request_id=state.start_request_id,
        status=STATUS_RUNNING,
        expected_run_id=entry.key.run_id,
    )
    return WorkflowEntry(key, state, b"", 0, events=[]), new_m, write


@dataclass
class _Source:
    """What the next run starts with: the continue-as-new command, or the closing run's start."""

    workflow_type: str
    task_queue: str
    input: Payloads | None
    header: Header | None
    run_timeout: float
    task_timeout: float
    retry_policy: RetryPolicy | None
    cron_schedule: str
    memo: Memo | None
    search_attributes: SearchAttributes | None

    @classmethod
    def of_command(cls, c: ContinueAsNewWorkflowExecutionCommandAttributes) -> _Source:
        return cls(
            workflow_type=c.workflow_type.name,
            task_queue=c.task_queue.name,
            input=c.input if c.HasField("input") else None,
            header=c.header if c.HasField("header") else None,
            run_timeout=seconds_of(c.workflow_run_timeout),
            task_timeout=seconds_of(c.workflow_task_timeout),
            retry_policy=c.retry_policy if c.HasField("retry_policy") else None,
            cron_schedule=c.cron_schedule,
            memo=c.memo if c.HasField("memo") else None,
            search_attributes=c.search_attributes if c.HasField("search_attributes") else None,
        )

    @classmethod
    def of_start(cls, s: WorkflowExecutionStartedEventAttributes, old: MutableState) -> _Source:
        return cls(
            workflow_type=s.workflow_type.name or old.workflow_type,
            task_queue=s.task_queue.name or old.task_queue,
            input=s.input if s.HasField("input") else None,
            header=s.header if s.HasField("header") else None,
            run_timeout=old.run_timeout,
            task_timeout=old.workflow_task_timeout,
            retry_policy=RetryPolicy.FromString(old.retry_policy) if old.retry_policy else None,
            cron_schedule=old.cron_schedule,
            memo=s.memo if s.HasField("memo") else None,
            search_attributes=s.search_attributes if s.HasField("search_attributes") else None,
        )


def _stored_attributes(search_attributes: SearchAttributes | None, custom: CustomAttributes) -> bytes:
    """Search attributes as a run stores them (by field), without null values."""
    if search_attributes is None:
        return b""
    merged = merge(b"", custom.to_fields(search_attributes))
    return merged.SerializeToString() if merged.indexed_fields else b""


def _capped_run_timeout(run_timeout: float, execution_timeout: float) -> float:
    """Temporal's `overrideWorkflowRunTimeout`: a run never outlasts the execution timeout."""
    if not run_timeout:
        return execution_timeout
    if not execution_timeout:
        return run_timeout
    return min(run_timeout, execution_timeout)


def _capped_task_timeout(task_timeout: float, run_timeout: float) -> float:
    task_timeout = min(task_timeout or DEFAULT_WORKFLOW_TASK_TIMEOUT, MAX_WORKFLOW_TASK_TIMEOUT)
    return min(task_timeout, run_timeout) if run_timeout else task_timeout


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


__all__ = [
    "INITIATOR_CRON",
    "INITIATOR_RETRY",
    "INITIATOR_WORKFLOW",
    "NextRun",
    "after_completion",
    "after_failure",
    "chain_closed",
    "close_with",
    "continue_as_new",
    "cron_backoff",
    "cron_spec",
    "first_cron_backoff",
    "successor_of",
]
