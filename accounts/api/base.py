"""The base of every REST view: API-key authentication only, JSON only, one error shape, and
``mutate`` to run a change as an async operation (``async_operation_id`` idempotency)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar, cast

from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.authentication import ApiKeyAuthentication, HasApiKey
from accounts.api.errors import exception_handler
from accounts.api.serializers import ErrorSerializer
from accounts.errors import NotFound
from accounts.models import AsyncOperation
from accounts.operations import run_operation
from accounts.principal import Principal

T = TypeVar("T")

_ERROR_TEXT = {
    400: "Bad input (invalid_argument)",
    401: "No valid API key (unauthenticated)",
    403: "The caller's role may not do this (permission_denied)",
    404: "No such object in the caller's account (not_found)",
    409: "Stale resource_version, a limit, or a duplicate (failed_precondition, already_exists)",
}
ERRORS: dict[int, OpenApiResponse] = {
    status: OpenApiResponse(ErrorSerializer, description=text) for status, text in _ERROR_TEXT.items()
}


class ApiView(APIView):
    authentication_classes = (ApiKeyAuthentication,)
    permission_classes = (HasApiKey,)
    parser_classes = (JSONParser,)
    renderer_classes = (JSONRenderer,)

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return exception_handler

    def permission_denied(self, request: Request, message: str | None = None, code: str | None = None) -> NoReturn:
        if not request.successful_authenticator:
            raise exceptions.NotAuthenticated(HasApiKey.message)
        raise exceptions.PermissionDenied(message, code)

    @property
    def principal(self) -> Principal:
        return cast(Principal, self.request.auth)

    def body(self, serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def query(self, serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def mutate(
        self,
        operation_type: str,
        data: dict[str, Any],
        change: Callable[[], dict[str, Any]],
        **path: str,
    ) -> tuple[dict[str, Any], AsyncOperation, bool]:
        """Run ``change`` once per ``async_operation_id``; the operation records the request
        (path ids included) and ``change``'s result, which a replay gets back."""
        fields = dict(data)
        operation_id = str(fields.pop("async_operation_id", ""))
        return run_operation(
            self.principal,
            operation_id=operation_id,
            operation_type=operation_type,
            request={**path, **fields},
            change=change,
        )


def respond(
    serializer_class: type[serializers.Serializer[Any]], payload: dict[str, Any], status: int = 200
) -> Response:
    return Response(serializer_class(payload).data, status=status)


def reread(read: Callable[[], T]) -> T | None:
    """The object a replayed request names, or None if it has gone since."""
    try:
        return read()
    except NotFound:
        return None
