"""Registering generated servicers so that an unparseable request is INVALID_ARGUMENT.

grpc.aio answers a request whose bytes do not decode with UNKNOWN, and the SDKs' core retries
UNKNOWN, so garbage would turn into a retry loop. Each handler's deserializer is wrapped: a
request that fails to decode becomes a marker the wrapped behaviour answers INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import grpc
from google.protobuf.message import DecodeError

Behaviour = Callable[..., Any]  # async (request, context) -> response
# Wraps each method's behaviour (e.g. with an authorization check): (service, method, behaviour,
# implemented) -> behaviour. `implemented` is False for RPCs that only answer UNIMPLEMENTED.
Wrapper = Callable[[str, str, Behaviour, bool], Behaviour]


class Registrar(Protocol):
    """A gRPC server as generated `add_*_to_server` code sees it: grpc.aio's or the engine's own."""

    def add_generic_rpc_handlers(self, handlers: Any) -> None: ...


class Unparseable:
    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Capture:
    """Stands in for a server to collect what a generated add_*_to_server registers."""

    def __init__(self) -> None:
        self.service = ""
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        for handler in handlers:  # grpc's DictionaryGenericHandler: one service, its methods
            self.service = handler._name
            # keys are fully qualified ("/service/Method"): keep the method name
            self.handlers = {key.rsplit("/", 1)[-1]: h for key, h in handler._method_handlers.items()}

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self.service, self.handlers = service, handlers


def _safe_deserializer(deserialize: Callable[[bytes], Any], method: str) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except (DecodeError, ValueError) as exc:
            return Unparseable(f"{method} request could not be parsed: {exc}")

    return parse


def _guarded(behaviour: Callable[..., Any]) -> Callable[..., Any]:
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        if isinstance(request, Unparseable):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.reason)
        return await behaviour(request, context)

    return call


def add_safely(
    add_to_server: Callable[[Any, Any], None], servicer: Any, server: Registrar, *, wrap: Wrapper | None = None
) -> None:
    """`add_to_server(servicer, server)`, with every unary method's parsing guarded and, given
    `wrap`, every method's behaviour wrapped outside that guard (so a request that does not
    parse reaches the wrapper as an `Unparseable`)."""
    capture = _Capture()
    add_to_server(servicer, capture)
    guarded = {}
    for method, handler in capture.handlers.items():
        if handler.unary_unary is not None and handler.request_deserializer is not None:
            behaviour = _guarded(handler.unary_unary)
            if wrap is not None:
                implemented = not getattr(handler.unary_unary, "unimplemented", False)
                behaviour = wrap(capture.service, method, behaviour, implemented)
            handler = handler._replace(  # type: ignore[attr-defined]
                request_deserializer=_safe_deserializer(handler.request_deserializer, method),
                unary_unary=behaviour,
            )
        elif wrap is not None:  # no streaming RPC is served; a new one must be wrapped first
            raise RuntimeError(f"{capture.service}/{method} is not unary: it cannot be authorized")
        guarded[method] = handler
    if not capture.service or not guarded:
        raise RuntimeError("generated servicer registered no methods")  # grpc's layout changed
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(capture.service, guarded),))
