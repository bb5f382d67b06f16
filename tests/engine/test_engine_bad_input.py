"""Bad requests get Temporal's status code and a message naming the problem; nothing is stored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    GetWorkflowExecutionHistoryRequest,
    PollWorkflowTaskQueueRequest,
    RegisterNamespaceRequest,
    RespondActivityTaskCompletedRequest,
    RespondWorkflowTaskCompletedRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.engine.sdk_support import new_id


def _start(**overrides: Any) -> StartWorkflowExecutionRequest:
    request = StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=new_id(),
        workflow_type=WorkflowType(name="Anything"),
        task_queue=TaskQueue(name="q"),
        request_id="r",
    )
    for name, value in overrides.items():
        if isinstance(value, Message):
            getattr(request, name).CopyFrom(value)
        else:
            setattr(request, name, value)
    return request


async def _status(call: Awaitable[Any]) -> tuple[RPCStatusCode, str]:
    with pytest.raises(RPCError) as caught:
        await call
    return caught.value.status, caught.value.message


@pytest.mark.parametrize(
    ("request_", "status", "fragment"),
    [
        (_start(workflow_id=""), RPCStatusCode.INVALID_ARGUMENT, "workflow_id is required"),
        (_start(workflow_id="x" * 1001), RPCStatusCode.INVALID_ARGUMENT, "workflow_id is longer"),
        (_start(workflow_type=WorkflowType(name="")), RPCStatusCode.INVALID_ARGUMENT, "workflow_type.name is required"),
        (_start(task_queue=TaskQueue(name="")), RPCStatusCode.INVALID_ARGUMENT, "task_queue.name is required"),
        (_start(workflow_run_timeout=Duration(seconds=-5)), RPCStatusCode.INVALID_ARGUMENT, "workflow_run_timeout"),
        (_start(namespace=""), RPCStatusCode.INVALID_ARGUMENT, "namespace is required"),
        (_start(namespace="no-such-namespace"), RPCStatusCode.NOT_FOUND, "Namespace no-such-namespace is not found"),
    ],
    ids=["no-id", "long-id", "no-type", "no-queue", "negative-timeout", "no-namespace", "unknown-namespace"],
)
async def test_start_rejects_bad_requests(
    client: Client, request_: StartWorkflowExecutionRequest, status: RPCStatusCode, fragment: str
) -> None:
    code, message = await _status(client.workflow_service.start_workflow_execution(request_))
    assert code == status
    assert fragment in message
    if 0 < len(request_.workflow_id) <= 1000 and request_.namespace == "default":
        # nothing was stored: the same id starts cleanly afterwards
        ok = _start(workflow_id=request_.workflow_id)
        assert (await client.workflow_service.start_workflow_execution(ok)).started


Call = Callable[[Client], Awaitable[Any]]

BAD_CALLS: list[tuple[str, Call, RPCStatusCode, str]] = [
    (
        "signal-without-name",
        lambda c: c.workflow_service.signal_workflow_execution(
            SignalWorkflowExecutionRequest(namespace="default", workflow_execution=WorkflowExecution(workflow_id="w"))
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "signal_name is required",
    ),
    (
        "garbage-workflow-task-token",
        lambda c: c.workflow_service.respond_workflow_task_completed(
            RespondWorkflowTaskCompletedRequest(namespace="default", task_token=b"\x00garbage")
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "task_token is malformed",
    ),
    (
        "empty-activity-task-token",
        lambda c: c.workflow_service.respond_activity_task_completed(
            RespondActivityTaskCompletedRequest(namespace="default")
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "task_token is required",
    ),
    (
        "history-with-bad-page-token",
        lambda c: c.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace="default", execution=WorkflowExecution(workflow_id="w"), next_page_token=b"nope"
            )
        ),
        RPCStatusCode.NOT_FOUND,
        "not found",
    ),
    (
        "history-with-bad-run-id",
        lambda c: c.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace="default", execution=WorkflowExecution(workflow_id="w", run_id="not-a-uuid")
            )
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "invalid run id",
    ),
    (
        "poll-without-queue",
        lambda c: c.workflow_service.poll_workflow_task_queue(PollWorkflowTaskQueueRequest(namespace="default")),
        RPCStatusCode.INVALID_ARGUMENT,
        "task_queue.name is required",
    ),
    (
        "register-bad-name",
        lambda c: c.workflow_service.register_namespace(RegisterNamespaceRequest(namespace="has space")),
        RPCStatusCode.INVALID_ARGUMENT,
        "is invalid",
    ),
    (
        "register-short-retention",
        lambda c: c.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace="short-retention", workflow_execution_retention_period=Duration(seconds=60)
            )
        ),
        RPCStatusCode.INVALID_ARGUMENT,
        "at least one day",
    ),
    (
        "register-duplicate",
        lambda c: c.workflow_service.register_namespace(RegisterNamespaceRequest(namespace="default")),
        RPCStatusCode.ALREADY_EXISTS,
        "already exists",
    ),
    (
        "describe-unknown-namespace",
        lambda c: c.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="nope")),
        RPCStatusCode.NOT_FOUND,
        "Namespace nope is not found",
    ),
]


@pytest.mark.parametrize(("name", "call", "status", "fragment"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
async def test_bad_calls_get_a_clear_status(
    client: Client, name: str, call: Call, status: RPCStatusCode, fragment: str
) -> None:
    code, message = await _status(call(client))
    assert code == status, message
    assert fragment in message


async def test_a_stale_activity_token_is_not_found(client: Client, task_queue: str) -> None:
    """A token from a finished attempt cannot complete anything again."""
    from tests.engine.sdk_app import HelloWorkflow

    handle = await client.start_workflow(HelloWorkflow.run, "x", id=new_id(), task_queue=task_queue)
    await handle.result()
    from engine.history.tokens import KIND_ACTIVITY_TASK, TaskToken, encode_token

    description = await handle.describe()
    namespace_id = (
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
    ).namespace_info.id
    token = encode_token(
        TaskToken(KIND_ACTIVITY_TASK, namespace_id, handle.id, description.run_id, scheduled_event_id=5, attempt=1)
    )
    code, message = await _status(
        client.workflow_service.respond_activity_task_completed(
            RespondActivityTaskCompletedRequest(namespace="default", task_token=token)
        )
    )
    assert code == RPCStatusCode.NOT_FOUND
    assert "Activity task not found" in message
