"""What the engine stores, as plain records. The store never interprets the serialized blobs.

* A **namespace** row holds its name, state and a serialized description owned by the frontend.
* An **execution** row holds one run's mutable state (serialized by `engine.history`), its
  `next_event_id` and a `db_version` that every update must match (optimistic concurrency:
  a stale writer fails instead of overwriting).
* The **current run** row maps (namespace, workflow id) to the run that owns the id now; it is
  what "workflow already started" and id-reuse policies are decided against.
* **History** is append-only batches of events; each batch is one serialized
  `temporal.api.history.v1.History` holding events `first_event_id..last_event_id`.

A `Transition` is one state change of one run: its events, its new mutable state and its
current-run change are written in **one transaction**, so nothing is half-applied after a crash.
Everything else the engine keeps in memory (task queues, timers) is rebuilt from running
executions' mutable state at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    extra: dict[str, object] = field(default_factory=dict)  # reserved for later slices (visibility)


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
