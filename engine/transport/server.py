"""The engine's gRPC server on its own HTTP/2 transport.

grpc.aio spends most of the engine's CPU per RPC on its completion-queue thread hand-offs
(docs/performance.md): a minimal asyncio HTTP/2 server answers the same unary call for less
than half the CPU. It registers the servicers grpcio's generated code produces
(`add_*Servicer_to_server(servicer, server)`), serves unary and server-streaming methods, and
follows the gRPC-over-HTTP/2 spec for what an SDK can observe: statuses in trailers (or a
trailers-only response), `grpc-timeout`, gzip/deflate request compression, binary metadata,
RESOURCE_EXHAUSTED past the message size limit, UNIMPLEMENTED for unknown methods.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import grpc

from engine.transport import frames as f
from engine.transport.calls import Call, Metadata, trailers_only
from engine.transport.connection import Http2Connection, Stream

MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # grpc's default receive limit
_TIMEOUT_UNITS = {b"H": 3600.0, b"M": 60.0, b"S": 1.0, b"m": 1e-3, b"u": 1e-6, b"n": 1e-9}
_RESERVED = frozenset({b"content-type", b"te", b"grpc-timeout", b"grpc-encoding", b"grpc-accept-encoding"})
_ACCEPT_ENCODING = (("grpc-accept-encoding", "identity,deflate,gzip"),)


class _Method:
    __slots__ = ("deserialize", "handler", "serialize", "streaming")

    def __init__(
        self,
        handler: Callable[..., Any],
        deserialize: Callable[[bytes], Any],
        serialize: Callable[[Any], bytes],
        streaming: bool,
    ) -> None:
        self.handler = handler
        self.deserialize = deserialize
        self.serialize = serialize
        self.streaming = streaming


class _Details:
    """grpc.HandlerCallDetails for generic handlers' `service()` lookups."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata: Metadata = ()


