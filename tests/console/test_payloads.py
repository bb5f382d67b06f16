"""Payloads and events as the console shows them (pure: no engine)."""

from __future__ import annotations

import base64
import json

from temporalio.api.common.v1 import Header, Payload, Payloads, WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.converter import DataConverter

from console.history import event_row, outcome
from console.payloads import decode_payload, display_dict, payloads_text
from console.workflows import build_filter, decode_page_token, encode_page_token, quote

CONVERTER = DataConverter.default.payload_converter


def test_json_payloads_are_pretty_json() -> None:
    payloads = Payloads(payloads=CONVERTER.to_payloads([{"order": 17, "items": ["tea"]}]))
    assert json.loads(payloads_text(payloads)) == {"order": 17, "items": ["tea"]}
    assert payloads_text(payloads).startswith('{\n  "items": [\n    "tea"')
    two = Payloads(payloads=CONVERTER.to_payloads(["a", None]))
    assert json.loads(payloads_text(two)) == ["a", None]


def test_protobuf_payloads_are_their_json() -> None:
    assert decode_payload(CONVERTER.to_payload(WorkflowType(name="Checkout"))).as_json() == {"name": "Checkout"}


def test_undecodable_payloads_show_encoding_and_base64() -> None:
    encrypted = Payload(metadata={"encoding": b"binary/encrypted"}, data=b"\x00secret")
    shown = decode_payload(encrypted)
    assert not shown.decoded
    assert shown.as_json() == {"encoding": "binary/encrypted", "base64": base64.b64encode(b"\x00secret").decode()}
    raw = decode_payload(CONVERTER.to_payload(b"\x01\x02"))
    assert raw.as_json() == {"encoding": "binary/plain", "base64": "AQI="}
    broken = decode_payload(Payload(metadata={"encoding": b"json/plain"}, data=b"{not json"))
    assert broken.as_json()["encoding"] == "json/plain"


def test_event_attributes_have_their_payloads_decoded_everywhere() -> None:
    event = HistoryEvent(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    attrs = event.workflow_execution_started_event_attributes
    attrs.workflow_type.name = "Checkout"
    attrs.input.CopyFrom(Payloads(payloads=CONVERTER.to_payloads(["Ada", 3])))
    attrs.header.CopyFrom(Header(fields={"trace": CONVERTER.to_payload({"id": "t-1"})}))
    attrs.continued_failure.CopyFrom(
        Failure(
            message="outer",
            cause=Failure(
                message="inner",
                application_failure_info=ApplicationFailureInfo(
                    details=Payloads(payloads=CONVERTER.to_payloads(["why"]))
                ),
            ),
        )
    )
    row = event_row(event)
    assert row.type_name == "WorkflowExecutionStarted"
    assert row.summary == "Checkout"
    assert row.attributes["input"] == ["Ada", 3]
    assert row.attributes["header"] == {"fields": {"trace": {"id": "t-1"}}}
    assert row.attributes["continuedFailure"]["cause"]["applicationFailureInfo"]["details"] == ["why"]
    assert row.attributes["workflowType"] == {"name": "Checkout"}
    assert display_dict(Payloads()) == []


def test_a_failed_run_shows_its_failure() -> None:
    close = HistoryEvent(event_id=5, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
    close.workflow_execution_failed_event_attributes.failure.message = "card declined"
    ended = outcome([close])
    assert ended is not None
    assert ended.kind == "Failed"
    assert ended.failure == "card declined"
    assert '"message": "card declined"' in ended.failure_details
    assert outcome([HistoryEvent(event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)]) is None


def test_quick_filters_build_a_list_filter() -> None:
    assert build_filter() == ""
    assert build_filter(query="WorkflowId = 'a' ORDER BY StartTime") == "WorkflowId = 'a' ORDER BY StartTime"
    assert build_filter(workflow_type="it's\\here") == "WorkflowType = 'it''s\\\\here'"
    assert quote("plain") == "'plain'"
    assert build_filter(query="a = 1 OR b = 2", status="Failed") == "(a = 1 OR b = 2) AND ExecutionStatus = 'Failed'"


def test_page_tokens_survive_the_url() -> None:
    token = b'{"order": 1, "start": 2, "run": "r"}\xff'
    text = encode_page_token(token)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_page_token(text) == token
