"""Parent close policies: what a parent's close does to the children it still waits for.

When a parent run closes (completed, failed, cancelled, terminated, timed out, continued as
new), each started child it has not seen close gets its `ParentClosePolicy`: TERMINATE
(reason "by parent close policy"), REQUEST_CANCEL (a cancel request naming the parent) or
ABANDON (nothing). The policy acts on the child's current run if it is still that parent's
child (a chain carries its parent along).

Crash safety comes from the child's side: each child run records its parent and policy, and
at recovery a running child whose parent has closed applies the policy to itself
(`drive_check_parent`). Applying a policy twice is harmless: a closed run is left alone, and a
run already asked to cancel is not asked again.
"""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import ParentClosePolicy

from engine.history.cache import WorkflowEntry
from engine.history.child_ops import ChildOps, is_child_of
from engine.history.errors import NotFound
from engine.history.external_ops import IDENTITY, add_cancel_request
from engine.history.mutation import Mutation
from engine.persistence.records import ExecutionKey

TERMINATE = ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE
REQUEST_CANCEL = ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL
ABANDON = ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON
REASON = "by parent close policy"


class ParentCloseOps(ChildOps):
    def redrive(self, entry: WorkflowEntry) -> None:
        super().redrive(entry)
        parent = entry.state.parent
        if parent is not None and parent.close_policy != ABANDON:
            self.drive(entry.key, ("check_parent",))

    async def drive_parent_close(self, parent_key: ExecutionKey) -> None:
        """The parent closed: apply each pending child's policy."""
        try:
            entry = await self.read(parent_key)
        except NotFound:
            return
        if entry.state.running:
            return
        for info in list(entry.state.children.values()):
            if info.run_id and info.parent_close_policy != ABANDON:
                await self.apply_parent_close_policy(
                    parent_key, info.namespace_id, info.workflow_id, info.initiated_event_id, info.parent_close_policy
                )

    async def drive_check_parent(self, child_key: ExecutionKey) -> None:
        """Recovery, on a running child: if its parent closed, its policy applies (the parent's
        own drive may have been cut short by a crash)."""
        try:
            child = await self.read(child_key)
        except NotFound:
            return
        parent = child.state.parent
        if parent is None or not child.state.running or parent.close_policy == ABANDON:
            return
        parent_key = ExecutionKey(parent.namespace_id, parent.workflow_id, parent.run_id)
        try:
            parent_entry = await self.read(parent_key)
        except NotFound:
            return  # deleted (retention): nothing says how it closed
        if not parent_entry.state.running:
            await self.apply_parent_close_policy(
                parent_key,
                child_key.namespace_id,
                child_key.workflow_id,
                parent.initiated_event_id,
                parent.close_policy,
            )

    async def apply_parent_close_policy(
        self, parent_key: ExecutionKey, namespace_id: str, workflow_id: str, initiated_id: int, policy: int
    ) -> None:
        if policy not in (TERMINATE, REQUEST_CANCEL):
            return
        current = await self.store.get_current_run(namespace_id, workflow_id)
        if current is None or not current.running:
            return
        key = ExecutionKey(namespace_id, workflow_id, current.run_id)
        async with self.locks.hold(namespace_id, workflow_id):
            try:
                entry = await self.load(key)
            except NotFound:
                return
            state = entry.state
            if not state.running or not is_child_of(state, parent_key, initiated_id):
                return
            if policy == TERMINATE:
                await self._terminate_locked(entry, REASON, None, IDENTITY)
            elif not state.cancel_requested:
                m = Mutation(state, self.clock())
                parent = WorkflowExecution(workflow_id=parent_key.workflow_id, run_id=parent_key.run_id)
                add_cancel_request(m, reason="", external=parent)
                await self.commit(entry, m)
