"""Namespaces: the registry the frontend resolves every request's namespace through, and the
Register / Describe / List / Update RPC logic.

A namespace is stored as its `DescribeNamespaceResponse` (info + config), so Describe answers
straight from the cache and stays what Temporal's server would answer.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

import grpc
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import NamespaceState
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceResponse,
    ListNamespacesResponse,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)

from engine.frontend.errors import RpcError, invalid, namespace_exists, namespace_not_found
from engine.history.service import NamespaceRef
from engine.persistence.records import NamespaceConflict, NamespaceRecord
from engine.persistence.store import Store

DEV_NAMESPACE = "default"
DEFAULT_RETENTION_SECONDS = 24 * 3600  # Temporal's default: one day
MIN_RETENTION_SECONDS = 24 * 3600
MAX_NAMESPACE_NAME = 255
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DELETED = NamespaceState.NAMESPACE_STATE_DELETED
_ATTEMPTS = 5  # optimistic-concurrency retries of one namespace change


def describe_of(record: NamespaceRecord) -> DescribeNamespaceResponse:
    response = DescribeNamespaceResponse.FromString(record.data)
    # what this engine serves, whenever the namespace was registered (never worker_heartbeats:
    # the TypeScript SDK would then call RecordWorkerHeartbeat, which is not served)
    response.namespace_info.capabilities.eager_workflow_start = True
    response.namespace_info.capabilities.sync_update = True
    response.namespace_info.capabilities.async_update = True
    response.namespace_info.supports_schedules = True
    return response


class NamespaceRegistry:
    def __init__(self, store: Store, *, min_retention: float = MIN_RETENTION_SECONDS) -> None:
        self.store = store
        self.min_retention = min_retention  # seconds; tests lower it to watch retention work
        self._by_name: dict[str, NamespaceRecord] = {}

    async def get(self, name: str) -> NamespaceRecord:
        if not name:
            raise invalid("namespace is required")
        record = self._by_name.get(name)
        if record is None:
            record = await self.store.get_namespace(name=name)
            if record is None or record.state == DELETED:
                raise namespace_not_found(name)
            self._by_name[name] = record
        return record

    def forget(self, name: str) -> None:
        self._by_name.pop(name, None)

    def invalidate(self) -> None:
        """Drop every cached record (another engine process may have changed or deleted one)."""
        self._by_name.clear()

    async def ref(self, name: str) -> NamespaceRef:
        record = await self.get(name)
        return NamespaceRef(record.id, record.name)

    async def register(self, req: RegisterNamespaceRequest) -> None:
        name = req.namespace
        _validate_name(name)
        retention = _retention(
            self.min_retention,
            req.workflow_execution_retention_period if req.HasField("workflow_execution_retention_period") else None,
        )
        response = DescribeNamespaceResponse()
        info = response.namespace_info
        info.name = name
        info.id = str(uuid.uuid4())
        info.state = NamespaceState.NAMESPACE_STATE_REGISTERED
        info.description = req.description
        info.owner_email = req.owner_email
        for key, value in req.data.items():
            info.data[key] = value
        info.supports_schedules = True
        response.config.workflow_execution_retention_ttl.CopyFrom(retention)
        response.replication_config.active_cluster_name = "active"
        record = NamespaceRecord(info.id, name, info.state, response.SerializeToString())
        try:
            await self.store.create_namespace(record)
        except NamespaceConflict:
            raise namespace_exists(name) from None
        self._by_name[name] = record

    async def ensure(self, name: str) -> None:
        """Register `name` unless it exists (the dev namespace at start-up)."""
        if await self.store.get_namespace(name=name) is None:
            try:
                await self.register(RegisterNamespaceRequest(namespace=name))
            except Exception as exc:  # another engine registered it first
                if await self.store.get_namespace(name=name) is None:
                    raise exc

    async def update(self, req: UpdateNamespaceRequest) -> DescribeNamespaceResponse:
        record = await self.get(req.namespace)
        current = await self.store.get_namespace(id=record.id) or record
        response = describe_of(current)
        if req.HasField("update_info"):
            update = req.update_info
            if update.description:
                response.namespace_info.description = update.description
            if update.owner_email:
                response.namespace_info.owner_email = update.owner_email
            for key, value in update.data.items():
                response.namespace_info.data[key] = value
            if update.state:
                if update.state not in (
                    NamespaceState.NAMESPACE_STATE_REGISTERED,
                    NamespaceState.NAMESPACE_STATE_DEPRECATED,
                ):
                    raise invalid("update_info.state may only be REGISTERED or DEPRECATED")
                response.namespace_info.state = update.state
        if req.HasField("config") and req.config.HasField("workflow_execution_retention_ttl"):
            response.config.workflow_execution_retention_ttl.CopyFrom(
                _retention(self.min_retention, req.config.workflow_execution_retention_ttl)
            )
        updated = NamespaceRecord(
            current.id, current.name, response.namespace_info.state, response.SerializeToString(), current.version + 1
        )
        try:
            await self.store.update_namespace(updated, expected_version=current.version)
        except NamespaceConflict:
            self._by_name.pop(current.name, None)
            raise invalid("the namespace changed while it was being updated; try again") from None
        self._by_name[current.name] = updated
        return response

    async def list(self, page_size: int, token: bytes) -> ListNamespacesResponse:
        """Every namespace but deleted ones, by name."""
        page_size, after = _page(page_size, token)
        records: list[NamespaceRecord] = []
        while len(records) <= page_size:
            batch = await self.store.list_namespaces(after_name=after, limit=page_size + 1)
            records += [r for r in batch if r.state != DELETED]
            if len(batch) <= page_size:
                break
            after = batch[-1].name
        response = ListNamespacesResponse(namespaces=[describe_of(r) for r in records[:page_size]])
        if len(records) > page_size:
            response.next_page_token = records[page_size - 1].name.encode()
        return response

    async def list_named(self, names: Sequence[str], page_size: int, token: bytes) -> ListNamespacesResponse:
        """The namespaces of `names` (sorted), paged like `list`: what a tenant may see."""
        page_size, after = _page(page_size, token)
        page = [name for name in names if name > after][: page_size + 1]
        response = ListNamespacesResponse()
        for name in page[:page_size]:
            try:
                response.namespaces.append(describe_of(await self.get(name)))
            except RpcError:  # deleted since the caller's access snapshot was taken
                continue
        if len(page) > page_size:
            response.next_page_token = page[page_size - 1].encode()
        return response

    async def provision(self, name: str, *, description: str, retention_seconds: int) -> tuple[NamespaceRecord, bool]:
        """Create the namespace, or bring an existing one to this description and retention (the
        admin API's PutNamespace). Idempotent; True when it was created."""
        record = await self.store.get_namespace(name=name)
        if record is None:
            request = RegisterNamespaceRequest(namespace=name, description=description)
            request.workflow_execution_retention_period.seconds = retention_seconds
            try:
                await self.register(request)
                return self._by_name[name], True
            except RpcError as error:  # registered meanwhile (a retry racing its first attempt)
                if error.code != grpc.StatusCode.ALREADY_EXISTS:
                    raise
        for _ in range(_ATTEMPTS):
            record = record or await self.store.get_namespace(name=name)
            if record is None:
                raise namespace_not_found(name)
            response = DescribeNamespaceResponse.FromString(record.data)
            retention = response.config.workflow_execution_retention_ttl
            if response.namespace_info.description == description and (retention.seconds, retention.nanos) == (
                retention_seconds,
                0,
            ):
                self._by_name[name] = record
                return record, False
            response.namespace_info.description = description
            retention.seconds, retention.nanos = retention_seconds, 0
            updated = NamespaceRecord(record.id, name, record.state, response.SerializeToString(), record.version + 1)
            try:
                await self.store.update_namespace(updated, expected_version=record.version)
            except NamespaceConflict:
                record = None
                continue
            self._by_name[name] = updated
            return updated, False
        raise invalid("the namespace changed while it was being updated; try again")

    async def mark_deleted(self, name: str) -> NamespaceRecord | None:
        """Mark the namespace deleted and free its name (renamed `<name>-deleted-<id>`, as
        Temporal does), in one store transaction with dropping its auth settings; the record as
        it now is, or None when there is no such namespace."""
        for _ in range(_ATTEMPTS):
            record = await self.store.get_namespace(name=name)
            if record is None or record.state == DELETED:
                self._by_name.pop(name, None)
                return None
            response = DescribeNamespaceResponse.FromString(record.data)
            renamed = f"{name}-deleted-{record.id}"
            response.namespace_info.name = renamed
            response.namespace_info.state = NamespaceState.NAMESPACE_STATE_DELETED
            deleted = NamespaceRecord(record.id, renamed, DELETED, response.SerializeToString(), record.version + 1)
            try:
                await self.store.mark_namespace_deleted(deleted, expected_version=record.version)
            except NamespaceConflict:
                continue
            self._by_name.pop(name, None)
            return deleted
        raise invalid("the namespace changed while it was being deleted; try again")


def _page(page_size: int, token: bytes) -> tuple[int, str]:
    if page_size < 0:
        raise invalid("page_size must not be negative")
    try:
        after = token.decode() if token else ""
    except UnicodeDecodeError:
        raise invalid("next_page_token is malformed") from None
    return min(page_size or 100, 1000), after


def _validate_name(name: str) -> None:
    if not name:
        raise invalid("namespace is required")
    if len(name) > MAX_NAMESPACE_NAME or not _NAME.match(name):
        raise invalid(f"namespace name {name!r} is invalid: use letters, digits, '.', '_' and '-' (at most 255)")


def _retention(minimum: float, value: Duration | None) -> Duration:
    if value is not None and (value.seconds < 0 or value.nanos < 0):
        raise invalid("workflow_execution_retention_period must not be negative")
    seconds = value.seconds + value.nanos / 1e9 if value is not None else 0
    if seconds == 0:
        seconds = DEFAULT_RETENTION_SECONDS
    if seconds < minimum:
        shown = "one day" if minimum == MIN_RETENTION_SECONDS else f"{minimum:g} seconds"
        raise invalid(f"workflow_execution_retention_period must be at least {shown}")
    return Duration(seconds=int(seconds), nanos=round((seconds - int(seconds)) * 1e9))
