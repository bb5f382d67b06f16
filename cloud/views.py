"""Project-level views: the landing page and the health endpoint."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import Membership
from accounts.web import SESSION_ACCOUNT_KEY, SESSION_INVITATION_KEY
from cloud.health import database_ok


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 otherwise. No authentication: load balancers call it."""
    ok, detail = database_ok()
    return JsonResponse({"status": "ok" if ok else "unavailable", "database": detail}, status=200 if ok else 503)


def home(request: HttpRequest) -> HttpResponse:
    """Signed in: the account used last (or the first one). Without an account, the invitation
    being accepted, else a page that says so. Signed out: the landing page."""
    if not request.user.is_authenticated:
        return render(request, "home.html")
    account_ids = list(
        Membership.objects.filter(user=request.user)
        .order_by("created_at", "pk")
        .values_list("account__account_id", flat=True)
    )
    if account_ids:
        last = request.session.get(SESSION_ACCOUNT_KEY)
        return redirect("account_home", account_id=last if last in account_ids else account_ids[0])
    token = request.session.get(SESSION_INVITATION_KEY)
    if token:
        return redirect("invitation_accept", token=token)
    return render(request, "home.html")
