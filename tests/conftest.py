from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def subprocess_env(tmp_path: Path) -> dict[str, str]:
    """The environment for a `sundial` subprocess: this pass's backends, a private data dir."""
    env = dict(os.environ)
    env["SUNDIAL_DATA_DIR"] = str(tmp_path / "var")
    env["PYTHONPATH"] = str(ROOT)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # Ports a `sundial up` under test would otherwise take at their defaults (tests set the
    # web and engine ports themselves), so runs on one machine never collide.
    from tests.support.net import free_port

    env.setdefault("SUNDIAL_ENGINE_ADMIN_PORT", str(free_port()))
    env.setdefault("SUNDIAL_CLOUD_API_PORT", str(free_port()))
    return env


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """In-process tests hash passwords with a fast hasher (PBKDF2's cost is for production);
    processes the tests start keep the real settings."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_cache(settings) -> None:
    """Each in-process test gets its own cache key space (local memory, or Redis on the second
    pass), so that rate-limit counters such as allauth's failed sign-ins — counted per client
    address, and every test client is 127.0.0.1 — never carry over between tests or xdist workers."""
    default = dict(settings.CACHES["default"])
    default["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {**settings.CACHES, "default": default}


@pytest.fixture(scope="session", autouse=True)
def _unconsumed_task_queue() -> Iterator[None]:
    """Account changes in in-process tests queue real Celery tasks (engine access syncs) on this
    pass's broker. They go to a queue of this test session's own, which is removed at the end,
    so no worker — a test's private one or a developer's — ever runs them."""
    from cloud.celery import app

    queue = f"test-unconsumed-{uuid.uuid4().hex[:12]}"
    app.conf.task_default_queue = queue
    yield
    try:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)  # type: ignore[attr-defined]
    except Exception:  # a queue that was never declared has nothing to remove
        pass
