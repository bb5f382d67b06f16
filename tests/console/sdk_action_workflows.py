"""The workflow the console action tests drive with the real SDK (its own module: the SDK's
workflow sandbox re-imports it, so it imports nothing but temporalio).

``Tally`` collects items: the ``add`` signal appends one, the ``add_many`` update appends several
(its validator refuses an empty list) and answers the new count, the ``items`` and ``count_of``
queries read them. The run ends with the list when the ``close`` signal arrives; a cancellation
request ends it as Canceled.
"""

from __future__ import annotations

from temporalio import workflow

TASK_QUEUE = "console-actions"


@workflow.defn(name="Tally")
class Tally:
    def __init__(self) -> None:
        self._items: list[str] = []
        self._closed = False

    @workflow.run
    async def run(self, label: str) -> dict[str, object]:
        await workflow.wait_condition(lambda: self._closed)
        return {"label": label, "items": self._items}

    @workflow.signal
    def add(self, item: str) -> None:
        self._items.append(item)

    @workflow.signal
    def close(self) -> None:
        self._closed = True

    @workflow.query
    def items(self) -> list[str]:
        return self._items

    @workflow.query
    def count_of(self, prefix: str) -> int:
        return sum(1 for item in self._items if item.startswith(prefix))

    @workflow.update
    def add_many(self, items: list[str]) -> int:
        self._items.extend(items)
        return len(self._items)

    @add_many.validator
    def check_add_many(self, items: list[str]) -> None:
        if not items:
            raise ValueError("nothing to add")
