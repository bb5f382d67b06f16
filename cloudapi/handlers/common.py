"""What every mutating handler shares: the async operation around a change, required ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio.api.cloud.operation.v1 import message_pb2 as operation_pb

from accounts.errors import InvalidInput
from accounts.operations import run_operation
from accounts.principal import Principal
from cloudapi.convert import operation_to_proto


def mutate(
    principal: Principal, request: Message, operation_type: str, change: Callable[[], dict[str, Any]]
) -> tuple[dict[str, Any], operation_pb.AsyncOperation, bool]:
    """Run ``change`` once per ``request.async_operation_id``; returns (result, operation, replayed).

    Everything that reads the current state belongs inside ``change``, so that a repeated
    request gets the first outcome even when the object has changed (or gone) since.
    """
    result, operation, replayed = run_operation(
        principal,
        operation_id=getattr(request, "async_operation_id", ""),
        operation_type=operation_type,
        request=MessageToDict(request, preserving_proto_field_name=True),
        change=change,
    )
    return result, operation_to_proto(operation), replayed


def required(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"{field} is required")
    return value
