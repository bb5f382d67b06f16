"""Audit log pages (``/a/<account_id>/audit/…``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from audit import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("a/<str:account_id>/audit/", views.audit_log, name="audit_log"),
    path("a/<str:account_id>/audit/export.csv", views.audit_export, {"fmt": "csv"}, name="audit_export_csv"),
    path("a/<str:account_id>/audit/export.jsonl", views.audit_export, {"fmt": "jsonl"}, name="audit_export_jsonl"),
]
