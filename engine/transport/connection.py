"""One client's HTTP/2 connection, server side: framing, streams, flow control, batched writes.

Only what a gRPC server needs: a client opens streams, sends one request (headers, then data)
on each, and gets headers, data and trailers back. Frames are parsed straight off the socket
buffer; every write made during one event-loop iteration leaves in a single `transport.write`.
Complete requests go to the `Dispatcher` (the gRPC layer); a stream the client resets, or a
lost connection, cancels its call. Protocol errors end the connection with GOAWAY; they never
reach the engine.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import Protocol

from hpack.exceptions import HPACKError

from engine.transport import frames as f
from engine.transport.headers import HeaderDecoder

log = logging.getLogger("engine.transport")

# What the engine advertises. A unary request fits in one stream window, so streams never need
# a WINDOW_UPDATE; the connection window is topped up as requests are read.
RECEIVE_WINDOW = 16 * 1024 * 1024
MAX_HEADER_LIST = 64 * 1024
_UNPACK_U32 = struct.Struct(">I").unpack_from
_UNPACK_SETTING = struct.Struct(">HI").unpack_from


class ProtocolError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class Call(Protocol):
    def cancel(self) -> None: ...


class Dispatcher(Protocol):
    """The layer above: told of each complete request and of each connection's end."""

    max_request_bytes: int

    def request(self, connection: Http2Connection, stream: Stream) -> None: ...

    def connection_closed(self, connection: Http2Connection) -> None: ...


class Stream:
    """One request/response exchange."""

    __slots__ = ("body", "call", "closed", "headers", "id", "oversized", "pending", "send_window", "trailers")

    def __init__(self, stream_id: int, send_window: int) -> None:
        self.id = stream_id
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.oversized = False  # the body passed the request limit: it is dropped as it arrives
        self.send_window = send_window
        self.pending = bytearray()  # response DATA waiting for flow-control window
        self.trailers: bytes | None = None  # the closing HEADERS block, sent after `pending`
        self.call: Call | None = None
        self.closed = False


