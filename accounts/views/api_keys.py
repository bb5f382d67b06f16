"""API keys: the list (your keys; admins every key of the account), create, the page that shows
a new token once, disable, enable and delete.

After creation the token waits in the session just long enough for the redirect (POST, then
GET): the "created" page takes it out, so a reload no longer shows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.errors import ServiceError
from accounts.models import ApiKey
from accounts.permissions import can_manage_api_key, is_admin
from accounts.principal import Principal
from accounts.selectors import api_key_get, api_key_list
from accounts.services.api_keys import do_create_api_key, do_delete_api_key, do_update_api_key
from accounts.views.common import back_to, render_page, service_error_response
from accounts.views.forms import ApiKeyForm
from accounts.web import get_principal

NEW_KEY_SESSION_KEY = "sundial_new_api_key"
# A token not picked up by the "created" page within this time is dropped unseen.
NEW_KEY_PICKUP = timedelta(minutes=5)


@dataclass(frozen=True)
class KeyRow:
    key: ApiKey
    owner: str
    state: str
    can_manage: bool


def key_rows(principal: Principal, keys: Iterable[ApiKey]) -> list[KeyRow]:
    now = timezone.now()
    rows = []
    for key in keys:
        if key.owner_membership is not None:
            owner = key.owner_membership.user.email
        else:
            assert key.owner_service_account is not None
            owner = f"service account {key.owner_service_account.name}"
        state = "disabled" if key.disabled else "expired" if key.expires_at <= now else "active"
        rows.append(KeyRow(key, owner, state, can_manage_api_key(principal, key)))
    return rows


def may_create_keys(principal: Principal) -> bool:
    """Whether the account lets this caller create keys now (admins even when switched off)."""
    return principal.account.api_key_creation_enabled or is_admin(principal)


def stash_token(request: HttpRequest, key: ApiKey, token: str) -> HttpResponse:
    """Keep the new token for the one page that shows it, and go there."""
    request.session[NEW_KEY_SESSION_KEY] = {"key_id": key.key_id, "token": token, "at": timezone.now().isoformat()}
    return redirect("account_api_key_created", account_id=key.account.account_id, key_id=key.key_id)


def _take_token(request: HttpRequest, key_id: str) -> str:
    stashed = request.session.get(NEW_KEY_SESSION_KEY)
    if not isinstance(stashed, dict) or stashed.get("key_id") != key_id:
        return ""
    del request.session[NEW_KEY_SESSION_KEY]
    fresh = timezone.now() - datetime.fromisoformat(str(stashed.get("at"))) <= NEW_KEY_PICKUP
    return str(stashed.get("token", "")) if fresh else ""


def _api_keys_page(
    request: HttpRequest, principal: Principal, *, form: ApiKeyForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "rows": key_rows(principal, api_key_list(principal=principal)),
        "can_create": principal.membership is not None and may_create_keys(principal),
        "creation_switched_off": not principal.account.api_key_creation_enabled,
        "form": form or ApiKeyForm(),
    }
    return render_page(request, principal, "accounts/api_keys.html", context, status=status)


@login_required
def api_keys(request: HttpRequest, account_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    if request.method != "POST":
        return _api_keys_page(request, principal)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _api_keys_page(request, principal, form=form, status=400)
    try:
        key, token = do_create_api_key(
            principal,
            display_name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            expires_at=form.expires_at(),
        )
    except ServiceError as exc:
        return service_error_response(
            request, exc, principal=principal, form=form, rerender=lambda: _api_keys_page(request, principal, form=form)
        )
    return stash_token(request, key, token)


@login_required
@require_GET
@never_cache
def api_key_created(request: HttpRequest, account_id: str, key_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    try:
        key = api_key_get(principal=principal, key_id=key_id)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    if key.owner_service_account is not None:
        back = reverse("account_service_account", args=[account_id, key.owner_service_account.public_id])
    else:
        back = reverse("account_api_keys", args=[account_id])
    context = {"key": key, "token": _take_token(request, key_id), "back": back}
    return render_page(request, principal, "accounts/api_key_created.html", context)


def _update(request: HttpRequest, account_id: str, key_id: str, *, disabled: bool) -> HttpResponse:
    principal = get_principal(request, account_id)
    try:
        key = do_update_api_key(principal, key_id=key_id, disabled=disabled)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    messages.success(request, f"API key {key.display_name} is {'disabled' if disabled else 'enabled'}.")
    return redirect(back_to(request, principal, reverse("account_api_keys", args=[account_id])))


@login_required
@require_POST
def disable_api_key(request: HttpRequest, account_id: str, key_id: str) -> HttpResponse:
    return _update(request, account_id, key_id, disabled=True)


@login_required
@require_POST
def enable_api_key(request: HttpRequest, account_id: str, key_id: str) -> HttpResponse:
    return _update(request, account_id, key_id, disabled=False)


@login_required
@require_POST
def delete_api_key(request: HttpRequest, account_id: str, key_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    try:
        do_delete_api_key(principal, key_id=key_id)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    messages.success(request, "The API key has been deleted; it no longer works.")
    return redirect(back_to(request, principal, reverse("account_api_keys", args=[account_id])))
