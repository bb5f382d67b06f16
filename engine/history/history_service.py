"""The history service the frontend talks to: every run operation in one object."""

from __future__ import annotations

from engine.history.activity_ops import ActivityOps
from engine.history.delete_ops import DeleteOps
from engine.history.read_ops import ReadOps
from engine.history.start_ops import StartOps


class HistoryService(StartOps, DeleteOps, ActivityOps, ReadOps):
    pass
