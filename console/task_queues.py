"""What the task-queue page reads from the engine: who polled the queue lately (its workers), per
task type, and the backlog of tasks no worker has taken yet.

The engine lists a poller for ``POLLER_WINDOW_MINUTES`` after its last poll, as Temporal does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from console.engine import call, workflow_service
from console.history import timestamp
from console.workflows import short_duration

POLLER_WINDOW_MINUTES = 5


@dataclass(frozen=True)
class Poller:
    identity: str
    last_access_time: datetime | None
    rate_per_second: float


@dataclass(frozen=True)
class QueueSide:
    """One task type of the queue (workflow tasks or activity tasks)."""

    kind: str  # "Workflow" | "Activity"
    pollers: list[Poller]
    backlog_count: int | None  # None: the engine did not report it
    backlog_age: timedelta | None

    @property
    def backlog_age_text(self) -> str:
        return short_duration(self.backlog_age)


def _side(namespace_id: str, task_queue: str, kind: str, task_type: TaskQueueType.ValueType) -> QueueSide:
    response = call(
        workflow_service().DescribeTaskQueue,
        DescribeTaskQueueRequest(
            namespace=namespace_id,
            task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=task_type,
            report_stats=True,
            include_task_queue_status=True,
        ),
    )
    pollers = [
        Poller(identity=p.identity, last_access_time=timestamp(p.last_access_time), rate_per_second=p.rate_per_second)
        for p in response.pollers
    ]
    count: int | None = None
    age: timedelta | None = None
    if response.HasField("stats"):
        count = response.stats.approximate_backlog_count
        age = response.stats.approximate_backlog_age.ToTimedelta() if count else None
    elif response.HasField("task_queue_status"):
        count = response.task_queue_status.backlog_count_hint
    return QueueSide(kind=kind, pollers=pollers, backlog_count=count, backlog_age=age)


def describe_task_queue(namespace_id: str, task_queue: str) -> list[QueueSide]:
    """The workflow side, then the activity side."""
    return [
        _side(namespace_id, task_queue, "Workflow", TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
        _side(namespace_id, task_queue, "Activity", TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
    ]
