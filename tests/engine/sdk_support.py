"""Helpers for tests that drive the engine with the official Python SDK."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return f"wf-{uuid.uuid4().hex[:12]}"
