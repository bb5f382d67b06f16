"""Visibility through the official SDK: custom search attributes set at start and upserted by a
running workflow are searchable; wrong types are refused; listing, counting, paging and the
older open/closed listings; OperatorService's search-attribute RPCs; namespaces are walls."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, IndexedValueType, WorkflowExecutionStatus, WorkflowTaskFailedCause
from temporalio.api.filter.v1 import StartTimeFilter, WorkflowExecutionFilter, WorkflowTypeFilter
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
    RemoveSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import (
    GetSearchAttributesRequest,
    ListClosedWorkflowExecutionsRequest,
    ListOpenWorkflowExecutionsRequest,
    ListWorkflowExecutionsRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from tests.engine.sdk_app import HelloWorkflow, UpsertProgressWorkflow
from tests.engine.sdk_support import new_id

KEYWORD = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
INT = IndexedValueType.INDEXED_VALUE_TYPE_INT
CUSTOMER = SearchAttributeKey.for_keyword("Customer")
PROGRESS = SearchAttributeKey.for_int("Progress")


async def add_attributes(client: Client, namespace: str = "default", **types: IndexedValueType.ValueType) -> None:
    await add_attributes_to(client, namespace, types)


async def add_attributes_to(client: Client, namespace: str, types: dict[str, IndexedValueType.ValueType]) -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=namespace, search_attributes=types)
    )


async def ids(client: Client, query: str) -> list[str]:
    return [w.id async for w in client.list_workflows(query)]


async def test_a_keyword_set_at_start_and_an_int_upserted_mid_run_are_searchable(
    client: Client, task_queue: str
) -> None:
    await add_attributes(client, Customer=KEYWORD, Progress=INT)
    customer = f"cust-{uuid.uuid4().hex[:6]}"
    handles = []
    for progress in (3, 7):
        handles.append(
            await client.start_workflow(
                UpsertProgressWorkflow.run,
                progress,
                id=new_id(),
                task_queue=task_queue,
                search_attributes=TypedSearchAttributes([SearchAttributePair(CUSTOMER, customer)]),
            )
        )
    for handle in handles:  # each has upserted and now waits for its signal
        assert await handle.query(UpsertProgressWorkflow.upserted) is True
    assert sorted(await ids(client, f"Customer = '{customer}'")) == sorted(h.id for h in handles)
    assert await ids(client, f"Customer = '{customer}' AND Progress > 5") == [handles[1].id]
    running = [w async for w in client.list_workflows(f"Customer = '{customer}' AND ExecutionStatus = 'Running'")]
    assert len(running) == 2
    listed = next(w for w in running if w.id == handles[0].id)
    assert listed.typed_search_attributes.get(PROGRESS) == 3
    assert listed.typed_search_attributes.get(CUSTOMER) == customer

    described = await handles[0].describe()  # describe answers typed attributes and its root, too
    assert described.typed_search_attributes.get(CUSTOMER) == customer
    assert described.typed_search_attributes.get(PROGRESS) == 3
    assert (described.root_id, described.root_run_id) == (described.id, described.run_id)
    await handles[0].signal(UpsertProgressWorkflow.finish)
    assert await handles[0].result() == 3
    closed = [w async for w in client.list_workflows(f"Customer = '{customer}' AND CloseTime IS NOT NULL")]
    assert [w.id for w in closed] == [handles[0].id]
    assert closed[0].status == Status.COMPLETED
    assert closed[0].close_time is not None
    assert closed[0].history_length > 5
    count = await client.count_workflows(f"Customer = '{customer}'")
    assert count.count == 2
    assert {g.group_values[0]: g.count for g in count.groups} == {}
    grouped = await client.count_workflows(f"Customer = '{customer}' GROUP BY ExecutionStatus")
    assert grouped.count == 2
    assert {g.group_values[0]: g.count for g in grouped.groups} == {"Completed": 1, "Running": 1}
    await handles[1].signal(UpsertProgressWorkflow.finish)
    await handles[1].result()


async def test_wrong_types_and_unknown_attributes_are_refused_at_start(client: Client, task_queue: str) -> None:
    await add_attributes(client, Customer=KEYWORD, Progress=INT)
    workflow_id = new_id()
    bad = [
        (TypedSearchAttributes([SearchAttributePair(SearchAttributeKey.for_keyword("Progress"), "lots")]), "Int"),
        (TypedSearchAttributes([SearchAttributePair(SearchAttributeKey.for_int("Customer"), 12)]), "Keyword"),
        (TypedSearchAttributes([SearchAttributePair(SearchAttributeKey.for_keyword("Undefined"), "x")]), "Undefined"),
    ]
    for attributes, named in bad:
        with pytest.raises(RPCError) as caught:
            await client.start_workflow(
                HelloWorkflow.run, "x", id=workflow_id, task_queue=task_queue, search_attributes=attributes
            )
        assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
        assert named in caught.value.message
    assert await ids(client, f"WorkflowId = '{workflow_id}'") == []  # nothing was started


async def test_an_upsert_of_the_wrong_type_fails_the_workflow_task(client: Client, task_queue: str) -> None:
    await add_attributes(client, Customer=KEYWORD, Progress=INT)
    handle = await client.start_workflow(
        UpsertProgressWorkflow.run,
        -1,
        id=new_id(),
        task_queue=task_queue,  # -1: upsert Progress as a string
    )
    async for event in handle.fetch_history_events(wait_new_event=True):
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            attrs = event.workflow_task_failed_event_attributes
            assert attrs.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES
            assert "Progress" in attrs.failure.message
            assert "Int" in attrs.failure.message
            break
    assert await ids(client, f"WorkflowId = '{handle.id}' AND Progress IS NOT NULL") == []
    await handle.terminate("done")


async def test_listing_pages_memo_and_the_older_open_and_closed_listings(client: Client, task_queue: str) -> None:
    await add_attributes(client, Progress=INT)
    workflow_type = "HelloWorkflow"
    started = []
    for n in range(5):
        handle = await client.start_workflow(
            HelloWorkflow.run, f"n{n}", id=new_id(), task_queue=task_queue, memo={"n": n}
        )
        await handle.result()
        started.append(handle.id)
    page_ids: list[str] = []
    token = b""
    service = client.workflow_service
    query = f"WorkflowId IN ({', '.join(repr(i) for i in started)})"
    while True:
        page = await service.list_workflow_executions(
            ListWorkflowExecutionsRequest(namespace="default", query=query, page_size=2, next_page_token=token)
        )
        assert len(page.executions) <= 2
        page_ids += [e.execution.workflow_id for e in page.executions]
        token = page.next_page_token
        if not token:
            break
    assert page_ids == list(reversed(started))  # newest close first
    memos: dict[str, object] = {}
    async for w in client.list_workflows(query):
        memos[w.id] = await w.memo_value("n")
    assert memos == {workflow_id: n for n, workflow_id in enumerate(started)}

    closed = await service.list_closed_workflow_executions(
        ListClosedWorkflowExecutionsRequest(
            namespace="default", execution_filter=WorkflowExecutionFilter(workflow_id=started[2])
        )
    )
    assert [e.execution.workflow_id for e in closed.executions] == [started[2]]
    assert closed.executions[0].status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
    waiting = await client.start_workflow(UpsertProgressWorkflow.run, 1, id=new_id(), task_queue=task_queue)
    opened = await service.list_open_workflow_executions(
        ListOpenWorkflowExecutionsRequest(
            namespace="default", type_filter=WorkflowTypeFilter(name="UpsertProgressWorkflow")
        )
    )
    assert waiting.id in [e.execution.workflow_id for e in opened.executions]
    assert all(e.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING for e in opened.executions)
    now = datetime.now(UTC)
    for earliest, latest, expected in ((now - timedelta(minutes=5), now + timedelta(minutes=5), 5), (now, None, 0)):
        time_filter = StartTimeFilter()
        time_filter.earliest_time.FromDatetime(earliest)
        if latest is not None:
            time_filter.latest_time.FromDatetime(latest)
        closed = await service.list_closed_workflow_executions(
            ListClosedWorkflowExecutionsRequest(
                namespace="default", type_filter=WorkflowTypeFilter(name=workflow_type), start_time_filter=time_filter
            )
        )
        assert len(closed.executions) == expected
    await waiting.terminate()


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("WorkflowId = ", "position 14"),
        ("WorkflowId = 'a' AND", "position 21"),
        ("WorkflowId === 'a'", "position 13"),
        ("Nope = 1", "position 1"),
        ("HistoryLength = 'many'", "position 17"),
        ("WorkflowId = 'a' GROUP BY ExecutionStatus", "CountWorkflowExecutions"),
        ("StartTime > 'yesterday'", "position 13"),
        ("ExecutionStatus = 'Sleeping'", "position 19"),
    ],
)
async def test_malformed_queries_are_invalid_argument_naming_the_position(
    client: Client, query: str, position: str
) -> None:
    with pytest.raises(RPCError) as caught:
        await ids(client, query)
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
    assert position in caught.value.message


async def test_bad_page_tokens_and_bad_counts_are_invalid_argument(client: Client) -> None:
    service = client.workflow_service
    for token in (b"garbage", b'{"order": "x"}', b"{}"):
        with pytest.raises(RPCError) as caught:
            await service.list_workflow_executions(
                ListWorkflowExecutionsRequest(namespace="default", next_page_token=token)
            )
        assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
    for query in ("GROUP BY WorkflowType", "ORDER BY StartTime"):
        with pytest.raises(RPCError) as caught:
            await client.count_workflows(query)
        assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT


async def test_operator_service_adds_lists_and_removes_custom_attributes(client: Client) -> None:
    operator = client.operator_service
    await add_attributes(client, Region=KEYWORD, Retries=INT)
    await add_attributes(client, Region=KEYWORD)  # the same again: nothing to do
    listed = await operator.list_search_attributes(ListSearchAttributesRequest(namespace="default"))
    assert listed.custom_attributes["Region"] == KEYWORD
    assert listed.custom_attributes["Retries"] == INT
    assert listed.system_attributes["WorkflowId"] == KEYWORD
    assert listed.system_attributes["StartTime"] == IndexedValueType.INDEXED_VALUE_TYPE_DATETIME
    assert "Region" not in listed.system_attributes
    keys = (await client.workflow_service.get_search_attributes(GetSearchAttributesRequest())).keys
    assert keys["ExecutionStatus"] == KEYWORD
    assert keys["TemporalChangeVersion"] == (IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST)
    await operator.remove_search_attributes(
        RemoveSearchAttributesRequest(namespace="default", search_attributes=["Retries"])
    )
    listed = await operator.list_search_attributes(ListSearchAttributesRequest(namespace="default"))
    assert "Retries" not in listed.custom_attributes
    assert "Region" in listed.custom_attributes
    with pytest.raises(RPCError) as caught:
        await ids(client, "Retries = 1")
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("call", "status", "words"),
    [
        (lambda c: add_attributes(c, Region=INT), RPCStatusCode.ALREADY_EXISTS, "already exists"),
        (lambda c: add_attributes(c, WorkflowId=KEYWORD), RPCStatusCode.INVALID_ARGUMENT, "reserved"),
        (lambda c: add_attributes(c, TemporalThing=KEYWORD), RPCStatusCode.INVALID_ARGUMENT, "reserved"),
        (lambda c: add_attributes_to(c, "default", {"bad*name": KEYWORD}), RPCStatusCode.INVALID_ARGUMENT, "invalid"),
        (lambda c: add_attributes(c, Odd=IndexedValueType.ValueType(42)), RPCStatusCode.INVALID_ARGUMENT, "42"),
        (lambda c: add_attributes(c), RPCStatusCode.INVALID_ARGUMENT, "not set"),
        (
            lambda c: add_attributes_to(
                c, "default", {f"Text{i}": IndexedValueType.INDEXED_VALUE_TYPE_TEXT for i in range(6)}
            ),
            RPCStatusCode.INVALID_ARGUMENT,
            "at most 5 Text",
        ),
        (
            lambda c: c.operator_service.remove_search_attributes(
                RemoveSearchAttributesRequest(namespace="default", search_attributes=["NeverAdded"])
            ),
            RPCStatusCode.NOT_FOUND,
            "NeverAdded",
        ),
        (
            lambda c: c.operator_service.remove_search_attributes(
                RemoveSearchAttributesRequest(namespace="default", search_attributes=["StartTime"])
            ),
            RPCStatusCode.INVALID_ARGUMENT,
            "non-custom",
        ),
        (lambda c: add_attributes(c, "no-such-namespace", Region=KEYWORD), RPCStatusCode.NOT_FOUND, "no-such"),
    ],
)
async def test_operator_service_refuses_bad_requests(client: Client, call: object, status: object, words: str) -> None:
    await add_attributes(client, Region=KEYWORD)
    with pytest.raises(RPCError) as caught:
        await call(client)  # type: ignore[operator]
    assert caught.value.status == status
    assert words in caught.value.message
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace="default"))
    assert dict(listed.custom_attributes) == {"Region": KEYWORD}  # nothing else was added or removed


async def test_namespaces_are_walls_for_listing_and_attributes(client: Client, task_queue: str) -> None:
    other = f"ns-{new_id()}"
    await client.workflow_service.register_namespace(RegisterNamespaceRequest(namespace=other))
    await add_attributes(client, Customer=KEYWORD)
    handle = await client.start_workflow(
        HelloWorkflow.run,
        "walls",
        id=new_id(),
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes([SearchAttributePair(CUSTOMER, "walled")]),
    )
    await handle.result()
    other_client = Client(service_client=client.service_client, namespace=other)
    assert await ids(other_client, "") == []
    assert (await other_client.count_workflows()).count == 0
    with pytest.raises(RPCError) as caught:  # the attribute is default's, not other's
        await ids(other_client, "Customer = 'walled'")
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=other))
    assert dict(listed.custom_attributes) == {}
    assert await ids(client, "Customer = 'walled'") == [handle.id]
    described = await client.workflow_service.list_workflow_executions(
        ListWorkflowExecutionsRequest(namespace="default", query=f"WorkflowId = '{handle.id}'")
    )
    assert described.executions[0].execution == WorkflowExecution(
        workflow_id=handle.id, run_id=described.executions[0].execution.run_id
    )
    assert json.loads(described.executions[0].search_attributes.indexed_fields["Customer"].data) == "walled"
