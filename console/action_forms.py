"""The forms of the workflow actions.

Arguments (of a signal, query, update or a new run) are typed as JSON. The box holds **one JSON
value, which is the one argument** (``"!"``, ``42``, ``{"sku": "A1"}``), as in Temporal's web
UI, since most handlers take one; an empty box sends no argument. To pass several arguments,
write a JSON array and tick "Several arguments": each item is then one argument
(``["a", 2]`` → ``handler("a", 2)``). ``cleaned_data["arguments"]`` is always the list of
arguments.

Each form takes an ``auto_id`` prefix so several can share the run's page without id clashes.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from django import forms

from console.actions import ResetPoint

NAME_MAX = 200
REASON_MAX = 1000
ARGUMENTS_MAX = 65536  # characters of JSON
WORKFLOW_ID_MAX = 1000
TIMEOUT_MAX_SECONDS = 10 * 365 * 24 * 3600

ARGUMENTS_HELP = 'One JSON value, passed as the only argument (e.g. "!" or {"sku": "A1"}). Leave empty for none.'


class ArgumentsForm(forms.Form):
    """A JSON arguments box and the "several arguments" switch (see the module doc)."""

    args = forms.CharField(
        label="Arguments (JSON)",
        required=False,
        max_length=ARGUMENTS_MAX,
        strip=True,
        help_text=ARGUMENTS_HELP,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "json-input"}),
    )
    several = forms.BooleanField(
        label="Several arguments: the value is a JSON array, one item per argument", required=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "args" not in cleaned:  # already refused (too long)
            return cleaned
        text = cleaned["args"]
        if not text:
            if cleaned.get("several"):
                self.add_error("args", "Enter a JSON array of arguments, or untick “Several arguments”.")
            cleaned["arguments"] = []
            return cleaned
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            self.add_error("args", f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).")
            return cleaned
        if cleaned.get("several"):
            if not isinstance(value, list):
                self.add_error("args", "With “Several arguments” ticked, enter a JSON array (one item per argument).")
                return cleaned
            cleaned["arguments"] = value
        else:
            cleaned["arguments"] = [value]
        return cleaned


def _name_field(label: str) -> forms.CharField:
    return forms.CharField(label=label, max_length=NAME_MAX, strip=True)


class SignalForm(ArgumentsForm):
    name = _name_field("Signal name")
    field_order = ("name", "args", "several")


class QueryForm(ArgumentsForm):
    name = _name_field("Query name")
    field_order = ("name", "args", "several")


class UpdateForm(ArgumentsForm):
    name = _name_field("Update name")
    field_order = ("name", "args", "several")


class CancelForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False, max_length=REASON_MAX, strip=True)


class TerminateForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False, max_length=REASON_MAX, strip=True)
    confirm = forms.BooleanField(
        label="I understand that terminating ends the run at once, without running its cleanup code",
        error_messages={"required": "Tick the box to confirm the termination."},
    )


class ResetForm(forms.Form):
    """Reset to a WorkflowTaskCompleted event; the choices come from the run's history."""

    event_id = forms.TypedChoiceField(label="Reset to", coerce=int)
    reason = forms.CharField(label="Reason", max_length=REASON_MAX, strip=True)
    reapply_signals = forms.BooleanField(
        label="Reapply the signals received after that point", required=False, initial=True
    )

    def __init__(self, *args: Any, points: list[ResetPoint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["event_id"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(p.event_id, p.label) for p in points]


class StartForm(ArgumentsForm):
    workflow_id = forms.CharField(label="Workflow id", max_length=WORKFLOW_ID_MAX, strip=True)
    workflow_type = forms.CharField(label="Workflow type", max_length=NAME_MAX, strip=True)
    task_queue = forms.CharField(label="Task queue", max_length=NAME_MAX, strip=True)
    execution_timeout = forms.IntegerField(
        label="Execution timeout (seconds)",
        required=False,
        min_value=1,
        max_value=TIMEOUT_MAX_SECONDS,
        help_text="Optional: the run times out after this many seconds, retries and continue-as-new included.",
    )
    field_order = ("workflow_id", "workflow_type", "task_queue", "args", "several", "execution_timeout")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["args"].label = "Input (JSON)"
        if not self.is_bound:
            self.initial.setdefault("workflow_id", str(uuid.uuid4()))

    @property
    def timeout(self) -> timedelta | None:
        seconds = self.cleaned_data.get("execution_timeout")
        return timedelta(seconds=seconds) if seconds else None
