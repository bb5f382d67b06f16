"""The audit log page and its exports (``/a/<account_id>/audit/…``): Owners and Global Admins.

Non-members get 404 (``accounts.web.get_principal``); members whose role may not read the log
get 403; bad filters get the page again with the reason (400) and no entries.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.errors import ServiceError
from accounts.permissions import Action, require
from accounts.principal import Principal
from accounts.web import get_principal
from audit.export import CONTENT_TYPES, FORMATS, in_batches
from audit.forms import AuditFilterForm
from audit.models import AuditEntry
from audit.selectors import audit_entry_list, audit_operation_names

PAGE_SIZE = 50


def _error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return render(request, "audit/error.html", {"message": str(exc)}, status=exc.http_status)


def _reader(request: HttpRequest, account_id: str) -> Principal:
    principal = get_principal(request, account_id)
    require(principal, Action.VIEW_AUDIT_LOG, "only an Account Owner or a Global Admin may read the audit log")
    return principal


def _row(entry: AuditEntry) -> dict[str, object]:
    return {
        "entry": entry,
        "actor": entry.principal_name or entry.principal_type,
        "details": json.dumps(entry.details, sort_keys=True, ensure_ascii=False) if entry.details else "",
    }


@require_GET
@login_required
@never_cache
def audit_log(request: HttpRequest, account_id: str) -> HttpResponse:
    try:
        principal = _reader(request, account_id)
        form = AuditFilterForm(request.GET or None, operations=audit_operation_names(principal=principal))
        context: dict[str, object] = {"principal": principal, "account": principal.account, "form": form}
        if form.is_bound and not form.is_valid():
            return render(request, "audit/log.html", context, status=400)
        filters = form.selector_filters() if form.is_bound else {}
        page = Paginator(audit_entry_list(principal=principal, **filters), PAGE_SIZE).get_page(request.GET.get("page"))
    except ServiceError as exc:
        return _error(request, exc)
    context.update(page=page, rows=[_row(e) for e in page.object_list])
    return render(request, "audit/log.html", context)


@require_GET
@login_required
@never_cache
def audit_export(request: HttpRequest, account_id: str, fmt: str) -> HttpResponseBase:
    """The filtered log, oldest first, streamed as CSV or JSON lines."""
    try:
        principal = _reader(request, account_id)
        form = AuditFilterForm(request.GET, operations=audit_operation_names(principal=principal))
        if not form.is_valid():
            errors = "; ".join(f"{name}: {' '.join(map(str, messages))}" for name, messages in form.errors.items())
            return HttpResponse(f"bad filter: {errors}\n", status=400, content_type="text/plain; charset=utf-8")
        entries = audit_entry_list(principal=principal, newest_first=False, **form.selector_filters())
    except ServiceError as exc:
        return HttpResponse(f"{exc}\n", status=exc.http_status, content_type="text/plain; charset=utf-8")
    lines = FORMATS[fmt](entries)
    # Under ASGI (daphne) a sync iterator would be read whole before sending; feed it in batches.
    content = in_batches(lines) if isinstance(request, ASGIRequest) else lines
    response = StreamingHttpResponse(content, content_type=CONTENT_TYPES[fmt])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{account_id}-{stamp}.{fmt}"'
    return response
