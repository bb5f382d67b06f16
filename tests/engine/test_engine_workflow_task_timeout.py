"""Workflow-task start-to-close timeouts grow from the 4th attempt on, as Temporal's do."""

from __future__ import annotations

import pytest

from engine.history.retry import workflow_task_timeout


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (1, 10.0),
        (3, 10.0),  # the first three attempts keep the workflow's own timeout
        (4, 15.0),
        (5, 20.0),
        (6, 30.0),
        (10, 330.0),
        (11, 610.0),  # capped at 10 minutes more
        (50, 610.0),
    ],
)
def test_the_timeout_backs_off_from_the_fourth_attempt(attempt: int, expected: float) -> None:
    assert workflow_task_timeout(10.0, attempt) == expected
