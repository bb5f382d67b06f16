"""API-key authentication for the REST API (``Authorization: Bearer sdl_…``); nothing else.

Session cookies are deliberately not accepted here: a browser tab must not be able to drive the
API, and every API call is attributable to a key. The key's owner acting through it becomes the
request's ``Principal`` (``request.auth``); the account is the key's, so paths carry no account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.errors import Unauthenticated
from accounts.models import ServiceAccount
from accounts.principal import Principal, principal_for_api_key
from accounts.web import client_ip

API_VERSION_HEADER = "temporal-cloud-api-version"
REALM = 'Bearer realm="sundial"'


@dataclass(frozen=True)
class ServiceAccountCaller:
    """``request.user`` for a service account's key: authenticated, but not a person."""

    service_account: ServiceAccount
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None without the header."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise exceptions.AuthenticationFailed("use the header 'Authorization: Bearer <API key>'")
    token = token.strip()
    if not token:
        raise exceptions.AuthenticationFailed("the Authorization header carries no API key")
    return token


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Principal] | None:
        token = bearer_token(request)
        if token is None:
            return None
        try:
            principal = principal_for_api_key(
                token,
                client_ip=client_ip(request._request),
                api_version=request._request.headers.get(API_VERSION_HEADER, "")[:64],
            )
        except Unauthenticated as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        user: Any = principal.user
        if user is None:
            assert principal.service_account is not None
            user = ServiceAccountCaller(principal.service_account)
        return user, principal

    def authenticate_header(self, request: Request) -> str:
        if request.META.get("HTTP_AUTHORIZATION"):
            return f'{REALM}, error="invalid_token"'
        return REALM


class HasApiKey(BasePermission):
    message = "this API needs an API key: send 'Authorization: Bearer <API key>'"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, Principal)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes ``ApiKeyAuthentication``."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`sdl_…`) of a user or service account, created once and shown once.",
        }
