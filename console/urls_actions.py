"""Console action pages (signal, query, update, cancel, terminate, reset, start).

The verbs of a run end without a slash, so they never match the run page's pattern (which ends
in ``/``) even for a workflow id that contains slashes; this module is included before it.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from console import views_actions

N = "a/<slug:account_id>/namespaces/<slug:name>/"
R = f"{N}workflows/<path:workflow_id>/<str:run_id>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(f"{R}signal", views_actions.run_signal, name="console_run_signal"),
    path(f"{R}query", views_actions.run_query, name="console_run_query"),
    path(f"{R}stack-trace", views_actions.run_stack_trace, name="console_run_stack_trace"),
    path(f"{R}update", views_actions.run_update, name="console_run_update"),
    path(f"{R}cancel", views_actions.run_cancel, name="console_run_cancel"),
    path(f"{R}terminate", views_actions.run_terminate, name="console_run_terminate"),
    path(f"{R}reset", views_actions.run_reset, name="console_run_reset"),
    path(f"{N}start-workflow/", views_actions.start_workflow, name="console_start_workflow"),
]
