"""The engine's own HTTP/2 gRPC transport as clients observe it on the wire.

Two independent clients: grpcio's C-core (what most SDKs use) and the `h2` library driven by
hand (tests/engine/h2_client.py) for what a well-behaved client never does: tiny flow-control
windows, resets of parked calls, malformed frames, bytes that are not HTTP/2 at all.
"""

from __future__ import annotations

import asyncio
import gzip
import uuid
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import grpc
import h2.events
import pytest
import pytest_asyncio
import temporalio.client
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from temporalio.api.common.v1 import GrpcStatus, Payload, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import HistoryEventFilterType
from temporalio.api.errordetails.v1 import WorkflowExecutionAlreadyStartedFailure
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeNamespaceResponse,
    GetSystemInfoRequest,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
)

from engine.config import EngineConfig
from engine.matching.task_queues import Matching, QueueKey, Task
from engine.server import EngineServer
from engine.version import sundial_version
from tests.engine.h2_client import grpc_frame, h2_connection

SERVICE = "/temporal.api.workflowservice.v1.WorkflowService/"
M = TypeVar("M", bound=Message)

# --- helpers ---------------------------------------------------------------------------------


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


async def unary(channel: grpc.aio.Channel, method: str, request: Message, response: type[M], **options: Any) -> M:
    """One WorkflowService call through grpcio's generic (stub-free) API."""
    call = channel.unary_unary(
        SERVICE + method, request_serializer=_serialize, response_deserializer=response.FromString
    )
    return cast(M, await call(request, **options))


def start_request(task_queue: str, *, data: bytes = b"") -> StartWorkflowExecutionRequest:
    return StartWorkflowExecutionRequest(
        namespace="default",
        workflow_id=f"wf-{uuid.uuid4().hex[:8]}",
        workflow_type=WorkflowType(name="TransportTest"),
        task_queue=TaskQueue(name=task_queue),
        request_id=str(uuid.uuid4()),
        input=Payloads(payloads=[Payload(metadata={"encoding": b"binary/plain"}, data=data)]),
    )


def poll_request(task_queue: str) -> PollWorkflowTaskQueueRequest:
    return PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=task_queue), identity="test")


def history_request(workflow_id: str, run_id: str, **fields: Any) -> GetWorkflowExecutionHistoryRequest:
    execution = WorkflowExecution(workflow_id=workflow_id, run_id=run_id)
    return GetWorkflowExecutionHistoryRequest(namespace="default", execution=execution, **fields)


def started_input(history: GetWorkflowExecutionHistoryResponse) -> bytes:
    first = history.history.events[0]
    return first.workflow_execution_started_event_attributes.input.payloads[0].data


class PollWatch:
    """Wraps the engine's matching `poll`: an event once a poller is parked in the queue, and
    one when a parked poll is cancelled (its handler really stopped)."""

    def __init__(self, matching: Matching) -> None:
        self._poll = matching.poll
        self.parked = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def poll(self, key: QueueKey, *, timeout: float, identity: str = "") -> Task | None:
        # set before the call: the real poll parks its waiter before its first suspension, so a
        # test woken by this event finds the poller already waiting in the queue
        self.parked.set()
        try:
            return await self._poll(key, timeout=timeout, identity=identity)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


@pytest.fixture
def poll_watch(engine: EngineServer, monkeypatch: pytest.MonkeyPatch) -> PollWatch:
    assert engine._history is not None
    matching = engine._history.matching
    watch = PollWatch(matching)
    monkeypatch.setattr(matching, "poll", watch.poll)
    return watch


