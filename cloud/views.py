"""Project-level views: the landing page and the health endpoint."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cloud.health import database_ok


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 otherwise. No authentication: load balancers call it."""
    ok, detail = database_ok()
    return JsonResponse({"status": "ok" if ok else "unavailable", "database": detail}, status=200 if ok else 503)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")
