"""Health probes shared by the HTTP endpoint, the WebSocket probe and the Celery task."""

from __future__ import annotations

from django.db import DatabaseError, connection


def database_ok() -> tuple[bool, str]:
    """Run ``SELECT 1`` on the default database; return (ok, detail)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
    except DatabaseError as exc:
        return False, f"database error: {exc.__class__.__name__}"
    return (row is not None and row[0] == 1), "ok"
