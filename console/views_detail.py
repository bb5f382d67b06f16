"""One run in the console (``…/workflows/<workflow_id>/<run_id>/``): its summary, input and
result, and its history in four views; the rest of a long history in chunks
(``…/<run_id>/events?page=…``); the history as a JSON download.

Every page first resolves the caller and the namespace (``console.access.resolve``: 404 for
what they may not see), then asks the engine as the console (``console.engine``). What the
engine refuses is shown in its own words with the matching status: an unknown run as a
404 page, an unreachable engine as a 503 page.

The page answers without reading the whole history: the description, the first page of
events (which holds the input), and for a closed run its close event alone (the CLOSE_EVENT
filter). The events view then loads the rest in chunks as the reader scrolls (htmx, a
"revealed" sentinel, and a button for keyboards). Chunks stop at the event the page counted
when it was drawn (``until``): later events are the live updates' to add. The compact and
timeline views need every event; they read them all and draw at most a few hundred steps.
"""

from __future__ import annotations

import re
from typing import Any

import grpc
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_GET
from temporalio.api.history.v1 import History, HistoryEvent

from accounts.views.common import render_page
from console.access import resolve
from console.codec import codec_context
from console.compact import group_events
from console.engine import ConsoleEngineError
from console.errors_page import engine_error_page
from console.history import event_rows, outcome, run_chain, run_input, run_input_stored, timestamp
from console.timeline import timeline
from console.workflows import (
    RunSummary,
    close_event,
    decode_page_token,
    describe,
    encode_page_token,
    full_history,
    history_json,
    history_page,
    short_duration,
)
from namespaces.models import Namespace
from namespaces.views import namespace_header_context

VIEWS = ("events", "compact", "timeline", "json")

# Module constants so tests and the benchmark can change them.
FIRST_PAGE = 200  # events on the page as it first answers
CHUNK = 1000  # events per chunk loaded afterwards
JSON_MAX_EVENTS = 2000  # the JSON view shows at most these; the download has all
COMPACT_MAX_ROWS = 1000

# --- one run ----------------------------------------------------------------------------------


def _events_url(account_id: str, name: str, workflow_id: str, run_id: str, token: bytes, until: int) -> str:
    base = reverse("console_workflow_events", args=[account_id, name, workflow_id, run_id])
    return f"{base}?{urlencode({'page': encode_page_token(token), 'until': str(until)})}"


def _children(summary: RunSummary, events: list[HistoryEvent]) -> list[dict[str, str]]:
    """Child workflows: those the loaded history names, then pending ones it does not."""
    children: dict[str, dict[str, str]] = {}
    for group in group_events(events):
        if group.kind != "Child workflow":
            continue
        workflow_id = group.detail.removeprefix("workflow id ")
        run_id = ""
        for event in group.events:
            if event.HasField("child_workflow_execution_started_event_attributes"):
                run_id = event.child_workflow_execution_started_event_attributes.workflow_execution.run_id
        children[workflow_id] = {
            "workflow_id": workflow_id,
            "run_id": run_id,
            "type": group.label,
            "state": group.state,
        }
    for child in summary.pending_children:
        known = children.get(child.workflow_id)
        if known is None or not known["run_id"]:
            children[child.workflow_id] = {
                "workflow_id": child.workflow_id,
                "run_id": child.run_id,
                "type": child.workflow_type,
                "state": "Running",
            }
    return list(children.values())


def _bad_input(request: HttpRequest, principal: Any, namespace: Namespace, message: str) -> HttpResponse:
    return engine_error_page(
        request, principal, namespace, ConsoleEngineError(grpc.StatusCode.INVALID_ARGUMENT, message)
    )


