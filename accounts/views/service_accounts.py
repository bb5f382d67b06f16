"""Service accounts: the list and create form, and one service account's page (edit, delete,
its API keys, a new key for it)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.errors import ServiceError
from accounts.models import Role, ServiceAccount
from accounts.permissions import (
    SERVICE_ACCOUNT_ROLES,
    Action,
    can,
    can_create_api_key_for,
    can_grant_role,
    can_manage_service_account,
)
from accounts.principal import Principal
from accounts.selectors import api_key_list, namespace_grants_of, service_account_get, service_account_list
from accounts.services.api_keys import do_create_api_key
from accounts.services.members import parse_role
from accounts.services.service_accounts import (
    do_create_service_account,
    do_delete_service_account,
    do_update_service_account,
)
from accounts.views.api_keys import key_rows, may_create_keys, stash_token
from accounts.views.common import render_page, service_error_response
from accounts.views.forms import ApiKeyForm, ServiceAccountForm
from accounts.web import get_principal


def offered_roles(principal: Principal, current: str = "") -> list[Role]:
    """Roles a service account may be given by the caller (plus its current one, kept as is)."""
    return [r for r in Role if r in SERVICE_ACCOUNT_ROLES and (can_grant_role(principal, r) or r.value == current)]


def _list_page(
    request: HttpRequest, principal: Principal, *, form: ServiceAccountForm | None = None, status: int = 200
) -> HttpResponse:
    rows = [(sa, namespace_grants_of(service_account=sa)) for sa in service_account_list(principal=principal)]
    context = {
        "rows": rows,
        "can_create": can(principal, Action.MANAGE_SERVICE_ACCOUNTS),
        "form": form or ServiceAccountForm(roles=offered_roles(principal)),
    }
    return render_page(request, principal, "accounts/service_accounts.html", context, status=status)


@login_required
def service_accounts(request: HttpRequest, account_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    if request.method != "POST":
        try:
            return _list_page(request, principal)
        except ServiceError as exc:
            return service_error_response(request, exc, principal=principal)
    form = ServiceAccountForm(request.POST, roles=offered_roles(principal))
    form.is_valid()
    data = form.cleaned_data
    try:
        sa = do_create_service_account(
            principal,
            name=data.get("name", ""),
            description=data.get("description", ""),
            role=parse_role(data.get("role", "")),
        )
    except ServiceError as exc:
        return service_error_response(
            request, exc, principal=principal, form=form, rerender=lambda: _list_page(request, principal, form=form)
        )
    messages.success(request, f"Service account {sa.name} created.")
    return redirect("account_service_account", account_id=account_id, service_account_id=sa.public_id)


def _detail_page(
    request: HttpRequest,
    principal: Principal,
    sa: ServiceAccount,
    *,
    form: ServiceAccountForm | None = None,
    key_form: ApiKeyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    manage = can_manage_service_account(principal, sa)
    roles = offered_roles(principal, sa.role)
    initial = {"name": sa.name, "description": sa.description, "role": sa.role}
    context = {
        "sa": sa,
        "grants": namespace_grants_of(service_account=sa),
        "can_manage": manage,
        "form": form or ServiceAccountForm(initial=initial, roles=roles),
        "rows": key_rows(principal, api_key_list(principal=principal, owner_id=sa.public_id)),
        "can_create_key": can_create_api_key_for(principal, service_account=sa) and may_create_keys(principal),
        "key_form": key_form or ApiKeyForm(),
    }
    return render_page(request, principal, "accounts/service_account.html", context, status=status)


@login_required
def service_account(request: HttpRequest, account_id: str, service_account_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    try:
        sa = service_account_get(principal=principal, service_account_id=service_account_id)
        if request.method != "POST":
            return _detail_page(request, principal, sa)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    form = ServiceAccountForm(request.POST, roles=offered_roles(principal, sa.role))
    form.is_valid()
    data = form.cleaned_data
    try:
        role = None if sa.namespace_scope or not data.get("role") else parse_role(data["role"])
        sa = do_update_service_account(
            principal,
            service_account_id=service_account_id,
            name=data.get("name", ""),
            description=data.get("description", ""),
            role=role,
        )
    except ServiceError as exc:
        return service_error_response(
            request,
            exc,
            principal=principal,
            form=form,
            rerender=lambda: _detail_page(request, principal, sa, form=form),
        )
    messages.success(request, f"Service account {sa.name} saved.")
    return redirect("account_service_account", account_id=account_id, service_account_id=sa.public_id)


@login_required
@require_POST
def delete_service_account(request: HttpRequest, account_id: str, service_account_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    try:
        name = service_account_get(principal=principal, service_account_id=service_account_id).name
        do_delete_service_account(principal, service_account_id=service_account_id)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    messages.success(request, f"Service account {name} and its API keys have been deleted.")
    return redirect("account_service_accounts", account_id=account_id)


@login_required
@require_POST
def create_service_account_key(request: HttpRequest, account_id: str, service_account_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    try:
        sa = service_account_get(principal=principal, service_account_id=service_account_id)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, principal, sa, key_form=form, status=400)
    try:
        key, token = do_create_api_key(
            principal,
            display_name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            expires_at=form.expires_at(),
            owner_type="service_account",
            owner_id=sa.public_id,
        )
    except ServiceError as exc:
        return service_error_response(
            request,
            exc,
            principal=principal,
            form=form,
            rerender=lambda: _detail_page(request, principal, sa, key_form=form),
        )
    return stash_token(request, key, token)
