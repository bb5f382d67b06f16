"""Control-plane housekeeping tasks."""

from __future__ import annotations

from celery import shared_task

from cloud.health import database_ok


@shared_task(name="cloud.check_database", time_limit=30, soft_time_limit=20)
def check_database() -> str:
    """Prove a worker can reach the database: 'ok' or the reason it cannot."""
    ok, detail = database_ok()
    return "ok" if ok else detail
