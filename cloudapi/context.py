"""One Cloud Ops call: who is calling, from where, and how its errors reach the caller.

Every RPC runs through ``serve``: it requires the ``temporal-cloud-api-version`` header,
turns ``authorization: Bearer <key>`` into a ``Principal``, runs the handler and reports a
``ServiceError`` with the status the error class names (``ServiceError.grpc_status``). The
handler runs on one of grpcio's worker threads, so Django's per-request connection handling
is done here: stale connections are closed before and after each call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NoReturn, TypeVar

import grpc
from django.db import close_old_connections

from accounts.errors import InvalidInput, ServiceError, Unauthenticated
from accounts.principal import Principal, principal_for_api_key

logger = logging.getLogger("sundial.cloudapi")

VERSION_HEADER = "temporal-cloud-api-version"
MAX_VERSION_LENGTH = 64
MAX_CLIENT_IP_LENGTH = 256

Req = TypeVar("Req")
Resp = TypeVar("Resp")


def metadata_of(context: grpc.ServicerContext) -> dict[str, str]:
    """The call's metadata (keys are lower case in gRPC); text values only."""
    return {key.lower(): value for key, value in context.invocation_metadata() if isinstance(value, str)}


def api_version(metadata: dict[str, str]) -> str:
    version = metadata.get(VERSION_HEADER, "").strip()
    if not version:
        raise InvalidInput(f"the {VERSION_HEADER} header is required (for example 2024-10-01-00)")
    if len(version) > MAX_VERSION_LENGTH:
        raise InvalidInput(f"the {VERSION_HEADER} header is longer than {MAX_VERSION_LENGTH} characters")
    return version


def bearer_token(metadata: dict[str, str]) -> str:
    header = metadata.get("authorization", "").strip()
    if not header:
        raise Unauthenticated("an API key is required: send the header authorization: Bearer <API key>")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the authorization header must be 'Bearer <API key>'")
    return token.strip()


def peer_ip(peer: str) -> str:
    """The address in a grpcio peer string such as ``ipv4:127.0.0.1:5555`` or ``ipv6:[::1]:5555``."""
    family, _, rest = peer.partition(":")
    if family == "ipv6" and rest.startswith("["):
        return rest[1:].partition("]")[0]
    if family == "ipv4":
        return rest.rpartition(":")[0]
    return rest or peer


def client_ip(metadata: dict[str, str], peer: str) -> str:
    """The caller's address chain: any ``x-forwarded-for`` the call carried, then the peer this
    server saw (what a proxy would append), so a forged header never hides the real sender."""
    seen = peer_ip(peer)
    forwarded = metadata.get("x-forwarded-for", "").strip()
    chain = f"{forwarded}, {seen}" if forwarded and seen else forwarded or seen
    return chain[:MAX_CLIENT_IP_LENGTH]


def authenticate(context: grpc.ServicerContext) -> Principal:
    metadata = metadata_of(context)
    version = api_version(metadata)
    token = bearer_token(metadata)
    return principal_for_api_key(token, client_ip=client_ip(metadata, context.peer()), api_version=version)


def abort(context: grpc.ServicerContext, error: ServiceError) -> NoReturn:
    context.abort(error.grpc_status, str(error))
    raise AssertionError("grpc context.abort returned")  # pragma: no cover - abort always raises


def serve(context: grpc.ServicerContext, handler: Callable[[Principal, Req], Resp], request: Req) -> Resp:
    """Authenticate the call, run ``handler(principal, request)`` and translate its errors."""
    close_old_connections()
    try:
        principal = authenticate(context)
        return handler(principal, request)
    except ServiceError as error:
        abort(context, error)
    except Exception:
        logger.exception("Cloud Ops call failed")
        context.abort(grpc.StatusCode.INTERNAL, "internal error; the server log has the details")
        raise
    finally:
        close_old_connections()
