"""One run in the console (``…/workflows/<workflow_id>/<run_id>/``) with its history, and the
history as a JSON download.

Every page first resolves the caller and the namespace (``console.access.resolve``: 404 for
what they may not see), then asks the engine as the console (``console.engine``). What the
engine refuses is shown in its own words with the matching status: an unknown run as a
404 page, an unreachable engine as a 503 page.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from accounts.views.common import render_page
from console.access import resolve
from console.engine import ConsoleEngineError
from console.errors_page import engine_error_page
from console.history import event_rows, outcome, run_input
from console.workflows import (
    describe,
    full_history,
    history_json,
    short_duration,
)
from namespaces.views import namespace_header_context

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
        return engine_error_page(request, principal, namespace, exc)
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
        return engine_error_page(request, principal, namespace, exc)
    response = HttpResponse(history_json(history), content_type="application/json")
    filename = _UNSAFE_FILENAME.sub("_", f"{workflow_id}_{run_id}").strip("_") + ".json"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
