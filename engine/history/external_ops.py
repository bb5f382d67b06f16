"""Signals and cancel requests from one workflow to another.

The SignalExternalWorkflowExecution / RequestCancelExternalWorkflowExecution commands
(`child_commands.py`) commit their Initiated event with a pending `ExternalRequestInfo`; then,
one workflow lock at a time, `drive_external_request` delivers it to the target run (the
request id generated with the command makes a delivery driven twice land once) and records the
outcome in the source: ExternalWorkflowExecutionSignaled / ExternalWorkflowExecutionCancelRequested,
or the Failed event with cause EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND (no such run, closed, or
not a child of the source when `child_workflow_only`). A source that closed meanwhile drops the
request, as Temporal does. Recovery drives every request still pending again.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import Header, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import (
    CancelExternalWorkflowExecutionFailedCause,
    EventType,
    SignalExternalWorkflowExecutionFailedCause,
)

from engine.history.cache import WorkflowEntry
from engine.history.errors import NotFound
from engine.history.mutation import Mutation
from engine.history.service import NamespaceRef
from engine.history.start_ops import StartOps
from engine.history.state import ExternalRequestInfo, MutableState
from engine.history.workflow_ops import MAX_REMEMBERED_SIGNAL_IDS
from engine.persistence.records import ExecutionKey

IDENTITY = "history-service"
# EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND, in each command's own enum
SIGNAL_NOT_FOUND = SignalExternalWorkflowExecutionFailedCause.Value(
    "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"
)
CANCEL_NOT_FOUND = CancelExternalWorkflowExecutionFailedCause.Value(
    "CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"
)


def add_cancel_request(m: Mutation, *, reason: str, external: WorkflowExecution | None, initiated_id: int = 0) -> None:
    """The target side of a cancel request from another workflow (or its parent's close policy)."""
    m.state.cancel_requested = True
    m.add_or_buffer(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        cause=reason,
        identity=IDENTITY,
        external_initiated_event_id=initiated_id,
        external_workflow_execution=external,
    )


class ExternalOps(StartOps):
    def redrive(self, entry: WorkflowEntry) -> None:
        super().redrive(entry)
        for initiated_id in entry.state.external_requests:
            self.drive(entry.key, ("external_request", initiated_id))

    async def drive_external_request(self, source_key: ExecutionKey, initiated_id: int) -> None:
        async with self.locks.hold(source_key.namespace_id, source_key.workflow_id):
            try:
                entry = await self.load(source_key)
            except NotFound:
                return
            info = entry.state.external_requests.get(initiated_id)
            if not entry.state.running or info is None:
                return
        delivered = await self._deliver(source_key, info)
        async with self.locks.hold(source_key.namespace_id, source_key.workflow_id):
            entry = await self.load(source_key)
            state = entry.state
            if not state.running or state.external_requests.get(initiated_id) is None:
                return
            del state.external_requests[initiated_id]
            m = Mutation(state, self.clock())
            target = WorkflowExecution(workflow_id=info.workflow_id, run_id=info.run_id)
            common: dict[str, Any] = {
                "initiated_event_id": initiated_id,
                "namespace": info.namespace,
                "namespace_id": info.namespace_id,
                "workflow_execution": target,
            }
            if info.kind == "signal" and delivered:
                m.add_or_buffer(
                    EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, **common, control=info.control
                )
            elif info.kind == "signal":
                m.add_or_buffer(
                    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
                    **common,
                    control=info.control,
                    cause=SIGNAL_NOT_FOUND,
                    workflow_task_completed_event_id=info.completed_event_id,
                )
            elif delivered:
                m.add_or_buffer(EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, **common)
            else:
                m.add_or_buffer(
                    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
                    **common,
                    cause=CANCEL_NOT_FOUND,
                    workflow_task_completed_event_id=info.completed_event_id,
                )
            await self.commit(entry, m)

    async def _deliver(self, source_key: ExecutionKey, info: ExternalRequestInfo) -> bool:
        """Signal or cancel the target run; False if there is no such running workflow."""
        ns = NamespaceRef(info.namespace_id, info.namespace)
        try:
            key = await self.resolve(ns, WorkflowExecution(workflow_id=info.workflow_id, run_id=info.run_id))
        except NotFound:
            return False
        source = WorkflowExecution(workflow_id=source_key.workflow_id, run_id=source_key.run_id)
        async with self.locks.hold(key.namespace_id, key.workflow_id):
            try:
                entry = await self.load(key)
            except NotFound:
                return False
            state = entry.state
            if not state.running or (info.child_workflow_only and not _is_parent(state, source_key)):
                return False
            m = Mutation(state, self.clock())
            if info.kind == "signal":
                if info.request_id in state.signal_request_ids:
                    return True  # delivered by an earlier try
                state.signal_request_ids.append(info.request_id)
                del state.signal_request_ids[:-MAX_REMEMBERED_SIGNAL_IDS]
                m.add_or_buffer(
                    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                    signal_name=info.signal_name,
                    input=Payloads.FromString(info.input) if info.input else None,
                    identity=IDENTITY,
                    header=Header.FromString(info.header) if info.header else None,
                    external_workflow_execution=source,
                    request_id=info.request_id,
                )
            elif state.cancel_requested:
                return True  # cancellation is idempotent
            else:
                add_cancel_request(m, reason=info.reason, external=source, initiated_id=info.initiated_event_id)
            await self.commit(entry, m)
            return True


def _is_parent(state: MutableState, source_key: ExecutionKey) -> bool:
    parent = state.parent
    return parent is not None and (parent.workflow_id, parent.run_id) == (source_key.workflow_id, source_key.run_id)
