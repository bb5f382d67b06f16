"""The workflow list's filter box and quick filters (read from the query string)."""

from __future__ import annotations

from django import forms

from console.workflows import STATUSES, TIME_RANGES

_RANGE_LABELS = {"hour": "Last hour", "day": "Last 24 hours", "week": "Last 7 days"}


class ListFilterForm(forms.Form):
    query = forms.CharField(
        label="List Filter",
        required=False,
        max_length=4000,
        widget=forms.TextInput(
            attrs={"placeholder": "WorkflowId = 'order-17' AND ExecutionStatus = 'Running'", "spellcheck": "false"}
        ),
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *[(s, s) for s in STATUSES]]
    )
    type = forms.CharField(label="Workflow type", required=False, max_length=1000)
    range = forms.ChoiceField(
        label="Started",
        required=False,
        choices=[("", "Any time"), *[(key, _RANGE_LABELS[key]) for key in TIME_RANGES]],
    )
