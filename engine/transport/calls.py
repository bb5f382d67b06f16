"""One gRPC call on the engine's HTTP/2 transport: the handler's task, its context, its status.

The handler gets the request message and a `ServerContext` with the parts of grpc.aio's
`ServicerContext` the engine uses (`abort`, `time_remaining`, `invocation_metadata`, `write`,
`peer`, `cancelled`; plus `tls_session`), so servicers run unchanged on either server.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import grpc

from engine.transport import frames as f
from engine.transport.connection import Http2Connection, Stream

log = logging.getLogger("engine.transport")

Metadata = tuple[tuple[str, str | bytes], ...]

RESPONSE_HEADERS = f.STATUS_200 + f.literal(b"content-type", b"application/grpc")
TRAILERS_OK = f.literal(b"grpc-status", b"0")
_MESSAGE_PREFIX = b"\x00"


class Abort(Exception):
    """Raised by `ServerContext.abort`: the call ends with this status."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: Metadata = ()) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


def message_bytes(payload: bytes) -> bytes:
    """A gRPC length-prefixed message (uncompressed)."""
    return _MESSAGE_PREFIX + len(payload).to_bytes(4, "big") + payload


def _percent_encode(text: str) -> bytes:
    """grpc-message encoding: printable ASCII except '%' as is, every other byte as %XX."""
    out = bytearray()
    for byte in text.encode("utf-8", "replace"):
        if 0x20 <= byte <= 0x7E and byte != 0x25:
            out.append(byte)
        else:
            out += b"%%%02X" % byte
    return bytes(out)


def _metadata_value(key: str, value: str | bytes) -> bytes:
    if key.endswith("-bin"):
        raw = value if isinstance(value, bytes) else value.encode()
        return base64.b64encode(raw).rstrip(b"=")
    text = value.decode() if isinstance(value, bytes) else value
    return text.encode("ascii", "replace")


def status_block(code: grpc.StatusCode, details: str, trailing_metadata: Metadata = ()) -> bytes:
    """The grpc-status / grpc-message / trailing-metadata fields of a closing header block."""
    parts = [f.literal(b"grpc-status", str(code.value[0]).encode())]
    if details:
        parts.append(f.literal(b"grpc-message", _percent_encode(details)))
    for key, value in trailing_metadata:
        parts.append(f.literal(key.lower().encode("ascii"), _metadata_value(key.lower(), value)))
    return b"".join(parts)


def trailers_only(code: grpc.StatusCode, details: str, trailing_metadata: Metadata = ()) -> bytes:
    """A response that is only a status: one header block that ends the stream."""
    return RESPONSE_HEADERS + status_block(code, details, trailing_metadata)


class Call:
    """Runs one handler as a task and answers on its stream; cancelled by a client reset."""

    __slots__ = (
        "_timer",
        "cancelled_by_client",
        "connection",
        "deadline",
        "headers_sent",
        "metadata",
        "stream",
        "task",
    )

    def __init__(self, connection: Http2Connection, stream: Stream, metadata: Metadata, deadline: float | None) -> None:
        self.connection = connection
        self.stream = stream
        self.metadata = metadata
        self.deadline = deadline
        self.task: asyncio.Task[None] | None = None
        self.headers_sent = False
        self.cancelled_by_client = False
        self._timer: asyncio.TimerHandle | None = None

    def start(
        self, run: Callable[[Any, ServerContext], Any], request: Any, serialize: Callable[[Any], bytes], streaming: bool
    ) -> asyncio.Task[None]:
        loop = asyncio.get_running_loop()
        self.stream.call = self
        self.task = loop.create_task(self._run(run, request, serialize, streaming))
        if self.deadline is not None:
            self._timer = loop.call_at(self.deadline, self._deadline_passed)
        return self.task

    def cancel(self) -> None:
        """The client reset the stream or went away: stop the handler, answer nothing."""
        self.cancelled_by_client = True
        if self.task is not None:
            self.task.cancel()

    def _deadline_passed(self) -> None:
        self._timer = None
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _run(
        self, run: Callable[..., Any], request: Any, serialize: Callable[[Any], bytes], streaming: bool
    ) -> None:
        context = ServerContext(self, serialize)
        connection, stream = self.connection, self.stream
        try:
            if streaming:
                result = run(request, context)
                if inspect.isasyncgen(result):
                    async for message in result:
                        await context.write(message)
                else:
                    await result
                self._finish(grpc.StatusCode.OK, "")
            else:
                response = await run(request, context)
                payload = message_bytes(serialize(response))
                connection.send_headers(stream, RESPONSE_HEADERS)
                connection.send_data(stream, payload)
                connection.send_trailers(stream, TRAILERS_OK)
        except Abort as exc:
            self._finish(exc.code, exc.details, exc.trailing_metadata)
        except asyncio.CancelledError:
            if self.cancelled_by_client:
                return
            if self.deadline is not None and asyncio.get_running_loop().time() >= self.deadline:
                self._finish(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
            else:  # the server is shutting down
                self._finish(grpc.StatusCode.UNAVAILABLE, "the engine is shutting down")
            raise
        except Exception:
            log.exception("unexpected error in a gRPC handler")
            self._finish(grpc.StatusCode.UNKNOWN, "Unexpected error in the RPC handler")
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _finish(self, code: grpc.StatusCode, details: str, trailing_metadata: Metadata = ()) -> None:
        if self.headers_sent:
            self.connection.send_trailers(self.stream, status_block(code, details, trailing_metadata))
        else:
            self.connection.send_headers(self.stream, trailers_only(code, details, trailing_metadata), end_stream=True)

    def send_message(self, payload: bytes) -> None:
        if not self.headers_sent:
            self.headers_sent = True
            self.connection.send_headers(self.stream, RESPONSE_HEADERS)
        self.connection.send_data(self.stream, message_bytes(payload))


class ServerContext:
    """What a servicer method may ask of its call (a subset of grpc.aio.ServicerContext)."""

    __slots__ = ("_call", "_serialize")

    def __init__(self, call: Call, serialize: Callable[[Any], bytes]) -> None:
        self._call = call
        self._serialize = serialize

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Sequence[tuple[str, str | bytes]] = ()
    ) -> NoReturn:
        raise Abort(code, details, tuple(trailing_metadata))

    def time_remaining(self) -> float | None:
        deadline = self._call.deadline
        if deadline is None:
            return None
        return max(0.0, deadline - asyncio.get_running_loop().time())

    def invocation_metadata(self) -> Metadata:
        return self._call.metadata

    def peer(self) -> str:
        return self._call.connection.peer

    def tls_session(self) -> object | None:
        """The connection's `ssl.SSLObject` on a TLS server, else None (not in grpc.aio)."""
        return self._call.connection.ssl_object

    def cancelled(self) -> bool:
        return self._call.cancelled_by_client

    async def write(self, message: Any) -> None:
        """Send one message of a server-streaming response."""
        if self._call.stream.closed:
            raise asyncio.CancelledError
        self._call.send_message(self._serialize(message))
