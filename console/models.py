"""A person's saved views of a namespace's workflows list.

A view is a preference of its owner (any member who may read the namespace may save one), but
its opaque ``public_id`` makes a link anyone with Read on the same namespace can open. Only the
owner renames or deletes it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import new_public_id
from namespaces.models import Namespace

NAME_MAX_LENGTH = 100
MAX_VIEWS_PER_OWNER = 50


class SavedView(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="saved_views")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    # The list's parameters, as its query string names them.
    query = models.TextField(blank=True)
    status = models.CharField(max_length=32, blank=True)
    workflow_type = models.CharField(max_length=1000, blank=True)
    range = models.CharField(max_length=16, blank=True)
    cols = models.CharField(max_length=2000, blank=True)  # comma-separated column keys; "" = the default
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["namespace", "owner", "name"], name="unique_saved_view_name_per_owner")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def parameters(self) -> dict[str, str]:
        """The list's query-string parameters this view stands for (empty ones left out)."""
        values = {
            "query": self.query,
            "status": self.status,
            "type": self.workflow_type,
            "range": self.range,
            "cols": self.cols,
        }
        return {key: value for key, value in values.items() if value}
