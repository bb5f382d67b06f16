"""What both stores share: each `Store` method calls its dialect's function of the same name
(`sqlite_executions` / `postgres_executions`) on a connection, and commits go through one
group committer. A backend supplies `_ops`, `_call` (run a function on a connection, turning
database failures into `StoreError`) and the lifecycle methods."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any, LiteralString

from engine.persistence.access_records import AccessState, ApiKeyRow, NamespaceAuth, PrincipalRow
from engine.persistence.group_commit import DEFAULT_MAX_BATCH, CommitStats, GroupCommitter, Outcome
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

COMMIT_LINGER = 0.001  # under load, gather commits for up to 1 ms into one transaction


class OpsStore:
    _ops: ModuleType
    _access_ops: ModuleType  # sqlite_access / postgres_access

    def __init__(self, url: DatabaseUrl, *, commit_batch_size: int = DEFAULT_MAX_BATCH) -> None:
        self._url = url
        self._commit_batch_size = commit_batch_size
        self._committer = self._new_committer()

    def _new_committer(self) -> GroupCommitter[Transition]:
        return GroupCommitter(self._write_batch, max_batch=self._commit_batch_size, linger=COMMIT_LINGER)

    async def _call(self, fn: Any, *args: Any) -> Any:
        """`fn(connection, *args)`, its result; database failures become `StoreError`."""
        raise NotImplementedError

    @property
    def url(self) -> DatabaseUrl:
        return self._url

    @property
    def stats(self) -> CommitStats:
        return self._committer.stats

    # --- namespaces -------------------------------------------------------------------------

    async def create_namespace(self, record: NamespaceRecord) -> None:
        await self._call(self._ops.create_namespace, record)

    async def update_namespace(self, record: NamespaceRecord, *, expected_version: int) -> None:
        await self._call(self._ops.update_namespace, record, expected_version)

    async def get_namespace(self, *, name: str | None = None, id: str | None = None) -> NamespaceRecord | None:
        result: NamespaceRecord | None = await self._call(self._ops.get_namespace, name, id)
        return result

    async def list_namespaces(self, *, after_name: str, limit: int) -> list[NamespaceRecord]:
        result: list[NamespaceRecord] = await self._call(self._ops.list_namespaces, after_name, limit)
        return result

    # --- executions -------------------------------------------------------------------------

    async def commit(self, transition: Transition) -> None:
        await self._committer.submit(transition)

    async def get_current_run(self, namespace_id: str, workflow_id: str) -> CurrentRun | None:
        result: CurrentRun | None = await self._call(self._ops.get_current_run, namespace_id, workflow_id)
        return result

    async def get_execution(self, key: ExecutionKey) -> ExecutionRow | None:
        result: ExecutionRow | None = await self._call(self._ops.get_execution, key)
        return result

    async def read_history(self, key: ExecutionKey, *, from_event_id: int = 1) -> list[HistoryBatch]:
        result: list[HistoryBatch] = await self._call(self._ops.read_history, key, from_event_id)
        return result

    async def list_running_executions(self, *, after: ExecutionKey | None, limit: int) -> list[ExecutionRow]:
        result: list[ExecutionRow] = await self._call(self._ops.list_running_executions, after, limit)
        return result

    async def _write_batch(self, transitions: Sequence[Transition]) -> Sequence[Outcome]:
        result: Sequence[Outcome] = await self._call(self._ops.write_batch, transitions)
        return result

    # --- visibility -------------------------------------------------------------------------

    async def query_visibility(self, sql: LiteralString, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        result: list[tuple[Any, ...]] = await self._call(self._ops.query_rows, sql, params)
        return result

    async def search_attributes(self) -> list[tuple[str, str, str, int]]:
        result: list[tuple[str, str, str, int]] = await self._call(self._ops.search_attributes)
        return result

    async def add_search_attributes(self, namespace_id: str, attributes: Mapping[str, tuple[str, int]]) -> None:
        await self._call(self._ops.add_search_attributes, namespace_id, attributes)

    async def remove_search_attributes(self, namespace_id: str, names: Sequence[str]) -> None:
        await self._call(self._ops.remove_search_attributes, namespace_id, names)

    async def rename_search_attribute(self, namespace_id: str, old_name: str, new_name: str) -> bool:
        renamed: bool = await self._call(self._ops.rename_search_attribute, namespace_id, old_name, new_name)
        return renamed

    async def delete_run(self, key: ExecutionKey) -> None:
        await self._call(self._ops.delete_run, key)

    async def delete_closed_runs(self, namespace_id: str, *, closed_before: int, limit: int) -> list[ExecutionKey]:
        result: list[ExecutionKey] = await self._call(self._ops.delete_closed_runs, namespace_id, closed_before, limit)
        return result

    # --- schedules --------------------------------------------------------------------------

    async def create_schedule(self, row: ScheduleRow) -> None:
        await self._call(self._ops.create_schedule, row)

    async def update_schedule(self, row: ScheduleRow, *, expected_version: int) -> None:
        await self._call(self._ops.update_schedule, row, expected_version)

    async def delete_schedule(self, namespace_id: str, schedule_id: str) -> bool:
        return bool(await self._call(self._ops.delete_schedule, namespace_id, schedule_id))

    async def list_schedules(self, *, after: tuple[str, str] | None, limit: int) -> list[ScheduleRow]:
        result: list[ScheduleRow] = await self._call(self._ops.list_schedules, after, limit)
        return result

    # --- batch operations -------------------------------------------------------------------

    async def save_batch(self, namespace_id: str, job_id: str, data: bytes) -> None:
        await self._call(self._ops.save_batch, namespace_id, job_id, data)

    async def list_batches(self, *, after: tuple[str, str] | None, limit: int) -> list[tuple[str, str, bytes]]:
        result: list[tuple[str, str, bytes]] = await self._call(self._ops.list_batches, after, limit)
        return result

    # --- tenant access ----------------------------------------------------------------------

    async def put_namespace_auth(self, auth: NamespaceAuth) -> None:
        await self._call(self._access_ops.put_namespace_auth, auth)

    async def get_namespace_auth(self, namespace_id: str) -> NamespaceAuth | None:
        result: NamespaceAuth | None = await self._call(self._access_ops.get_namespace_auth, namespace_id)
        return result

    async def replace_account_access(
        self, account_id: str, principals: Sequence[PrincipalRow], api_keys: Sequence[ApiKeyRow]
    ) -> None:
        await self._call(self._access_ops.replace_account_access, account_id, principals, api_keys)

    async def access_version(self) -> int:
        return int(await self._call(self._access_ops.access_version))

    async def load_access(self) -> AccessState:
        result: AccessState = await self._call(self._access_ops.load_access)
        return result

    async def mark_namespace_deleted(self, record: NamespaceRecord, *, expected_version: int) -> None:
        await self._call(self._access_ops.mark_namespace_deleted, record, expected_version)

    async def purge_namespace(self, namespace_id: str) -> None:
        await self._call(self._access_ops.purge_namespace, namespace_id)
