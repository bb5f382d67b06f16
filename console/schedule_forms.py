"""The schedule forms: create/edit, backfill, and the note of pause/resume.

The spec is either one interval ("every N minutes, offset M") or cron lines in Temporal's
dialect (5-7 fields, ``@daily``, ``@every 90m``, ``# comment``). The cron lines themselves are
checked by the engine, whose message the form shows (a second parser here could only disagree
with it). Date-times are ``datetime-local`` inputs read as UTC, as their labels say.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django import forms

from console.schedule_spec import UNITS, split_seconds
from console.schedules import OVERLAP_POLICIES, Definition

_OVERLAP_HELP = {
    "Skip": "Skip — don't start a run while the previous one is still running",
    "BufferOne": "BufferOne — start after the running one ends; keep at most one waiting",
    "BufferAll": "BufferAll — start after the running one ends; keep every one waiting",
    "CancelOther": "CancelOther — cancel the running one, then start",
    "TerminateOther": "TerminateOther — terminate the running one, then start",
    "AllowAll": "AllowAll — start regardless of running ones",
}
OVERLAP_CHOICES = [(name, _OVERLAP_HELP[name]) for name in OVERLAP_POLICIES]
UNIT_CHOICES = [(unit, unit) for unit in UNITS]
SPEC_KINDS = [("interval", "An interval"), ("cron", "Cron expressions")]


class UtcDateTimeField(forms.Field):
    """A ``datetime-local`` value read as UTC (an explicit offset is honoured)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S")

    def to_python(self, value: Any) -> datetime | None:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        text = str(value or "").strip()
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise forms.ValidationError("Enter a date and time like 2030-01-31T09:00.") from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return value


class ScheduleForm(forms.Form):
    schedule_id = forms.CharField(label="Schedule id", max_length=1000)
    workflow_type = forms.CharField(label="Workflow type", max_length=1000)
    task_queue = forms.CharField(label="Task queue", max_length=1000)
    workflow_id = forms.CharField(
        label="Workflow id prefix",
        max_length=900,
        help_text="Each run's id is this prefix, a dash and the scheduled time (e.g. report-2030-01-31T09:00:00Z).",
    )
    input = forms.CharField(
        label="Input (JSON)",
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text='One JSON value passed as the workflow\'s argument, e.g. {"region": "eu"}. Empty: no argument.',
    )
    spec_kind = forms.ChoiceField(label="Runs", choices=SPEC_KINDS, initial="interval", widget=forms.RadioSelect)
    every = forms.IntegerField(label="Every", required=False, min_value=1, max_value=10**9)
    every_unit = forms.ChoiceField(label="Unit", choices=UNIT_CHOICES, initial="minutes")
    offset = forms.IntegerField(label="Offset", required=False, min_value=0, max_value=10**9)
    offset_unit = forms.ChoiceField(label="Offset unit", choices=UNIT_CHOICES, initial="minutes")
    cron = forms.CharField(
        label="Cron expressions, one per line",
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": "0 9 * * 1-5"}),
        help_text="minute hour day-of-month month day-of-week; also @daily, @hourly, @every 90m.",
    )
    time_zone = forms.CharField(
        label="Time zone of the cron expressions",
        required=False,
        max_length=255,
        help_text="An IANA name such as Europe/Paris. Empty: UTC.",
    )
    overlap = forms.ChoiceField(label="Overlap policy", choices=OVERLAP_CHOICES, initial="Skip")
    paused = forms.BooleanField(label="Paused", required=False)
    note = forms.CharField(label="Note", required=False, max_length=1000)
    start = UtcDateTimeField(label="Not before (UTC)", required=False)
    end = UtcDateTimeField(label="Not after (UTC)", required=False)
    conflict_token = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def clean_input(self) -> str:
        text: str = self.cleaned_data["input"]
        if text.strip():
            try:
                json.loads(text)
            except ValueError as exc:
                raise forms.ValidationError(f"This is not JSON: {exc}.") from None
        return text

    def clean_cron(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["cron"].splitlines() if line.strip()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        if data.get("spec_kind") == "interval":
            if not data.get("every"):
                self.add_error("every", "Say how often the schedule runs.")
            elif data.get("offset") and data.get("every_unit") and data.get("offset_unit"):
                offset = data["offset"] * UNITS[data["offset_unit"]]
                if offset >= data["every"] * UNITS[data["every_unit"]]:
                    self.add_error("offset", "The offset must be shorter than the interval.")
        elif data.get("spec_kind") == "cron" and not data.get("cron") and "cron" not in self.errors:
            self.add_error("cron", "Enter at least one cron expression.")
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end is before the start.")
        return data

    def definition(self) -> Definition:
        data = self.cleaned_data
        interval = data["spec_kind"] == "interval"
        return Definition(
            schedule_id=data["schedule_id"],
            workflow_type=data["workflow_type"],
            task_queue=data["task_queue"],
            workflow_id=data["workflow_id"],
            input_json=data["input"],
            interval_seconds=data["every"] * UNITS[data["every_unit"]] if interval else 0,
            offset_seconds=(data["offset"] or 0) * UNITS[data["offset_unit"]] if interval else 0,
            cron_lines=[] if interval else data["cron"],
            time_zone=data["time_zone"].strip(),
            overlap=data["overlap"],
            paused=data["paused"],
            note=data["note"],
            start=data["start"],
            end=data["end"],
        )


def initial_of(definition: Definition) -> dict[str, Any]:
    """The form's initial values for an existing schedule."""
    every, every_unit = split_seconds(definition.interval_seconds)
    offset, offset_unit = split_seconds(definition.offset_seconds)
    return {
        "schedule_id": definition.schedule_id,
        "workflow_type": definition.workflow_type,
        "task_queue": definition.task_queue,
        "workflow_id": definition.workflow_id,
        "input": definition.input_json,
        "spec_kind": "interval" if definition.interval_seconds else "cron",
        "every": every or None,
        "every_unit": every_unit if every else "minutes",
        "offset": offset or None,
        "offset_unit": offset_unit if offset else "minutes",
        "cron": "\n".join(definition.cron_lines),
        "time_zone": definition.time_zone,
        "overlap": definition.overlap,
        "paused": definition.paused,
        "note": definition.note,
        "start": definition.start,
        "end": definition.end,
    }


class BackfillForm(forms.Form):
    start = UtcDateTimeField(label="From (UTC)")
    end = UtcDateTimeField(label="To (UTC)")
    overlap = forms.ChoiceField(
        label="Overlap policy",
        required=False,
        choices=[("", "The schedule's own policy"), *OVERLAP_CHOICES],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end is before the start.")
        return data


class NoteForm(forms.Form):
    """The optional note of pause and resume (Temporal keeps it in the schedule's state)."""

    note = forms.CharField(label="Note", required=False, max_length=1000)
