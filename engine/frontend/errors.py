"""Turning engine errors into the gRPC status and details Temporal's server answers with.

Details travel in the `grpc-status-details-bin` trailer as a google.rpc.Status-shaped message
(`temporal.api.common.v1.GrpcStatus`) holding one `temporal.api.errordetails.v1` failure, which
is what the SDKs decode into typed errors (e.g. `WorkflowAlreadyStartedError`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.errordetails.v1 import (
    NamespaceAlreadyExistsFailure,
    NamespaceNotFoundFailure,
    NotFoundFailure,
    WorkflowExecutionAlreadyStartedFailure,
    WorkflowNotReadyFailure,
)

from engine.errors import StoreError
from engine.history.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    WorkflowAlreadyStarted,
    WorkflowNotReady,
    WorkflowNotRunning,
)
from engine.history.tokens import InvalidTaskToken
from engine.transport.calls import Abort
from engine.visibility.listing import PageTokenError
from engine.visibility.query import QueryError

log = logging.getLogger("engine.frontend")

Context = grpc.aio.ServicerContext[Any, Any]
R = TypeVar("R")


class RpcError(Exception):
    """An answer that is not OK, raised anywhere below a servicer method."""

    def __init__(self, code: grpc.StatusCode, message: str, detail: Message | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def invalid(message: str) -> RpcError:
    return RpcError(grpc.StatusCode.INVALID_ARGUMENT, message)


def namespace_not_found(name: str) -> RpcError:
    return RpcError(
        grpc.StatusCode.NOT_FOUND, f"Namespace {name} is not found.", NamespaceNotFoundFailure(namespace=name)
    )


def namespace_exists(name: str) -> RpcError:
    return RpcError(
        grpc.StatusCode.ALREADY_EXISTS, f"Namespace {name} already exists.", NamespaceAlreadyExistsFailure()
    )


async def abort(context: Context, error: RpcError) -> NoReturn:
    trailers: tuple[tuple[str, bytes], ...] = ()
    if error.detail is not None:
        detail = any_pb2.Any()
        detail.Pack(error.detail)
        status = GrpcStatus(code=error.code.value[0], message=error.message, details=[detail])
        trailers = (("grpc-status-details-bin", status.SerializeToString()),)
    await context.abort(error.code, error.message, trailing_metadata=trailers)


def translate(exc: Exception) -> RpcError | None:
    """The RpcError for an engine error; None for a bug."""
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, WorkflowAlreadyStarted):
        return RpcError(
            grpc.StatusCode.ALREADY_EXISTS,
            str(exc),
            WorkflowExecutionAlreadyStartedFailure(start_request_id=exc.start_request_id, run_id=exc.run_id),
        )
    if isinstance(exc, (NotFound, WorkflowNotRunning)):
        return RpcError(grpc.StatusCode.NOT_FOUND, str(exc), NotFoundFailure())
    if isinstance(exc, (InvalidArgument, InvalidTaskToken)):
        return RpcError(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    if isinstance(exc, WorkflowNotReady):
        return RpcError(grpc.StatusCode.FAILED_PRECONDITION, str(exc), WorkflowNotReadyFailure())
    if isinstance(exc, FailedPrecondition):
        return RpcError(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
    if isinstance(exc, ResourceExhausted):
        return RpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
    if isinstance(exc, (QueryError, PageTokenError)):
        return RpcError(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    if isinstance(exc, StoreError):
        return RpcError(grpc.StatusCode.UNAVAILABLE, f"engine store unavailable: {exc}")
    return None


def rpc(method: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Servicer-method decorator: engine errors become statuses; bugs become INTERNAL.

    Never UNKNOWN: the SDK's core retries UNKNOWN, which would turn an engine bug into a hang.
    """

    @functools.wraps(method)
    async def wrapper(self: object, request: Message, context: Context) -> R:
        try:
            return await method(self, request, context)
        except Exception as exc:
            if isinstance(exc, (grpc.aio.AbortError, Abort)):
                raise
            error = translate(exc)
            if error is None:
                log.exception("internal error in %s", method.__name__)
                error = RpcError(grpc.StatusCode.INTERNAL, f"internal engine error in {method.__name__}")
            await abort(context, error)

    return wrapper
