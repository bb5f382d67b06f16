"""Alice, Bob and Charlie (tests/accounts/conftest.py), plus a record of what namespace changes
queue for the engine once they commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from tests.accounts.conftest import *  # noqa: F403

T = TypeVar("T")


@dataclass
class Queued:
    """The tasks committed changes queued: namespaces to provision (pks), accounts to sync (ids).

    ``commit(action)`` runs a service call and then its on-commit callbacks, as a real commit
    would (each test runs in a transaction that never commits); a refused change queues nothing.
    """

    capture: Any
    provisioning: list[int] = field(default_factory=list)
    access_syncs: list[str] = field(default_factory=list)

    def commit(self, action: Callable[[], T]) -> T:
        with self.capture(execute=True):
            return action()

    def clear(self) -> None:
        self.provisioning.clear()
        self.access_syncs.clear()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any) -> Queued:
    import namespaces.tasks

    record = Queued(django_capture_on_commit_callbacks)
    monkeypatch.setattr(namespaces.tasks, "queue_provisioning", record.provisioning.append)
    monkeypatch.setattr(namespaces.tasks, "queue_access_sync", record.access_syncs.append)
    return record
