"""The page a console view answers with when the engine refuses or cannot be reached."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from accounts.principal import Principal
from accounts.views.common import render_page
from console.engine import ConsoleEngineError
from namespaces.models import Namespace
from namespaces.views import namespace_header_context


def engine_error_page(
    request: HttpRequest, principal: Principal, namespace: Namespace, error: ConsoleEngineError
) -> HttpResponse:
    context = {
        **namespace_header_context(principal, namespace),
        "status": error.http_status,
        "message": error.message,
        "unreachable": error.unreachable,
    }
    return render_page(request, principal, "console/error.html", context, status=error.http_status)
