"""Workflows with update handlers for the update tests (kept apart from sdk_app: own worker)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError


@workflow.defn
class Tally:
    """Adds amounts by update until told to finish; returns the total."""

    def __init__(self) -> None:
        self.total = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.total

    @workflow.update
    def add(self, amount: int) -> int:
        self.total += amount
        return self.total

    @add.validator
    def check_add(self, amount: int) -> None:
        if amount < 0:
            raise ValueError("negative amounts are refused")

    @workflow.update
    async def add_later(self, amount: int) -> int:
        await workflow.sleep(timedelta(milliseconds=300))
        self.total += amount
        return self.total

    @workflow.update
    async def add_after(self, amount: int, seconds: float) -> int:
        await workflow.sleep(seconds)
        self.total += amount
        return self.total

    @workflow.update
    def broken(self) -> None:
        raise ApplicationError("this update fails in its handler")

    @workflow.update
    def finish_now(self) -> int:
        self.done = True
        return self.total

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def current(self) -> int:
        return self.total


WORKFLOWS = [Tally]
