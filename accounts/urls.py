"""Account pages (``/a/<account_id>/…``) and the invitation link."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
