"""Workflows for the schedule-and-chain tests: scheduled workflows whose first run does not end
the workflow (continue-as-new, a retried failure).

Kept free of engine imports: the SDK's workflow sandbox re-imports this module.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError


def _last_result() -> str | None:
    return workflow.get_last_completion_result(str) if workflow.has_last_completion_result() else None


@workflow.defn
class ContinueOnceWorkflow:
    """Its first run notes the schedule's last completion result and continues as new; the
    second run waits for "finish" and returns its run id and what the first run saw."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self, stage: int, seen: str | None = None) -> str:
        if stage == 0:
            workflow.continue_as_new(args=[1, _last_result()])
        await workflow.wait_condition(lambda: self.finished)
        return f"final={workflow.info().run_id} seen={seen}"

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class FailFirstAttemptWorkflow:
    """Fails its first attempt; its retry returns the attempt and the last completion result."""

    @workflow.run
    async def run(self) -> str:
        attempt = workflow.info().attempt
        if attempt == 1:
            raise ApplicationError("first attempt fails", type="Flaky")
        return f"attempt={attempt} seen={_last_result()}"


SCHEDULE_CHAIN_WORKFLOWS = [ContinueOnceWorkflow, FailFirstAttemptWorkflow]
