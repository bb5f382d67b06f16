"""The commands that reach other workflows: StartChildWorkflowExecution,
SignalExternalWorkflowExecution and RequestCancelExternalWorkflowExecution → their Initiated
events, and the pending work recorded in the run's state.

Pure (no I/O), like `commands.py`, which registers them. Each records its work in the state
committed with the Initiated event (a `ChildInfo` or an `ExternalRequestInfo`) and asks for it
to be driven once the commit is durable (`Effects.cross_run`); `child_ops.py` and
`external_ops.py` carry it out, and `recover()` drives again whatever a crash interrupted.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from temporalio.api.command.v1 import Command
from temporalio.api.common.v1 import RetryPolicy, WorkflowExecution
from temporalio.api.enums.v1 import (
    EventType,
    ParentClosePolicy,
    TaskQueueKind,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.enums.v1 import WorkflowTaskFailedCause as Cause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from engine.history.errors import CommandError
from engine.history.events import duration, seconds_of
from engine.history.mutation import Mutation
from engine.history.state import ChildInfo, ExternalRequestInfo, MutableState
from engine.visibility.attributes import AttributeValueError
from engine.visibility.index import validate

MAX_ID_LENGTH = 1000
DEFAULT_WORKFLOW_TASK_TIMEOUT = 10.0
MAX_WORKFLOW_TASK_TIMEOUT = 120.0
CROSS_NAMESPACE = "cross namespace commands are not allowed"
# command fields the Initiated event and the child's start request carry over as they are
_COPIED: tuple[Literal["header", "input", "retry_policy", "memo", "search_attributes", "priority"], ...] = (
    "header",
    "input",
    "retry_policy",
    "memo",
    "search_attributes",
    "priority",
)

START_CHILD_CAUSE = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES
SIGNAL_CAUSE = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES
CANCEL_CAUSE = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES


def start_child(m: Mutation, command: Command, completed_event_id: int) -> None:
    attrs = command.start_child_workflow_execution_command_attributes
    state = m.state
    _same_namespace(state, attrs.namespace, START_CHILD_CAUSE)
    wf_id, wf_type, ns = attrs.workflow_id, attrs.workflow_type.name, attrs.namespace
    where = f"WorkflowId={wf_id} WorkflowType={wf_type} Namespace={ns}"
    if not wf_id:
        raise CommandError(
            START_CHILD_CAUSE,
            f"Required field WorkflowId is not set on StartChildWorkflowExecutionCommand. "
            f"WorkflowType={wf_type} Namespace={ns}",
        )
    if not wf_type:
        raise CommandError(
            START_CHILD_CAUSE,
            f"Required field WorkflowType is not set on StartChildWorkflowExecutionCommand. "
            f"WorkflowId={wf_id} Namespace={ns}",
        )
    for name, value in (("WorkflowId", wf_id), ("WorkflowType", wf_type), ("TaskQueue", attrs.task_queue.name)):
        if len(value) > MAX_ID_LENGTH:
            raise CommandError(
                START_CHILD_CAUSE, f"{name} on StartChildWorkflowExecutionCommand exceeds length limit. {where}"
            )
    if attrs.task_queue.name.startswith("/_sys/"):
        raise CommandError(START_CHILD_CAUSE, f"invalid TaskQueue on StartChildWorkflowExecutionCommand. {where}")
    execution_timeout = seconds_of(attrs.workflow_execution_timeout)
    run_timeout = seconds_of(attrs.workflow_run_timeout)
    task_timeout = seconds_of(attrs.workflow_task_timeout)
    for label, seconds in (
        ("WorkflowExecutionTimeout", execution_timeout),
        ("WorkflowRunTimeout", run_timeout),
        ("WorkflowTaskTimeout", task_timeout),
    ):
        if seconds < 0:
            raise CommandError(
                START_CHILD_CAUSE,
                f"Invalid {label} on StartChildWorkflowExecutionCommand: negative duration. {where}",
            )
    if attrs.HasField("retry_policy"):
        problem = _retry_policy_problem(attrs.retry_policy)
        if problem:
            raise CommandError(
                START_CHILD_CAUSE,
                f"invalid WorkflowRetryPolicy on StartChildWorkflowExecutionCommand: {problem}. {where}",
            )
    if attrs.HasField("search_attributes"):
        try:
            validate(attrs.search_attributes, m.sa_types, state.namespace)
        except AttributeValueError as error:
            raise CommandError(
                Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
                f"invalid SearchAttributes on StartChildWorkflowCommand: {error}. {where}",
            ) from None

    # Temporal's normalisation, visible on the Initiated event
    if execution_timeout and (not run_timeout or run_timeout > execution_timeout):
        run_timeout = execution_timeout
    task_timeout = min(task_timeout or DEFAULT_WORKFLOW_TASK_TIMEOUT, MAX_WORKFLOW_TASK_TIMEOUT)
    if run_timeout:
        task_timeout = min(task_timeout, run_timeout)
    policy = attrs.parent_close_policy or ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE
    reuse = attrs.workflow_id_reuse_policy or WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
    task_queue = attrs.task_queue.name or state.task_queue
    namespace = attrs.namespace or state.namespace

    event = m.add_event(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    out = event.start_child_workflow_execution_initiated_event_attributes
    out.namespace = namespace
    out.namespace_id = state.namespace_id
    out.workflow_id = wf_id
    out.workflow_type.CopyFrom(attrs.workflow_type)
    out.task_queue.name = task_queue
    out.task_queue.kind = TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    out.workflow_execution_timeout.CopyFrom(duration(execution_timeout))
    out.workflow_run_timeout.CopyFrom(duration(run_timeout))
    out.workflow_task_timeout.CopyFrom(duration(task_timeout))
    out.control = attrs.control
    out.workflow_task_completed_event_id = completed_event_id
    out.workflow_id_reuse_policy = reuse
    out.parent_close_policy = policy
    out.cron_schedule = attrs.cron_schedule
    for name in _COPIED:
        if attrs.HasField(name):
            getattr(out, name).CopyFrom(getattr(attrs, name))

    request_id = str(uuid.uuid4())
    request = StartWorkflowExecutionRequest(
        namespace=namespace,
        workflow_id=wf_id,
        workflow_type=attrs.workflow_type,
        task_queue=out.task_queue,
        workflow_execution_timeout=out.workflow_execution_timeout,
        workflow_run_timeout=out.workflow_run_timeout,
        workflow_task_timeout=out.workflow_task_timeout,
        request_id=request_id,
        workflow_id_reuse_policy=reuse,
        workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
        cron_schedule=attrs.cron_schedule,
    )
    for name in _COPIED:
        if attrs.HasField(name):
            getattr(request, name).CopyFrom(getattr(attrs, name))
    if command.HasField("user_metadata"):
        request.user_metadata.CopyFrom(command.user_metadata)
    state.children[event.event_id] = ChildInfo(
        initiated_event_id=event.event_id,
        workflow_id=wf_id,
        workflow_type=wf_type,
        namespace=namespace,
        namespace_id=state.namespace_id,
        parent_close_policy=policy,
        request_id=request_id,
        completed_event_id=completed_event_id,
        control=attrs.control,
        start_request=request.SerializeToString(),
    )
    m.effects.cross_run.append(("start_child", event.event_id))


def signal_external(m: Mutation, command: Command, completed_event_id: int) -> None:
    attrs = command.signal_external_workflow_execution_command_attributes
    state = m.state
    if not attrs.HasField("execution"):
        raise CommandError(SIGNAL_CAUSE, "Execution is not set on SignalExternalWorkflowExecutionCommand.")
    _same_namespace(state, attrs.namespace, SIGNAL_CAUSE)
    target = attrs.execution
    _check_target(
        target.workflow_id, target.run_id, attrs.namespace, "SignalExternalWorkflowExecutionCommand", SIGNAL_CAUSE
    )
    if not attrs.signal_name:
        raise CommandError(
            SIGNAL_CAUSE,
            f"SignalName is not set on SignalExternalWorkflowExecutionCommand. WorkflowId={target.workflow_id} "
            f"Namespace={attrs.namespace} RunId={target.run_id}",
        )
    event = m.add_event(
        EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        workflow_task_completed_event_id=completed_event_id,
        namespace=attrs.namespace,
        namespace_id=state.namespace_id,
        workflow_execution=WorkflowExecution(workflow_id=target.workflow_id, run_id=target.run_id),
        signal_name=attrs.signal_name,
        input=attrs.input if attrs.HasField("input") else None,
        control=attrs.control,
        child_workflow_only=attrs.child_workflow_only,
        header=attrs.header if attrs.HasField("header") else None,
    )
    _remember_external(
        m,
        event,
        "signal",
        attrs.namespace,
        target,
        completed_event_id,
        control=attrs.control,
        child_workflow_only=attrs.child_workflow_only,
        signal_name=attrs.signal_name,
        input=attrs.input.SerializeToString() if attrs.HasField("input") else b"",
        header=attrs.header.SerializeToString() if attrs.HasField("header") else b"",
    )


def request_cancel_external(m: Mutation, command: Command, completed_event_id: int) -> None:
    attrs = command.request_cancel_external_workflow_execution_command_attributes
    state = m.state
    _same_namespace(state, attrs.namespace, CANCEL_CAUSE)
    name = "RequestCancelExternalWorkflowExecutionCommand"
    _check_target(attrs.workflow_id, attrs.run_id, attrs.namespace, name, CANCEL_CAUSE)
    for earlier in m.events:
        if (
            earlier.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
            and earlier.start_child_workflow_execution_initiated_event_attributes.workflow_id == attrs.workflow_id
        ):
            raise CommandError(
                CANCEL_CAUSE,
                f"Start and RequestCancel for child workflow is not allowed in same workflow task. "
                f"WorkflowId={attrs.workflow_id} RunId={attrs.run_id} Namespace={attrs.namespace}",
            )
    event = m.add_event(
        EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        workflow_task_completed_event_id=completed_event_id,
        namespace=attrs.namespace,
        namespace_id=state.namespace_id,
        workflow_execution=WorkflowExecution(workflow_id=attrs.workflow_id, run_id=attrs.run_id),
        control=attrs.control,
        child_workflow_only=attrs.child_workflow_only,
        reason=attrs.reason,
    )
    _remember_external(
        m,
        event,
        "cancel",
        attrs.namespace,
        WorkflowExecution(workflow_id=attrs.workflow_id, run_id=attrs.run_id),
        completed_event_id,
        control=attrs.control,
        child_workflow_only=attrs.child_workflow_only,
        reason=attrs.reason,
    )


def _remember_external(
    m: Mutation,
    event: HistoryEvent,
    kind: str,
    namespace: str,
    target: WorkflowExecution,
    completed_event_id: int,
    **fields: Any,
) -> None:
    """Record the request in the run's committed state and drive it after the commit
    (external_ops.py); a fresh request id makes its delivery idempotent."""
    state = m.state
    state.external_requests[event.event_id] = ExternalRequestInfo(
        initiated_event_id=event.event_id,
        kind=kind,
        namespace=namespace or state.namespace,
        namespace_id=state.namespace_id,
        workflow_id=target.workflow_id,
        run_id=target.run_id,
        request_id=str(uuid.uuid4()),
        completed_event_id=completed_event_id,
        **fields,
    )
    m.effects.cross_run.append(("external_request", event.event_id))


def _same_namespace(state: MutableState, namespace: str, cause: int) -> None:
    """Commands may name only the run's own namespace (Temporal with cross-namespace commands
    disabled, as Temporal Cloud runs)."""
    if namespace and namespace != state.namespace:
        raise CommandError(cause, CROSS_NAMESPACE)


def _check_target(workflow_id: str, run_id: str, namespace: str, command: str, cause: int) -> None:
    where = f"Namespace={namespace} RunId={run_id}"
    if not workflow_id:
        raise CommandError(cause, f"WorkflowId is not set on {command}. {where}")
    if len(workflow_id) > MAX_ID_LENGTH:
        raise CommandError(cause, f"WorkflowId on {command} exceeds length limit. WorkflowId={workflow_id} {where}")
    if run_id:
        try:
            uuid.UUID(run_id)
        except ValueError:
            raise CommandError(cause, f"Invalid RunId set on {command}. WorkflowId={workflow_id} {where}") from None


def _retry_policy_problem(policy: RetryPolicy) -> str:
    initial = seconds_of(policy.initial_interval)
    maximum = seconds_of(policy.maximum_interval)
    if initial < 0:
        return "InitialInterval cannot be negative"
    if policy.backoff_coefficient and policy.backoff_coefficient < 1:
        return "BackoffCoefficient cannot be less than 1"
    if maximum < 0:
        return "MaximumInterval cannot be negative"
    if maximum and initial and maximum < initial:
        return "MaximumInterval cannot be less than InitialInterval"
    if policy.maximum_attempts < 0:
        return "MaximumAttempts cannot be negative"
    return ""
