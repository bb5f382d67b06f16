"""Clear UNIMPLEMENTED answers for the RPCs the engine does not serve yet.

The generated servicer base answers every RPC with a synchronous method that raises
`NotImplementedError`; under grpc.aio that reaches clients as
"Unexpected <class 'NotImplementedError'>: Method not implemented!" and logs a server error.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc

C = TypeVar("C", bound=type)

Handler = Callable[[object, object, "grpc.aio.ServicerContext[Any, Any]"], Awaitable[NoReturn]]


def rpc_names(generated_base: type) -> list[str]:
    """The RPCs of a generated `*Servicer` base class: its public methods, all CamelCase."""
    return [name for name, member in vars(generated_base).items() if inspect.isfunction(member) and name[:1].isupper()]


def answer_unimplemented(*, generated_base: type, service_name: str, product: str) -> Callable[[C], C]:
    """Class decorator: every RPC the class leaves to `generated_base` answers UNIMPLEMENTED,
    naming the RPC and `product`."""

    def decorate(cls: C) -> C:
        for name in rpc_names(generated_base):
            if getattr(cls, name) is getattr(generated_base, name):
                setattr(cls, name, _unimplemented(f"{service_name}/{name}", product))
        return cls

    return decorate


def _unimplemented(rpc: str, product: str) -> Handler:
    async def handler(self: object, request: object, context: grpc.aio.ServicerContext[Any, Any]) -> NoReturn:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{rpc} is not implemented by {product}")

    handler.__name__ = rpc.rsplit("/", 1)[-1]
    handler.unimplemented = True  # type: ignore[attr-defined]  # the authorizer lets these answer UNIMPLEMENTED
    return handler
