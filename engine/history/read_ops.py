"""Reading history: pages, the long poll for new events, and the close-event filter."""

from __future__ import annotations

import struct

from temporalio.api.enums.v1 import HistoryEventFilterType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse

from engine.history.describe import describe_run
from engine.history.errors import InvalidArgument
from engine.history.service import HistoryCore
from engine.persistence.records import ExecutionKey
from engine.visibility.listing import typed

DEFAULT_PAGE_SIZE = 1000
LONG_POLL_SECONDS = 20.0


def encode_page_token(next_event_id: int) -> bytes:
    return b"h1" + struct.pack(">Q", next_event_id)


def decode_page_token(token: bytes) -> int:
    if len(token) != 10 or not token.startswith(b"h1"):
        raise InvalidArgument("next_page_token is malformed")
    value = int(struct.unpack(">Q", token[2:])[0])
    if value < 1:
        raise InvalidArgument("next_page_token is malformed")
    return value


def encode_reverse_token(last_event_id: int) -> bytes:
    return b"r1" + struct.pack(">Q", last_event_id)


def decode_reverse_token(token: bytes) -> int:
    if len(token) != 10 or not token.startswith(b"r1"):
        raise InvalidArgument("next_page_token is malformed")
    return int(struct.unpack(">Q", token[2:])[0])


class ReadOps(HistoryCore):
    long_poll_seconds = LONG_POLL_SECONDS

    async def describe(self, key: ExecutionKey) -> DescribeWorkflowExecutionResponse:
        entry = await self.read(key)
        response = describe_run(entry, len(await self.history_of(entry)))
        info = response.workflow_execution_info
        if info.HasField("search_attributes"):  # aliased and typed, so SDKs decode them (as Temporal answers)
            typed(info.search_attributes, self.search_attribute_types(key.namespace_id))
        return response

    async def read_history_reverse(
        self, key: ExecutionKey, *, page_size: int, page_token: bytes
    ) -> tuple[list[HistoryEvent], bytes]:
        """Newest events first (GetWorkflowExecutionHistoryReverse), `page_size` at a time."""
        if page_size < 0:
            raise InvalidArgument("maximum_page_size must not be negative")
        page_size = page_size or DEFAULT_PAGE_SIZE
        entry = await self.read(key)
        events = await self.history_of(entry)
        last = decode_reverse_token(page_token) if page_token else len(events)
        if last > len(events):
            raise InvalidArgument("next_page_token is malformed")
        first = max(0, last - page_size)
        page = list(reversed(events[first:last]))
        return page, encode_reverse_token(first) if first > 0 else b""

    async def read_history(
        self,
        key: ExecutionKey,
        *,
        page_size: int,
        page_token: bytes,
        wait_new_event: bool,
        close_event_only: bool,
    ) -> tuple[list[HistoryEvent], bytes]:
        """(events, next_page_token) as GetWorkflowExecutionHistory answers them."""
        if page_size < 0:
            raise InvalidArgument("maximum_page_size must not be negative")
        page_size = page_size or DEFAULT_PAGE_SIZE
        first = decode_page_token(page_token) if page_token else 1
        entry = await self.read(key)
        if close_event_only:
            if wait_new_event and entry.state.running:
                deadline = self.clock() + self.long_poll_seconds
                while entry.state.running:
                    remaining = deadline - self.clock()
                    if remaining <= 0 or not await entry.wait_for_close(remaining):
                        break
                    await entry.settled()
            if entry.state.running:
                return [], page_token or encode_page_token(1)  # poll again
            events = await self.history_of(entry)
            return [events[entry.state.completion_event_id - 1]], b""
        events = await self.history_of(entry)
        if wait_new_event and entry.state.running and first >= len(events) + 1:
            await entry.wait_for_change(self.long_poll_seconds)
            await entry.settled()
            events = await self.history_of(entry)
        page = events[first - 1 : first - 1 + page_size]
        next_id = first + len(page)
        more = next_id <= len(events) or (wait_new_event and entry.state.running)
        return page, encode_page_token(next_id) if more else b""


__all__ = ["HistoryEventFilterType", "ReadOps"]