@pytest_asyncio.fixture
async def channel(engine: EngineServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(engine.address) as channel:
        yield channel


async def assert_serving(engine: EngineServer) -> None:
    """A fresh grpcio connection gets a health answer: the engine survived whatever came before."""
    async with grpc.aio.insecure_channel(engine.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        response = await asyncio.wait_for(health.Check(health_pb2.HealthCheckRequest(service="")), 10)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


# --- flow control ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [200 * 1024, 4 * 1024], ids=["200KiB", "4KiB-in-one-frame"])
async def test_a_response_larger_than_the_clients_window_arrives_complete(
    engine: EngineServer, channel: grpc.aio.Channel, size: int
) -> None:
    """h2 raises FlowControlError if the engine sends past the 1 KiB stream window it granted.
    The small size fits one frame: the path that sends a whole small message at once."""
    payload = bytes(range(256)) * (size // 256)
    start = start_request(f"tq-{uuid.uuid4().hex[:8]}", data=payload)
    started = await unary(channel, "StartWorkflowExecution", start, StartWorkflowExecutionResponse)

    async with h2_connection(engine.port, initial_window=1024) as client:
        request = history_request(start.workflow_id, started.run_id)
        reply = await asyncio.wait_for(client.reply(client.call(SERVICE + "GetWorkflowExecutionHistory", request)), 30)

    assert reply.status == 200
    assert reply.headers[b"content-type"].startswith(b"application/grpc")
    assert reply.grpc_status == 0
    assert len(reply.data) > size
    assert reply.data_frames > size // 1024  # no frame exceeded the window
    assert started_input(reply.message(GetWorkflowExecutionHistoryResponse)) == payload


# --- how requests are refused ----------------------------------------------------------------


async def test_an_unknown_method_is_answered_unimplemented(channel: grpc.aio.Channel) -> None:
    call = channel.unary_unary("/no.such.Service/Nothing", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(b"")
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_an_unknown_method_gets_a_trailers_only_response(engine: EngineServer) -> None:
    async with h2_connection(engine.port) as client:
        reply = await client.reply(client.request("/no.such.Service/Nothing", grpc_frame(b"")))
    assert reply.headers_ended_stream
    assert (reply.status, reply.grpc_status) == (200, grpc.StatusCode.UNIMPLEMENTED.value[0])
    assert not reply.data


@pytest.mark.parametrize(
    ("method", "content_type", "status"),
    [("POST", "application/json", 415), ("POST", "text/plain", 415), ("GET", "application/grpc", 405)],
)
async def test_a_request_that_is_not_grpc_gets_an_http_error_status(
    engine: EngineServer, method: str, content_type: str, status: int
) -> None:
    body = None if method == "GET" else grpc_frame(DescribeNamespaceRequest(namespace="default").SerializeToString())
    async with h2_connection(engine.port) as client:
        stream = client.request(SERVICE + "DescribeNamespace", body, method=method, content_type=content_type)
        reply = await client.reply(stream)
    assert reply.status == status
    assert reply.headers_ended_stream  # the status alone, END_STREAM on the headers
    assert not reply.data


async def test_an_oversized_request_is_resource_exhausted(engine: EngineServer) -> None:
    options = [("grpc.max_send_message_length", 16 * 1024 * 1024)]
    async with grpc.aio.insecure_channel(engine.address, options=options) as channel:
        huge = DescribeNamespaceRequest(namespace="x" * (4 * 1024 * 1024 + 1))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await unary(channel, "DescribeNamespace", huge, DescribeNamespaceResponse)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

        described = await unary(
            channel, "DescribeNamespace", DescribeNamespaceRequest(namespace="default"), DescribeNamespaceResponse
        )
        assert described.namespace_info.name == "default"


async def test_the_connection_keeps_serving_after_an_oversized_request(engine: EngineServer) -> None:
    """Raw h2, to be sure the next call runs on the same connection (grpcio would reconnect)."""
    async with h2_connection(engine.port) as client:
        await client.event(h2.events.WindowUpdated)  # the engine's 16 MiB connection window
        huge = DescribeNamespaceRequest(namespace="x" * (4 * 1024 * 1024 + 1))
        refused = await client.reply(client.call(SERVICE + "DescribeNamespace", huge))
        described = await client.reply(
            client.call(SERVICE + "DescribeNamespace", DescribeNamespaceRequest(namespace="default"))
        )
        assert not any(isinstance(event, h2.events.ConnectionTerminated) for event in client.events)

    assert refused.grpc_status == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert described.grpc_status == 0
    assert described.message(DescribeNamespaceResponse).namespace_info.name == "default"


# --- compression -----------------------------------------------------------------------------


async def test_gzip_compressed_requests_from_grpcio_are_accepted(
    engine: EngineServer, channel: grpc.aio.Channel
) -> None:
    """A large, repetitive payload: grpcio only sends compressed when that makes it smaller."""
    data = b"compress me " * 20_000
    start = start_request(f"tq-{uuid.uuid4().hex[:8]}", data=data)
    async with grpc.aio.insecure_channel(engine.address, compression=grpc.Compression.Gzip) as gzip_channel:
        started = await unary(gzip_channel, "StartWorkflowExecution", start, StartWorkflowExecutionResponse)
        described = await unary(
            gzip_channel, "DescribeNamespace", DescribeNamespaceRequest(namespace="default"), DescribeNamespaceResponse
        )

    assert described.namespace_info.name == "default"
    history = await unary(
        channel,
        "GetWorkflowExecutionHistory",
        history_request(start.workflow_id, started.run_id),
        GetWorkflowExecutionHistoryResponse,
    )
    assert started_input(history) == data


@pytest.mark.parametrize(("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)])
async def test_a_compressed_request_is_inflated_by_its_grpc_encoding(
    engine: EngineServer, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    request = DescribeNamespaceRequest(namespace="default").SerializeToString()
    async with h2_connection(engine.port) as client:
        body = grpc_frame(compress(request), compressed=True)
        stream = client.request(SERVICE + "DescribeNamespace", body, headers=[("grpc-encoding", encoding)])
        reply = await client.reply(stream)
    assert reply.grpc_status == 0
    assert reply.message(DescribeNamespaceResponse).namespace_info.name == "default"


async def test_an_unsupported_grpc_encoding_is_unimplemented(engine: EngineServer) -> None:
    request = DescribeNamespaceRequest(namespace="default").SerializeToString()
    async with h2_connection(engine.port) as client:
        body = grpc_frame(request, compressed=True)
        stream = client.request(SERVICE + "DescribeNamespace", body, headers=[("grpc-encoding", "snappy")])
        reply = await client.reply(stream)
    assert reply.grpc_status == grpc.StatusCode.UNIMPLEMENTED.value[0]
    assert b"gzip" in reply.headers[b"grpc-accept-encoding"]  # tells the client what would work


# --- cancellation and deadlines ----------------------------------------------------------------


async def test_a_reset_long_poll_is_cancelled_and_does_not_swallow_the_next_task(
    engine: EngineServer, poll_watch: PollWatch
) -> None:
    """Were the parked handler left running, the queue would hand the next task to it and its
    answer would go to a stream that no longer exists: the task would be lost."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with h2_connection(engine.port) as client:
        parked = client.call(SERVICE + "PollWorkflowTaskQueue", poll_request(task_queue))
        await asyncio.wait_for(poll_watch.parked.wait(), 10)

        client.reset(parked)
        await asyncio.wait_for(poll_watch.cancelled.wait(), 10)

        start = start_request(task_queue)
        started = await client.reply(client.call(SERVICE + "StartWorkflowExecution", start))
        assert started.grpc_status == 0
        # a deadline short of the workflow task timeout (10 s): a lost task would not come back
        stream = client.call(
            SERVICE + "PollWorkflowTaskQueue", poll_request(task_queue), headers=[("grpc-timeout", "5S")]
        )
        polled = await asyncio.wait_for(client.reply(stream), 10)

    assert polled.grpc_status == 0
    task = polled.message(PollWorkflowTaskQueueResponse)
    assert task.task_token
    assert task.workflow_execution.workflow_id == start.workflow_id


async def test_a_long_poll_answers_within_its_grpc_timeout(engine: EngineServer) -> None:
    """Raw h2, so that only the engine enforces the deadline (grpcio would cut the call itself)."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with h2_connection(engine.port) as client:
        stream = client.call(
            SERVICE + "PollWorkflowTaskQueue", poll_request(task_queue), headers=[("grpc-timeout", "2S")]
        )
        reply = await asyncio.wait_for(client.reply(stream), 10)  # the poll would otherwise park for 60 s
    # the engine answers an empty poll just before the deadline, as Temporal's server does
    assert reply.grpc_status == 0
    assert not reply.message(PollWorkflowTaskQueueResponse).task_token


async def test_a_handler_still_running_at_its_grpc_timeout_ends_with_deadline_exceeded(
    engine: EngineServer, channel: grpc.aio.Channel
) -> None:
    """A history long poll waits 20 s whatever the deadline: the transport itself must end it."""
    start = start_request(f"tq-{uuid.uuid4().hex[:8]}")
    started = await unary(channel, "StartWorkflowExecution", start, StartWorkflowExecutionResponse)
    wait_for_close = history_request(
        start.workflow_id,
        started.run_id,
        wait_new_event=True,
        history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
    )
    async with h2_connection(engine.port) as client:
        stream = client.call(
            SERVICE + "GetWorkflowExecutionHistory", wait_for_close, headers=[("grpc-timeout", "500m")]
        )
        reply = await asyncio.wait_for(client.reply(stream), 10)
    assert reply.grpc_status == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]


# --- connection-level protocol -----------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", b"GET / HTTP/1.1\r\n"],
    ids=["http1-request", "shorter-than-the-preface"],
)
async def test_a_connection_that_does_not_speak_http2_is_closed(engine: EngineServer, garbage: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", engine.port)
    writer.write(garbage)
    received = await asyncio.wait_for(reader.read(), 10)  # read() returns once the engine closes
    writer.close()

    # what arrived before the close is HTTP/2: the server's SETTINGS, then GOAWAY(PROTOCOL_ERROR)
    parser = H2Connection(H2Configuration(client_side=True))
    parser.initiate_connection()
    [terminated] = [e for e in parser.receive_data(received) if isinstance(e, h2.events.ConnectionTerminated)]
    assert terminated.error_code == ErrorCodes.PROTOCOL_ERROR
    await assert_serving(engine)


def _frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes((kind, flags)) + stream_id.to_bytes(4, "big") + payload


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        pytest.param(_frame(0x8, 0, 0, b"\0\0\0\0"), ErrorCodes.PROTOCOL_ERROR, id="window-update-of-zero"),
        pytest.param(_frame(0x6, 0, 0, b"abc"), ErrorCodes.FRAME_SIZE_ERROR, id="ping-of-3-bytes"),
        pytest.param(_frame(0x6, 0, 1, b"12345678"), ErrorCodes.PROTOCOL_ERROR, id="ping-on-a-stream"),
        pytest.param(_frame(0x0, 0, 0, b"data"), ErrorCodes.PROTOCOL_ERROR, id="data-on-stream-0"),
        pytest.param(_frame(0x9, 0x4, 1, b""), ErrorCodes.PROTOCOL_ERROR, id="continuation-out-of-the-blue"),
    ],
)
async def test_a_malformed_frame_ends_the_connection_with_goaway(
    engine: EngineServer, frame: bytes, error: ErrorCodes
) -> None:
    """The error codes RFC 9113 (§6) prescribes for each."""
    async with h2_connection(engine.port) as client:
        client.write_raw(frame)
        terminated = await asyncio.wait_for(client.event(h2.events.ConnectionTerminated), 10)
        assert terminated.error_code == error
        await asyncio.wait_for(client.until_closed(), 10)
    await assert_serving(engine)


async def test_ping_is_acknowledged_with_the_same_opaque_data(engine: EngineServer) -> None:
    async with h2_connection(engine.port) as client:
        client.ping(b"\x01sundial")
        ack = await asyncio.wait_for(client.event(h2.events.PingAckReceived), 10)
    assert ack.ping_data == b"\x01sundial"


# --- statuses and their details ----------------------------------------------------------------


async def test_error_details_survive_in_grpc_status_details_bin(channel: grpc.aio.Channel) -> None:
    first = start_request(f"tq-{uuid.uuid4().hex[:8]}")
    started = await unary(channel, "StartWorkflowExecution", first, StartWorkflowExecutionResponse)
    again = StartWorkflowExecutionRequest()
    again.CopyFrom(first)
    again.request_id = str(uuid.uuid4())

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await unary(channel, "StartWorkflowExecution", again, StartWorkflowExecutionResponse)

    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    trailers = cast(grpc.aio.Metadata, info.value.trailing_metadata())  # the stubs type it as sync grpc's
    status = GrpcStatus.FromString(cast(bytes, trailers["grpc-status-details-bin"]))
    assert status.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
    failure = WorkflowExecutionAlreadyStartedFailure()
    assert status.details[0].Unpack(failure)
    assert failure.run_id == started.run_id
    assert failure.start_request_id == first.request_id


async def test_a_non_ascii_status_message_round_trips(engine: EngineServer, channel: grpc.aio.Channel) -> None:
    name = "nämespace-✓"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await unary(channel, "DescribeNamespace", DescribeNamespaceRequest(namespace=name), DescribeNamespaceResponse)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert name in (info.value.details() or "")

    async with h2_connection(engine.port) as client:  # on the wire: percent-encoded UTF-8, ASCII only
        reply = await client.reply(client.call(SERVICE + "DescribeNamespace", DescribeNamespaceRequest(namespace=name)))
    assert b"n%C3%A4mespace-%E2%9C%93" in reply.headers[b"grpc-message"]


# --- lifecycle -----------------------------------------------------------------------------------


async def test_graceful_stop_lets_an_in_flight_call_finish_then_refuses_connections(
    engine: EngineServer, channel: grpc.aio.Channel, poll_watch: PollWatch
) -> None:
    poll = channel.unary_unary(
        SERVICE + "PollWorkflowTaskQueue",
        request_serializer=_serialize,
        response_deserializer=PollWorkflowTaskQueueResponse.FromString,
    )
    in_flight = poll(poll_request(f"tq-{uuid.uuid4().hex[:8]}"), timeout=3)  # answers empty after ~2 s
    await asyncio.wait_for(poll_watch.parked.wait(), 10)

    await asyncio.wait_for(engine.stop(grace=5), 15)

    response = await in_flight  # OK, not UNAVAILABLE: stop waited for it
    assert not response.task_token
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", engine.port)


async def test_the_grpcio_transport_still_serves_the_sdk(engine_db_url: str) -> None:
    server = EngineServer(EngineConfig(port=0, db_url=engine_db_url, dev=True, grace_period=1, transport="grpcio"))
    await server.start()
    try:
        assert isinstance(server._server, grpc.aio.Server)
        client = await temporalio.client.Client.connect(f"127.0.0.1:{server.port}", namespace="default")
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        described = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
    finally:
        await server.stop()
    assert info.server_version == sundial_version()
    assert described.namespace_info.name == "default"
