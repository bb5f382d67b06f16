"""The workflows list of the console (``/a/<account_id>/namespaces/<name>/workflows/``) with
its List Filter, quick filters, chosen columns, counts by status, paging and saved views.

Every page first resolves the caller and the namespace (``console.access.resolve``: 404 for
what they may not see), then asks the engine as the console (``console.engine``). What the
engine refuses is shown in its own words with the matching status: a malformed List Filter
beside the filter box (400), an unknown run as a 404 page, an unreachable engine as a 503 page.

A saved view (``?view=<id>``) supplies the list's parameters; any parameter in the query string
itself wins, so the counts' and the pager's links keep working inside a view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from temporalio.api.workflow.v1 import WorkflowExecutionInfo

import console.workflows
from accounts.errors import InvalidInput, ServiceError
from accounts.models import NamespacePermission
from accounts.permissions import has_namespace_permission
from accounts.principal import Principal
from accounts.views.common import render_page, service_error_response
from console.access import resolve
from console.engine import ConsoleEngineError
from console.forms import (
    ALWAYS_SHOWN,
    COLUMNS,
    DEFAULT_COLUMNS,
    ListFilterForm,
    SavedViewNameForm,
    columns_param,
)
from console.models import SavedView
from console.payloads import decode_payload
from console.saved_views import (
    PARAMETERS,
    do_create_saved_view,
    do_delete_saved_view,
    do_rename_saved_view,
    saved_view_get,
    saved_view_list,
)
from console.workflows import (
    TIME_RANGES,
    build_filter,
    decode_page_token,
    encode_page_token,
    list_page,
    short_duration,
    status_counts,
    workflow_row,
)
from namespaces.models import Namespace
from namespaces.views import namespace_header_context

# --- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    key: str  # the column: "status", "workflow_id", "start", … or a search attribute's name
    value: Any


@dataclass(frozen=True)
class Row:
    workflow_id: str
    run_id: str
    status: str
    cells: list[Cell]


def _attribute_text(info: WorkflowExecutionInfo, name: str) -> str:
    payload = info.search_attributes.indexed_fields.get(name)
    if payload is None:
        return ""
    value = decode_payload(payload).as_json()
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False)


def _row(info: WorkflowExecutionInfo, columns: list[str]) -> Row:
    base = workflow_row(info)
    if info.HasField("execution_duration"):
        duration = short_duration(info.execution_duration.ToTimedelta())
    else:
        duration = short_duration(base.close_time - base.start_time) if base.close_time and base.start_time else ""
    values: dict[str, Any] = {
        "status": base.status,
        "workflow_id": base.workflow_id,
        "run_id": base.run_id,
        "type": base.workflow_type,
        "start": base.start_time,
        "close": base.close_time,
        "task_queue": info.task_queue,
        "history_length": info.history_length,
        "duration": duration,
    }
    cells = [Cell(key, values[key] if key in values else _attribute_text(info, key)) for key in columns]
    return Row(base.workflow_id, base.run_id, base.status, cells)


def list_rows(namespace_id: str, query: str, columns: list[str], *, page_token: bytes = b"") -> tuple[list[Row], bytes]:
    """One page of runs with the chosen columns, and the next page's token (empty: the last)."""
    infos, next_token = list_page(namespace_id, query, page_token=page_token)
    return [_row(info, columns) for info in infos], next_token


# --- the list ---------------------------------------------------------------------------------


def _list_parameters(request: HttpRequest, view: SavedView | None) -> QueryDict:
    data = QueryDict(mutable=True)
    if view is not None:
        data.update(view.parameters())
    for key in PARAMETERS:
        if key in request.GET:
            data.setlist(key, request.GET.getlist(key))
    return data


def _custom_attributes(namespace: Namespace) -> list[str]:
    return sorted(namespace.search_attributes or {})


