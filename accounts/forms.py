"""The sign-up form (``ACCOUNT_SIGNUP_FORM_CLASS``): allauth's e-mail and password fields plus
the organisation to create, which the new user owns.

allauth builds its sign-up form on top of this class, so this module must not import
``allauth.account.forms``. Someone who arrives from an invitation link (the invitation page
keeps its token in the session under ``accounts.web.SESSION_INVITATION_KEY``) joins that organisation
instead: the field is optional and no account is created here; the invitation page accepts.
"""

from __future__ import annotations

from typing import Any

from allauth.core import context
from django import forms
from django.http import HttpRequest

from accounts.errors import ServiceError
from accounts.models import Invitation, User
from accounts.services import do_create_account
from accounts.services.accounts import MAX_ACCOUNT_NAME
from accounts.services.invitations import check_acceptable, invitation_for_token
from accounts.web import SESSION_INVITATION_KEY, client_ip


def pending_invitation(request: HttpRequest | None) -> Invitation | None:
    """The open invitation whose link this visitor followed, if any."""
    token = request.session.get(SESSION_INVITATION_KEY) if request is not None and hasattr(request, "session") else None
    if not token:
        return None
    try:
        invitation = invitation_for_token(str(token))
        check_acceptable(invitation, None)
    except ServiceError:
        return None
    return invitation


class SignupForm(forms.Form):
    organisation = forms.CharField(
        label="Organisation name",
        max_length=MAX_ACCOUNT_NAME,
        help_text="The organisation you are creating; you will be its Account Owner.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    field_order = ["email", "organisation", "password1", "password2"]  # noqa: RUF012 (Django reads it per class)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = pending_invitation(context.request)
        if self.invitation is not None:
            field = self.fields["organisation"]
            field.required = False
            field.help_text = (
                f"You are joining {self.invitation.account.name} by invitation, so leave this empty: "
                "no new organisation is created."
            )

    def signup(self, request: HttpRequest, user: User) -> None:
        """Called by allauth once the user is saved: create their organisation."""
        if self.invitation is not None:
            return
        do_create_account(owner=user, name=self.cleaned_data["organisation"], client_ip=client_ip(request))