class GrpcServer:
    """Bind with `add_insecure_port`, `start()`, `stop(grace)`: the slice of grpc.aio.Server the engine uses.

    With `ssl_context` every bound socket serves TLS (HTTP/2 over TLS, ALPN h2) and each call's
    context offers `tls_session()`, the connection's `ssl.SSLObject` (peer certificate, and the
    context the SNI callback chose)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.max_request_bytes = MAX_MESSAGE_BYTES + 5
        self._methods: dict[str, _Method | None] = {}
        self._generic: list[Any] = []
        self._sockets: list[socket.socket] = []  # bound by add_insecure_port, served from start()
        self._servers: list[asyncio.Server] = []
        self._connections: set[Http2Connection] = set()
        self._calls: set[asyncio.Task[None]] = set()

    # --- registration (what grpcio's generated add_*_to_server calls) -------------------------

    def add_generic_rpc_handlers(self, handlers: Iterable[Any]) -> None:
        self._generic.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        for name, handler in handlers.items():
            self._methods[f"/{service}/{name}"] = _method(handler)

    def _lookup(self, path: str) -> _Method | None:
        try:
            return self._methods[path]
        except KeyError:
            pass
        method = None
        for generic in self._generic:
            handler = generic.service(_Details(path))
            if handler is not None:
                method = _method(handler)
                break
        if len(self._methods) < 10_000:  # unknown paths are remembered too, up to a bound
            self._methods[path] = method
        return method

    # --- lifecycle ---------------------------------------------------------------------------

    def add_insecure_port(self, address: str) -> int:
        """Bind every address `host:port` resolves to, as grpc does; the bound port (a port of 0
        picks one). Raises OSError when an address cannot be bound."""
        host, _, port_text = address.rpartition(":")
        port = int(port_text)
        infos = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        sockets: list[socket.socket] = []
        try:
            for family, kind, proto, _, sockaddr in dict.fromkeys(infos):
                sock = socket.socket(family, kind, proto)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((sockaddr[0], port, *sockaddr[2:]))
                port = sock.getsockname()[1]  # a port of 0 became a real one: the others share it
                sock.listen(1024)
        except OSError:
            for sock in sockets:
                sock.close()
            raise
        self._sockets.extend(sockets)
        return port

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            self._servers.append(await loop.create_server(self._connection, sock=sock, ssl=self.ssl_context))

    async def stop(self, grace: float | None) -> None:
        """Refuse new calls, let those in flight finish for `grace` seconds, then cancel them."""
        for server in self._servers:
            server.close()
        if not self._servers:  # never started: nobody else will close the bound sockets
            for sock in self._sockets:
                sock.close()
        for connection in list(self._connections):
            connection.go_away()
        if self._calls and grace:
            await asyncio.wait(list(self._calls), timeout=grace)
        for task in list(self._calls):
            task.cancel()
        if self._calls:
            await asyncio.wait(list(self._calls), timeout=1.0)
        for connection in list(self._connections):
            connection.close()
        for server in self._servers:
            await server.wait_closed()

    # --- the connection's dispatcher ---------------------------------------------------------

    def _connection(self) -> Http2Connection:
        connection = Http2Connection(self)
        self._connections.add(connection)
        return connection

    def connection_closed(self, connection: Http2Connection) -> None:
        self._connections.discard(connection)

    def request(self, connection: Http2Connection, stream: Stream) -> None:
        path = b""
        content_type = b""
        http_method = b""
        encoding = b"identity"
        deadline: float | None = None
        metadata: list[tuple[str, str | bytes]] = []
        for name, value in stream.headers:
            if name[:1] == b":":
                if name == b":path":
                    path = value
                elif name == b":method":
                    http_method = value
            elif name in _RESERVED:
                if name == b"content-type":
                    content_type = value
                elif name == b"grpc-timeout":
                    deadline = _deadline(value)
                elif name == b"grpc-encoding":
                    encoding = value
            else:
                key = name.decode("ascii", "replace")
                if key.endswith("-bin"):
                    metadata.append((key, _b64decode(value)))
                else:
                    metadata.append((key, value.decode("latin-1")))
        if http_method != b"POST" or not content_type.startswith(b"application/grpc"):
            status = 405 if http_method != b"POST" else 415
            connection.send_headers(stream, f.status_literal(status), end_stream=True)
            return
        if stream.oversized:
            limit = MAX_MESSAGE_BYTES
            self._answer(
                connection,
                stream,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"request message larger than max ({limit} bytes)",
            )
            return
        method = self._lookup(path.decode("ascii", "replace"))
        if method is None:
            self._answer(connection, stream, grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
            return
        body = bytes(stream.body)
        if len(body) < 5 or int.from_bytes(body[1:5], "big") != len(body) - 5:
            self._answer(
                connection,
                stream,
                grpc.StatusCode.INVALID_ARGUMENT,
                "the request is not exactly one length-prefixed gRPC message",
            )
            return
        payload = body[5:]
        if body[0]:
            try:
                payload = _decompress(encoding, payload)
            except _Unsupported:
                self._answer(
                    connection,
                    stream,
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"grpc-encoding {encoding.decode('ascii', 'replace')!r} is not supported",
                    _ACCEPT_ENCODING,
                )
                return
            except _TooLarge:
                self._answer(
                    connection,
                    stream,
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"request message larger than max ({MAX_MESSAGE_BYTES} bytes)",
                )
                return
            except zlib.error as exc:
                self._answer(
                    connection, stream, grpc.StatusCode.INVALID_ARGUMENT, f"compressed request does not inflate: {exc}"
                )
                return
        try:
            request = method.deserialize(payload)
        except Exception as exc:  # a deserializer that is not guarded (e.g. the health service)
            self._answer(connection, stream, grpc.StatusCode.INVALID_ARGUMENT, f"request could not be parsed: {exc}")
            return
        call = Call(connection, stream, tuple(metadata), deadline)
        task = call.start(method.handler, request, method.serialize, method.streaming)
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    @staticmethod
    def _answer(
        connection: Http2Connection, stream: Stream, code: grpc.StatusCode, details: str, trailing: Metadata = ()
    ) -> None:
        connection.send_headers(stream, trailers_only(code, details, trailing), end_stream=True)


class _Unsupported(Exception):
    pass


class _TooLarge(Exception):
    pass


def _method(handler: grpc.RpcMethodHandler) -> _Method | None:
    if handler.request_streaming:
        return None  # no client-streaming method is served
    identity: Callable[[Any], Any] = lambda value: value  # noqa: E731
    deserialize = handler.request_deserializer or identity
    serialize = handler.response_serializer or identity
    behaviour = handler.unary_stream if handler.response_streaming else handler.unary_unary
    if behaviour is None:
        return None
    return _Method(behaviour, deserialize, serialize, handler.response_streaming)


def _deadline(value: bytes) -> float | None:
    """grpc-timeout ("100m", "30S", …) as an event-loop time; None when malformed."""
    unit = _TIMEOUT_UNITS.get(value[-1:])
    digits = value[:-1]
    if unit is None or not digits.isdigit() or len(digits) > 8:
        return None
    return asyncio.get_running_loop().time() + int(digits) * unit


def _b64decode(value: bytes) -> bytes:
    try:
        return base64.b64decode(value + b"=" * (-len(value) % 4))
    except ValueError:
        return value


def _decompress(encoding: bytes, payload: bytes) -> bytes:
    if encoding == b"gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == b"deflate":
        inflater = zlib.decompressobj()
    else:
        raise _Unsupported
    out = inflater.decompress(payload, MAX_MESSAGE_BYTES + 1)
    if len(out) > MAX_MESSAGE_BYTES or inflater.unconsumed_tail:
        raise _TooLarge
    return out
