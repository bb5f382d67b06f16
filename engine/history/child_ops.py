"""Child workflows: starting the child a parent initiated, and telling the parent how it went.

The StartChildWorkflowExecution command (`child_commands.py`) commits the parent's Initiated
event with a pending `ChildInfo` holding the child's start request. Then, never holding two
workflow locks at once:

1. `drive_start_child` creates the child's first run (its own transition, carrying the parent
   and the root) under the child's lock. The start request id is the child's: a start driven
   again finds the run it made instead of refusing or duplicating it.
2. Under the parent's lock it records ChildWorkflowExecutionStarted, or
   StartChildWorkflowExecutionFailed (WORKFLOW_ALREADY_EXISTS) when the id is taken.
3. When the child's chain ends, its close listener drives `drive_notify_parent`, which records
   ChildWorkflowExecutionCompleted / Failed / Canceled / TimedOut / Terminated in the parent
   (and the Started event first, if the child closed before it was recorded).

The parent's state is authoritative: until it has recorded the close, the child stays in
`state.children`, and recovery re-drives the start (no run yet) or checks the child's run
(`drive_settle_child`), so a notice lost in a crash is found again from the parent's side.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import Header, WorkflowExecution
from temporalio.api.enums.v1 import EventType, StartChildWorkflowExecutionFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest

from engine.history.cache import WorkflowEntry
from engine.history.child_events import (
    CLOSE_TO_PARENT_EVENT,
    STARTED,
    closed_fields,
    start_failed_fields,
    started_fields,
)
from engine.history.errors import NotFound, WorkflowAlreadyStarted
from engine.history.external_ops import ExternalOps
from engine.history.ids import new_run_id
from engine.history.mutation import Mutation
from engine.history.service import NamespaceRef, execution_of
from engine.history.start_ops import MAX_START_ROUNDS
from engine.history.state import STATUS_CONTINUED_AS_NEW, ChildInfo, MutableState, ParentInfo
from engine.persistence.records import CurrentRun, CurrentRunConflict, CurrentRunWrite, ExecutionKey

IDENTITY = "history-service"  # Temporal's identity on what its history service does for a run
MAX_CHAIN_HOPS = 1000  # runs followed along a child's chain (continue-as-new, retries)
ALREADY_EXISTS = (
    StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS
)


def has_successor(state: MutableState) -> bool:
    """The run's chain goes on in another run (continue-as-new, a retry, the next cron run):
    its close is not the end of the workflow, and its parent is not told."""
    return bool(state.new_execution_run_id) or state.status == STATUS_CONTINUED_AS_NEW


def is_child_of(state: MutableState, parent_key: ExecutionKey, initiated_id: int) -> bool:
    parent = state.parent
    return (
        parent is not None
        and parent.workflow_id == parent_key.workflow_id
        and parent.run_id == parent_key.run_id
        and parent.initiated_event_id == initiated_id
    )


class ChildOps(ExternalOps):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.close_listeners.append(self._on_run_closed)

    def _on_run_closed(self, key: ExecutionKey, status: int) -> None:
        entry = self.entries.peek(key)
        if entry is None:
            return
        state = entry.state
        if state.parent is not None and not has_successor(state):
            self.drive(key, ("notify_parent",))
        if state.children:
            self.drive(key, ("parent_close",))  # parent_close.py

    def redrive(self, entry: WorkflowEntry) -> None:
        super().redrive(entry)
        for initiated_id, info in entry.state.children.items():
            self.drive(entry.key, ("settle_child" if info.run_id else "start_child", initiated_id))

    # --- 1. start the child ---------------------------------------------------------------

    async def drive_start_child(self, parent_key: ExecutionKey, initiated_id: int) -> None:
        async with self.locks.hold(parent_key.namespace_id, parent_key.workflow_id):
            try:
                entry = await self.load(parent_key)
            except NotFound:
                return
            state = entry.state
            info = state.children.get(initiated_id)
            if not state.running or info is None or info.run_id:
                return  # a parent that closed first never starts its child, as in Temporal
            request = StartWorkflowExecutionRequest.FromString(info.start_request)
            parent = ParentInfo(
                namespace=state.namespace,
                namespace_id=state.namespace_id,
                workflow_id=state.workflow_id,
                run_id=state.run_id,
                initiated_event_id=initiated_id,
                close_policy=info.parent_close_policy,
            )
            root = WorkflowExecution(
                workflow_id=state.root_workflow_id or state.workflow_id, run_id=state.root_run_id or state.run_id
            )
        ns = NamespaceRef(info.namespace_id, info.namespace)
        try:
            run_id = await self._start_child_run(ns, request, parent, root)
        except WorkflowAlreadyStarted:
            run_id = ""
        await self._record_child_start(parent_key, initiated_id, run_id, request.header)

    async def _start_child_run(
        self, ns: NamespaceRef, req: StartWorkflowExecutionRequest, parent: ParentInfo, root: WorkflowExecution
    ) -> str:
        """The child's first run (created now, or by an earlier try of this start)."""
        async with self.locks.hold(ns.id, req.workflow_id):
            current: CurrentRun | None = None
            for _ in range(MAX_START_ROUNDS):
                if current is not None:
                    if current.start_request_id == req.request_id:
                        return current.run_id  # started by an earlier try, before a crash
                    await self._apply_start_policies(ns, req, req.request_id, None, current)
                run_id = new_run_id()
                entry, m = self._new_run(ns, req, run_id, req.request_id, None)
                entry.state.parent = parent
                entry.state.root_workflow_id, entry.state.root_run_id = root.workflow_id, root.run_id
                attrs = m.events[0].workflow_execution_started_event_attributes
                attrs.parent_workflow_namespace = parent.namespace
                attrs.parent_workflow_namespace_id = parent.namespace_id
                attrs.parent_workflow_execution.workflow_id = parent.workflow_id
                attrs.parent_workflow_execution.run_id = parent.run_id
                attrs.parent_initiated_event_id = parent.initiated_event_id
                attrs.root_workflow_execution.CopyFrom(root)
                write = CurrentRunWrite(
                    run_id=run_id,
                    running=True,
                    start_request_id=req.request_id,
                    status=1,
                    expected_run_id=current.run_id if current else None,
                )
                self.entries[entry.key] = entry
                try:
                    await self.commit(entry, m, create=True, current=write)
                except CurrentRunConflict as exc:
                    current = exc.current
                    continue
                return run_id
            raise WorkflowAlreadyStarted(f"workflow id {req.workflow_id!r} is taken", start_request_id="", run_id="")

    # --- 2. record the start in the parent ------------------------------------------------

    async def _record_child_start(
        self, parent_key: ExecutionKey, initiated_id: int, run_id: str, header: Header
    ) -> None:
        async with self.locks.hold(parent_key.namespace_id, parent_key.workflow_id):
            entry = await self.load(parent_key)
            state = entry.state
            info = state.children.get(initiated_id)
            if info is None or info.run_id:
                return  # recorded already (the child's close notice came first)
            if not state.running:
                closed_parent = (info.namespace_id, info.workflow_id, info.parent_close_policy) if run_id else None
            else:
                closed_parent = None
                m = Mutation(state, self.clock())
                if run_id:
                    self._add_started(m, info, run_id, header if header.fields else None)
                    await self._settle_child(entry, m, info)  # it may have closed already
                else:
                    del state.children[initiated_id]
                    m.add_or_buffer(
                        EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
                        **start_failed_fields(info, ALREADY_EXISTS),
                    )
                await self.commit(entry, m)
        if closed_parent is not None:
            # the parent closed while its child was starting: the close policy applies now
            await self.apply_parent_close_policy(parent_key, *closed_parent[:2], initiated_id, closed_parent[2])

    @staticmethod
    def _add_started(m: Mutation, info: ChildInfo, run_id: str, header: Header | None = None) -> None:
        info.run_id = run_id
        info.start_request = b""
        event = m.add_or_buffer(STARTED, **started_fields(info, run_id, header))
        if event is not None:
            info.started_event_id = event.event_id  # else set when the buffer is flushed

    # --- 3. record the child's close in the parent ----------------------------------------

    async def drive_notify_parent(self, child_key: ExecutionKey) -> None:
        """The child's chain ended: its parent records how (if it still waits for it)."""
        try:
            child = await self.read(child_key)
        except NotFound:
            return
        parent = child.state.parent
        if parent is None or child.state.running:
            return
        parent_key = ExecutionKey(parent.namespace_id, parent.workflow_id, parent.run_id)
        async with self.locks.hold(parent_key.namespace_id, parent_key.workflow_id):
            try:
                entry = await self.load(parent_key)
            except NotFound:
                return
            state = entry.state
            info = state.children.get(parent.initiated_event_id)
            if not state.running or info is None or info.workflow_id != child_key.workflow_id:
                return
            first_run = child.state.first_execution_run_id or child_key.run_id
            if info.run_id and info.run_id != first_run:
                return
            m = Mutation(state, self.clock())
            changed = not info.run_id
            if changed:  # it closed before its start was recorded: Started first, as Temporal does
                self._add_started(m, info, first_run)
            if await self._settle_child(entry, m, info) or changed:
                await self.commit(entry, m)

    async def drive_settle_child(self, parent_key: ExecutionKey, initiated_id: int) -> None:
        """Recovery: the parent waits for a started child; if its chain has ended, record it."""
        async with self.locks.hold(parent_key.namespace_id, parent_key.workflow_id):
            try:
                entry = await self.load(parent_key)
            except NotFound:
                return
            info = entry.state.children.get(initiated_id)
            if not entry.state.running or info is None or not info.run_id:
                return
            m = Mutation(entry.state, self.clock())
            if await self._settle_child(entry, m, info):
                await self.commit(entry, m)

    async def _settle_child(self, entry: WorkflowEntry, m: Mutation, info: ChildInfo) -> bool:
        """If the child's chain has ended, add the parent's event for it (parent lock held)."""
        found = await self._final_child_run(entry.key, info)
        if found is None:
            return False
        child, close_event = found
        m.add_or_buffer(
            CLOSE_TO_PARENT_EVENT[close_event.event_type], **closed_fields(info, execution_of(child.key), close_event)
        )
        del entry.state.children[info.initiated_event_id]
        return True

    async def _final_child_run(
        self, parent_key: ExecutionKey, info: ChildInfo
    ) -> tuple[WorkflowEntry, HistoryEvent] | None:
        """The child's last run and its close event, once its chain has ended; else None.
        Reads only (no child lock is taken while the parent's is held)."""
        key = ExecutionKey(info.namespace_id, info.workflow_id, info.run_id)
        for _ in range(MAX_CHAIN_HOPS):
            try:
                child = await self.read(key)
            except NotFound:
                return None
            state = child.state
            if state.running or not is_child_of(state, parent_key, info.initiated_event_id):
                return None
            if not has_successor(state):
                close = await self._close_event(child)
                return (child, close) if close is not None else None
            next_run = state.new_execution_run_id
            if not next_run:
                current = await self.store.get_current_run(key.namespace_id, key.workflow_id)
                next_run = current.run_id if current is not None else ""
            if not next_run or next_run == key.run_id:
                return None
            key = ExecutionKey(key.namespace_id, key.workflow_id, next_run)
        return None

    async def _close_event(self, entry: WorkflowEntry) -> HistoryEvent | None:
        wanted = entry.state.completion_event_id
        for event in reversed(await self.history_of(entry)):
            if event.event_id == wanted and event.event_type in CLOSE_TO_PARENT_EVENT:
                return event
        return None

    async def apply_parent_close_policy(
        self, parent_key: ExecutionKey, namespace_id: str, workflow_id: str, initiated_id: int, policy: int
    ) -> None:
        """Overridden by parent_close.py."""
        raise NotImplementedError
