"""Signalling and cancelling another workflow from a workflow (SignalExternalWorkflowExecution,
RequestCancelExternalWorkflowExecution), their failures, and bad commands."""

from __future__ import annotations

import pytest
from temporalio.api.command.v1 import (
    Command,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
)
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    CancelExternalWorkflowExecutionFailedCause,
    CommandType,
    EventType,
    SignalExternalWorkflowExecutionFailedCause,
    WorkflowTaskFailedCause,
)
from temporalio.client import Client

from tests.engine.child_app import Canceller, Receiver, Signaller
from tests.engine.child_support import assert_replays, child_worker, wait_for_event
from tests.engine.sdk_support import new_id
from tests.engine.test_engine_workflow_task_rules import RawWorker

E = EventType


async def test_a_workflow_signals_another(client: Client) -> None:
    async with child_worker(client) as queue:
        receiver = await client.start_workflow(Receiver.run, id=new_id(), task_queue=queue)
        sender = await client.start_workflow(Signaller.run, args=[receiver.id, "hi"], id=new_id(), task_queue=queue)
        assert await sender.result() == "signalled"
        assert await receiver.result() == "got hi"
    sent = await sender.fetch_history()
    types = [e.event_type for e in sent.events]
    assert E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED in types
    done = next(e for e in sent.events if e.event_type == E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED)
    assert done.external_workflow_execution_signaled_event_attributes.workflow_execution.workflow_id == receiver.id
    received = await receiver.fetch_history()
    signaled = next(e for e in received.events if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    attrs = signaled.workflow_execution_signaled_event_attributes
    assert attrs.signal_name == "poke"
    assert attrs.external_workflow_execution.workflow_id == sender.id
    await assert_replays(sender)
    await assert_replays(receiver)


async def test_signalling_a_missing_workflow_fails_in_the_sender(client: Client) -> None:
    async with child_worker(client) as queue:
        sender = await client.start_workflow(Signaller.run, args=[new_id(), "hi"], id=new_id(), task_queue=queue)
        assert await sender.result() == "failed: ApplicationError"
    history = await sender.fetch_history()
    failed = next(e for e in history.events if e.event_type == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)
    assert failed.signal_external_workflow_execution_failed_event_attributes.cause == (
        SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
    )
    await assert_replays(sender)


async def test_a_workflow_cancels_another(client: Client) -> None:
    async with child_worker(client) as queue:
        receiver = await client.start_workflow(Receiver.run, id=new_id(), task_queue=queue)
        await wait_for_event(receiver, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        canceller = await client.start_workflow(Canceller.run, receiver.id, id=new_id(), task_queue=queue)
        assert await canceller.result() == "cancel requested"
        assert await receiver.result() == "receiver cancelled"
    history = await canceller.fetch_history()
    types = [e.event_type for e in history.events]
    assert E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED in types
    assert E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED in types
    requested = next(
        e
        for e in (await receiver.fetch_history()).events
        if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
    )
    attrs = requested.workflow_execution_cancel_requested_event_attributes
    assert attrs.external_workflow_execution.workflow_id == canceller.id
    assert attrs.external_initiated_event_id > 0
    await assert_replays(canceller)


async def test_cancelling_a_missing_workflow_fails_in_the_sender(client: Client) -> None:
    async with child_worker(client) as queue:
        canceller = await client.start_workflow(Canceller.run, new_id(), id=new_id(), task_queue=queue)
        assert await canceller.result() == "failed: ApplicationError"
    history = await canceller.fetch_history()
    failed = next(
        e for e in history.events if e.event_type == E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED
    )
    assert failed.request_cancel_external_workflow_execution_failed_event_attributes.cause == (
        CancelExternalWorkflowExecutionFailedCause.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
    )
    await assert_replays(canceller)


async def test_child_workflow_only_refuses_a_workflow_that_is_not_a_child(client: Client) -> None:
    async with child_worker(client) as queue:
        receiver = await client.start_workflow(Receiver.run, id=new_id(), task_queue=queue)
        raw = RawWorker(client)
        await raw.start()
        task = await raw.poll()
        await raw.complete(
            task.task_token,
            Command(
                command_type=CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
                signal_external_workflow_execution_command_attributes=SignalExternalWorkflowExecutionCommandAttributes(
                    execution=WorkflowExecution(workflow_id=receiver.id), signal_name="poke", child_workflow_only=True
                ),
            ),
        )
        await wait_for_event(
            client.get_workflow_handle(raw.workflow_id), E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED
        )
        await receiver.terminate()


def _signal(**fields: object) -> Command:
    return Command(
        command_type=CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
        signal_external_workflow_execution_command_attributes=SignalExternalWorkflowExecutionCommandAttributes(
            **fields  # type: ignore[arg-type]
        ),
    )


def _cancel(**fields: object) -> Command:
    return Command(
        command_type=CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
        request_cancel_external_workflow_execution_command_attributes=(
            RequestCancelExternalWorkflowExecutionCommandAttributes(**fields)  # type: ignore[arg-type]
        ),
    )


SIGNAL_CAUSE = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES
CANCEL_CAUSE = (
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES
)


@pytest.mark.parametrize(
    ("command", "cause", "message"),
    [
        (_signal(signal_name="s"), SIGNAL_CAUSE, "Execution is not set"),
        (_signal(execution=WorkflowExecution(workflow_id="w")), SIGNAL_CAUSE, "SignalName is not set"),
        (_signal(execution=WorkflowExecution(workflow_id="")), SIGNAL_CAUSE, "WorkflowId is not set"),
        (
            _signal(execution=WorkflowExecution(workflow_id="w", run_id="nope"), signal_name="s"),
            SIGNAL_CAUSE,
            "Invalid RunId",
        ),
        (
            _signal(execution=WorkflowExecution(workflow_id="w"), signal_name="s", namespace="elsewhere"),
            SIGNAL_CAUSE,
            "cross namespace commands are not allowed",
        ),
        (_cancel(), CANCEL_CAUSE, "WorkflowId is not set"),
        (_cancel(workflow_id="w", namespace="elsewhere"), CANCEL_CAUSE, "cross namespace commands are not allowed"),
    ],
)
async def test_a_bad_external_command_fails_the_workflow_task(
    client: Client, command: Command, cause: int, message: str
) -> None:
    raw = RawWorker(client)
    await raw.start()
    task = await raw.poll()
    await raw.complete(task.task_token, command)
    history = await client.get_workflow_handle(raw.workflow_id).fetch_history()
    failed = history.events[-1]
    assert failed.event_type == E.EVENT_TYPE_WORKFLOW_TASK_FAILED
    assert failed.workflow_task_failed_event_attributes.cause == cause
    assert message in failed.workflow_task_failed_event_attributes.failure.message
