"""A workflow run's mutable state: what the engine must know about a run beyond its history.

Serialized with msgspec (MessagePack) into the execution row on every transition; protobuf
values that the state keeps verbatim (retry policies, payloads, failures) are stored as their
serialized bytes. Fields only ever get added with defaults, so old rows keep decoding.
"""

from __future__ import annotations

import msgspec

# WorkflowExecutionStatus values (temporal.api.enums.v1), kept as ints in stored state.
STATUS_RUNNING = 1
STATUS_COMPLETED = 2
STATUS_FAILED = 3
STATUS_CANCELED = 4
STATUS_TERMINATED = 5
STATUS_CONTINUED_AS_NEW = 6
STATUS_TIMED_OUT = 7


class WorkflowTaskInfo(msgspec.Struct, kw_only=True):
    scheduled_event_id: int  # 0 while the task is transient and not yet in history
    attempt: int = 1
    task_queue: str = ""
    sticky: bool = False  # scheduled on the sticky queue
    # a retry (attempt > 1) with no new events: its Scheduled/Started events are not written to
    # history unless it completes, so a workflow failing in a loop does not grow its history
    transient: bool = False
    scheduled_time: float = 0.0
    start_to_close_timeout: float = 10.0
    started_event_id: int = 0  # 0 = not started
    started_time: float = 0.0
    request_id: str = ""
    identity: str = ""


class ActivityInfo(msgspec.Struct, kw_only=True):
    scheduled_event_id: int
    activity_id: str
    activity_type: str
    task_queue: str
    scheduled_time: float  # first attempt
    attempt: int = 1
    attempt_scheduled_time: float = 0.0  # when the current attempt became dispatchable
    schedule_to_close_timeout: float = 0.0  # 0 = none
    schedule_to_start_timeout: float = 0.0
    start_to_close_timeout: float = 0.0
    heartbeat_timeout: float = 0.0
    retry_policy: bytes = b""  # serialized temporal.api.common.v1.RetryPolicy
    started: bool = False
    started_time: float = 0.0
    started_identity: str = ""
    request_id: str = ""
    last_heartbeat_time: float = 0.0
    heartbeat_details: bytes = b""  # serialized Payloads
    last_failure: bytes = b""  # serialized Failure of the previous attempt
    last_worker_identity: str = ""
    cancel_requested: bool = False
    cancel_requested_event_id: int = 0


class TimerInfo(msgspec.Struct, kw_only=True):
    timer_id: str
    started_event_id: int
    expiry_time: float


class UpdateInfo(msgspec.Struct, kw_only=True):
    """A workflow update the run accepted (update_ops.py); admitted ones live in memory only."""

    accepted_event_id: int
    completed_event_id: int = 0  # its WorkflowExecutionUpdateCompleted event, once completed


class ChildInfo(msgspec.Struct, kw_only=True):
    """A child workflow the run initiated and whose close it has not yet recorded (child_ops.py)."""

    initiated_event_id: int
    workflow_id: str
    workflow_type: str
    namespace: str
    namespace_id: str
    parent_close_policy: int  # ParentClosePolicy
    request_id: str  # the child's start request id: a retried start finds the run it made
    completed_event_id: int = 0  # the WorkflowTaskCompleted event of the initiating task
    control: str = ""
    start_request: bytes = b""  # serialized StartWorkflowExecutionRequest, until the child started
    run_id: str = ""  # the child's first run, once started
    started_event_id: int = 0  # its ChildWorkflowExecutionStarted event, once written


class ExternalRequestInfo(msgspec.Struct, kw_only=True):
    """A signal or cancel request to another workflow, not yet delivered (external_ops.py)."""

    initiated_event_id: int
    kind: str  # "signal" | "cancel"
    namespace: str
    namespace_id: str
    workflow_id: str
    run_id: str
    request_id: str
    completed_event_id: int = 0
    control: str = ""
    child_workflow_only: bool = False
    signal_name: str = ""
    input: bytes = b""  # serialized Payloads
    header: bytes = b""  # serialized Header
    reason: str = ""


class ParentInfo(msgspec.Struct, kw_only=True):
    """The run that started this one as its child, and what its close does to this one."""

    namespace: str
    namespace_id: str
    workflow_id: str
    run_id: str
    initiated_event_id: int
    close_policy: int = 1  # ParentClosePolicy; TERMINATE by default


class MutableState(msgspec.Struct, kw_only=True):
    namespace_id: str
    namespace: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    start_time: float
    status: int = STATUS_RUNNING
    close_time: float = 0.0
    start_request_id: str = ""
    first_execution_run_id: str = ""
    workflow_task_timeout: float = 10.0
    run_timeout: float = 0.0  # 0 = none
    execution_timeout: float = 0.0
    run_expiration_time: float = 0.0
    next_event_id: int = 1
    last_event_task_id: int = 0
    # the WorkflowTaskStarted event id of the last completed workflow task
    last_completed_wft_started_event_id: int = 0
    workflow_task: WorkflowTaskInfo | None = None
    # when the first workflow task becomes dispatchable (workflow_start_delay)
    first_workflow_task_time: float = 0.0
    activities: dict[int, ActivityInfo] = msgspec.field(default_factory=dict)
    timers: dict[str, TimerInfo] = msgspec.field(default_factory=dict)
    # events that arrived while a workflow task was started, appended after it completes
    buffered_events: list[bytes] = msgspec.field(default_factory=list)
    sticky_task_queue: str = ""
    sticky_schedule_to_start_timeout: float = 0.0
    cancel_requested: bool = False
    signal_request_ids: list[str] = msgspec.field(default_factory=list)
    search_attributes: bytes = b""  # serialized SearchAttributes (current values)
    memo: bytes = b""  # serialized Memo (current values)
    completion_event_id: int = 0
    history_size_bytes: int = 0  # serialized size of the history written so far
    user_metadata: bytes = b""  # serialized UserMetadata from the start (static summary, details)
    state_transition_count: int = 0  # commits of this run's state
    # the chain of runs (chain_ops.py): continue-as-new, workflow retries, cron
    attempt: int = 1  # the workflow retry attempt of this run
    retry_policy: bytes = b""  # serialized RetryPolicy with defaults filled; b"" = no workflow retries
    cron_schedule: str = ""
    execution_expiration_time: float = 0.0  # the chain's workflow execution timeout; 0 = none
    new_execution_run_id: str = ""  # the run this closed one continues as ("" = the chain ended here)
    children: dict[int, ChildInfo] = msgspec.field(default_factory=dict)  # by initiated event id
    external_requests: dict[int, ExternalRequestInfo] = msgspec.field(default_factory=dict)  # by initiated id
    parent: ParentInfo | None = None  # set on a child workflow's runs
    root_workflow_id: str = ""  # the root of the run's family of children ("" = itself)
    root_run_id: str = ""
    reset_run_id: str = ""  # the run this one was last reset to (ResetWorkflowExecution)
    updates: dict[str, UpdateInfo] = msgspec.field(default_factory=dict)  # accepted updates by update id
    # durably admitted updates (a reset re-applied them as WorkflowExecutionUpdateAdmitted events, which
    # is how the worker learns of them): update id → that event's id, until accepted or rejected
    admitted_updates: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.status == STATUS_RUNNING

    def activity_by_id(self, activity_id: str) -> ActivityInfo | None:
        for info in self.activities.values():
            if info.activity_id == activity_id:
                return info
        return None


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(MutableState)


def encode_state(state: MutableState) -> bytes:
    return _encoder.encode(state)


def decode_state(data: bytes) -> MutableState:
    return _decoder.decode(data)