@login_required
@require_GET
def workflows(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    view: SavedView | None = None
    if request.GET.get("view"):
        try:
            view = saved_view_get(namespace=namespace, view_id=str(request.GET["view"]))
        except ServiceError as exc:
            return service_error_response(request, exc, principal=principal)
    form = ListFilterForm(_list_parameters(request, view), custom_attributes=_custom_attributes(namespace))
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
        "view": view,
        "saved_views": list(saved_view_list(principal=principal, namespace=namespace)),
        "can_write": has_namespace_permission(principal, namespace.name, NamespacePermission.WRITE),
        "can_save": principal.user is not None,
        "name_form": SavedViewNameForm(),
    }
    if not form.is_valid():
        context["column_choices"] = _column_choices(form, None)
        return render_page(request, principal, "console/workflows.html", context, status=400)
    data = form.cleaned_data
    columns = form.columns()
    context["columns"] = columns
    context["column_choices"] = _column_choices(form, columns)
    since: datetime | None = None
    if data["range"]:
        since = timezone.now() - TIME_RANGES[data["range"]]
    query = build_filter(query=data["query"], status=data["status"], workflow_type=data["type"], since=since)
    context["effective_filter"] = query
    context["current"] = {
        "query": data["query"],
        "status": data["status"],
        "type": data["type"],
        "range": data["range"],
        "cols": columns_param(columns),
    }
    context["batch_query"] = urlencode({"filter": query})
    try:
        token = decode_page_token(request.GET.get("page", ""))
        rows, next_token = list_rows(namespace.namespace_id, query, columns, page_token=token)
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


def _column_choices(form: ListFilterForm, chosen: list[str] | None) -> list[dict[str, Any]]:
    """The column checkboxes: key, label, checked, always shown."""
    selected = set(chosen if chosen is not None else DEFAULT_COLUMNS)
    return [
        {"key": key, "label": COLUMNS.get(key, key), "checked": key in selected, "always": key in ALWAYS_SHOWN}
        for key in form.column_order
    ]


# --- saved views ------------------------------------------------------------------------------


def _list_url(principal: Principal, namespace: Namespace, view: SavedView | None = None) -> str:
    url = reverse("console_workflows", args=[principal.account.account_id, namespace.name])
    return f"{url}?{urlencode({'view': view.public_id})}" if view is not None else url


@login_required
@require_POST
def save_view(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    """Save the list's current parameters (posted as hidden fields) as the caller's view."""
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    form = SavedViewNameForm(request.POST)
    parameters = ListFilterForm(request.POST, custom_attributes=_custom_attributes(namespace))
    try:
        if not form.is_valid():
            raise InvalidInput(_first_error(form))
        if not parameters.is_valid():
            raise InvalidInput(_first_error(parameters))
        values = {key: str(parameters.cleaned_data.get(key) or "") for key in PARAMETERS if key != "cols"}
        values["cols"] = columns_param(parameters.columns())
        view = do_create_saved_view(principal, namespace=namespace, name=form.cleaned_data["name"], parameters=values)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    return HttpResponseRedirect(_list_url(principal, namespace, view))


@login_required
@require_POST
def rename_view(request: HttpRequest, account_id: str, name: str, view_id: str) -> HttpResponse:
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    form = SavedViewNameForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(_first_error(form))
        view = do_rename_saved_view(principal, namespace=namespace, view_id=view_id, name=form.cleaned_data["name"])
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    return HttpResponseRedirect(_list_url(principal, namespace, view))


@login_required
@require_POST
def delete_view(request: HttpRequest, account_id: str, name: str, view_id: str) -> HttpResponse:
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    try:
        do_delete_saved_view(principal, namespace=namespace, view_id=view_id)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    return HttpResponseRedirect(_list_url(principal, namespace))


@login_required
@require_GET
def open_view(request: HttpRequest, account_id: str, name: str, view_id: str) -> HttpResponse:
    """The view's own link: the list with the view applied."""
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    try:
        view = saved_view_get(namespace=namespace, view_id=view_id)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    return HttpResponseRedirect(_list_url(principal, namespace, view))


def _first_error(form: Any) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        return f"{label}: {errors[0]}" if label else str(errors[0])
    return "the form is not valid"