@login_required
@require_GET
def workflow_detail(request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str) -> HttpResponse:
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    view = request.GET.get("view") or "events"
    if view not in VIEWS:
        return _bad_input(
            request, principal, namespace, f"there is no history view {view!r}: choose {', '.join(VIEWS)}"
        )
    ns = namespace.namespace_id
    try:
        summary = describe(ns, workflow_id, run_id)
        if view in ("compact", "timeline"):
            events, token = list(full_history(ns, workflow_id, run_id).events), b""
        else:
            size = FIRST_PAGE if view == "events" else JSON_MAX_EVENTS
            events, token = history_page(ns, workflow_id, run_id, page_size=size)
        closing: list[HistoryEvent] = events
        if token and summary.status != "Running":
            close = close_event(ns, workflow_id, run_id)
            closing = [close] if close is not None else []
    except ConsoleEngineError as exc:
        return engine_error_page(request, principal, namespace, exc)
    last_loaded = events[-1].event_id if events else 0
    live_after = max(summary.history_length, last_loaded) if token else last_loaded
    run_outcome = outcome(closing)
    context: dict[str, Any] = {
        **namespace_header_context(principal, namespace),
        "run": summary,
        "duration": short_duration(summary.duration),
        "input": run_input(events[:1]),
        "input_stored": run_input_stored(events[:1]),
        "outcome": run_outcome,
        "chain": run_chain(events[:1], run_id=summary.run_id, first_run_id=summary.first_run_id),
        "children": _children(summary, events),
        "view": view,
        "event_count": max(summary.history_length, last_loaded),
        "live_after": live_after,
        "codec": codec_context(namespace),
    }
    if view == "events":
        context["events"] = event_rows(events)
        if token:
            context["more_url"] = _events_url(account_id, name, workflow_id, run_id, token, live_after)
            context["shown_up_to"] = last_loaded
    elif view == "json":
        context["history_json"] = history_json(History(events=events))
        context["json_capped"] = bool(token)
        context["json_max"] = JSON_MAX_EVENTS
    else:
        groups = group_events(events)
        if view == "compact":
            context["groups"] = groups[:COMPACT_MAX_ROWS]
            context["group_total"] = len(groups)
        else:
            start = summary.start_time or (timestamp(events[0].event_time) if events else None)
            end = summary.close_time or timezone.now()
            context["timeline"] = timeline(groups, start=start, end=end)
    return render_page(request, principal, "console/workflow.html", context)


@login_required
@require_GET
def workflow_events(request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str) -> HttpResponse:
    """The next chunk of the events view (``?page=<engine token>&until=<last event id>``): its
    events and, while more remain, a new sentinel. A fragment for htmx to swap in."""
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    _principal, namespace = found
    try:
        token = decode_page_token(request.GET.get("page", ""))
        until_text = request.GET.get("until", "")
        if not token or not until_text.isdigit():
            raise ValueError("the page link is damaged: reload the page")
        until = int(until_text)
    except ValueError as exc:
        return _fragment_error(request, str(exc), 400)
    try:
        events, next_token = history_page(
            namespace.namespace_id, workflow_id, run_id, page_size=CHUNK, page_token=token
        )
    except ConsoleEngineError as exc:
        message = "the page link is damaged: reload the page" if exc.http_status == 400 else exc.message
        return _fragment_error(request, message, exc.http_status)
    events = [e for e in events if e.event_id <= until]
    last = events[-1].event_id if events else until
    context: dict[str, Any] = {"events": event_rows(events), "codec": codec_context(namespace)}
    if next_token and last < until:
        context["more_url"] = _events_url(account_id, name, workflow_id, run_id, next_token, until)
        context["shown_up_to"] = last
        context["live_after"] = until
    return render(request, "console/_history_chunk.html", context)


def _fragment_error(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "console/_history_error.html", {"message": message}, status=status)


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@login_required
@require_GET
def workflow_history_json(
    request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str
) -> HttpResponse:
    """The run's history as JSON, for ``WorkflowHistory.from_json`` and the SDKs' replayers."""
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    try:
        history = full_history(namespace.namespace_id, workflow_id, run_id)
    except ConsoleEngineError as exc:
        return engine_error_page(request, principal, namespace, exc)
    response = HttpResponse(history_json(history), content_type="application/json")
    filename = _UNSAFE_FILENAME.sub("_", f"{workflow_id}_{run_id}").strip("_") + ".json"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
