"""A small synchronous client of the engine admin API (docs/engine-admin-api.md).

The control plane's provisioning tasks and the tests use it. It needs no Django and no
generated code: requests and answers are JSON documents sent as gRPC message bytes.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

import grpc

SERVICE = "sundial.engine.admin.v1.EngineAdmin"
DEFAULT_TIMEOUT = 10.0


class EngineAdminError(Exception):
    """The engine answered with a gRPC error (``code``), or could not be reached (UNAVAILABLE)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _decode(data: bytes) -> dict[str, Any]:
    value = json.loads(data.decode()) if data else {}
    if not isinstance(value, dict):
        raise ValueError("the engine admin API answers with JSON objects")
    return value


class EngineAdminClient:
    def __init__(self, address: str, secret: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.address = address
        self.timeout = timeout
        self._metadata = (("authorization", f"Bearer {secret}"),)
        self._channel = grpc.insecure_channel(address)

    def call(self, method: str, request: dict[str, Any]) -> dict[str, Any]:
        stub = self._channel.unary_unary(
            f"/{SERVICE}/{method}", request_serializer=_encode, response_deserializer=_decode
        )
        try:
            answer: dict[str, Any] = stub(request, metadata=self._metadata, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise EngineAdminError(exc.code(), exc.details() or "") from None
        return answer

    def put_namespace(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self.call("PutNamespace", spec)

    def delete_namespace(self, namespace: str) -> dict[str, Any]:
        return self.call("DeleteNamespace", {"namespace": namespace})

    def sync_account_access(self, access: dict[str, Any]) -> dict[str, Any]:
        return self.call("SyncAccountAccess", access)

    def rename_search_attribute(
        self, namespace: str, old_name: str, new_name: str, *, sa_type: str | None = None
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"namespace": namespace, "old_name": old_name, "new_name": new_name}
        if sa_type is not None:
            request["type"] = sa_type
        return self.call("RenameSearchAttribute", request)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> EngineAdminClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
