"""API-key authentication and per-namespace authorization of tenant calls (non-dev mode).

Each WorkflowService and OperatorService method is wrapped (`Authorizer.wrap`) so the check runs
before its handler, on either gRPC server:

1. `authorization: Bearer sdl_<key_id>_<secret>` → the key, by id, in the access snapshot.
2. `hmac.compare_digest(key.digest, HMAC-SHA256(pepper, token))`, computed whether or not the
   key exists, so an unknown id takes as long as a wrong secret.
3. Disabled or expired → UNAUTHENTICATED.
4. What the method needs (`permissions.py`) on the request's namespace: the principal's
   permission there (account admins: Admin on their account's namespaces; others: their grant on
   the namespace's short name) and the namespace's `api_key_auth` → PERMISSION_DENIED otherwise.

Everything is read from the in-memory snapshot (`access.py`): no store read per call.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf.message import Message
from temporalio.api.errordetails.v1 import NamespaceNotFoundFailure

from engine.auth.access import AccessControl
from engine.auth.caller import Caller, current_caller
from engine.auth.mtls import CertificateRefused, certificate_principal
from engine.auth.permissions import TASK_TOKEN_METHODS, Need, Permission, Scope, need_of
from engine.auth.snapshot import AccessSnapshot, PrincipalAccess
from engine.frontend.errors import RpcError, abort
from engine.frontend.safe_handlers import Behaviour, Unparseable
from engine.history.tokens import InvalidTaskToken, decode_token

log = logging.getLogger("engine.auth")

TOKEN_PREFIX = "sdl"  # noqa: S105 (a prefix, not a secret)
_NO_DIGEST = "0" * 64  # compared against when the key id is unknown: same work either way

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED


class Denied(Exception):
    def __init__(self, code: grpc.StatusCode, message: str, detail: Message | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def bearer_token(metadata: Iterable[Any]) -> str:
    """The token of the `authorization: Bearer …` header; Denied (UNAUTHENTICATED) without one."""
    for key, value in metadata:
        if key == "authorization":
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            scheme, _, token = text.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Denied(UNAUTHENTICATED, "the authorization header must be 'Bearer <API key>'")
            return token.strip()
    raise Denied(UNAUTHENTICATED, "missing credentials: send the header 'authorization: Bearer <API key>'")


def _has_authorization(metadata: Iterable[Any]) -> bool:
    return any(key == "authorization" for key, _ in metadata)


def api_key_digest(pepper: bytes, token: str) -> str:
    """HMAC-SHA256 of the whole token under the pepper, as hex (the control plane's digest)."""
    return hmac.digest(pepper, token.encode(), "sha256").hex()


CONSOLE = PrincipalAccess("control-plane", "", "control_plane", "Sundial console", False, {})


class Authorizer:
    def __init__(self, access: AccessControl, pepper: str, console_secret: str = "") -> None:
        self.access = access
        # no pepper: no digest can match, so every key is refused (an engine can run on mTLS alone)
        self._pepper = pepper.encode() if pepper else None
        # the admin API's secret, also accepted as the web console's bearer (empty: no console)
        self._console = console_secret.encode() if console_secret else None

    # --- the two checks -------------------------------------------------------------------------

    def authenticate(self, metadata: Iterable[Any], ssl_object: Any = None) -> Caller:
        """The caller of a call with these headers on a connection with this TLS session (None:
        plaintext). Raises `Denied`."""
        if ssl_object is not None and not _has_authorization(metadata):
            snapshot = self.access.snapshot
            try:
                principal = certificate_principal(ssl_object, snapshot)
            except CertificateRefused as refused:
                raise Denied(PERMISSION_DENIED if refused.authenticated else UNAUTHENTICATED, str(refused)) from None
            if principal is not None:
                return Caller("", principal, snapshot)
        token = bearer_token(metadata)
        if self._console is not None and hmac.compare_digest(self._console, token.encode()):
            return Caller("", CONSOLE, self.access.snapshot, control_plane=True)
        prefix, _, rest = token.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != TOKEN_PREFIX or not key_id or not secret:
            raise Denied(UNAUTHENTICATED, "malformed API key")
        snapshot = self.access.snapshot
        key = snapshot.keys.get(key_id)
        computed = api_key_digest(self._pepper, token) if self._pepper is not None else ""
        expected = key.digest if key is not None else _NO_DIGEST
        if not hmac.compare_digest(expected, computed) or key is None or self._pepper is None:
            raise Denied(UNAUTHENTICATED, "invalid API key")
        if key.disabled:
            raise Denied(UNAUTHENTICATED, "API key is disabled")
        if key.expires_at is not None and time.time_ns() >= key.expires_at:
            raise Denied(UNAUTHENTICATED, "API key has expired")
        if key.principal is None:
            raise Denied(UNAUTHENTICATED, "invalid API key")
        return Caller(key_id, key.principal, snapshot)

    def authorize(self, caller: Caller, method: str, need: Need, request: Any) -> None:
        if isinstance(need, Scope):
            if need is Scope.CONTROL_PLANE:
                raise Denied(
                    PERMISSION_DENIED,
                    f"{method} is reserved for the control plane: create and delete namespaces in Sundial Cloud",
                )
            return  # AUTHENTICATED, OWN_NAMESPACES: a valid key is enough
        snapshot = caller.snapshot
        name = self._namespace_of(method, request, snapshot)
        if not name:
            raise Denied(grpc.StatusCode.INVALID_ARGUMENT, "namespace is required")
        namespace = snapshot.namespaces.get(name)
        if namespace is None:
            raise Denied(
                grpc.StatusCode.NOT_FOUND,
                f"Namespace {name} is not found.",
                NamespaceNotFoundFailure(namespace=name),
            )
        if caller.control_plane:
            return  # the console checked the user's permission on this namespace itself
        have = caller.principal.permission_on(namespace)
        if have is None:
            raise Denied(PERMISSION_DENIED, f"{caller.credential} has no access to namespace {name}")
        if not namespace.api_key_auth and not caller.by_certificate:
            raise Denied(PERMISSION_DENIED, f"namespace {name} does not accept API keys (API-key auth is off)")
        if have < need:
            raise Denied(
                PERMISSION_DENIED,
                f"{method} needs {need.label} permission on namespace {name}; {caller.credential} has {have.label}",
            )

    @staticmethod
    def _namespace_of(method: str, request: Any, snapshot: AccessSnapshot) -> str:
        name: str = request.namespace
        if method == "DescribeNamespace" and not name and request.id:
            by_id = snapshot.namespaces_by_id.get(request.id)
            if by_id is None:
                raise Denied(grpc.StatusCode.NOT_FOUND, f"Namespace {request.id} is not found.")
            return by_id.name
        if method in TASK_TOKEN_METHODS:
            try:
                namespace_id = decode_token(request.task_token).namespace_id
            except InvalidTaskToken:
                return name  # the handler answers INVALID_ARGUMENT
            owner = snapshot.namespaces_by_id.get(namespace_id)
            if not name:  # an SDK that leaves the namespace out: the token's own
                if owner is None:
                    raise Denied(grpc.StatusCode.NOT_FOUND, f"Namespace {namespace_id} is not found.")
                return owner.name
            named = snapshot.namespaces.get(name)
            if named is not None and named.id != namespace_id:
                raise Denied(
                    grpc.StatusCode.INVALID_ARGUMENT, "Operation requested with a token from a different namespace."
                )
        return name

    # --- wrapping servicer methods ----------------------------------------------------------------

    def wrap(self, service: str, method: str, behaviour: Behaviour, implemented: bool) -> Behaviour:
        """`behaviour` behind the check (a `safe_handlers.Wrapper`)."""
        need = need_of(service, method)

        async def authorized(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            try:
                tls_session = getattr(context, "tls_session", None)  # the engine's own transport
                caller = self.authenticate(
                    context.invocation_metadata() or (), tls_session() if tls_session is not None else None
                )
                if need is None:
                    if implemented:  # served but not in the table: refused until it is added
                        raise Denied(PERMISSION_DENIED, f"{method} is not open to API keys")
                elif not isinstance(request, Unparseable):  # that one is answered INVALID_ARGUMENT
                    self.authorize(caller, method, need, request)
            except Denied as denied:
                await abort(context, RpcError(denied.code, denied.message, denied.detail))
            except Exception:  # a bug: INTERNAL, never UNKNOWN (which the SDKs retry forever)
                log.exception("authorizing %s failed", method)
                await abort(context, RpcError(grpc.StatusCode.INTERNAL, f"internal engine error authorizing {method}"))
            token = current_caller.set(caller)
            try:
                return await behaviour(request, context)
            finally:
                current_caller.reset(token)

        authorized.__name__ = method
        return authorized


__all__ = ["Authorizer", "Denied", "Permission", "api_key_digest", "bearer_token"]
