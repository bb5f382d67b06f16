"""JSON fields that take only their own JSON type.

DRF's stock fields coerce (``"30"`` → 30, ``"yes"`` → True, ``12`` → ``"12"``), which hides
client bugs; an API for machines should say "wrong type" instead. Times are RFC 3339 with an
offset in and UTC with ``Z`` out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

RFC3339_EXAMPLE = "2030-01-31T12:00:00Z"


def rfc3339(value: datetime | None) -> str | None:
    """A time as RFC 3339 in UTC (``…Z``), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class StrictCharField(serializers.CharField):
    default_error_messages: ClassVar = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    default_error_messages: ClassVar = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages: ClassVar = {"invalid": "Must be a whole number."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictChoiceField(serializers.ChoiceField):
    """A choice given as a string (a number that happens to match is still the wrong type)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class Rfc3339Field(serializers.DateTimeField):
    """An RFC 3339 time with an explicit offset (``Z`` or ``±hh:mm``); shown in UTC."""

    default_error_messages: ClassVar = {
        "invalid": f"Must be an RFC 3339 time such as {RFC3339_EXAMPLE}.",
        "naive": f"Must carry a time zone offset, such as {RFC3339_EXAMPLE}.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid")
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid")
        assert parsed is not None
        if parsed.tzinfo is None:
            self.fail("naive")
        return parsed.astimezone(UTC)

    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        if value is None or isinstance(value, str):
            return value
        return rfc3339(value)
