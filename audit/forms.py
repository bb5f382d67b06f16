"""The audit log page's filters (also used by its export links)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms

from audit.models import AuditStatus
from audit.selectors import MAX_FILTER_LENGTH


class AuditFilterForm(forms.Form):
    """GET filters. Dates are whole UTC days and both ends are included."""

    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    operation = forms.ChoiceField(required=False, label="Operation")
    actor = forms.CharField(
        required=False,
        label="Actor",
        max_length=MAX_FILTER_LENGTH,
        help_text="e-mail, service account name, user id or API key id",
    )
    status = forms.ChoiceField(required=False, label="Status", choices=[("", "Any"), *AuditStatus.choices])

    def __init__(self, *args: Any, operations: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["operation"].choices = [("", "Any"), *((name, name) for name in operations)]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            raise forms.ValidationError("the 'To' date must not be before the 'From' date")
        return data

    def selector_filters(self) -> dict[str, Any]:
        """The cleaned filters as ``audit_entry_list`` keyword arguments."""
        data = self.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        return {
            "start": datetime.combine(start, time.min, tzinfo=UTC) if start else None,
            "end": datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC) if end else None,
            "actor": data.get("actor", ""),
            "operation": data.get("operation", ""),
            "status": data.get("status", ""),
        }