class Http2Connection(asyncio.Protocol):
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.ssl_object: object | None = None  # the TLS session (ssl.SSLObject), on a TLS server
        self.streams: dict[int, Stream] = {}
        self._buffer = bytearray()
        self._preface_seen = False
        self._decoder = HeaderDecoder(MAX_HEADER_LIST)
        self._headers_stream: Stream | None = None  # a header block continued by CONTINUATION
        self._headers_block = bytearray()
        self._headers_end_stream = False
        self._last_stream_id = 0
        self._peer_window = f.DEFAULT_WINDOW  # peer's initial stream window (SETTINGS)
        self._peer_max_frame = f.DEFAULT_MAX_FRAME
        self._send_window = f.DEFAULT_WINDOW  # connection-level window for what we send
        self._received = 0  # bytes received since the connection window was last topped up
        self._blocked: dict[int, Stream] = {}  # streams waiting for window, in arrival order
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._loop = asyncio.get_running_loop()
        self.draining = False  # GOAWAY sent: new streams are refused
        self.closed = False

    # --- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's is no asyncio.Transport subclass)
        peer = transport.get_extra_info("peername")
        self.peer = f"ipv4:{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
        self.ssl_object = transport.get_extra_info("ssl_object")
        self._write(
            f.settings_frame(
                {
                    f.SETTINGS_ENABLE_PUSH: 0,
                    f.SETTINGS_INITIAL_WINDOW_SIZE: RECEIVE_WINDOW,
                    f.SETTINGS_MAX_HEADER_LIST_SIZE: MAX_HEADER_LIST,
                }
            )
        )
        self._write(f.window_update(0, RECEIVE_WINDOW - f.DEFAULT_WINDOW))

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        buffer = self._buffer
        buffer += data
        try:
            if not self._preface_seen:
                if len(buffer) < len(f.PREFACE):
                    if not f.PREFACE.startswith(bytes(buffer)):
                        raise ProtocolError(f.PROTOCOL_ERROR, "not an HTTP/2 connection preface")
                    return
                if buffer[: len(f.PREFACE)] != f.PREFACE:
                    raise ProtocolError(f.PROTOCOL_ERROR, "not an HTTP/2 connection preface")
                del buffer[: len(f.PREFACE)]
                self._preface_seen = True
            position, size = 0, len(buffer)
            while size - position >= 9:
                length = (buffer[position] << 16) | (buffer[position + 1] << 8) | buffer[position + 2]
                if length > f.DEFAULT_MAX_FRAME:
                    raise ProtocolError(f.FRAME_SIZE_ERROR, f"frame of {length} bytes exceeds the maximum frame size")
                end = position + 9 + length
                if end > size:
                    break
                kind, flags = buffer[position + 3], buffer[position + 4]
                stream_id = _UNPACK_U32(buffer, position + 5)[0] & 0x7FFFFFFF
                payload = bytes(buffer[position + 9 : end])
                position = end
                self._on_frame(kind, flags, stream_id, payload)
                if self.closed:
                    return
            del buffer[:position]
        except ProtocolError as exc:
            self._fail(exc.code, str(exc))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for stream in list(self.streams.values()):
            self._close_stream(stream, cancel=True)
        self._blocked.clear()
        self.dispatcher.connection_closed(self)

    # --- frames ------------------------------------------------------------------------------

    def _on_frame(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self._headers_stream is not None and kind != f.CONTINUATION:
            raise ProtocolError(f.PROTOCOL_ERROR, "header block interrupted before END_HEADERS")
        if kind == f.DATA:
            self._on_data(flags, stream_id, payload)
        elif kind == f.HEADERS:
            self._on_headers(flags, stream_id, payload)
        elif kind == f.CONTINUATION:
            stream = self._headers_stream
            if stream is None or stream.id != stream_id:
                raise ProtocolError(f.PROTOCOL_ERROR, "CONTINUATION without a header block to continue")
            self._headers_block += payload
            if flags & f.END_HEADERS:
                self._end_headers()
        elif kind == f.SETTINGS:
            self._on_settings(flags, stream_id, payload)
        elif kind == f.WINDOW_UPDATE:
            self._on_window_update(stream_id, payload)
        elif kind == f.PING:
            if stream_id:
                raise ProtocolError(f.PROTOCOL_ERROR, "PING on a stream")
            if len(payload) != 8:
                raise ProtocolError(f.FRAME_SIZE_ERROR, "PING payload must be 8 bytes")  # RFC 9113 §6.7
            if not flags & f.ACK:
                self._write(f.frame(f.PING, f.ACK, 0, payload))
        elif kind == f.RST_STREAM:
            if not stream_id or stream_id > self._last_stream_id:
                raise ProtocolError(f.PROTOCOL_ERROR, "RST_STREAM on an idle stream")
            if len(payload) != 4:
                raise ProtocolError(f.FRAME_SIZE_ERROR, "RST_STREAM payload must be 4 bytes")
            stream = self.streams.get(stream_id)
            if stream is not None:
                self._close_stream(stream, cancel=True)
        elif kind == f.GOAWAY:
            pass  # the client stops opening streams; those in flight finish
        elif kind == f.PUSH_PROMISE:
            raise ProtocolError(f.PROTOCOL_ERROR, "a client must not send PUSH_PROMISE")
        elif kind == f.PRIORITY:
            if not stream_id:
                raise ProtocolError(f.PROTOCOL_ERROR, "PRIORITY on stream 0")
            if len(payload) != 5:  # a stream error (RFC 9113 §6.3): only that stream ends
                self._write(f.rst_stream(stream_id, f.FRAME_SIZE_ERROR))
                stream = self.streams.get(stream_id)
                if stream is not None:
                    self._close_stream(stream, cancel=True)
        # unknown frame types are ignored (RFC 9113 §4.1)

    def _on_headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0 or stream_id % 2 == 0:
            raise ProtocolError(f.PROTOCOL_ERROR, f"HEADERS on invalid stream {stream_id}")
        payload = _unpad(flags, payload)
        if flags & f.PRIORITY_FLAG:
            if len(payload) < 5:
                raise ProtocolError(f.PROTOCOL_ERROR, "HEADERS too short for its priority fields")
            payload = payload[5:]
        stream = self.streams.get(stream_id)
        if stream is None:
            if stream_id <= self._last_stream_id:
                raise ProtocolError(f.STREAM_CLOSED, f"HEADERS on closed stream {stream_id}")
            self._last_stream_id = stream_id
            stream = Stream(stream_id, self._peer_window)
            if not self.draining:
                self.streams[stream_id] = stream
            else:
                self._write(f.rst_stream(stream_id, f.REFUSED_STREAM))
                stream.closed = True
        self._headers_stream = stream
        self._headers_block = bytearray(payload)
        self._headers_end_stream = bool(flags & f.END_STREAM)
        if flags & f.END_HEADERS:
            self._end_headers()

    def _end_headers(self) -> None:
        stream = self._headers_stream
        assert stream is not None
        self._headers_stream = None
        try:  # decoded even for a refused stream: the HPACK state is the connection's
            headers = self._decoder.decode(bytes(self._headers_block))
        except HPACKError as exc:
            raise ProtocolError(f.COMPRESSION_ERROR, f"header block does not decode: {exc}") from None
        if stream.closed:
            return
        if not stream.headers:  # a second block would be request trailers, which gRPC never needs
            stream.headers = headers
        if self._headers_end_stream:
            self._request_complete(stream)

    def _on_data(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ProtocolError(f.PROTOCOL_ERROR, "DATA on stream 0")
        self._received += len(payload)
        if self._received >= RECEIVE_WINDOW // 2:
            self._write(f.window_update(0, self._received))
            self._received = 0
        stream = self.streams.get(stream_id)
        if stream is None or stream.call is not None:
            return  # reset, refused or already answered: its flow-control credit is returned above
        data = _unpad(flags, payload)
        if not stream.oversized:
            if len(stream.body) + len(data) > self.dispatcher.max_request_bytes:
                stream.oversized = True
                stream.body = bytearray()
            else:
                stream.body += data
        if flags & f.END_STREAM:
            self._request_complete(stream)

    def _on_settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id:
            raise ProtocolError(f.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & f.ACK:
            return
        if len(payload) % 6:
            raise ProtocolError(f.FRAME_SIZE_ERROR, "SETTINGS payload is not a multiple of 6")
        for offset in range(0, len(payload), 6):
            key, value = _UNPACK_SETTING(payload, offset)
            if key == f.SETTINGS_INITIAL_WINDOW_SIZE:
                if value > f.MAX_WINDOW:
                    raise ProtocolError(f.FLOW_CONTROL_ERROR, "initial window size too large")
                delta, self._peer_window = value - self._peer_window, value
                for stream in self.streams.values():
                    stream.send_window += delta
            elif key == f.SETTINGS_MAX_FRAME_SIZE:
                if not f.MIN_MAX_FRAME <= value <= f.MAX_MAX_FRAME:
                    raise ProtocolError(f.PROTOCOL_ERROR, f"invalid maximum frame size {value}")
                self._peer_max_frame = value
        self._write(f.frame(f.SETTINGS, f.ACK, 0))
        self._resume_blocked()

    def _on_window_update(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ProtocolError(f.FRAME_SIZE_ERROR, "WINDOW_UPDATE payload must be 4 bytes")
        increment = _UNPACK_U32(payload)[0] & 0x7FFFFFFF
        if increment == 0:
            raise ProtocolError(f.PROTOCOL_ERROR, "WINDOW_UPDATE with a zero increment")
        if stream_id == 0:
            self._send_window += increment
            if self._send_window > f.MAX_WINDOW:
                raise ProtocolError(f.FLOW_CONTROL_ERROR, "connection window overflow")
            self._resume_blocked()
            return
        stream = self.streams.get(stream_id)
        if stream is not None:
            stream.send_window += increment
            if stream.id in self._blocked:
                self._drain(stream)

    def _request_complete(self, stream: Stream) -> None:
        if stream.call is None and not stream.closed:
            self.dispatcher.request(self, stream)

    # --- sending (the gRPC layer's side) -----------------------------------------------------

    def send_headers(self, stream: Stream, block: bytes, *, end_stream: bool = False) -> None:
        if stream.closed:
            return
        self._write(_header_frames(stream.id, block, end_stream, self._peer_max_frame))
        if end_stream:
            self._close_stream(stream, cancel=False)

    def send_data(self, stream: Stream, data: bytes) -> None:
        """Response bytes, as flow control allows; the rest is sent as the client opens windows."""
        if stream.closed:
            return
        if not stream.pending and len(data) <= self._peer_max_frame:
            size = len(data)
            if size <= stream.send_window and size <= self._send_window:
                stream.send_window -= size
                self._send_window -= size
                self._write(f.frame(f.DATA, 0, stream.id, data))
                return
        stream.pending += data
        self._drain(stream)

    def send_trailers(self, stream: Stream, block: bytes) -> None:
        """The closing header block, after every byte of data sent before it."""
        if stream.closed:
            return
        if stream.pending:
            stream.trailers = block
        else:
            self.send_headers(stream, block, end_stream=True)

    def reset(self, stream: Stream, code: int) -> None:
        if not stream.closed:
            self._write(f.rst_stream(stream.id, code))
            self._close_stream(stream, cancel=True)

    def go_away(self) -> None:
        """Stop taking new streams; those open finish (graceful shutdown)."""
        if not self.draining and not self.closed:
            self.draining = True
            self._write(f.goaway(self._last_stream_id, f.NO_ERROR))

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self._flush()
            self.transport.close()

    # --- internals ---------------------------------------------------------------------------

    def _drain(self, stream: Stream) -> None:
        pending = stream.pending
        while pending:
            size = min(len(pending), stream.send_window, self._send_window, self._peer_max_frame)
            if size <= 0:
                self._blocked[stream.id] = stream
                return
            chunk = bytes(pending[:size])
            del pending[:size]
            stream.send_window -= size
            self._send_window -= size
            self._write(f.frame(f.DATA, 0, stream.id, chunk))
        self._blocked.pop(stream.id, None)
        if stream.trailers is not None:
            block, stream.trailers = stream.trailers, None
            self.send_headers(stream, block, end_stream=True)

    def _resume_blocked(self) -> None:
        for stream in list(self._blocked.values()):
            if self._send_window <= 0:
                return
            self._drain(stream)

    def _close_stream(self, stream: Stream, *, cancel: bool) -> None:
        if stream.closed:
            return
        stream.closed = True
        self.streams.pop(stream.id, None)
        self._blocked.pop(stream.id, None)
        stream.pending = bytearray()
        if cancel and stream.call is not None:
            stream.call.cancel()

    def _write(self, data: bytes) -> None:
        self._out.append(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self._out))
        self._out.clear()

    def _fail(self, code: int, message: str) -> None:
        log.info("closing HTTP/2 connection from %s: %s", self.peer, message)
        self._write(f.goaway(self._last_stream_id, code, message.encode()[:256]))
        self.close()
        self.closed = True


def _unpad(flags: int, payload: bytes) -> bytes:
    if not flags & f.PADDED:
        return payload
    if not payload or payload[0] >= len(payload):
        raise ProtocolError(f.PROTOCOL_ERROR, "padding exceeds the frame")
    return payload[1 : len(payload) - payload[0]]


def _header_frames(stream_id: int, block: bytes, end_stream: bool, max_frame: int) -> bytes:
    first_flags = f.END_STREAM if end_stream else 0
    if len(block) <= max_frame:
        return f.frame(f.HEADERS, first_flags | f.END_HEADERS, stream_id, block)
    chunks = [block[i : i + max_frame] for i in range(0, len(block), max_frame)]
    out = [f.frame(f.HEADERS, first_flags, stream_id, chunks[0])]
    for chunk in chunks[1:-1]:
        out.append(f.frame(f.CONTINUATION, 0, stream_id, chunk))
    out.append(f.frame(f.CONTINUATION, f.END_HEADERS, stream_id, chunks[-1]))
    return b"".join(out)
