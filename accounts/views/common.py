"""What every account page shares: rendering with the account in context, safe redirects back,
and the one translation of a ``ServiceError`` into a response.

A refusal (not found, not allowed) is an error page; anything else the service refused is the
caller's input, shown above the form being re-rendered. Either way the status is the error's
own ``http_status``, so pages, REST and gRPC agree on what each error means.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.errors import NotFound, PermissionDenied, ServiceError, Unauthenticated
from accounts.principal import Principal

REFUSALS = (NotFound, PermissionDenied, Unauthenticated)


def render_page(
    request: HttpRequest,
    principal: Principal,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """Render an account page; ``principal`` gives base.html the account nav."""
    full = {"principal": principal, "account": principal.account, **(context or {})}
    return render(request, template, full, status=status)


def error_page(request: HttpRequest, exc: ServiceError, *, principal: Principal | None = None) -> HttpResponse:
    context: dict[str, Any] = {"message": str(exc), "status": exc.http_status}
    if principal is not None:
        context.update(principal=principal, account=principal.account)
    return render(request, "accounts/error.html", context, status=exc.http_status)


def service_error_response(
    request: HttpRequest,
    exc: ServiceError,
    *,
    principal: Principal | None = None,
    form: forms.Form | None = None,
    rerender: Callable[[], HttpResponse] | None = None,
) -> HttpResponse:
    """The page for a refused service call (status from ``exc.http_status``)."""
    if rerender is None or isinstance(exc, REFUSALS):
        return error_page(request, exc, principal=principal)
    if form is not None:
        form.add_error(None, str(exc))
    try:
        response = rerender()
    except ServiceError as refusal:  # the caller may not even see the page the form is on
        return error_page(request, refusal, principal=principal)
    response.status_code = exc.http_status
    return response


def back_to(request: HttpRequest, principal: Principal, default: str) -> str:
    """Where to go after an action: the form's ``next`` if it is a page of this account."""
    target = str(request.POST.get("next", ""))
    prefix = f"/a/{principal.account.account_id}/"
    if target.startswith(prefix) and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return default
