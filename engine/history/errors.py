"""Errors history raises; the frontend turns each into Temporal's gRPC status and details."""

from __future__ import annotations

from engine.errors import EngineError


class HistoryError(EngineError):
    """Base of the errors a caller is told about."""


class NotFound(HistoryError):
    """The workflow run or the task does not exist (any more)."""


class InvalidArgument(HistoryError):
    pass


class FailedPrecondition(HistoryError):
    pass


class WorkflowNotReady(FailedPrecondition):
    """The run cannot serve the request yet, e.g. a query while its workflow task keeps failing."""


class WorkflowAlreadyStarted(HistoryError):
    def __init__(self, message: str, *, start_request_id: str, run_id: str) -> None:
        super().__init__(message)
        self.start_request_id = start_request_id
        self.run_id = run_id


class WorkflowNotRunning(HistoryError):
    """The run is closed: signals, cancels and task completions are refused (NOT_FOUND in Temporal)."""


class ResourceExhausted(HistoryError):
    """A limit on concurrent work is reached (e.g. one batch job at a time per namespace)."""


class CommandError(Exception):
    """A workflow task's command is invalid: the task fails with `cause` (a WorkflowTaskFailedCause)."""

    def __init__(self, cause: int, message: str) -> None:
        super().__init__(message)
        self.cause = cause
