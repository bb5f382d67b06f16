"""Workflow pages of the console (``/a/<account_id>/namespaces/<name>/workflows/…``): the list
with its List Filter, one run with its whole history, and the history as a JSON download.

Every page first resolves the caller and the namespace (``console.access.resolve``: 404 for
what they may not see), then asks the engine as the console (``console.engine``). What the
engine refuses is shown in its own words with the matching status: a malformed List Filter
beside the filter box (400), an unknown run as a 404 page, an unreachable engine as a 503 page.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

import console.workflows
from accounts.principal import Principal
from accounts.views.common import render_page
from console.access import resolve
from console.engine import ConsoleEngineError
from console.forms import ListFilterForm
from console.history import event_rows, outcome, run_input
from console.workflows import (
    TIME_RANGES,
    build_filter,
    decode_page_token,
    describe,
    encode_page_token,
    full_history,
    history_json,
    list_page,
    short_duration,
    status_counts,
)
from namespaces.models import Namespace
from namespaces.views import namespace_header_context


def _engine_error_page(
    request: HttpRequest, principal: Principal, namespace: Namespace, error: ConsoleEngineError
) -> HttpResponse:
    context = {
        **namespace_header_context(principal, namespace),
        "status": error.http_status,
        "message": error.message,
        "unreachable": error.unreachable,
    }
    return render_page(request, principal, "console/error.html", context, status=error.http_status)


# --- the list ---------------------------------------------------------------------------------


@login_required
@require_GET
def workflows(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    form = ListFilterForm(request.GET)
    context: dict[str, Any] = {
        **namespace_header_context(principal, namespace),
        "form": form,
        "rows": [],
        "counts": [],
        "total": None,
        "next_page": "",
        "on_later_page": bool(request.GET.get("page")),
        "effective_filter": "",
        "engine_error": "",
        "page_size": console.workflows.PAGE_SIZE,
    }
    if not form.is_valid():
        return render_page(request, principal, "console/workflows.html", context, status=400)
    data = form.cleaned_data
    since: datetime | None = None
    if data["range"]:
        since = timezone.now() - TIME_RANGES[data["range"]]
    query = build_filter(query=data["query"], status=data["status"], workflow_type=data["type"], since=since)
    context["effective_filter"] = query
    try:
        token = decode_page_token(request.GET.get("page", ""))
        rows, next_token = list_page(namespace.namespace_id, query, page_token=token)
    except ValueError as exc:  # a damaged ?page=
        context["engine_error"] = str(exc)
        return render_page(request, principal, "console/workflows.html", context, status=400)
    except ConsoleEngineError as exc:
        context["engine_error"], context["unreachable"] = exc.message, exc.unreachable
        return render_page(request, principal, "console/workflows.html", context, status=exc.http_status)
    context["rows"] = rows
    context["next_page"] = encode_page_token(next_token) if next_token else ""
    # Counted after listing, so that a malformed query is reported on the user's own text (the
    # count appends GROUP BY). A query the list takes but the count does not (ORDER BY) still
    # lists; the counts then say why they are missing.
    try:
        context["total"], context["counts"] = status_counts(namespace.namespace_id, query)
    except ConsoleEngineError as exc:
        context["counts_error"] = exc.message
    return render_page(request, principal, "console/workflows.html", context)


# --- one run ----------------------------------------------------------------------------------


@login_required
@require_GET
def workflow_detail(request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str) -> HttpResponse:
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    try:
        summary = describe(namespace.namespace_id, workflow_id, run_id)
        history = full_history(namespace.namespace_id, workflow_id, run_id)
    except ConsoleEngineError as exc:
        return _engine_error_page(request, principal, namespace, exc)
    events = list(history.events)
    view = "json" if request.GET.get("view") == "json" else "events"
    context: dict[str, Any] = {
        **namespace_header_context(principal, namespace),
        "run": summary,
        "duration": short_duration(summary.duration),
        "input": run_input(events),
        "outcome": outcome(events),
        "view": view,
        "event_count": len(events),
    }
    if view == "json":
        context["history_json"] = history_json(history)
    else:
        context["events"] = event_rows(events)
    return render_page(request, principal, "console/workflow.html", context)


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
        return _engine_error_page(request, principal, namespace, exc)
    response = HttpResponse(history_json(history), content_type="application/json")
    filename = _UNSAFE_FILENAME.sub("_", f"{workflow_id}_{run_id}").strip("_") + ".json"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
