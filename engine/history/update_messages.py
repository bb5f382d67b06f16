"""Workflow updates inside workflow tasks: the protocol messages a worker answers with.

A workflow task carries each admitted update to the worker as a `temporal.api.protocol.v1.Message`
holding an `update.v1.Request`. The worker answers in RespondWorkflowTaskCompleted with messages
of its own: an `Acceptance` and a `Response` (each named by a COMMAND_TYPE_PROTOCOL_MESSAGE
command, which places its event among the other commands' events) or a `Rejection` (no command:
a rejection writes nothing). Messages no command names are handled after the commands, as
Temporal does. Accepted and completed updates are state (`MutableState.updates`) and events;
what happens to admitted updates in memory waits for the commit (`UpdateMessages.settle`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.enums.v1 import WorkflowTaskFailedCause as Cause
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.protocol.v1 import Message
from temporalio.api.update.v1 import Acceptance, Outcome, Rejection, Request, Response

from engine.history.commands import CommandError
from engine.history.mutation import Mutation
from engine.history.state import UpdateInfo

_BAD_MESSAGE = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE


def server_failure(message: str, failure_type: str) -> Failure:
    return Failure(
        message=message,
        source="Server",
        application_failure_info=ApplicationFailureInfo(type=failure_type, non_retryable=True),
    )


# Temporal's failures for an update the worker never answered, and for an accepted update whose
# workflow closed before completing it (a client that saw it accepted expects an outcome).
UNPROCESSED_FAILURE = server_failure(
    "Workflow Update is rejected because it wasn't processed by worker. "
    "Probably, Workflow Update is not supported by the worker.",
    "UnprocessedUpdate",
)
WORKFLOW_CLOSED_FAILURE = server_failure(
    "Workflow Update failed because the Workflow completed before the Update completed.",
    "AcceptedUpdateCompletedWorkflow",
)


@dataclass
class PendingUpdate:
    """An admitted update (memory only, as in Temporal: lost in a crash, the client retries)."""

    request: Request
    sequence: int  # admission order: updates go to the worker in the order they came
    sent_in: int = 0  # the WorkflowTaskStarted id of the task that last carried it
    rejection: Failure | None = None  # set once a rejection is durable

    def message(self, started_event_id: int) -> Message:
        update_id = self.request.meta.update_id
        # as Temporal: the update applies after the event before the WorkflowTaskStarted event
        message = Message(id=f"{update_id}/request", protocol_instance_id=update_id, event_id=started_event_id - 1)
        message.body.Pack(self.request)
        return message


@dataclass
class UpdateMessages:
    """The messages of one workflow-task completion, applied to its Mutation."""

    pending: dict[str, PendingUpdate]
    messages: list[Message]
    started_event_id: int
    done: set[str] = field(default_factory=set)  # message ids handled
    accepted: set[str] = field(default_factory=set)  # update ids
    rejected: dict[str, Failure] = field(default_factory=dict)

    def on_command(self, m: Mutation, message_id: str) -> None:
        message = next((msg for msg in self.messages if msg.id == message_id), None)
        if message is None or message_id in self.done:
            raise CommandError(_BAD_MESSAGE, f"ProtocolMessageCommandAttributes.MessageId={message_id} is not found")
        self._handle(m, message)

    def finish(self, m: Mutation) -> None:
        """After the commands: the messages no command named, then the updates this task carried
        that the worker left unanswered (rejected, as Temporal does)."""
        for message in self.messages:
            if message.id not in self.done:
                self._handle(m, message)
        for update_id, pending in self.pending.items():
            if (
                pending.sent_in == self.started_event_id
                and update_id not in self.accepted
                and update_id not in self.rejected
            ):
                self.rejected[update_id] = UNPROCESSED_FAILURE

    def undelivered(self) -> bool:
        """Admitted updates this task did not carry (they came while it ran): another task must."""
        return any(
            p.sent_in != self.started_event_id and p.rejection is None and u not in self.accepted
            for u, p in self.pending.items()
        )

    def settle(self) -> None:
        """The completion is durable: accepted updates leave memory (state has them now),
        rejected ones carry their failure to whoever waits on them."""
        for update_id in self.accepted:
            self.pending.pop(update_id, None)
        for update_id, failure in self.rejected.items():
            pending = self.pending.pop(update_id, None)
            if pending is not None:
                pending.rejection = failure

    def _handle(self, m: Mutation, message: Message) -> None:
        self.done.add(message.id)
        update_id = message.protocol_instance_id
        if not update_id:
            raise CommandError(_BAD_MESSAGE, f"message {message.id!r} has no protocol_instance_id")
        body = _unpack(message)
        if isinstance(body, Rejection):
            self._reject(update_id, body)
            m.state.admitted_updates.pop(update_id, None)
        elif not m.state.running:
            return  # as Temporal: after the close only rejections count; the update is aborted
        elif isinstance(body, Acceptance):
            self._accept(m, update_id, body)
        else:
            self._respond(m, update_id, body)

    def _accept(self, m: Mutation, update_id: str, acceptance: Acceptance) -> None:
        state = m.state
        if update_id in state.updates or update_id in self.rejected:
            raise CommandError(_BAD_MESSAGE, _transition_error(update_id, "Acceptance", "Accepted"))
        if update_id in state.admitted_updates:  # its request is in its UpdateAdmitted event (a reset's)
            del state.admitted_updates[update_id]
            event = m.add_event(
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
                protocol_instance_id=update_id,
                accepted_request_message_id=acceptance.accepted_request_message_id,
                accepted_request_sequencing_event_id=acceptance.accepted_request_sequencing_event_id,
            )
            state.updates[update_id] = UpdateInfo(accepted_event_id=event.event_id)
            self.accepted.add(update_id)
            return
        pending = self.pending.get(update_id)
        request = pending.request if pending is not None else acceptance.accepted_request
        if not request.meta.update_id:
            raise CommandError(_BAD_MESSAGE, f"accepted_request is not set on Acceptance for update {update_id}")
        event = m.add_event(
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            protocol_instance_id=update_id,
            accepted_request_message_id=f"{update_id}/request",
            accepted_request_sequencing_event_id=acceptance.accepted_request_sequencing_event_id,
            accepted_request=request,
        )
        state.updates[update_id] = UpdateInfo(accepted_event_id=event.event_id)
        self.accepted.add(update_id)

    def _respond(self, m: Mutation, update_id: str, response: Response) -> None:
        info = m.state.updates.get(update_id)
        if info is None or info.completed_event_id:
            current = "Completed" if info is not None else "Admitted"
            raise CommandError(_BAD_MESSAGE, _transition_error(update_id, "Response", current))
        if not response.HasField("outcome") or response.outcome.WhichOneof("value") is None:
            raise CommandError(_BAD_MESSAGE, f"outcome is not set on Response for update {update_id}")
        event = m.add_event(
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
            meta=response.meta if response.HasField("meta") else None,
            accepted_event_id=info.accepted_event_id,
            outcome=response.outcome,
        )
        info.completed_event_id = event.event_id

    def _reject(self, update_id: str, rejection: Rejection) -> None:
        if update_id in self.accepted:
            raise CommandError(_BAD_MESSAGE, _transition_error(update_id, "Rejection", "Accepted"))
        if not rejection.HasField("failure"):
            raise CommandError(_BAD_MESSAGE, f"failure is not set on Rejection for update {update_id}")
        self.rejected[update_id] = rejection.failure


def rejection_outcome(failure: Failure) -> Outcome:
    outcome = Outcome()
    outcome.failure.CopyFrom(failure)
    return outcome


def _unpack(message: Message) -> Any:
    for kind in (Acceptance, Rejection, Response):
        if message.body.Is(kind.DESCRIPTOR):
            body = kind()
            message.body.Unpack(body)
            return body
    raise CommandError(_BAD_MESSAGE, f"message {message.id!r}: body type {message.body.type_url!r} is not supported")


def _transition_error(update_id: str, received: str, current: str) -> str:
    return (
        f"invalid state transition attempted for Update {update_id}: received {received} message while in state "
        f"{current}"
    )
