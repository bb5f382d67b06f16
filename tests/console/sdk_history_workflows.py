"""A workflow with the steps the history views draw, for the console's history tests (its own
module: the SDK's workflow sandbox re-imports it, so it imports nothing but temporalio).

``Steps`` runs the ``weigh`` activity, which completes, then ``ship``, which fails for good, then
sleeps on a short timer and returns the weight. (The engine has no child workflows yet: children
are shown from what the engine reports, and the timeline is tested with activities and timers.)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

TASK_QUEUE = "history-steps"


@activity.defn(name="weigh")
async def weigh(parcel: str) -> int:
    return len(parcel) * 100


@activity.defn(name="ship")
async def ship(parcel: str) -> None:
    raise ApplicationError(f"no courier for {parcel}", non_retryable=True)


@workflow.defn(name="Steps")
class Steps:
    @workflow.run
    async def run(self, parcel: str) -> dict[str, Any]:
        grams = await workflow.execute_activity(weigh, parcel, start_to_close_timeout=timedelta(seconds=30))
        shipped = True
        try:
            await workflow.execute_activity(
                ship,
                parcel,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError:
            shipped = False
        await workflow.sleep(timedelta(milliseconds=300))
        return {"parcel": parcel, "grams": grams, "shipped": shipped}
