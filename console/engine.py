"""The console's connection to the engine: one shared gRPC channel and one way to call it.

The console is a Temporal client of the engine's public WorkflowService. It authenticates with
the control plane's admin secret as its bearer credential, which the engine accepts for any
namespace: the control plane has already checked the signed-in user's permission
(``console.access.resolve``) before a page calls the engine.

A gRPC channel multiplexes every call over one HTTP/2 connection and reconnects by itself, so
the process keeps one (created on first use, thread-safe: ASGI runs sync views in a thread pool)
and re-creates it only when the configured address changes. ``close_channel`` drops it (tests,
whose engines come and go).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import grpc
from django.conf import settings
from google.protobuf.message import Message
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

TIMEOUT_SECONDS = 10.0

Response = TypeVar("Response", bound=Message)

# gRPC code → the page's HTTP status. Anything else the engine answers is a bad gateway.
HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}

_lock = threading.Lock()
_channel: grpc.Channel | None = None
_channel_address = ""


class ConsoleEngineError(Exception):
    """The engine refused a console call, or could not be reached. ``message`` is what the page
    shows: the engine's own words (e.g. "invalid query: … at position N")."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 502)

    @property
    def unreachable(self) -> bool:
        return self.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def channel() -> grpc.Channel:
    """The shared channel to ``settings.SUNDIAL_ENGINE_ADDRESS`` (plaintext)."""
    global _channel, _channel_address
    address = str(settings.SUNDIAL_ENGINE_ADDRESS)
    with _lock:
        if _channel is None or _channel_address != address:
            if _channel is not None:
                _channel.close()
            _channel = grpc.insecure_channel(address)
            _channel_address = address
        return _channel


def close_channel() -> None:
    """Close the shared channel; the next call opens a new one."""
    global _channel, _channel_address
    with _lock:
        if _channel is not None:
            _channel.close()
        _channel, _channel_address = None, ""


def workflow_service() -> WorkflowServiceStub:
    return WorkflowServiceStub(channel())


def metadata() -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {settings.SUNDIAL_ENGINE_ADMIN_SECRET}"),)


def call(method: Callable[..., Response], request: Message, *, timeout: float = TIMEOUT_SECONDS) -> Response:
    """Call one WorkflowService method (``call(workflow_service().ListWorkflowExecutions, req)``)
    with the console credential and a deadline; a gRPC error becomes ``ConsoleEngineError``."""
    try:
        return method(request, metadata=metadata(), timeout=timeout)
    except grpc.RpcError as exc:
        code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
        details = (exc.details() if isinstance(exc, grpc.Call) else "") or ""
        if code == grpc.StatusCode.UNAVAILABLE:
            details = f"the workflow engine at {settings.SUNDIAL_ENGINE_ADDRESS} is unreachable ({details})"
        elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
            details = f"the workflow engine did not answer within {timeout:g} seconds"
        raise ConsoleEngineError(code, details) from None
