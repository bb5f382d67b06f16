"""The workflow list's filter box, quick filters and columns (read from the query string), and
the forms of saved views and batch operations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from console.models import NAME_MAX_LENGTH
from console.workflows import STATUSES, TIME_RANGES

_RANGE_LABELS = {"hour": "Last hour", "day": "Last 24 hours", "week": "Last 7 days"}

# The list's columns: key (as ``cols`` names it) → heading, in the order the table shows them.
# The namespace's custom search attributes follow, keyed by their own names.
COLUMNS = {
    "status": "Status",
    "workflow_id": "Workflow id",
    "run_id": "Run id",
    "type": "Type",
    "start": "Start",
    "close": "Close",
    "task_queue": "Task queue",
    "history_length": "History length",
    "duration": "Execution duration",
}
ALWAYS_SHOWN = ("status", "workflow_id")
DEFAULT_COLUMNS = ("status", "workflow_id", "run_id", "type", "start", "close")


class ColumnsField(forms.MultipleChoiceField):
    """``cols`` as repeated parameters (the checkboxes) or one comma-separated value (a link)."""

    def to_python(self, value: Any) -> list[str]:
        values = super().to_python(value)
        return [part.strip() for item in values for part in item.split(",") if part.strip()]

    def set_columns(self, columns: Sequence[tuple[str, str]]) -> None:
        self.choices = list(columns)
        self.known = [key for key, _ in columns]

    def validate(self, value: Any) -> None:
        unknown = [item for item in value if item not in self.known]
        if unknown:
            known = ", ".join(self.known)
            raise ValidationError(
                "unknown column %(value)s (the columns are: %(known)s)",
                code="invalid_choice",
                params={"value": ", ".join(repr(u) for u in unknown), "known": known},
            )


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
    cols = ColumnsField(label="Columns", required=False)

    def __init__(self, *args: Any, custom_attributes: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        extra = [name for name in custom_attributes if name not in COLUMNS]
        cols = self.fields["cols"]
        assert isinstance(cols, ColumnsField)
        cols.set_columns([*COLUMNS.items(), *[(name, name) for name in extra]])
        self.column_order = [*COLUMNS, *extra]

    def columns(self) -> list[str]:
        """The chosen columns in the table's order, the always-shown ones included (after
        ``is_valid``); the default set when none were chosen."""
        chosen = set(self.cleaned_data.get("cols") or DEFAULT_COLUMNS) | set(ALWAYS_SHOWN)
        return [key for key in self.column_order if key in chosen]


def columns_param(columns: Sequence[str]) -> str:
    """``cols`` for a link or a saved view: "" for the default set."""
    return "" if tuple(columns) == DEFAULT_COLUMNS else ",".join(columns)


# --- saved views ------------------------------------------------------------------------------


class SavedViewNameForm(forms.Form):
    name = forms.CharField(label="View name", max_length=NAME_MAX_LENGTH, strip=True)


# --- batch operations -------------------------------------------------------------------------

REASON_MAX_LENGTH = 1000


class BatchForm(forms.Form):
    """Step 2 of a batch: the filter and count the user confirmed, and the operation's inputs."""

    filter = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)
    count = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    reason = forms.CharField(label="Reason", max_length=REASON_MAX_LENGTH, strip=True)
    all_runs = forms.BooleanField(
        label="Yes, every running workflow of this namespace (the filter is empty)", required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("filter") or "").strip() and not data.get("all_runs") and "filter" not in self.errors:
            self.add_error("all_runs", "The filter is empty: tick this box to confirm every running workflow.")
        return data


class SignalBatchForm(BatchForm):
    signal_name = forms.CharField(label="Signal name", max_length=1000, strip=True)
    signal_input = forms.CharField(
        label="Input (JSON)",
        required=False,
        max_length=256 * 1024,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One JSON value, passed as the signal's argument; leave empty for none.",
    )

    def clean_signal_input(self) -> tuple[bool, Any]:
        """``(given, value)``: whether the signal carries an argument, and its value."""
        text = self.cleaned_data.get("signal_input") or ""
        if not text.strip():
            return False, None
        try:
            return True, json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                "this is not valid JSON: %(error)s", code="invalid_json", params={"error": str(exc)}
            ) from None
