"""Sundial's Django project: settings, URLs, the ASGI app, the Celery app and the CLI."""

from cloud.celery import app as celery_app

__all__ = ["celery_app"]
