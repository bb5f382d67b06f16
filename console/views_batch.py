"""Batch pages: confirm and start a terminate / cancel / signal of the running workflows a List
Filter matches, and follow a job's progress.

Two steps, so that nobody acts on a number they did not see: the confirmation page (GET) counts
the running runs the filter matches and says so; the form (POST) carries the filter and that
count back. When the count has changed meanwhile, the page asks again with the new number
instead of acting. An empty filter means every running workflow of the namespace and needs an
extra tick. Starting needs Write on the namespace; following a job needs Read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

import console.batch
from accounts.errors import NotFound
from accounts.models import NamespacePermission
from accounts.principal import Principal
from accounts.views.common import render_page, service_error_response
from audit.services import audited
from console.access import resolve
from console.batch import KINDS, BatchRefused, count_running, new_job_id, running_query, start_request
from console.engine import ConsoleEngineError
from console.errors_page import engine_error_page
from console.forms import BatchForm, SignalBatchForm
from namespaces.models import Namespace
from namespaces.views import namespace_header_context

FILTER_MAX_LENGTH = 4000


def _identity(principal: Principal) -> str:
    return f"sundial-console: {principal.name}"


@login_required
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, account_id: str, name: str, kind: str) -> HttpResponse:
    found = resolve(request, account_id, name, need=NamespacePermission.WRITE)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    if kind not in KINDS:
        return service_error_response(request, NotFound(f"there is no batch operation {kind!r}"), principal=principal)
    form_class = SignalBatchForm if kind == "signal" else BatchForm
    if request.method == "GET":
        filter_text = str(request.GET.get("filter", ""))[:FILTER_MAX_LENGTH].strip()
        return _confirmation(request, principal, namespace, kind, filter_text, form_class())

    form = form_class(request.POST)
    filter_text = str(request.POST.get("filter", ""))[:FILTER_MAX_LENGTH].strip()
    if not form.is_valid():
        return _confirmation(request, principal, namespace, kind, filter_text, form, status=400)
    data = form.cleaned_data
    try:
        count = count_running(namespace.namespace_id, filter_text)
    except ConsoleEngineError as exc:
        return _confirmation(request, principal, namespace, kind, filter_text, form, error=exc)
    if count != data["count"]:
        changed = (
            f"The number of running workflows this filter matches changed from {data['count']} to {count} "
            "since the confirmation was shown: nothing was done. Check the number and confirm again."
        )
        return _confirmation(
            request, principal, namespace, kind, filter_text, form, count=count, notice=changed, status=409
        )
    if count == 0:
        return _confirmation(request, principal, namespace, kind, filter_text, form, count=0, status=400)

    job_id = new_job_id()
    request_message = start_request(
        namespace.namespace_id,
        kind=kind,
        filter_text=filter_text,
        job_id=job_id,
        reason=data["reason"],
        identity=_identity(principal),
        signal_name=data.get("signal_name", ""),
        signal_input=data.get("signal_input", (False, None)),
    )
    details: dict[str, Any] = {
        "namespace": namespace.name,
        "kind": kind,
        "query": request_message.visibility_query,
        "count": count,
        "reason": data["reason"],
    }
    if kind == "signal":
        details["signal_name"] = data["signal_name"]
    try:
        with audited(
            principal, "StartBatchOperation", target_type="batch_operation", target_id=job_id, details=details
        ):
            console.batch.start(request_message)
    except BatchRefused as exc:
        return _confirmation(
            request,
            principal,
            namespace,
            kind,
            filter_text,
            form,
            count=count,
            error=exc.engine_error,
            status=exc.http_status,
        )
    messages.success(
        request, f"Batch job started: {KINDS[kind].verb} {count} running workflow{'s' if count != 1 else ''}."
    )
    return HttpResponseRedirect(reverse("console_batch", args=[principal.account.account_id, namespace.name, job_id]))


def _confirmation(
    request: HttpRequest,
    principal: Principal,
    namespace: Namespace,
    kind: str,
    filter_text: str,
    form: BatchForm,
    *,
    count: int | None = None,
    error: ConsoleEngineError | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    """The confirmation page; counts the running matches itself unless given ``count``."""
    if count is None and error is None:
        try:
            count = count_running(namespace.namespace_id, filter_text)
        except ConsoleEngineError as exc:
            error = exc
    if error is not None and count is None:
        status = error.http_status  # a malformed filter: nothing to confirm
    list_url = reverse("console_workflows", args=[principal.account.account_id, namespace.name])
    context = {
        **namespace_header_context(principal, namespace),
        "kind": KINDS[kind],
        "form": form,
        "filter": filter_text,
        "running_query": running_query(filter_text),
        "count": count,
        "engine_error": error.message if error is not None else "",
        "notice": notice,
        "back": f"{list_url}?{urlencode({'query': filter_text})}" if filter_text else list_url,
    }
    return render_page(request, principal, "console/batch_confirm.html", context, status=status)


@login_required
@require_GET
def batch_status(request: HttpRequest, account_id: str, name: str, job_id: str) -> HttpResponse:
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    try:
        job = console.batch.describe(namespace.namespace_id, job_id)
    except ConsoleEngineError as exc:
        return engine_error_page(request, principal, namespace, exc)
    context = {**namespace_header_context(principal, namespace), "job": job}
    return render_page(request, principal, "console/batch.html", context)


@login_required
@require_GET
def batch_list(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    try:
        jobs = console.batch.recent(namespace.namespace_id)
    except ConsoleEngineError as exc:
        return engine_error_page(request, principal, namespace, exc)
    context = {**namespace_header_context(principal, namespace), "jobs": jobs}
    return render_page(request, principal, "console/batches.html", context)
