"""List and count runs by a List Filter: parse, bind, compile, query the store, build answers.

Page tokens are opaque to clients: JSON naming where the previous page ended (the default order
pages by keyset, a query with ORDER BY by offset). A token that is not one of ours is
INVALID_ARGUMENT, as is any query error (`QueryError`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from temporalio.api.common.v1 import Memo, SearchAttributes
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import CountWorkflowExecutionsResponse

from engine.persistence.store import Store
from engine.visibility.aliases import CustomAttributes
from engine.visibility.attributes import PREDEFINED_ATTRIBUTES, STATUS_NAMES, SaType, typed_payload
from engine.visibility.bind import BoundQuery, bind
from engine.visibility.query import QueryError, parse
from engine.visibility.registry import SearchAttributeRegistry
from engine.visibility.sql import Keyset, count_statement, list_statement

DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000


class PageTokenError(ValueError):
    pass


class Visibility:
    def __init__(self, store: Store, registry: SearchAttributeRegistry) -> None:
        self.store = store
        self.registry = registry

    def bind(self, namespace_id: str, query: str) -> BoundQuery:
        """`QueryError` if the query is malformed or does not fit the namespace's attributes."""
        return bind(parse(query), self.registry.types(namespace_id))

    async def list(
        self, namespace_id: str, query: str, *, page_size: int, page_token: bytes
    ) -> tuple[list[WorkflowExecutionInfo], bytes]:
        bound = self.bind(namespace_id, query)
        if bound.group_by:
            raise QueryError("invalid query: GROUP BY is only supported by CountWorkflowExecutions")
        size = page_size if 0 < page_size <= MAX_PAGE_SIZE else DEFAULT_PAGE_SIZE
        after, offset = _decode_token(page_token, ordered=bool(bound.order_by))
        statement = list_statement(namespace_id, bound, limit=size + 1, after=after, offset=offset)
        rows = await self.store.query_visibility(statement.sql, statement.params)
        more = len(rows) > size
        rows = rows[:size]
        types = self.registry.types(namespace_id)
        infos = [execution_info(row, types) for row in rows]
        token = b""
        if more:
            if bound.order_by:
                token = json.dumps({"offset": offset + size}).encode()
            else:
                last = rows[-1]
                token = json.dumps({"order": last[18], "start": last[4], "run": last[0]}).encode()
        return infos, token

    async def count(self, namespace_id: str, query: str) -> CountWorkflowExecutionsResponse:
        bound = self.bind(namespace_id, query)
        if bound.order_by:
            raise QueryError("invalid query: ORDER BY is not supported by CountWorkflowExecutions")
        statement = count_statement(namespace_id, bound)
        rows = await self.store.query_visibility(statement.sql, statement.params)
        response = CountWorkflowExecutionsResponse()
        if not bound.group_by:
            response.count = int(rows[0][0]) if rows else 0
            return response
        for status, count in rows:
            group = response.groups.add()
            group.group_values.append(typed_payload(STATUS_NAMES.get(int(status), str(status)), SaType.KEYWORD))
            group.count = int(count)
            response.count += int(count)
        return response


def _decode_token(token: bytes, *, ordered: bool) -> tuple[Keyset | None, int]:
    if not token:
        return None, 0
    try:
        data = json.loads(token)
        if ordered:
            offset = data["offset"]
            if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
                raise ValueError
            return None, offset
        order, start, run = data["order"], data["start"], data["run"]
        if not (_is_int(order) and _is_int(start) and isinstance(run, str)):
            raise ValueError
        return Keyset(order, start, run), 0
    except (ValueError, KeyError, TypeError):
        raise PageTokenError("invalid next page token: not one this query's listing returned") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def execution_info(row: Sequence[Any], types: Mapping[str, SaType]) -> WorkflowExecutionInfo:
    """A listed run, as Temporal answers it (`sql.COLUMNS` order)."""
    info = WorkflowExecutionInfo()
    info.execution.run_id = row[0]
    info.execution.workflow_id = row[1]
    info.type.name = row[2]
    info.status = WorkflowExecutionStatus.ValueType(int(row[3]))
    info.start_time.FromNanoseconds(int(row[4]))
    info.execution_time.FromNanoseconds(int(row[5]))
    if row[6] is not None:
        info.close_time.FromNanoseconds(int(row[6]))
    if row[7] is not None:
        info.execution_duration.FromNanoseconds(int(row[7]))
    info.task_queue = row[8]
    info.history_length = int(row[9])
    info.history_size_bytes = int(row[10])
    info.state_transition_count = int(row[11])
    if row[12] is not None:
        info.parent_execution.workflow_id = row[12]
        info.parent_execution.run_id = row[13] or ""
    info.root_execution.workflow_id = row[14]
    info.root_execution.run_id = row[15]
    if row[16]:
        info.memo.CopyFrom(Memo.FromString(bytes(row[16])))
    if row[17]:
        info.search_attributes.CopyFrom(typed(SearchAttributes.FromString(bytes(row[17])), types))
    return info


def typed(search_attributes: SearchAttributes, types: Mapping[str, SaType]) -> SearchAttributes:
    """The stored attributes made into an answer, in place: under the names users see now (a
    renamed attribute's alias) and with each payload's `type` metadata set, so SDKs decode
    typed values."""
    if isinstance(types, CustomAttributes) and not types.identity:
        aliased = types.to_aliases(search_attributes)
        search_attributes.Clear()
        search_attributes.MergeFrom(aliased)
    for name, payload in search_attributes.indexed_fields.items():
        predefined = PREDEFINED_ATTRIBUTES.get(name)
        sa_type = predefined.type if predefined is not None else types.get(name)
        if sa_type is not None:
            payload.metadata["type"] = sa_type.label.encode()
    return search_attributes
