"""Console action pages (signal, query, update, cancel, terminate, reset, start)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
