"""The members page: people with their roles and namespace access, pending invitations, and
the forms to invite, change a role, remove someone or leave."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.errors import ServiceError
from accounts.models import Invitation, Membership, Role
from accounts.permissions import Action, can, can_change_member, can_grant_role
from accounts.principal import Principal
from accounts.selectors import invitation_list, member_list, namespace_grants_of
from accounts.services.invitations import do_invite_user
from accounts.services.members import do_remove_member, do_update_member, parse_role
from accounts.views.common import render_page, service_error_response
from accounts.views.forms import InviteForm, RoleForm
from accounts.web import get_principal


@dataclass(frozen=True)
class MemberRow:
    member: Membership
    grants: dict[str, str]
    is_me: bool
    role_form: RoleForm | None
    can_remove: bool


@dataclass(frozen=True)
class InvitationRow:
    invitation: Invitation
    expired: bool
    can_manage: bool


def grantable_roles(principal: Principal) -> list[Role]:
    return [r for r in Role if can_grant_role(principal, r)]


def _member_rows(principal: Principal, members: list[Membership]) -> list[MemberRow]:
    roles = grantable_roles(principal)
    rows = []
    for m in members:
        is_me = principal.membership is not None and m.pk == principal.membership.pk
        changeable = can_change_member(principal, m)
        role_form = RoleForm(initial={"role": m.role}, roles=roles, prefix=m.public_id) if changeable else None
        rows.append(MemberRow(m, namespace_grants_of(membership=m), is_me, role_form, changeable and not is_me))
    return rows


def _members_page(
    request: HttpRequest, principal: Principal, *, invite_form: InviteForm | None = None, status: int = 200
) -> HttpResponse:
    members = list(member_list(principal=principal))
    now = timezone.now()
    manage = can(principal, Action.MANAGE_USERS)
    invitations = [
        InvitationRow(i, i.expires_at <= now, manage and can_grant_role(principal, Role(i.role)))
        for i in invitation_list(principal=principal)
    ]
    context = {
        "rows": _member_rows(principal, members),
        "invitations": invitations,
        "can_invite": manage,
        "invite_form": invite_form or InviteForm(roles=grantable_roles(principal)),
    }
    return render_page(request, principal, "accounts/members.html", context, status=status)


@login_required
@require_GET
def members(request: HttpRequest, account_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    try:
        return _members_page(request, principal)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)


@login_required
@require_POST
def invite(request: HttpRequest, account_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    form = InviteForm(request.POST, roles=grantable_roles(principal))
    form.is_valid()
    try:
        invitation = do_invite_user(
            principal, email=form.cleaned_data.get("email", ""), role=parse_role(form.cleaned_data.get("role", ""))
        )
    except ServiceError as exc:
        return service_error_response(
            request,
            exc,
            principal=principal,
            form=form,
            rerender=lambda: _members_page(request, principal, invite_form=form),
        )
    messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("account_members", account_id=account_id)


@login_required
@require_POST
def change_role(request: HttpRequest, account_id: str, member_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    form = RoleForm(request.POST, prefix=member_id)
    form.is_valid()
    try:
        member = do_update_member(principal, member_id=member_id, role=parse_role(form.cleaned_data.get("role", "")))
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    messages.success(request, f"{member.user.email} is now {member.get_role_display()}.")
    return redirect("account_members", account_id=account_id)


@login_required
@require_POST
def remove_member(request: HttpRequest, account_id: str, member_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    leaving = principal.membership is not None and principal.membership.public_id == member_id
    try:
        email = (
            Membership.objects.filter(account=principal.account, public_id=member_id)
            .values_list("user__email", flat=True)
            .first()
        )
        do_remove_member(principal, member_id=member_id)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)
    if leaving:
        messages.success(request, f"You have left {principal.account.name}.")
        return redirect("home")
    messages.success(request, f"{email} has been removed from the account.")
    return redirect("account_members", account_id=account_id)
