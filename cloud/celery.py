"""The Celery app. Its broker is whatever settings chose (filesystem, Redis, …)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloud.settings")

app = Celery("sundial")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
