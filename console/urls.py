"""Console pages, under a namespace: ``/a/<account_id>/namespaces/<name>/workflows/…``.

Workflow ids may contain ``/`` (the ``path`` converter takes it); the run id is the last
segment. The download is matched before the detail page, which ends in a slash.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from console import views

W = "a/<slug:account_id>/namespaces/<slug:name>/workflows/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(W, views.workflows, name="console_workflows"),
    path(f"{W}<path:workflow_id>/<str:run_id>/history.json", views.workflow_history_json, name="console_history_json"),
    path(f"{W}<path:workflow_id>/<str:run_id>/", views.workflow_detail, name="console_workflow"),
]
