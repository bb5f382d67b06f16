"""Console schedule and task-queue pages.

Schedule ids and task queue names may contain ``/`` (the ``path`` converter takes it). The
verbs (``…/edit``, ``…/pause``…) have no trailing slash and come before the detail page, whose
pattern ends in one, so an id ending in ``/pause`` still reaches its own page.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from console import views_schedules as views

N = "a/<slug:account_id>/namespaces/<slug:name>/"
S = f"{N}schedules/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(S, views.schedule_list, name="console_schedules"),
    path(f"{S}new", views.schedule_create, name="console_schedule_create"),
    path(f"{S}<path:schedule_id>/edit", views.schedule_edit, name="console_schedule_edit"),
    path(f"{S}<path:schedule_id>/pause", views.schedule_pause, name="console_schedule_pause"),
    path(f"{S}<path:schedule_id>/resume", views.schedule_resume, name="console_schedule_resume"),
    path(f"{S}<path:schedule_id>/trigger", views.schedule_trigger, name="console_schedule_trigger"),
    path(f"{S}<path:schedule_id>/backfill", views.schedule_backfill, name="console_schedule_backfill"),
    path(f"{S}<path:schedule_id>/delete", views.schedule_delete, name="console_schedule_delete"),
    path(f"{S}<path:schedule_id>/", views.schedule_detail, name="console_schedule"),
    path(f"{N}task-queues/<path:task_queue>/", views.task_queue, name="console_task_queue"),
]
