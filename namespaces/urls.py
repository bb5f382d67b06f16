"""Namespace pages (``/a/<account_id>/namespaces/…``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from namespaces import views

N = "a/<slug:account_id>/namespaces/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(N, views.namespaces, name="namespaces"),
    path(f"{N}<slug:name>/", views.namespace_settings, name="namespace_settings"),
    path(f"{N}<slug:name>/search-attributes/", views.add_search_attribute, name="namespace_search_attribute"),
    path(f"{N}<slug:name>/access/", views.namespace_access, name="namespace_access"),
    path(f"{N}<slug:name>/delete/", views.delete_namespace, name="namespace_delete"),
    path(f"{N}<slug:name>/connect/", views.namespace_connect, name="namespace_connect"),
]
