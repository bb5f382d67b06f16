"""Audit log exports as CSV and JSON lines, produced row by row so any size streams.

The JSON record follows Temporal Cloud's ``LogRecord`` v2 (``emit_time``, ``operation``,
``status``, ``version``, ``log_id``, ``principal``, ``raw_details``, ``x_forwarded_for``,
``async_operation_id``) plus Sundial's ``account_id``, ``seq``, ``target`` and ``error``.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from asgiref.sync import sync_to_async

from audit.models import AuditEntry

RECORD_VERSION = 2
CSV_COLUMNS = (
    "emit_time",
    "account_id",
    "seq",
    "log_id",
    "operation",
    "status",
    "error",
    "principal_type",
    "principal_id",
    "principal_name",
    "api_key_id",
    "target_type",
    "target_id",
    "client_ip",
    "async_operation_id",
    "details",
)
_CHUNK = 1000
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def emit_time(entry: AuditEntry) -> str:
    return entry.emitted_at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def as_record(entry: AuditEntry) -> dict[str, Any]:
    return {
        "emit_time": emit_time(entry),
        "operation": entry.operation,
        "status": entry.status,
        "version": RECORD_VERSION,
        "log_id": entry.log_id,
        "principal": {
            "type": entry.principal_type,
            "id": entry.principal_id,
            "name": entry.principal_name,
            "api_key_id": entry.api_key_id,
        },
        "raw_details": entry.details,
        "x_forwarded_for": entry.client_ip,
        "async_operation_id": entry.async_operation_id,
        "account_id": entry.account_code,
        "seq": entry.seq,
        "target": {"type": entry.target_type, "id": entry.target_id},
        "error": entry.error,
    }


def _cell(value: Any) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _rows(entries: Iterable[AuditEntry]) -> Iterator[list[str]]:
    for e in entries:
        yield [
            _cell(v)
            for v in (
                emit_time(e),
                e.account_code,
                e.seq,
                e.log_id,
                e.operation,
                e.status,
                e.error,
                e.principal_type,
                e.principal_id,
                e.principal_name,
                e.api_key_id,
                e.target_type,
                e.target_id,
                e.client_ip,
                e.async_operation_id,
                json.dumps(e.details, sort_keys=True, ensure_ascii=False),
            )
        ]


def _iterate(entries: Iterable[AuditEntry]) -> Iterable[AuditEntry]:
    iterator = getattr(entries, "iterator", None)
    return iterator(chunk_size=_CHUNK) if iterator is not None else entries


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """The header, then one CSV line per entry."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for row in _rows(_iterate(entries)):
        writer.writerow(row)
        yield flush()


def jsonl_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """One JSON object per line per entry."""
    for entry in _iterate(entries):
        yield json.dumps(as_record(entry), ensure_ascii=False, sort_keys=True) + "\n"


async def in_batches(lines: Iterator[str], size: int = 200) -> AsyncIterator[str]:
    """``lines`` for an ASGI response: the database is read in the request's sync thread,
    ``size`` lines at a time, so the export streams instead of being gathered in memory."""
    take = sync_to_async(lambda: "".join(itertools.islice(lines, size)), thread_sensitive=True)
    while chunk := await take():
        yield chunk


FORMATS = {"csv": csv_lines, "jsonl": jsonl_lines}
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
