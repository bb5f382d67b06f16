"""What the engine stores, as plain records. The store never interprets the serialized blobs.

* A **namespace** row holds its name, state and a serialized description owned by the frontend.
* An **execution** row holds one run's mutable state (serialized by `engine.history`), its
  `next_event_id` and a `db_version` that every update must match (optimistic concurrency:
  a stale writer fails instead of overwriting).
* The **current run** row maps (namespace, workflow id) to the run that owns the id now; it is
  what "workflow already started" and id-reuse policies are decided against.
* The **visibility** row of a run is what List/Count filters see (system attributes, memo and
  search attributes, with one indexed row per custom search-attribute value); it is written in
  the same transaction as the transitions that change it (start, upsert, close).
* **History** is append-only batches of events; each batch is one serialized
  `temporal.api.history.v1.History` holding events `first_event_id..last_event_id`.

A `Transition` is one state change of one run: its events, its new mutable state and its
current-run change are written in **one transaction**, so nothing is half-applied after a crash.
Everything else the engine keeps in memory (task queues, timers) is rebuilt from running
executions' mutable state at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NamespaceRecord:
    id: str  # UUID string, immutable
    name: str  # unique
    state: int  # temporal.api.enums.v1.NamespaceState value
    data: bytes  # serialized description, owned by the frontend
    version: int = 1  # bumped on every update; updates must name the version they read


@dataclass(frozen=True, order=True)
class ExecutionKey:
    namespace_id: str
    workflow_id: str
    run_id: str


@dataclass(frozen=True)
class ExecutionRow:
    key: ExecutionKey
    state: bytes
    next_event_id: int
    db_version: int
    running: bool


@dataclass(frozen=True)
class CurrentRun:
    namespace_id: str
    workflow_id: str
    run_id: str
    running: bool
    start_request_id: str
    status: int  # temporal.api.enums.v1.WorkflowExecutionStatus value


@dataclass(frozen=True)
class CurrentRunWrite:
    """Point (namespace, workflow id) at this transition's run.

    `expected_run_id` is the precondition: None means no current run may exist yet;
    a run id means the current row must still name that run (id reuse after it closed).
    """

    run_id: str
    running: bool
    start_request_id: str
    status: int
    expected_run_id: str | None = None


@dataclass(frozen=True)
class HistoryBatch:
    first_event_id: int
    last_event_id: int
    data: bytes  # serialized temporal.api.history.v1.History


@dataclass(frozen=True)
class AttributeRow:
    """One indexed value of a run's search attribute (a KeywordList has one row per value)."""

    name: str
    text_value: str | None = None  # Keyword, KeywordList, Text (as its indexed words)
    int_value: int | None = None  # Int, Datetime (ns since the epoch), Bool (0 / 1)
    double_value: float | None = None  # Double


@dataclass(frozen=True)
class VisibilityRow:
    """What List/Count filters see of a run. Times are nanoseconds since the epoch.

    `attributes` None leaves the run's indexed search-attribute rows as they are; a tuple
    replaces them all.
    """

    workflow_type: str
    status: int
    start_time: int
    execution_time: int
    close_time: int | None
    execution_duration: int | None
    task_queue: str
    history_length: int
    history_size_bytes: int
    state_transition_count: int
    parent_workflow_id: str | None
    parent_run_id: str | None
    root_workflow_id: str
    root_run_id: str
    memo: bytes  # serialized Memo
    search_attributes: bytes  # serialized SearchAttributes, as answered
    attributes: tuple[AttributeRow, ...] | None = None


@dataclass(frozen=True)
class Transition:
    """One state change of one run, written atomically.

    `expected_db_version` 0 creates the execution row (it must not exist); otherwise the row's
    `db_version` must equal it and becomes `expected_db_version + 1`.
    `current` creates or replaces the current-run row (with its precondition); `current_status`
    alone updates the running flag and status of the current row when it names this run.
    """

    key: ExecutionKey
    state: bytes
    next_event_id: int
    expected_db_version: int
    running: bool
    history: HistoryBatch | None = None
    current: CurrentRunWrite | None = None
    current_status: tuple[bool, int] | None = None  # (running, status)
    visibility: VisibilityRow | None = None  # written with the transition when the run's listing changes
    # changes of other runs of the same workflow id written with this one, all or none (a reset
    # creates the new run, terminates the running one and links the base run in one transaction)
    linked: tuple[Transition, ...] = ()


class StoreConflict(Exception):
    """A transition's precondition failed; nothing of that transition was written."""


class ExecutionConflict(StoreConflict):
    """The execution row is not at `expected_db_version` (or already exists on create)."""


class CurrentRunConflict(StoreConflict):
    """The current-run row does not match `CurrentRunWrite.expected_run_id`."""

    def __init__(self, current: CurrentRun | None) -> None:
        super().__init__(f"current run is {current.run_id if current else 'absent'}")
        self.current = current


class NamespaceConflict(StoreConflict):
    """A namespace with that name or id exists (create) or its version moved on (update)."""


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule: its serialized definition and state (owned by `engine.schedules`), and a
    version that every update must name (optimistic concurrency)."""

    namespace_id: str
    schedule_id: str
    data: bytes
    version: int = 1


class ScheduleConflict(StoreConflict):
    """A schedule with that id exists (create) or its version moved on (update)."""
