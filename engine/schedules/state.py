"""A schedule's stored record: its definition (the `Schedule` protobuf as given) and the state
the engine keeps to run it. Serialized with msgspec into the `schedules` table; fields only
ever get added with defaults."""

from __future__ import annotations

import msgspec

MAX_RECENT_ACTIONS = 10  # as Temporal's DescribeSchedule


class RunningWorkflow(msgspec.Struct, frozen=True):
    """A workflow the schedule started and whose chain of runs has not ended: `run_id` is its
    first run (what DescribeSchedule shows, as Temporal's `running_workflows`), `latest_run_id`
    the run of the chain the scheduler follows now ("" = the first)."""

    workflow_id: str
    run_id: str
    latest_run_id: str = ""

    @property
    def latest(self) -> str:
        return self.latest_run_id or self.run_id


class BufferedStart(msgspec.Struct, frozen=True):
    """A start the overlap policy held back until the running workflow closes."""

    nominal: float
    actual: float
    overlap: int
    manual: bool = False  # a trigger or backfill: runs even while paused or out of actions


class ActionResult(msgspec.Struct, kw_only=True):
    schedule_time: float  # nominal
    actual_time: float
    workflow_id: str
    run_id: str
    status: int  # WorkflowExecutionStatus of the started run, updated when it closes


class ScheduleRecord(msgspec.Struct, kw_only=True):
    namespace: str
    schedule: bytes  # serialized temporal.api.schedule.v1.Schedule (spec as given)
    memo: bytes = b""  # serialized Memo of the schedule itself
    search_attributes: bytes = b""  # serialized SearchAttributes of the schedule itself
    create_time: float
    update_time: float = 0.0
    create_request_id: str = ""
    conflict_token: int = 1  # bumped by every UpdateSchedule
    # every nominal time up to this one (seconds since the epoch) has been handled
    last_processed: float
    action_count: int = 0
    missed_catchup_window: int = 0
    overlap_skipped: int = 0
    buffer_dropped: int = 0
    # handed to every start: the result of the last run that completed (serialized Payloads) and
    # the failure of the last run if it failed after that (serialized Failure)
    last_completion_result: bytes = b""
    continued_failure: bytes = b""
    running: list[RunningWorkflow] = msgspec.field(default_factory=list)
    buffered: list[BufferedStart] = msgspec.field(default_factory=list)
    recent: list[ActionResult] = msgspec.field(default_factory=list)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(ScheduleRecord)


def encode_record(record: ScheduleRecord) -> bytes:
    return _encoder.encode(record)


def decode_record(data: bytes) -> ScheduleRecord:
    return _decoder.decode(data)
