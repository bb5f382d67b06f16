"""Console pages, under a namespace: ``/a/<account_id>/namespaces/<name>/workflows/…``.

Workflow ids may contain ``/`` (the ``path`` converter takes it); the run id is the last
segment. The download is matched before the detail page, which ends in a slash.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from console import views_detail, views_list

W = "a/<slug:account_id>/namespaces/<slug:name>/workflows/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("console.urls_actions")),
    path("", include("console.urls_batch")),
    path("", include("console.urls_schedules")),
    path(W, views_list.workflows, name="console_workflows"),
    path(
        f"{W}<path:workflow_id>/<str:run_id>/history.json",
        views_detail.workflow_history_json,
        name="console_history_json",
    ),
    path(f"{W}<path:workflow_id>/<str:run_id>/events", views_detail.workflow_events, name="console_workflow_events"),
    path(f"{W}<path:workflow_id>/<str:run_id>/", views_detail.workflow_detail, name="console_workflow"),
]
