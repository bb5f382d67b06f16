"""Console saved views and batch operations, under a namespace:
``/a/<account_id>/namespaces/<name>/saved-views/…`` and ``…/batches/…``.

Both live beside ``workflows/`` rather than under it, where a workflow id could take their path.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from console import views_batch, views_list

N = "a/<slug:account_id>/namespaces/<slug:name>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(f"{N}saved-views/", views_list.save_view, name="console_view_save"),
    path(f"{N}saved-views/<slug:view_id>/", views_list.open_view, name="console_view_open"),
    path(f"{N}saved-views/<slug:view_id>/rename/", views_list.rename_view, name="console_view_rename"),
    path(f"{N}saved-views/<slug:view_id>/delete/", views_list.delete_view, name="console_view_delete"),
    path(f"{N}batches/", views_batch.batch_list, name="console_batches"),
    path(f"{N}batches/start/<slug:kind>/", views_batch.confirm, name="console_batch_confirm"),
    path(f"{N}batches/<path:job_id>/", views_batch.batch_status, name="console_batch"),
]
