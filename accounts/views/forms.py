"""Forms of the account pages.

They only render fields and parse types (numbers, dates); every rule about what a value may be
lives in the services, so a refused value is shown with the service's own message. Role selects
offer only the roles the caller may grant, but accept any text: a forged role reaches the
service, which refuses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import Role

DEFAULT_KEY_LIFETIME = timedelta(days=90)
MAX_KEY_DAYS = 730


def _role_field(label: str = "Role") -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=forms.Select())


def _offer(field: forms.Field, roles: Iterable[Role]) -> None:
    field.widget.choices = [(r.value, r.label) for r in roles]


class AccountSettingsForm(forms.Form):
    name = forms.CharField(label="Account name", required=False, max_length=1000)
    api_key_creation_enabled = forms.BooleanField(label="Members may create API keys", required=False)
    audit_retention_days = forms.IntegerField(label="Keep the audit log for (days)", required=False)


class TransferOwnershipForm(forms.Form):
    to_member = forms.CharField(label="New Account Owner", required=False, widget=forms.Select())
    keep_role = _role_field("Your role afterwards")

    def __init__(self, *args: Any, members: Iterable[tuple[str, str]] = (), roles: Iterable[Role] = (), **kw: Any):
        super().__init__(*args, **kw)
        self.fields["to_member"].widget.choices = [("", "—"), *members]
        _offer(self.fields["keep_role"], roles)
        self.fields["keep_role"].initial = Role.GLOBAL_ADMIN.value


class DeleteAccountForm(forms.Form):
    confirm = forms.CharField(label="Type the account id to confirm", required=False)


class RoleForm(forms.Form):
    role = _role_field()

    def __init__(self, *args: Any, roles: Iterable[Role] = (), **kw: Any) -> None:
        super().__init__(*args, **kw)
        _offer(self.fields["role"], roles)


class InviteForm(forms.Form):
    email = forms.CharField(label="E-mail", required=False, max_length=254)
    role = _role_field()

    def __init__(self, *args: Any, roles: Iterable[Role] = (), **kw: Any) -> None:
        super().__init__(*args, **kw)
        _offer(self.fields["role"], roles)
        self.fields["role"].initial = Role.DEVELOPER.value


class ServiceAccountForm(forms.Form):
    name = forms.CharField(label="Name", required=False, max_length=1000)
    description = forms.CharField(label="Description", required=False, max_length=5000, widget=forms.Textarea)
    role = _role_field()

    def __init__(self, *args: Any, roles: Iterable[Role] = (), **kw: Any) -> None:
        super().__init__(*args, **kw)
        _offer(self.fields["role"], roles)
        self.fields["role"].initial = Role.READ_ONLY.value


def default_expiry() -> date:
    return timezone.now().date() + DEFAULT_KEY_LIFETIME


class ApiKeyForm(forms.Form):
    prefix = "key"  # a service account's page also has a form with a name and a description
    name = forms.CharField(label="Name", required=False, max_length=1000)
    description = forms.CharField(label="Description", required=False, max_length=5000)
    expires_on = forms.DateField(
        label="Expires on (UTC)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="At most 2 years from today.",
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        today = timezone.now().date()
        self.fields["expires_on"].initial = default_expiry
        self.fields["expires_on"].widget.attrs.update(
            min=(today + timedelta(days=1)).isoformat(), max=(today + timedelta(days=MAX_KEY_DAYS)).isoformat()
        )

    def expires_at(self) -> datetime | None:
        """The start (UTC) of the chosen day; the service decides whether it is allowed."""
        day: date | None = self.cleaned_data.get("expires_on")
        return datetime.combine(day, time.min, tzinfo=UTC) if day is not None else None
