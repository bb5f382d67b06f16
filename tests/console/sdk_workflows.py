"""The tiny workflow the console tests run with the real SDK (its own module: the SDK's
workflow sandbox re-imports it, so it imports nothing but temporalio).

``Greeting`` composes a greeting in an activity, then waits for the ``finish`` signal's
punctuation. For the name "Flaky" the activity heartbeats and fails, and its retry waits an
hour: the run stays with a pending activity (attempt 2, the failure recorded) — a state that
does not change while a test looks at it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

TASK_QUEUE = "greetings"


@activity.defn(name="compose_greeting")
async def compose_greeting(name: str) -> str:
    if name == "Flaky":
        activity.heartbeat("warming up")
        await asyncio.sleep(1.5)  # lets the heartbeat reach the engine before the failure
        raise ApplicationError("greeting backend unavailable")
    return f"Hello, {name}"


@workflow.defn(name="Greeting")
class Greeting:
    def __init__(self) -> None:
        self._punctuation: str | None = None

    @workflow.run
    async def run(self, name: str) -> str:
        greeting = await workflow.execute_activity(
            compose_greeting,
            name,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(hours=1)),
        )
        await workflow.wait_condition(lambda: self._punctuation is not None)
        return f"{greeting}{self._punctuation}"

    @workflow.signal
    def finish(self, punctuation: str) -> None:
        self._punctuation = punctuation
