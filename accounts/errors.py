"""The errors every control-plane service raises, and how each API face reports them.

Services raise these; the REST API, the Cloud Ops gRPC API and the pages translate them with
``HTTP_STATUS`` / ``GRPC_STATUS`` so that one rule decides what a caller sees. Another
account's object is always ``NotFound`` (never ``PermissionDenied``): tenants cannot even
learn that it exists.
"""

from __future__ import annotations

import grpc


class ServiceError(Exception):
    """Base class: ``str(error)`` is the message shown to the caller."""

    http_status = 400
    grpc_status = grpc.StatusCode.INVALID_ARGUMENT


class InvalidInput(ServiceError):
    """The request itself is wrong (a missing field, a bad e-mail, an expiry too far away)."""


class NotFound(ServiceError):
    http_status = 404
    grpc_status = grpc.StatusCode.NOT_FOUND


class PermissionDenied(ServiceError):
    """The caller can see the object but its role does not allow this action."""

    http_status = 403
    grpc_status = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(ServiceError):
    http_status = 401
    grpc_status = grpc.StatusCode.UNAUTHENTICATED


class AlreadyExists(ServiceError):
    http_status = 409
    grpc_status = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(ServiceError):
    """The request is well formed but the current state forbids it (a limit, the last owner)."""

    http_status = 409
    grpc_status = grpc.StatusCode.FAILED_PRECONDITION


class StaleResourceVersion(FailedPrecondition):
    """``resource_version`` does not match: someone changed the object since the caller read it."""
