"""The workflows list of the console (``/a/<account_id>/namespaces/<name>/workflows/``) with
its List Filter, quick filters, counts by status and paging.

Every page first resolves the caller and the namespace (``console.access.resolve``: 404 for
what they may not see), then asks the engine as the console (``console.engine``). What the
engine refuses is shown in its own words with the matching status: a malformed List Filter
beside the filter box (400), an unknown run as a 404 page, an unreachable engine as a 503 page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

import console.workflows
from accounts.views.common import render_page
from console.access import resolve
from console.engine import ConsoleEngineError
from console.forms import ListFilterForm
from console.workflows import (
    TIME_RANGES,
    build_filter,
    decode_page_token,
    encode_page_token,
    list_page,
    status_counts,
)
from namespaces.views import namespace_header_context

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
