"""Template helpers of the console pages."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

register = template.Library()


@register.filter
def moment(value: datetime | None) -> SafeString:
    """A ``<time>`` element: the instant in ISO 8601 (UTC) for machines, the current time zone's
    wall clock for people (the page's script rewrites it into the browser's own time zone)."""
    if value is None:
        return format_html('<span class="muted">{}</span>', "—")
    return format_html(
        '<time datetime="{}" data-local>{}</time>',
        value.isoformat(timespec="milliseconds"),
        localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z"),
    )
