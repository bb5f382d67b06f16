"""A raw HTTP/2 gRPC client built on the `h2` library, for transport tests a real gRPC client
cannot express: small flow-control windows, resets at chosen moments, malformed frames, and
responses read frame by frame. Independent of the engine's own framing code on purpose."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import h2.events
from google.protobuf.message import Message
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.settings import SettingCodes, Settings

M = TypeVar("M", bound=Message)
E = TypeVar("E", bound=h2.events.Event)


def grpc_frame(message: bytes, *, compressed: bool = False) -> bytes:
    """A gRPC length-prefixed message: compressed flag, 4-byte big-endian length, bytes."""
    return bytes((int(compressed),)) + len(message).to_bytes(4, "big") + message


def grpc_messages(body: bytes) -> list[bytes]:
    """Split a response body into its gRPC messages (the engine never compresses responses)."""
    messages, offset = [], 0
    while offset < len(body):
        assert body[offset] == 0, "unexpected compressed response message"
        length = int.from_bytes(body[offset + 1 : offset + 5], "big")
        messages.append(body[offset + 5 : offset + 5 + length])
        offset += 5 + length
    assert offset == len(body), "response body ends inside a message"
    return messages


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


@dataclass
class Reply:
    """What came back on one stream."""

    headers: dict[bytes, bytes] = field(default_factory=dict)
    headers_ended_stream: bool = False  # a trailers-only response, or a bare HTTP status
    data: bytearray = field(default_factory=bytearray)
    data_frames: int = 0
    trailers: dict[bytes, bytes] = field(default_factory=dict)
    reset: int | None = None  # the RST_STREAM error code, when the engine reset the stream
    ended: bool = False

    @property
    def status(self) -> int:
        return int(self.headers[b":status"])

    @property
    def grpc_status(self) -> int:
        fields = self.headers if self.headers_ended_stream else self.trailers
        return int(fields[b"grpc-status"])

    def message(self, kind: type[M]) -> M:
        [only] = grpc_messages(bytes(self.data))
        return kind.FromString(only)


class H2Client:
    """One HTTP/2 connection to the engine. Received DATA is acknowledged (window returned) only
    as the test consumes it, i.e. as `reply`/`event` process it."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, initial_window: int | None
    ) -> None:
        self.reader, self.writer = reader, writer
        self.conn = H2Connection(H2Configuration(client_side=True, header_encoding=None))
        if initial_window is not None:
            # in force from the first stream on: no wait for the engine to acknowledge the SETTINGS
            self.conn.local_settings = Settings(
                client=True,
                initial_values={
                    SettingCodes.INITIAL_WINDOW_SIZE: initial_window,
                    SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                    SettingCodes.MAX_HEADER_LIST_SIZE: 65536,
                },
            )
        self.conn.initiate_connection()
        self.flush()
        self.replies: dict[int, Reply] = {}
        self.events: list[h2.events.Event] = []  # connection-level events, in arrival order
        self.eof = False

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.writer.write(data)

    def write_raw(self, data: bytes) -> None:
        """Bytes straight onto the socket, past h2's checks (for malformed frames)."""
        self.writer.write(data)

    def request(
        self,
        path: str,
        body: bytes | None,
        *,
        method: str = "POST",
        content_type: str = "application/grpc",
        headers: Sequence[tuple[str, str]] = (),
    ) -> int:
        """Open a stream and send one request; its stream id."""
        stream_id = self.conn.get_next_available_stream_id()
        fields = [
            (":method", method),
            (":scheme", "http"),
            (":path", path),
            (":authority", "127.0.0.1"),
            ("content-type", content_type),
            ("te", "trailers"),
            *headers,
        ]
        self.conn.send_headers(stream_id, fields, end_stream=body is None)
        if body is not None:
            size = self.conn.max_outbound_frame_size
            assert len(body) <= self.conn.local_flow_control_window(stream_id), "request body beyond the window"
            chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
            for index, chunk in enumerate(chunks):
                self.conn.send_data(stream_id, chunk, end_stream=index == len(chunks) - 1)
        self.replies[stream_id] = Reply()
        self.flush()
        return stream_id

    def call(self, path: str, request: Message, *, headers: Sequence[tuple[str, str]] = ()) -> int:
        """Send one unary gRPC request (uncompressed); its stream id."""
        return self.request(path, grpc_frame(request.SerializeToString()), headers=headers)

    def reset(self, stream_id: int) -> None:
        self.conn.reset_stream(stream_id, ErrorCodes.CANCEL)
        self.flush()

    def ping(self, opaque: bytes) -> None:
        self.conn.ping(opaque)
        self.flush()

    async def reply(self, stream_id: int) -> Reply:
        """The stream's complete reply (reading the connection until it ends)."""
        reply = self.replies[stream_id]
        while not reply.ended:
            await self.receive()
            if self.eof and not reply.ended:
                raise ConnectionError(f"connection closed before stream {stream_id} ended")
        return reply

    async def event(self, kind: type[E]) -> E:
        """The first connection-level event of this kind (reading until one arrives)."""
        while True:
            for event in self.events:
                if isinstance(event, kind):
                    return event
            if self.eof:
                raise ConnectionError(f"connection closed without a {kind.__name__}")
            await self.receive()

    async def until_closed(self) -> None:
        """Read until the engine closes the connection."""
        while not self.eof:
            await self.receive()

    async def receive(self) -> None:
        try:
            data = await self.reader.read(65536)
        except ConnectionResetError:  # closed while a frame of ours (e.g. a SETTINGS ack) was in flight
            data = b""
        if not data:
            self.eof = True
            return
        for event in self.conn.receive_data(data):
            self._dispatch(event)
        self.flush()

    def _dispatch(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            reply = self.replies[event.stream_id]
            reply.headers = {_bytes(name): _bytes(value) for name, value in event.headers}
            reply.headers_ended_stream = event.stream_ended is not None
        elif isinstance(event, h2.events.DataReceived):
            reply = self.replies[event.stream_id]
            reply.data += event.data
            reply.data_frames += 1
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.TrailersReceived):
            self.replies[event.stream_id].trailers = {_bytes(name): _bytes(value) for name, value in event.headers}
        elif isinstance(event, h2.events.StreamEnded):
            self.replies[event.stream_id].ended = True
        elif isinstance(event, h2.events.StreamReset):
            reply = self.replies[event.stream_id]
            reply.reset, reply.ended = int(event.error_code or 0), True
        else:
            self.events.append(event)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@contextlib.asynccontextmanager
async def h2_connection(port: int, *, initial_window: int | None = None) -> AsyncIterator[H2Client]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = H2Client(reader, writer, initial_window=initial_window)
    try:
        yield client
    finally:
        await client.close()
