"""Invitations: resend and revoke (admins, on the members page), and the link an invitee opens.

A signed-out visitor with a good link gets its token stored in the session
(``SESSION_INVITATION_KEY``): the sign-up form then joins this account instead of creating an
organisation, and the home page sends a signed-in user without an account back here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from accounts.errors import AlreadyExists, FailedPrecondition, NotFound, ServiceError
from accounts.models import Invitation, User
from accounts.services.invitations import (
    check_acceptable,
    do_accept_invitation,
    do_resend_invitation,
    do_revoke_invitation,
    invitation_for_token,
)
from accounts.views.common import service_error_response
from accounts.web import SESSION_ACCOUNT_KEY, SESSION_INVITATION_KEY, client_ip, get_principal

# Nobody can ever accept these links: forget them so home does not send the visitor back.
_DEAD_LINK = (NotFound, FailedPrecondition, AlreadyExists)


@login_required
@require_POST
def resend(request: HttpRequest, account_id: str, invitation_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    try:
        invitation = do_resend_invitation(principal, invitation_id=invitation_id)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    messages.success(request, f"A new invitation link has been sent to {invitation.email}.")
    return redirect("account_members", account_id=account_id)


@login_required
@require_POST
def revoke(request: HttpRequest, account_id: str, invitation_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    try:
        do_revoke_invitation(principal, invitation_id=invitation_id)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    messages.success(request, "The invitation has been revoked; its link no longer works.")
    return redirect("account_members", account_id=account_id)


def _page(
    request: HttpRequest, token: str, invitation: Invitation | None, *, problem: ServiceError | None = None
) -> HttpResponse:
    here = request.path
    context: dict[str, Any] = {
        "invitation": invitation,
        "token": token,
        "problem": str(problem) if problem is not None else "",
        "login_url": f"{reverse('account_login')}?{urlencode({'next': here})}",
        "signup_url": f"{reverse('account_signup')}?{urlencode({'next': here})}",
    }
    if isinstance(problem, _DEAD_LINK) and request.session.get(SESSION_INVITATION_KEY) == token:
        del request.session[SESSION_INVITATION_KEY]
    return render(request, "accounts/invitation.html", context, status=problem.http_status if problem else 200)


@require_http_methods(["GET", "POST"])
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """Explain the invitation; signed in as the invitee, accept it (POST)."""
    try:
        invitation = invitation_for_token(token)
    except NotFound as exc:
        return _page(request, token, None, problem=exc)
    user: User | None = request.user if request.user.is_authenticated else None
    try:
        check_acceptable(invitation, user)
    except ServiceError as exc:
        return _page(request, token, invitation, problem=exc)
    if user is None:
        request.session[SESSION_INVITATION_KEY] = token
        return _page(request, token, invitation)
    if request.method != "POST":
        return _page(request, token, invitation)
    try:
        membership = do_accept_invitation(user, token=token, client_ip=client_ip(request))
    except ServiceError as exc:
        return _page(request, token, invitation, problem=exc)
    request.session.pop(SESSION_INVITATION_KEY, None)
    account = invitation.account
    request.session[SESSION_ACCOUNT_KEY] = account.account_id
    messages.success(request, f"Welcome to {account.name}: you joined as {membership.get_role_display()}.")
    return redirect("account_home", account_id=account.account_id)
