"""Payloads as people read them: the SDK's default converter decodes what SDKs encode by
default (JSON, null, protobuf JSON); anything else — raw bytes, an encrypted or compressed
payload that only the namespace's codec server could decode — is shown as its encoding and its
bytes in base64, never dropped. (Decoding through the codec server in the browser comes later.)

``display_dict`` is ``MessageToDict`` with every ``Payload`` / ``Payloads`` inside the message
replaced by its decoded value, so an event's attributes read as data, not base64.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import DataConverter

PAYLOAD_TYPES = frozenset({Payload.DESCRIPTOR.full_name, Payloads.DESCRIPTOR.full_name})


@dataclass(frozen=True)
class DecodedPayload:
    encoding: str
    decoded: bool
    value: Any  # JSON-ready when decoded; else None
    data_base64: str

    def as_json(self) -> Any:
        """The value, or ``{"encoding": …, "base64": …}`` for a payload the console cannot decode."""
        if self.decoded:
            return self.value
        return {"encoding": self.encoding, "base64": self.data_base64}

    @property
    def text(self) -> str:
        return pretty(self.as_json())


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def _jsonable(value: Any) -> tuple[bool, Any]:
    if isinstance(value, Message):
        return True, MessageToDict(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False, None
    return True, value


def decode_payload(payload: Payload) -> DecodedPayload:
    encoding = payload.metadata.get("encoding", b"").decode(errors="replace")
    raw = base64.b64encode(payload.data).decode()
    try:
        value = DataConverter.default.payload_converter.from_payload(payload)
    except Exception:  # unknown encoding, bad JSON, unknown proto type: shown raw
        return DecodedPayload(encoding, False, None, raw)
    ok, value = _jsonable(value)
    return DecodedPayload(encoding, ok, value, raw)


def decode_payloads(payloads: Payloads | Iterable[Payload]) -> list[DecodedPayload]:
    items = payloads.payloads if isinstance(payloads, Payloads) else payloads
    return [decode_payload(p) for p in items]


def payloads_text(payloads: Payloads) -> str:
    """Pretty JSON of a ``Payloads``: one value as itself, several as a list."""
    values = [p.as_json() for p in decode_payloads(payloads)]
    return pretty(values[0] if len(values) == 1 else values)


@cache
def _holds_payloads(descriptor: Descriptor) -> bool:
    """Whether a message of this type can contain a payload anywhere (types recurse: a Failure
    has a Failure cause, so types being visited count as not holding one)."""
    return _search(descriptor, frozenset())


def _search(descriptor: Descriptor, visiting: frozenset[str]) -> bool:
    if descriptor.full_name in PAYLOAD_TYPES:
        return True
    if descriptor.full_name in visiting:
        return False
    inner = visiting | {descriptor.full_name}
    return any(_search(field.message_type, inner) for field in descriptor.fields if field.message_type is not None)


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def display_dict(message: Message) -> Any:
    """``MessageToDict(message)``, payloads decoded (see module doc)."""
    if isinstance(message, Payload):
        return decode_payload(message).as_json()
    if isinstance(message, Payloads):
        return [p.as_json() for p in decode_payloads(message)]
    out = MessageToDict(message)
    if not _holds_payloads(message.DESCRIPTOR):
        return out
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            if value_field.message_type is not None and _holds_payloads(value_field.message_type):
                out[field.json_name] = {key: display_dict(item) for key, item in value.items()}
        elif not _holds_payloads(field.message_type):
            continue
        elif field.is_repeated:
            out[field.json_name] = [display_dict(item) for item in value]
        else:
            out[field.json_name] = display_dict(value)
    return out
