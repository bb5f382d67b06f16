"""One exception handler for the REST API: every failure is ``{"error": {"code", "message"}}``.

Service errors keep the status their class declares (``http_status``) and are named by their
gRPC status code (``grpc_status``), so the REST API and the Cloud Ops API agree on what went
wrong; DRF's own errors (bad JSON, wrong types, no key) are put in the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from accounts.errors import ServiceError

# DRF's exceptions, named like the gRPC status codes the service errors use.
_DRF_CODES: tuple[tuple[type[exceptions.APIException], str], ...] = (
    (exceptions.ValidationError, "invalid_argument"),
    (exceptions.ParseError, "invalid_argument"),
    (exceptions.UnsupportedMediaType, "invalid_argument"),
    (exceptions.NotAuthenticated, "unauthenticated"),
    (exceptions.AuthenticationFailed, "unauthenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "unimplemented"),
    (exceptions.NotAcceptable, "invalid_argument"),
    (exceptions.Throttled, "resource_exhausted"),
)


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def flatten(detail: Any, prefix: str = "") -> list[str]:
    """DRF's nested error detail as ``field: message`` lines (``a.b: …`` for nested fields)."""
    if isinstance(detail, Mapping):
        lines: list[str] = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "detail") else str(key)
            lines += flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
        return lines
    if isinstance(detail, list):
        return [line for item in detail for line in flatten(item, prefix)]
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """The REST views' handler (set on ``ApiView``); None lets anything else become a 500."""
    if isinstance(exc, ServiceError):
        headers = {"WWW-Authenticate": 'Bearer realm="sundial"'} if exc.http_status == 401 else None
        set_rollback()
        return Response(error_body(exc.grpc_status.name.lower(), str(exc)), status=exc.http_status, headers=headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if not isinstance(exc, exceptions.APIException):
        return None
    code = next((name for cls, name in _DRF_CODES if isinstance(exc, cls)), "unknown")
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = str(getattr(exc, "auth_header"))  # noqa: B009
    if getattr(exc, "wait", None):
        headers["Retry-After"] = f"{int(getattr(exc, 'wait')):d}"  # noqa: B009
    message = "; ".join(flatten(exc.detail)) or str(exc)
    set_rollback()
    return Response(error_body(code, message), status=exc.status_code, headers=headers)


def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown paths under ``/api/v1/`` answer in the API's error shape, not an HTML page."""
    return JsonResponse(
        error_body("not_found", f"no API endpoint at {request.path!r}"), status=status.HTTP_404_NOT_FOUND
    )
