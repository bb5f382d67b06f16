"""Process-wide counters the flaky-task test workflow reads (passed through the SDK sandbox)."""

from __future__ import annotations

REMAINING_FAILURES: dict[str, int] = {}
