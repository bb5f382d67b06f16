"""Queries: answered by a worker, never written to history.

Delivery follows Temporal's server and what current SDKs expect:
* with no workflow task outstanding (or the run closed), the query goes to a worker as a
  *legacy query task* — a workflow task response carrying `query` and the full history — and
  the answer comes back through RespondQueryTaskCompleted;
* while a workflow task is scheduled or started, the query waits and rides on the next
  workflow task handed out (`queries` map); the answer comes back in that task's completion.
  If the run then has no further workflow task, waiting queries go out as legacy tasks.
Pending queries live in memory only: a query is a request, not state.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import QueryRejectCondition, QueryResultType
from temporalio.api.query.v1 import WorkflowQuery, WorkflowQueryResult
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueResponse, RespondQueryTaskCompletedRequest

from engine.history.cache import WorkflowEntry
from engine.history.errors import InvalidArgument, NotFound, WorkflowNotReady
from engine.history.poll_responses import poll_response
from engine.history.service import HistoryCore
from engine.history.state import STATUS_COMPLETED
from engine.history.tokens import KIND_QUERY_TASK, TaskToken, decode_token
from engine.matching.task_queues import KIND_WORKFLOW, QueueKey, Task
from engine.persistence.records import ExecutionKey


class QueryTimedOut(Exception):
    """No worker answered the query before the caller's deadline."""


@dataclass
class PendingQuery:
    query: WorkflowQuery
    answer: asyncio.Future[WorkflowQueryResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    on_workflow_task: bool = False  # handed out inside a workflow task, awaiting its completion


@dataclass(frozen=True)
class QueryOutcome:
    result: WorkflowQueryResult | None = None
    rejected_status: int = 0  # WorkflowExecutionStatus when rejected by the reject condition


FAIL_QUERY_WORKFLOW_TASK_ATTEMPT = 3  # Temporal's failQueryWorkflowTaskAttemptCount


class QueryOps(HistoryCore):
    async def query(
        self, key: ExecutionKey, query: WorkflowQuery, *, reject_condition: int, timeout: float
    ) -> QueryOutcome:
        if not query.query_type:
            raise InvalidArgument("query.query_type is required")
        async with self.locks.hold(key.namespace_id, key.workflow_id):
            entry = await self.load(key)
            state = entry.state
            if reject_condition == QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN and not state.running:
                return QueryOutcome(rejected_status=state.status)
            if (
                reject_condition == QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY
                and not state.running
                and state.status != STATUS_COMPLETED
            ):
                return QueryOutcome(rejected_status=state.status)
            if not state.running and not state.last_completed_wft_started_event_id:
                raise WorkflowNotReady("Workflow closed before task started.")
            wft = state.workflow_task
            if state.running and wft is not None and wft.attempt >= FAIL_QUERY_WORKFLOW_TASK_ATTEMPT:
                # as Temporal: a query waiting behind a failing task would only time out
                raise WorkflowNotReady("Unable to query workflow due to Workflow Task in failed state.")
            query_id = str(uuid.uuid4())
            pending = PendingQuery(query)
            entry.queries[query_id] = pending
            if not state.running or state.workflow_task is None:
                self._dispatch_query(entry, query_id)
        try:
            result = await asyncio.wait_for(asyncio.shield(pending.answer), timeout)
        except TimeoutError:
            raise QueryTimedOut("no worker answered the query in time") from None
        finally:
            entry.queries.pop(query_id, None)
        return QueryOutcome(result=result)

    def _dispatch_query(self, entry: WorkflowEntry, query_id: str) -> None:
        self.matching.offer(
            QueueKey(entry.key.namespace_id, entry.state.task_queue, KIND_WORKFLOW),
            Task(entry.key, 0, 0, query_id=query_id),
        )

    def dispatch_waiting_queries(self, entry: WorkflowEntry) -> None:
        """After a workflow task: queries it did not answer go out as legacy query tasks,
        unless another workflow task is coming that can carry them."""
        for pending in entry.queries.values():
            pending.on_workflow_task = False
        if entry.state.running and entry.state.workflow_task is not None:
            return
        for query_id, pending in entry.queries.items():
            if not pending.answer.done():
                self._dispatch_query(entry, query_id)

    def attach_queries(self, entry: WorkflowEntry, response: PollWorkflowTaskQueueResponse) -> None:
        for query_id, pending in entry.queries.items():
            if not pending.answer.done():
                response.queries[query_id].CopyFrom(pending.query)
                pending.on_workflow_task = True

    def answer_queries(self, entry: WorkflowEntry, results: dict[str, WorkflowQueryResult]) -> None:
        for query_id, result in results.items():
            pending = entry.queries.get(query_id)
            if pending is not None and not pending.answer.done():
                pending.answer.set_result(result)

    async def legacy_query_task(self, task: Task) -> PollWorkflowTaskQueueResponse | None:
        """The poll response for a query task; None if the query is already answered or gone."""
        try:
            entry = await self.load(task.key)
        except NotFound:
            return None
        pending = entry.queries.get(task.query_id)
        if pending is None or pending.answer.done():
            return None
        state = entry.state
        token = TaskToken(KIND_QUERY_TASK, state.namespace_id, state.workflow_id, state.run_id, query_id=task.query_id)
        response = poll_response(entry, token, started_event_id=state.last_completed_wft_started_event_id)
        response.query.CopyFrom(pending.query)
        response.history.events.extend(await self.history_of(entry))
        return response

    async def respond_query_task(self, req: RespondQueryTaskCompletedRequest) -> None:
        token = decode_token(req.task_token)
        if token.kind != KIND_QUERY_TASK:
            raise InvalidArgument("task_token is not a query task token")
        entry = await self.load(ExecutionKey(token.namespace_id, token.workflow_id, token.run_id))
        pending = entry.queries.get(token.query_id)
        if pending is None or pending.answer.done():
            raise NotFound("query not found: it was answered, or its caller gave up")
        result = WorkflowQueryResult(result_type=req.completed_type, error_message=req.error_message)
        if req.HasField("query_result"):
            result.answer.CopyFrom(req.query_result)
        if req.HasField("failure"):
            result.failure.CopyFrom(req.failure)
        if req.completed_type not in (
            QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
            QueryResultType.QUERY_RESULT_TYPE_FAILED,
        ):
            raise InvalidArgument("completed_type must be ANSWERED or FAILED")
        pending.answer.set_result(result)
