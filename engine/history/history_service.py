"""The history service the frontend talks to: every run operation in one object."""

from __future__ import annotations

from engine.history.activity_ops import ActivityOps
from engine.history.delete_ops import DeleteOps
from engine.history.parent_close import ParentCloseOps
from engine.history.read_ops import ReadOps
from engine.history.reset_ops import ResetOps
from engine.history.start_ops import StartOps
from engine.history.workflow_timeouts import WorkflowTimeoutOps


class HistoryService(ParentCloseOps, StartOps, DeleteOps, ResetOps, WorkflowTimeoutOps, ActivityOps, ReadOps):
    pass
