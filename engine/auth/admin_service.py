"""`sundial.engine.admin.v1.EngineAdmin`: the control plane's API into the engine, on its own
port (docs/engine-admin-api.md). Bodies are JSON documents sent as the gRPC message bytes, so
the service is registered as a generic handler with no (de)serializers; every call must carry
`authorization: Bearer <admin secret>`, compared in constant time."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc

from engine.auth.admin_requests import (
    AdminError,
    account_access_spec,
    decode_json,
    delete_namespace_name,
    put_namespace_spec,
    rename_search_attribute_spec,
)
from engine.auth.authorizer import Denied, bearer_token
from engine.auth.provisioning import Provisioner
from engine.errors import StoreError
from engine.frontend.errors import RpcError
from engine.frontend.safe_handlers import Registrar

SERVICE = "sundial.engine.admin.v1.EngineAdmin"

log = logging.getLogger("engine.admin")

Action = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
Context = grpc.aio.ServicerContext[Any, Any]


class AdminService:
    def __init__(self, provisioner: Provisioner, secret: str) -> None:
        if not secret:
            raise ValueError("the admin API needs a secret")
        self._secret = secret.encode()
        self.provisioner = provisioner

    def register(self, server: Registrar) -> None:
        p = self.provisioner
        actions: dict[str, Action] = {
            "PutNamespace": lambda document: p.put_namespace(put_namespace_spec(document)),
            "DeleteNamespace": lambda document: p.delete_namespace(delete_namespace_name(document)),
            "SyncAccountAccess": lambda document: p.sync_account_access(account_access_spec(document)),
            "RenameSearchAttribute": lambda document: p.rename_search_attribute(rename_search_attribute_spec(document)),
        }
        handlers = {name: grpc.unary_unary_rpc_method_handler(self._method(name, a)) for name, a in actions.items()}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))

    def _check_secret(self, metadata: Iterable[Any]) -> None:
        try:
            token = bearer_token(metadata)
        except Denied as denied:
            raise AdminError(
                denied.code, "missing admin credentials: send 'authorization: Bearer <admin secret>'"
            ) from None
        if not hmac.compare_digest(token.encode(), self._secret):
            raise AdminError(grpc.StatusCode.UNAUTHENTICATED, "invalid admin secret")

    def _method(self, name: str, action: Action) -> Callable[[bytes, Context], Awaitable[bytes]]:
        async def call(request: bytes, context: Context) -> bytes:
            try:
                self._check_secret(context.invocation_metadata() or ())
                answer = await action(decode_json(request))
            except AdminError as error:
                await context.abort(error.code, error.message)
            except RpcError as error:  # from the namespace registry: already a status and message
                await context.abort(error.code, error.message)
            except StoreError as error:
                await context.abort(grpc.StatusCode.UNAVAILABLE, f"engine store unavailable: {error}")
            except Exception:
                log.exception("internal error in %s", name)
                await context.abort(grpc.StatusCode.INTERNAL, f"internal engine error in {name}")
            return json.dumps(answer, separators=(",", ":")).encode()

        call.__name__ = name
        return call
