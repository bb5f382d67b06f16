"""The account's settings page: name, API key creation, audit retention, hand-over, deletion."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.errors import ServiceError
from accounts.models import Role
from accounts.permissions import Action, can, can_transfer_ownership
from accounts.principal import Principal
from accounts.selectors import member_list
from accounts.services.accounts import do_delete_account, do_transfer_ownership, do_update_account
from accounts.services.members import parse_role
from accounts.views.common import render_page, service_error_response
from accounts.views.forms import AccountSettingsForm, DeleteAccountForm, TransferOwnershipForm
from accounts.web import SESSION_ACCOUNT_KEY, get_principal


def _transfer_form(principal: Principal, data: object = None) -> TransferOwnershipForm:
    others = [
        (m.public_id, f"{m.user.email} ({m.get_role_display()})")
        for m in member_list(principal=principal)
        if principal.membership is None or m.pk != principal.membership.pk
    ]
    roles = [r for r in Role if r != Role.OWNER]
    return TransferOwnershipForm(data, members=others, roles=roles)


def _settings_page(
    request: HttpRequest,
    principal: Principal,
    *,
    form: AccountSettingsForm | None = None,
    transfer_form: TransferOwnershipForm | None = None,
    delete_form: DeleteAccountForm | None = None,
    status: int = 200,
) -> HttpResponse:
    account = principal.account
    may_transfer = can_transfer_ownership(principal)
    context = {
        "form": form
        or AccountSettingsForm(
            initial={
                "name": account.name,
                "api_key_creation_enabled": account.api_key_creation_enabled,
                "audit_retention_days": account.audit_retention_days,
            }
        ),
        "can_update": can(principal, Action.UPDATE_ACCOUNT),
        "can_transfer": may_transfer,
        "transfer_form": transfer_form or (_transfer_form(principal) if may_transfer else None),
        "can_delete": can(principal, Action.DELETE_ACCOUNT),
        "delete_form": delete_form or DeleteAccountForm(),
    }
    return render_page(request, principal, "accounts/settings.html", context, status=status)


@login_required
def account_home(request: HttpRequest, account_id: str) -> HttpResponse:
    get_principal(request, account_id)
    return redirect("account_settings", account_id=account_id)


@login_required
def account_settings(request: HttpRequest, account_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    if request.method != "POST":
        return _settings_page(request, principal)
    form = AccountSettingsForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, principal, form=form, status=400)
    try:
        do_update_account(
            principal,
            name=form.cleaned_data["name"],
            api_key_creation_enabled=form.cleaned_data["api_key_creation_enabled"],
            audit_retention_days=form.cleaned_data["audit_retention_days"],
        )
    except ServiceError as exc:
        return service_error_response(
            request, exc, principal=principal, form=form, rerender=lambda: _settings_page(request, principal, form=form)
        )
    messages.success(request, "Account settings saved.")
    return redirect("account_settings", account_id=account_id)


@login_required
@require_POST
def transfer_ownership(request: HttpRequest, account_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    may = can_transfer_ownership(principal)
    form = _transfer_form(principal, request.POST) if may else TransferOwnershipForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    try:
        target = do_transfer_ownership(
            principal, to_member_id=data.get("to_member", ""), keep_role=parse_role(data.get("keep_role") or "")
        )
    except ServiceError as exc:
        return service_error_response(
            request,
            exc,
            principal=principal,
            form=form,
            rerender=lambda: _settings_page(request, principal, transfer_form=form),
        )
    messages.success(request, f"{target.user.email} is now the Account Owner.")
    return redirect("account_settings", account_id=account_id)


@login_required
@require_POST
def delete_account(request: HttpRequest, account_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    form = DeleteAccountForm(request.POST)
    form.is_valid()
    try:
        do_delete_account(principal, confirm_account_id=form.cleaned_data.get("confirm", ""))
    except ServiceError as exc:
        return service_error_response(
            request,
            exc,
            principal=principal,
            form=form,
            rerender=lambda: _settings_page(request, principal, delete_form=form),
        )
    request.session.pop(SESSION_ACCOUNT_KEY, None)
    messages.success(request, f"The account {principal.account.name} ({account_id}) has been deleted.")
    return redirect("home")
