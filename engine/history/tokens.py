"""Task tokens: opaque to SDKs, they name the run and the exact task attempt they answer for.

A token that no longer matches the run's state (the task timed out, was retried, or the run
closed) is answered NOT_FOUND, as Temporal's server does, so a late worker can never complete
a task twice.
"""

from __future__ import annotations

import msgspec

from engine.errors import EngineError

KIND_WORKFLOW_TASK = "w"
KIND_ACTIVITY_TASK = "a"
KIND_QUERY_TASK = "q"


class TaskToken(msgspec.Struct, array_like=True):
    kind: str
    namespace_id: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int = 0
    attempt: int = 0
    started_event_id: int = 0
    activity_id: str = ""
    query_id: str = ""
    # a workflow task's start (its WorkflowTaskStarted request id): after a restart the same
    # task may be started again with the same ids, and the first worker's token must not fit
    request_id: str = ""


class InvalidTaskToken(EngineError):
    """The bytes are not a task token this engine issued."""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(TaskToken)


def encode_token(token: TaskToken) -> bytes:
    return _encoder.encode(token)


def decode_token(data: bytes) -> TaskToken:
    if not data:
        raise InvalidTaskToken("task_token is required")
    try:
        token = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, ValueError):
        raise InvalidTaskToken("task_token is malformed") from None
    if token.kind not in {KIND_WORKFLOW_TASK, KIND_ACTIVITY_TASK, KIND_QUERY_TASK}:
        raise InvalidTaskToken("task_token is malformed")
    return token
