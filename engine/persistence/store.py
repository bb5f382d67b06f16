"""The narrow interface the rest of the engine uses to reach its database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString, Protocol

from engine.persistence.access_records import AccessState, ApiKeyRow, NamespaceAuth, PrincipalRow
from engine.persistence.records import (
    CurrentRun,
    ExecutionKey,
    ExecutionRow,
    HistoryBatch,
    NamespaceRecord,
    ScheduleRow,
    Transition,
)
from engine.persistence.url import DatabaseUrl

DEFAULT_CLUSTER_NAME = "sundial"


@dataclass(frozen=True)
class ClusterMetadata:
    """Written once, when the database is first migrated; stable across restarts."""

    cluster_id: str
    cluster_name: str
    created_at: datetime


class Store(Protocol):
    """One engine database. Grows one narrow method at a time as the engine needs it."""

    @property
    def url(self) -> DatabaseUrl: ...

    async def open(self) -> None:
        """Connect and apply pending schema migrations; raises `ConfigError` if it cannot."""

    async def close(self) -> None:
        """Release connections and threads. Safe to call twice."""

    async def ping(self) -> None:
        """Raise `StoreError` unless the database answers a trivial query."""

    async def schema_version(self) -> int:
        """The highest migration applied to this database."""

    async def cluster_metadata(self) -> ClusterMetadata: ...

    # --- namespaces -------------------------------------------------------------------------

    async def create_namespace(self, record: NamespaceRecord) -> None:
        """Insert a namespace; `NamespaceConflict` if its name or id is taken."""

    async def update_namespace(self, record: NamespaceRecord, *, expected_version: int) -> None:
        """Replace a namespace's state and data (record.version = expected_version + 1);
        `NamespaceConflict` unless the stored version is `expected_version`."""

    async def get_namespace(self, *, name: str | None = None, id: str | None = None) -> NamespaceRecord | None: ...

    async def list_namespaces(self, *, after_name: str, limit: int) -> list[NamespaceRecord]:
        """Namespaces ordered by name, strictly after `after_name` ("" for the first page)."""

    # --- executions -------------------------------------------------------------------------

    async def commit(self, transition: Transition) -> None:
        """Write one transition atomically (events + mutable state + current-run change).

        Concurrent calls are grouped into one database transaction (group commit), each inside
        its own savepoint, so one caller's `StoreConflict` never fails another's. Returns once
        the transition is durable.
        """

    async def get_current_run(self, namespace_id: str, workflow_id: str) -> CurrentRun | None: ...

    async def get_execution(self, key: ExecutionKey) -> ExecutionRow | None: ...

    async def read_history(self, key: ExecutionKey, *, from_event_id: int = 1) -> list[HistoryBatch]:
        """History batches of a run in event order, starting with the batch holding `from_event_id`."""

    async def list_running_executions(self, *, after: ExecutionKey | None, limit: int) -> list[ExecutionRow]:
        """Running executions ordered by key, strictly after `after`: start-up recovery pages through them."""

    # --- visibility -------------------------------------------------------------------------

    async def query_visibility(self, sql: LiteralString, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Rows of a read-only SELECT over the visibility tables (built by `engine.visibility.sql`,
        `?` placeholders, every value a parameter). Never blocks the event loop for long."""

    async def search_attributes(self) -> list[tuple[str, str, str, int]]:
        """Every namespace's custom search attributes: (namespace id, name, stored field,
        IndexedValueType)."""

    async def add_search_attributes(self, namespace_id: str, attributes: Mapping[str, tuple[str, int]]) -> None:
        """Define custom search attributes, name → (stored field, type); a name already defined
        is left as it is."""

    async def remove_search_attributes(self, namespace_id: str, names: Sequence[str]) -> None: ...

    async def rename_search_attribute(self, namespace_id: str, old_name: str, new_name: str) -> bool:
        """Rename a custom search attribute (its stored field, and so every run's values and
        index rows, stay as they are); False (nothing changed) if the namespace has no attribute
        `old_name`."""

    async def delete_run(self, key: ExecutionKey) -> None:
        """Delete a closed run's state, history, visibility rows and (if it names this run) its
        current-run row, in one transaction. A running run is left alone."""

    async def delete_closed_runs(self, namespace_id: str, *, closed_before: int, limit: int) -> list[ExecutionKey]:
        """Retention: delete up to `limit` runs of the namespace closed before `closed_before`
        (ns since the epoch), oldest first, with their history, current-run and visibility rows,
        in one transaction. Returns the deleted runs' keys."""

    # --- schedules --------------------------------------------------------------------------

    async def create_schedule(self, row: ScheduleRow) -> None:
        """Insert a schedule at version 1; `ScheduleConflict` if its id is taken in the namespace."""

    async def update_schedule(self, row: ScheduleRow, *, expected_version: int) -> None:
        """Replace a schedule's data (its version becomes `expected_version + 1`);
        `ScheduleConflict` unless the stored version is `expected_version`."""

    async def delete_schedule(self, namespace_id: str, schedule_id: str) -> bool:
        """True if it existed."""

    async def list_schedules(self, *, after: tuple[str, str] | None, limit: int) -> list[ScheduleRow]:
        """Every namespace's schedules ordered by (namespace id, schedule id), strictly after `after`."""

    # --- batch operations -------------------------------------------------------------------

    async def save_batch(self, namespace_id: str, job_id: str, data: bytes) -> None:
        """Insert or replace a batch operation's serialized record (owned by `engine.batch`)."""

    async def list_batches(self, *, after: tuple[str, str] | None, limit: int) -> list[tuple[str, str, bytes]]:
        """Every namespace's batch operations (namespace id, job id, data) in key order, after `after`."""

    # --- tenant access (engine/auth, docs/engine-admin-api.md) -------------------------------

    async def put_namespace_auth(self, auth: NamespaceAuth) -> None:
        """Insert or replace a namespace's auth settings."""

    async def get_namespace_auth(self, namespace_id: str) -> NamespaceAuth | None: ...

    async def replace_account_access(
        self, account_id: str, principals: Sequence[PrincipalRow], api_keys: Sequence[ApiKeyRow]
    ) -> None:
        """Replace every principal, grant and API key of the account, in one transaction;
        `AccessConflict` (nothing written) if a principal or key id belongs to another account."""

    async def access_version(self) -> int:
        """A number every access change (the methods here) increases, in the same transaction."""

    async def load_access(self) -> AccessState:
        """Live namespaces with auth settings, every principal with its grants, every API key,
        and the access version they are at: one consistent read."""

    async def mark_namespace_deleted(self, record: NamespaceRecord, *, expected_version: int) -> None:
        """Rename and re-state a namespace (record carries the new name, state and data; its
        version becomes `expected_version + 1`) and drop its auth settings, in one transaction;
        `NamespaceConflict` unless the stored version is `expected_version`."""

    async def purge_namespace(self, namespace_id: str) -> None:
        """Delete a deleted namespace's last rows (the namespace, auth settings, search
        attributes, schedules, batch operations) once its executions are gone."""
